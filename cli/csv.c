/* csv.c — the run folder's CSV files read back: a small RFC 4180 reader
 * (cli_csv) and metrics.csv as epoch rows (cli_run_rows), for
 * `segc report` and for `segc train --resume`, which keeps the epochs
 * before the resume point.
 *
 * The reader takes the whole file (at most CSV_MAX_BYTES) and splits it
 * into cells: quoted fields may hold commas, doubled quotes and line
 * breaks; a CR before a line break is dropped; rows shorter than the
 * header read as empty cells, longer ones lose the extra cells. Anything
 * a person may have edited is accepted without a crash: a cell that is
 * not a number reads as NaN.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_BYTES ((long)64 << 20) /* larger files are refused */

/* ---------------------------------------------------------------- reading */

static char *slurp(const char *path, long *len, rt_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    char *data = NULL;
    long n = 0;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= CSV_MAX_BYTES &&
        fseek(f, 0, SEEK_SET) == 0) {
        data = seg_xrealloc(NULL, (size_t)n + 1);
        if (fread(data, 1, (size_t)n, f) != (size_t)n)
            seg_free(data), data = NULL;
    }
    fclose(f);
    if (!data) {
        rt_error_set(err, "%s: cannot read (over %ld MB or a read error)", path,
                     CSV_MAX_BYTES >> 20);
        return NULL;
    }
    data[n] = 0;
    *len = n;
    return data;
}

/* Cells as they are parsed: a flat list with a row number each. */
typedef struct cell_list {
    char **text;
    int *row;
    int n, cap;
} cell_list;

static void cell_push(cell_list *l, seg_arena *a, const seg_buf *field, int row)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->text = seg_xrealloc(l->text, (size_t)l->cap * sizeof *l->text);
        l->row = seg_xrealloc(l->row, (size_t)l->cap * sizeof *l->row);
    }
    l->text[l->n] = seg_arena_strdup(a, field->data ? field->data : "");
    l->row[l->n++] = row;
}

/* One field starting at s[*i]; stops after its separator. Returns 1 when
 * the field ended its row. */
static int parse_field(const char *s, long len, long *i, seg_buf *f)
{
    f->len = 0;
    if (f->data)
        f->data[0] = 0;
    int quoted = *i < len && s[*i] == '"';
    *i += quoted;
    for (; *i < len; ++*i) {
        char ch = s[*i];
        if (quoted && ch == '"' && *i + 1 < len && s[*i + 1] == '"') {
            seg_buf_printf(f, "\"");
            ++*i;
        } else if (quoted && ch == '"') {
            quoted = 0;
        } else if (!quoted && (ch == ',' || ch == '\n')) {
            ++*i;
            return ch == '\n';
        } else if (!(ch == '\r' && !quoted && *i + 1 < len && s[*i + 1] == '\n')) {
            seg_buf_printf(f, "%c", ch);
        }
    }
    return 1;
}

static void csv_fill(cli_csv *c, const cell_list *l)
{
    c->n_cols = 0;
    while (c->n_cols < l->n && l->row[c->n_cols] == 0)
        c->n_cols++;
    c->n_rows = l->n ? l->row[l->n - 1] : 0;
    c->cell = seg_arena_alloc(c->arena, (size_t)(c->n_rows + 1) * (size_t)c->n_cols * sizeof(const char *));
    for (int i = 0; i < (c->n_rows + 1) * c->n_cols; i++)
        c->cell[i] = "";
    for (int i = 0, col = 0; i < l->n; i++) {
        col = i > 0 && l->row[i] == l->row[i - 1] ? col + 1 : 0;
        if (col < c->n_cols)
            c->cell[l->row[i] * c->n_cols + col] = l->text[i];
    }
}

cli_csv *cli_csv_read(const char *path, rt_error *err)
{
    long len, i = 0;
    char *s = slurp(path, &len, err);
    if (!s)
        return NULL;
    cli_csv *c = seg_xcalloc(1, sizeof *c);
    c->arena = seg_arena_new();
    cell_list l = {0};
    seg_buf f = {0};
    for (int row = 0; i < len;) {
        if (s[i] == '\n' || (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')) {
            i += s[i] == '\r' ? 2 : 1; /* blank line */
            continue;
        }
        int end;
        do { /* a comma at the very end gives one more, empty, field */
            end = parse_field(s, len, &i, &f);
            cell_push(&l, c->arena, &f, row);
        } while (!end);
        row++;
    }
    csv_fill(c, &l);
    seg_buf_free(&f);
    seg_free(l.text);
    seg_free(l.row);
    seg_free(s);
    if (c->n_cols == 0) {
        rt_error_set(err, "%s: no header row", path);
        cli_csv_free(c);
        return NULL;
    }
    return c;
}

void cli_csv_free(cli_csv *c)
{
    if (!c)
        return;
    seg_arena_free(c->arena);
    seg_free(c);
}

int cli_csv_col(const cli_csv *c, const char *name)
{
    for (int j = 0; j < c->n_cols; j++)
        if (!strcmp(c->cell[j], name))
            return j;
    return -1;
}

const char *cli_csv_get(const cli_csv *c, int row, int col)
{
    if (col < 0 || col >= c->n_cols || row < 0 || row >= c->n_rows)
        return "";
    return c->cell[(row + 1) * c->n_cols + col];
}

double cli_csv_num(const cli_csv *c, int row, int col)
{
    const char *s = cli_csv_get(c, row, col);
    char *end;
    double v = strtod(s, &end);
    return *s && end != s && *end == 0 ? v : NAN;
}

void cli_csv_put(seg_buf *b, const char *field)
{
    if (!strpbrk(field, ",\"\r\n")) {
        seg_buf_printf(b, "%s", field);
        return;
    }
    seg_buf_printf(b, "\"");
    for (const char *p = field; *p; p++)
        seg_buf_printf(b, *p == '"' ? "\"\"" : "%c", *p);
    seg_buf_printf(b, "\"");
}

/* ---------------------------------------------------------- metrics.csv */

/* Columns of metrics.csv: the fixed ones, then per class "dice_NAME"
 * (after "miou") and "iou_NAME". */
typedef struct metric_cols {
    int stage, epoch, loss, lr, monitor, monitor_value, dice_fg, iou_fg, mean_dice, miou;
    int first_class;        /* first per-class column */
    int best, seconds, step_seconds; /* -1 in files written before they existed */
} metric_cols;

static int find_cols(const cli_csv *c, metric_cols *m)
{
    m->stage = cli_csv_col(c, "stage"), m->epoch = cli_csv_col(c, "epoch");
    m->loss = cli_csv_col(c, "loss"), m->lr = cli_csv_col(c, "lr");
    m->monitor = cli_csv_col(c, "monitor"), m->monitor_value = cli_csv_col(c, "monitor_value");
    m->dice_fg = cli_csv_col(c, "dice_fg"), m->iou_fg = cli_csv_col(c, "iou_fg");
    m->mean_dice = cli_csv_col(c, "mean_dice"), m->miou = cli_csv_col(c, "miou");
    m->first_class = m->miou + 1;
    m->best = cli_csv_col(c, "best"), m->seconds = cli_csv_col(c, "seconds");
    m->step_seconds = cli_csv_col(c, "step_seconds");
    return m->stage < 0 || m->epoch < 0 || m->loss < 0 || m->miou < 0 ? -1 : 0;
}

/* The classes a row fills, from the dice_NAME columns, with their IoU
 * and lesion-wise detection (empty: no true object of the class). */
static void row_classes(const cli_csv *c, const metric_cols *m, int i, rt_epoch_row *r,
                        seg_arena *a)
{
    const char **names = seg_arena_alloc(a, RT_MAX_CLASSES * sizeof *names);
    int k = 0;
    for (int j = m->first_class; j < c->n_cols && k < RT_MAX_CLASSES; j++) {
        const char *h = c->cell[j];
        if (strncmp(h, "dice_", 5) || !*cli_csv_get(c, i, j))
            continue;
        char iou[300], det[300];
        snprintf(iou, sizeof iou, "iou_%s", h + 5);
        snprintf(det, sizeof det, "detected_%s", h + 5);
        int ji = cli_csv_col(c, iou), jd = cli_csv_col(c, det);
        names[k] = seg_arena_strdup(a, h + 5);
        r->val.dice[k] = cli_csv_num(c, i, j);
        r->val.iou[k] = ji > m->first_class - 1 ? cli_csv_num(c, i, ji) : NAN;
        r->val.detection[k] = jd > m->first_class - 1 && *cli_csv_get(c, i, jd)
                                  ? cli_csv_num(c, i, jd) : NAN;
        k++;
    }
    r->val.classes = k;
    r->class_names = names;
}

static int stage_number(cli_run_rows *out, int upto, const char *name)
{
    int n = 0;
    for (int i = 0; i < upto; i++) {
        if (!strcmp(out->rows[i].stage_name, name))
            return out->rows[i].stage;
        n = out->rows[i].stage + 1 > n ? out->rows[i].stage + 1 : n;
    }
    return n;
}

static void read_row(const cli_csv *c, const metric_cols *m, int i, cli_run_rows *out)
{
    rt_epoch_row *r = &out->rows[out->n];
    memset(r, 0, sizeof *r);
    r->stage_name = seg_arena_strdup(out->arena, cli_csv_get(c, i, m->stage));
    r->stage = stage_number(out, out->n, r->stage_name);
    r->epoch = atoi(cli_csv_get(c, i, m->epoch));
    r->loss = cli_csv_num(c, i, m->loss);
    r->lr = cli_csv_num(c, i, m->lr);
    snprintf(r->monitor, sizeof r->monitor, "%s", cli_csv_get(c, i, m->monitor));
    r->monitor_value = cli_csv_num(c, i, m->monitor_value);
    r->best = cli_csv_num(c, i, m->best) == 1;
    r->seconds = cli_csv_num(c, i, m->seconds);
    r->step_seconds = cli_csv_num(c, i, m->step_seconds);
    r->validated = *cli_csv_get(c, i, m->dice_fg) != 0;
    if (r->validated) {
        r->val.dice_fg = cli_csv_num(c, i, m->dice_fg);
        r->val.iou_fg = cli_csv_num(c, i, m->iou_fg);
        r->val.mean_dice = cli_csv_num(c, i, m->mean_dice);
        r->val.miou = cli_csv_num(c, i, m->miou);
        row_classes(c, m, i, r, out->arena);
    }
    out->n++;
}

int cli_run_rows_read(const char *path, cli_run_rows *out, rt_error *err)
{
    memset(out, 0, sizeof *out);
    cli_csv *c = cli_csv_read(path, err);
    if (!c)
        return -1;
    metric_cols m;
    if (find_cols(c, &m)) {
        rt_error_set(err, "%s: not a segc metrics.csv (no stage, epoch, loss or miou column)", path);
        cli_csv_free(c);
        return -1;
    }
    out->arena = seg_arena_new();
    out->rows = seg_xcalloc((size_t)c->n_rows + 1, sizeof *out->rows);
    for (int i = 0; i < c->n_rows; i++)
        if (*cli_csv_get(c, i, m.stage))
            read_row(c, &m, i, out);
    cli_csv_free(c);
    return 0;
}

void cli_run_rows_free(cli_run_rows *r)
{
    seg_free(r->rows);
    seg_arena_free(r->arena);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------ per-stage files */

static int same_header(const cli_csv *c, const char *header)
{
    seg_buf b = {0};
    for (int j = 0; j < c->n_cols; j++) {
        if (j)
            seg_buf_printf(&b, ",");
        cli_csv_put(&b, c->cell[j]);
    }
    int same = b.data && !strcmp(b.data, header);
    seg_buf_free(&b);
    return same;
}

/* The rows of other stages than `stage` of an existing file with this header. */
static void keep_other_stages(const char *path, const char *header, const char *stage,
                              seg_buf *out)
{
    rt_error ignored = {{0}};
    cli_csv *c = cli_csv_read(path, &ignored); /* none yet, or unreadable: start over */
    int sc = c && same_header(c, header) ? cli_csv_col(c, "stage") : -1;
    for (int i = 0; sc >= 0 && i < c->n_rows; i++) {
        if (!strcmp(cli_csv_get(c, i, sc), stage))
            continue;
        for (int j = 0; j < c->n_cols; j++) {
            if (j)
                seg_buf_printf(out, ",");
            cli_csv_put(out, cli_csv_get(c, i, j));
        }
        seg_buf_printf(out, "\n");
    }
    cli_csv_free(c);
}

int cli_csv_put_stage(const char *path, const char *header, const char *stage, const char *rows,
                      rt_error *err)
{
    seg_buf b = {0};
    seg_buf_printf(&b, "%s\n", header);
    keep_other_stages(path, header, stage, &b);
    seg_buf_printf(&b, "%s", rows ? rows : "");
    int rc = rt_file_write_atomic(path, b.data, b.len, err);
    seg_buf_free(&b);
    return rc;
}
