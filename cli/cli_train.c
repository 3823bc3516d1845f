/* cli_train.c — `segc train FILE`: runs a schedule's stages in order and
 * keeps a run folder:
 *
 *   RUN/schedule.seg         the program as run, with the command line on top
 *   RUN/metrics.csv          one row per epoch: every metric per class, whether
 *                            it was the best so far, its seconds and s/step
 *   RUN/curves.svg           the charts of the report (runtime/report.c)
 *   RUN/plan.csv, RUN/overlays/...   per stage: `segc plan`'s numbers, and
 *                                    pictures of the best and last networks
 *                                    on the validation cases (train_report.c)
 *   RUN/report.html          one page on the run (cli_report.c), rewritten
 *                            at the end of every stage
 *   RUN/ckpt/last.safetensors         everything needed to resume (params,
 *                                     buffers, optimizer state, counters)
 *   RUN/ckpt/best-STAGE.safetensors   the stage's best network on validation
 *   RUN/ckpt/interrupted.safetensors  SIGINT/SIGTERM: the step where it stopped
 *
 * All files are written atomically; a crash or a NaN keeps the last good
 * checkpoint. Randomness is counter-based on (seed, step), so the step
 * counters in the checkpoint metadata are the whole RNG state, and a
 * resumed run reaches the same weights as an uninterrupted one; --resume
 * reads metrics.csv back and keeps the epochs before the resume point.
 *
 * On a terminal, a progress line (stage, epoch, steps, loss, s/step) is
 * redrawn in place after every step and erased before anything else is
 * printed.
 *
 * SIGINT or SIGTERM (cli/process.c) ends the run after the step in
 * progress: its parameters and optimizer state go to
 * ckpt/interrupted.safetensors (for --init, or to look at), and the
 * message says which checkpoint --resume continues from (the last
 * finished epoch: resuming is exact at epoch boundaries only) and the
 * command; exit 130 or 143. A second signal ends the process at once.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct train_run {
    const cli_opts *o;
    const seg_schedule *s;
    const char *dir;
    char *dir_owned;
    rt_epoch_row *rows;          /* every epoch so far, all stages */
    int n_rows, cap_rows;
    rt_store *store;
    int tty;                     /* stdout is a terminal: progress bar */
    int progress_shown;          /* a progress line is on screen */
    double step_t0;              /* when the epoch's first step started (progress line) */
    int stage_epochs_done;
    int first_stage;             /* the first stage this invocation runs */
    cli_run_rows resumed;        /* --resume: metrics.csv as it was (rows point into it) */
    rt_store *last;              /* the running stage's network after its last epoch */
    int best_epoch, last_epoch;  /* of the running stage (0 = none yet) */
    const rt_ckpt *meta;         /* the running stage's inference metadata (ckpt_meta.c) */
    int stop_sig;                /* the signal that ended the run, 0 = none */
    int stop_epoch, stop_step;   /* where: epoch (from 1) and step within it */
    const char *stop_stage;
    int stop_saved;              /* ckpt/interrupted.safetensors was written */
} train_run;

/* ------------------------------------------------------------ run folder */

static int make_dir(const char *path, rt_error *err)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return 0;
    rt_error_set(err, "%s: cannot create folder: %s", path, strerror(errno));
    return -1;
}

static char *path_in(const train_run *r, const char *leaf)
{
    size_t n = strlen(r->dir) + strlen(leaf) + 2;
    char *p = seg_xrealloc(NULL, n);
    snprintf(p, n, "%s/%s", r->dir, leaf);
    return p;
}

static int copy_source(const train_run *r, rt_error *err)
{
    FILE *f = fopen(r->o->files[0], "rb");
    seg_buf b = {0};
    uint64_t seed = r->o->seed_given ? r->o->seed : r->s->seed >= 0 ? (uint64_t)r->s->seed : 0;
    seg_buf_printf(&b, "# segc train %s --schedule %s", r->o->files[0], r->s->name);
    cli_schedule_args(r->s, " --set ", " --set ", &b);
    seg_buf_printf(&b, " --seed %llu\n", (unsigned long long)seed);
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[n] = 0;
        seg_buf_printf(&b, "%s", chunk);
    }
    if (f)
        fclose(f);
    char *p = path_in(r, "schedule.seg");
    int rc = rt_file_write_atomic(p, b.data, b.len, err);
    seg_free(p);
    seg_buf_free(&b);
    return rc;
}

static int stage_index(const seg_schedule *s, const char *name)
{
    for (int k = 0; k < s->n_stages; k++)
        if (!strcmp(s->stages[k].name, name))
            return k;
    return -1;
}

/* A new epoch row at the end of the run's list. */
static rt_epoch_row *new_row(train_run *r)
{
    if (r->n_rows == r->cap_rows) {
        r->cap_rows = r->cap_rows ? 2 * r->cap_rows : 64;
        r->rows = seg_xrealloc(r->rows, (size_t)r->cap_rows * sizeof *r->rows);
    }
    return &r->rows[r->n_rows++];
}

/* The epoch of stage k's best network among the rows (0 = none). */
static int stage_best_epoch(const train_run *r, int k)
{
    int best = 0;
    for (int i = 0; i < r->n_rows; i++)
        if (r->rows[i].stage == k && r->rows[i].best)
            best = r->rows[i].epoch;
    return best;
}

/* Class names over every row so far, in the order first seen: the
 * per-class columns of metrics.csv. */
static int metric_classes(const train_run *r, const char **names, int cap)
{
    int n = 0;
    for (int i = 0; i < r->n_rows; i++)
        for (int k = 0; r->rows[i].validated && k < r->rows[i].val.classes; k++) {
            const char *c = r->rows[i].class_names[k];
            int seen = 0;
            for (int j = 0; j < n; j++)
                seen |= !strcmp(names[j], c);
            if (!seen && n < cap)
                names[n++] = c;
        }
    return n;
}

enum { CELL_DICE, CELL_IOU, CELL_DETECTION };

/* The row's value of a per-class column (empty when the stage lacks it,
 * or for detection when the class has no true object). */
static void class_cell(seg_buf *b, const rt_epoch_row *row, const char *cls, int what)
{
    for (int k = 0; row->validated && k < row->val.classes; k++)
        if (!strcmp(row->class_names[k], cls)) {
            double v = what == CELL_DICE  ? row->val.dice[k]
                       : what == CELL_IOU ? row->val.iou[k] : row->val.detection[k];
            if (isnan(v))
                break;
            seg_buf_printf(b, ",%.6g", v);
            return;
        }
    seg_buf_printf(b, ",");
}

static void metrics_row(seg_buf *b, const rt_epoch_row *row, const char **cls, int n_cls)
{
    seg_buf_printf(b, "%s,%d,%.6g,%.6g,%s", row->stage_name, row->epoch, row->loss, row->lr,
                   row->monitor);
    if (!row->validated) {
        seg_buf_printf(b, ",,,,,");
        for (int k = 0; k < 3 * n_cls; k++)
            seg_buf_printf(b, ",");
    } else {
        const rt_val_metrics *m = &row->val;
        seg_buf_printf(b, ",%.6g,%.6g,%.6g,%.6g,%.6g", row->monitor_value, m->dice_fg, m->iou_fg,
                       m->mean_dice, m->miou);
        for (int what = CELL_DICE; what <= CELL_DETECTION; what++)
            for (int k = 0; k < n_cls; k++)
                class_cell(b, row, cls[k], what);
    }
    seg_buf_printf(b, ",%d,", row->best);
    if (isfinite(row->seconds))
        seg_buf_printf(b, "%.4g", row->seconds);
    seg_buf_printf(b, ",");
    if (isfinite(row->step_seconds))
        seg_buf_printf(b, "%.4g", row->step_seconds);
    seg_buf_printf(b, "\n");
}

/* metrics.csv: every metric, per class, of every epoch; and curves.svg. */
static int write_metrics(const train_run *r, rt_error *err)
{
    const char *cls[RT_MAX_CLASSES * 4];
    int n_cls = metric_classes(r, cls, RT_MAX_CLASSES * 4);
    seg_buf b = {0};
    seg_buf_printf(&b, "stage,epoch,loss,lr,monitor,monitor_value,dice_fg,iou_fg,mean_dice,miou");
    for (int k = 0; k < n_cls; k++)
        seg_buf_printf(&b, ",dice_%s", cls[k]);
    for (int k = 0; k < n_cls; k++)
        seg_buf_printf(&b, ",iou_%s", cls[k]);
    for (int k = 0; k < n_cls; k++) /* the share of true objects the prediction touches */
        seg_buf_printf(&b, ",detected_%s", cls[k]);
    seg_buf_printf(&b, ",best,seconds,step_seconds\n");
    for (int i = 0; i < r->n_rows; i++)
        metrics_row(&b, &r->rows[i], cls, n_cls);
    char *p = path_in(r, "metrics.csv");
    int rc = rt_file_write_atomic(p, b.data, b.len, err);
    seg_free(p);
    seg_buf_free(&b);
    if (rc == 0) {
        p = path_in(r, "curves.svg");
        rc = rt_report_curves(p, r->s->name, r->rows, r->n_rows, err);
        seg_free(p);
    }
    return rc;
}

/* ------------------------------------------------------------ checkpoints */

static void meta_num(rt_ckpt *c, const char *key, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    rt_ckpt_set_meta(c, key, buf);
}

/* Params and buffers: the running stage's live values, then whatever the
 * store holds that this stage does not use. */
static void add_state(rt_ckpt *c, const train_run *r, const rt_stage_spec *s, rt_interp *it)
{
    const rt_program *p = s->train;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        if (v->kind == RT_VAL_PARAM || v->kind == RT_VAL_BUFFER)
            rt_ckpt_add_tensor(c, v->name, rt_interp_value_at(it, i));
    }
    for (int i = 0; i < rt_store_count(r->store); i++) {
        const char *n = rt_store_name(r->store, i);
        if (!rt_interp_value(it, n))
            rt_ckpt_add_tensor(c, n, rt_store_get(r->store, n));
    }
}

static void add_trained_by(rt_ckpt *c, const train_run *r, const rt_stage_spec *s)
{
    char key[600];
    for (int i = 0; i < rt_store_count(r->store); i++) {
        const char *n = rt_store_name(r->store, i), *by = rt_store_trained_by(r->store, n);
        if (by) {
            snprintf(key, sizeof key, "trained_by.%s", n);
            rt_ckpt_set_meta(c, key, by);
        }
    }
    for (int i = 0; i < s->n_trainable; i++) {
        snprintf(key, sizeof key, "trained_by.%s", s->trainable[i]);
        rt_ckpt_set_meta(c, key, s->name);
    }
}

static int save_last(const train_run *r, const rt_stage_spec *s, const rt_epoch_report *e,
                     rt_interp *it, rt_optim *opt, rt_error *err)
{
    rt_ckpt *c = rt_ckpt_new();
    add_state(c, r, s, it);
    rt_optim_save(opt, c);
    rt_ckpt_set_meta(c, "schedule", r->s->name);
    rt_ckpt_set_meta(c, "stage", s->name);
    meta_num(c, "stage_index", s->index);
    meta_num(c, "epoch", e->epoch);
    meta_num(c, "stage_done", e->stop || e->epoch >= e->epochs);
    meta_num(c, "step", (double)e->step);
    meta_num(c, "seed", (double)s->seed);
    meta_num(c, "ema", e->ema);
    meta_num(c, "best_ema", e->best_ema);
    meta_num(c, "bad_epochs", e->bad_epochs);
    meta_num(c, "best_metric", e->best_metric);
    add_trained_by(c, r, s);
    cli_meta_apply(r->meta, c);
    char *p = path_in(r, "ckpt/last.safetensors");
    int rc = rt_ckpt_write(c, p, err);
    seg_free(p);
    rt_ckpt_free(c);
    return rc;
}

static int save_best(const train_run *r, const rt_stage_spec *s, const rt_epoch_report *e,
                     rt_interp *it, rt_error *err)
{
    rt_ckpt *c = rt_ckpt_new();
    add_state(c, r, s, it);
    rt_ckpt_set_meta(c, "schedule", r->s->name);
    rt_ckpt_set_meta(c, "stage", s->name);
    meta_num(c, "epoch", e->epoch);
    char name[48] = "loss";
    if (s->class_names)
        rt_metric_name(s->best_by, s->class_names, name, sizeof name);
    rt_ckpt_set_meta(c, "best_by", name);
    meta_num(c, "best_value", e->validated ? rt_val_metric(&e->val, s->best_by) : NAN);
    add_trained_by(c, r, s);
    cli_meta_apply(r->meta, c);
    char leaf[300];
    snprintf(leaf, sizeof leaf, "ckpt/best-%s.safetensors", s->name);
    char *p = path_in(r, leaf);
    int rc = rt_ckpt_write(c, p, err);
    seg_free(p);
    rt_ckpt_free(c);
    return rc;
}

/* ------------------------------------------------------------ reporting */

/* Erase the progress line (carriage return, erase to the end of the
 * line) so the next output starts on a clean line. */
static void progress_clear(train_run *r)
{
    if (!r->progress_shown)
        return;
    fputs("\r\033[K", stdout);
    fflush(stdout);
    r->progress_shown = 0;
}

/* "grow1 3/40 [#########.......] 9/16 loss 0.4231 0.52s/step": at most
 * about 80 columns, so it never wraps (a wrapped line would not be erased
 * by one carriage return). */
static void on_step(void *user, const rt_stage_spec *s, int epoch, int step, double loss)
{
    train_run *r = user;
    if (!r->tty)
        return;
    double now = seg_seconds();
    if (step <= 1)
        r->step_t0 = now; /* the first step's start is not seen: time from its end */
    int total = s->steps_per_epoch > 0 ? s->steps_per_epoch : 1, width = 20;
    int done = step >= total ? width : width * step / total;
    char bar[24];
    for (int i = 0; i < width; i++)
        bar[i] = i < done ? '#' : '.';
    bar[width] = 0;
    printf("\r\033[K%.14s %d/%d [%s] %d/%d loss %.4f", s->name, epoch, s->max_epochs, bar, step,
           total, loss);
    if (step > 1)
        printf(" %.2fs/step", (now - r->step_t0) / (step - 1));
    if (step >= total && s->eval && s->val && s->val->n > 0)
        printf(" validating");
    r->progress_shown = 1;
    fflush(stdout);
}

/* Test hook: SEGC_TEST_CRASH_AFTER_EPOCH=N stops the run like a kill
 * right after the N-th epoch's checkpoint (counted over all stages), so
 * the resume test is deterministic. */
static int simulated_crash(const train_run *r, rt_error *err)
{
    const char *v = getenv("SEGC_TEST_CRASH_AFTER_EPOCH");
    if (!v || atoi(v) != r->n_rows)
        return 0;
    rt_error_set(err, "simulated crash after epoch %d (SEGC_TEST_CRASH_AFTER_EPOCH)", r->n_rows);
    return -1;
}

/* "  dice background 0.99 organ 0.93 lesion 0.41  mIoU 0.77" */
static void print_classes(const rt_stage_spec *s, const rt_val_metrics *m)
{
    printf("  dice");
    for (int k = 0; k < m->classes; k++)
        printf(" %s %.4f", s->class_names[k], m->dice[k]);
    printf("  mIoU %.4f", m->miou);
}

static void print_epoch(const rt_stage_spec *s, const rt_epoch_report *e, const char *monitor)
{
    double eta = e->seconds * (e->epochs - e->epoch);
    printf("%-8s epoch %3d/%-3d loss %.4f", s->name, e->epoch, e->epochs, e->loss);
    if (e->validated) {
        printf("  %s %.4f", monitor, e->monitor);
        if (s->plateau)
            printf(" (ema %.4f)", e->ema);
        print_classes(s, &e->val);
    }
    printf("  %5.1fs (%.2fs/step)  eta %.0fs%s\n", e->seconds, e->step_seconds, eta,
           e->best ? "  *" : "");
    fflush(stdout);
}

static int on_epoch(void *user, const rt_stage_spec *s, const rt_epoch_report *e, rt_interp *it,
                    rt_optim *opt, rt_error *err)
{
    train_run *r = user;
    progress_clear(r);
    r->stage_epochs_done++;
    rt_epoch_row *row = new_row(r);
    *row = (rt_epoch_row){s->index, s->name, e->epoch, e->loss, e->lr, e->validated, e->val,
                          s->class_names, "", e->monitor, e->best, e->seconds, e->step_seconds};
    if (s->class_names) /* validated; else the stage follows its loss */
        rt_metric_name(s->monitor, s->class_names, row->monitor, sizeof row->monitor);
    else
        snprintf(row->monitor, sizeof row->monitor, "loss"), row->monitor_value = e->loss;
    print_epoch(s, e, row->monitor);
    if (write_metrics(r, err))
        return -1;
    if (e->best && save_best(r, s, e, it, err))
        return -1;
    if (save_last(r, s, e, it, opt, err))
        return -1;
    r->best_epoch = e->best ? e->epoch : r->best_epoch;
    if (e->stop || e->epoch >= e->epochs) { /* the last network, for its overlays */
        r->last = r->last ? r->last : rt_store_new();
        rt_store_from_interp(r->last, it, s->train);
        r->last_epoch = e->epoch;
    }
    return simulated_crash(r, err);
}

/* After every step: a SIGINT or SIGTERM ends the stage here, with the
 * step's parameters and optimizer state saved beside the checkpoints. */
static int on_interrupt(void *user, const rt_stage_spec *s, int epoch, int step, rt_interp *it,
                        rt_optim *opt, rt_error *err)
{
    train_run *r = user;
    int sig = cli_stop_requested();
    if (!sig)
        return 0;
    progress_clear(r);
    r->stop_sig = sig, r->stop_epoch = epoch, r->stop_step = step, r->stop_stage = s->name;
    rt_ckpt *c = rt_ckpt_new();
    add_state(c, r, s, it);
    rt_optim_save(opt, c);
    rt_ckpt_set_meta(c, "schedule", r->s->name);
    rt_ckpt_set_meta(c, "stage", s->name);
    meta_num(c, "epoch", epoch);
    meta_num(c, "step_in_epoch", step);
    char *p = path_in(r, "ckpt/interrupted.safetensors");
    rt_error werr = {{0}};
    r->stop_saved = rt_ckpt_write(c, p, &werr) == 0;
    if (!r->stop_saved) /* the run stops all the same; say why the file is missing */
        fprintf(stderr, "segc: warning: %s\n", werr.msg);
    seg_free(p);
    rt_ckpt_free(c);
    (void)err;
    return 1;
}

/* The options that decide what a run computes (schedule, seed, settings,
 * kernels), as they were given, for the resume command. */
static void print_run_options(const cli_opts *o)
{
    if (o->schedule)
        fprintf(stderr, " --schedule %s", o->schedule);
    if (o->seed_given)
        fprintf(stderr, " --seed %llu", (unsigned long long)o->seed);
    for (int i = 0; i < o->n_settings; i++)
        if (!(o->default_b && !strcmp(o->settings[i].key, "B")))
            fprintf(stderr, " --set %s=%s", o->settings[i].key, o->settings[i].value);
    if (!o->jit)
        fprintf(stderr, " --no-jit");
}

/* What an interrupted run says: where it stopped, what was saved, how to
 * go on. */
static void interrupted_note(const train_run *r)
{
    fprintf(stderr, "segc: interrupted by %s after step %d of epoch %d of stage %s\n",
            r->stop_sig == SIGINT ? "SIGINT" : "SIGTERM", r->stop_step, r->stop_epoch,
            r->stop_stage);
    if (r->stop_saved)
        fprintf(stderr, "  that step's parameters and optimizer state: %s/ckpt/interrupted.safetensors\n",
                r->dir);
    char *p = path_in(r, "ckpt/last.safetensors");
    if (access(p, R_OK) == 0) {
        fprintf(stderr, "  resume from the last finished epoch (%s) with:\n    segc train %s", p,
                r->o->files[0]);
        print_run_options(r->o);
        fprintf(stderr, " --resume %s\n", r->dir);
    } else {
        fprintf(stderr, "  no epoch had finished: there is nothing to resume; start again with:\n"
                "    segc train %s --out %s --overwrite\n", r->o->files[0], r->dir);
    }
    seg_free(p);
}

/* The end of a stage: pictures of its best network (in the store now)
 * and its last, then the report. A report that cannot be written is a
 * warning: the training it describes is done and saved. */
static int stage_outputs(train_run *r, const rt_stage_spec *s, rt_error *err)
{
    int rc = train_write_overlays(r->dir, s, r->store, r->best_epoch, r->last, r->last_epoch, err);
    rt_error rerr = {{0}};
    if (rc == 0 && cli_report_write(r->dir, &rerr))
        fprintf(stderr, "segc: warning: %s\n", rerr.msg);
    return rc;
}

/* ------------------------------------------------------------- resume */

typedef struct resume_state {
    rt_ckpt *last;          /* RUN/ckpt/last.safetensors */
    int stage;              /* stage it was written in */
    int epoch;
    int done;               /* that stage had finished */
} resume_state;

static double meta_d(const rt_ckpt *c, const char *k)
{
    const char *v = rt_ckpt_meta(c, k);
    return v ? strtod(v, NULL) : 0;
}

static int store_load(rt_store *st, const rt_ckpt *c)
{
    for (int i = 0; i < rt_ckpt_count(c); i++) {
        const rt_ckpt_entry *e = rt_ckpt_at(c, i);
        if (!strncmp(e->name, RT_OPTIM_PREFIX, strlen(RT_OPTIM_PREFIX)) || e->dtype != RT_CKPT_F32)
            continue;
        rt_type t = {.dtype = RT_F32, .rank = e->rank};
        memcpy(t.dim, e->dim, sizeof t.dim);
        rt_tensor *x = rt_tensor_new(&t);
        memcpy(x->data, e->data, (size_t)e->nbytes);
        char key[600];
        snprintf(key, sizeof key, "trained_by.%s", e->name);
        rt_store_put(st, e->name, x, rt_ckpt_meta(c, key));
        rt_tensor_free(x);
    }
    return 0;
}

/* The epochs metrics.csv holds up to the resume point, with the
 * schedule's stage numbers; a missing or unreadable file gives none (the
 * checkpoint, not this file, is what resuming needs). */
static void resume_rows(train_run *r, const resume_state *rs)
{
    char *p = path_in(r, "metrics.csv");
    rt_error ignored = {{0}};
    int rc = cli_run_rows_read(p, &r->resumed, &ignored);
    seg_free(p);
    for (int i = 0; rc == 0 && i < r->resumed.n; i++) {
        rt_epoch_row row = r->resumed.rows[i];
        row.stage = stage_index(r->s, row.stage_name);
        if (row.stage < 0 || row.stage > rs->stage ||
            (row.stage == rs->stage && row.epoch > rs->epoch))
            continue;
        *new_row(r) = row;
    }
}

static int resume_open(train_run *r, resume_state *rs, rt_error *err)
{
    char *p = path_in(r, "ckpt/last.safetensors");
    rs->last = rt_ckpt_read(p, err);
    seg_free(p);
    if (!rs->last)
        return -1;
    const char *sched = rt_ckpt_meta(rs->last, "schedule");
    if (!sched || strcmp(sched, r->s->name)) {
        rt_error_set(err, "%s: the checkpoint is of schedule '%s', not '%s'", r->dir,
                     sched ? sched : "?", r->s->name);
        return -1;
    }
    seg_buf args = {0};
    cli_schedule_args(r->s, "", "\n", &args);
    const char *was = rt_ckpt_meta(rs->last, "segc.schedule_args"); /* NULL: an older segc */
    if (was && strcmp(was, args.data ? args.data : "")) {
        char shown[400];
        snprintf(shown, sizeof shown, "%s", *was ? was : "none");
        for (char *c = shown; (c = strchr(c, '\n')); )
            *c = ' '; /* one "name=value" per line in the checkpoint */
        rt_error_set(err, "%s: the run's schedule had other parameter values (%s); resume with "
                     "the same --set", r->dir, shown);
        seg_buf_free(&args);
        return -1;
    }
    seg_buf_free(&args);
    uint64_t seed = r->o->seed_given ? r->o->seed : r->s->seed >= 0 ? (uint64_t)r->s->seed : 0;
    if ((uint64_t)meta_d(rs->last, "seed") != seed) {
        rt_error_set(err, "%s: the run used --seed %.0f; resume with the same seed", r->dir,
                     meta_d(rs->last, "seed"));
        return -1;
    }
    rs->stage = (int)meta_d(rs->last, "stage_index");
    rs->epoch = (int)meta_d(rs->last, "epoch");
    rs->done = meta_d(rs->last, "stage_done") != 0;
    resume_rows(r, rs);
    return store_load(r->store, rs->last);
}

/* ---------------------------------------------------------------- --init */

static int init_from(train_run *r, const char *path, rt_error *err)
{
    rt_ckpt *c = rt_ckpt_read(path, err);
    if (!c)
        return -1;
    store_load(r->store, c);
    printf("init: %d tensors from %s\n", rt_ckpt_count(c), path);
    rt_ckpt_free(c);
    return 0;
}

/* ----------------------------------------------------------------- stages */

/* "stage grow2: 40 tensors inherited, 6 new, 2 re-initialised: shape
 * changed (up.2.conv_t0.weight, up.2.conv_t0.bias), 0 dropped; ...": a
 * tensor an earlier stage had under the same name with another shape
 * starts from its initialiser (sema makes that an error when it is frozen). */
static void print_inheritance(const train_run *r, const rt_stage_spec *s)
{
    enum { SHOWN = 4 }; /* re-initialised names listed */
    int inherited = 0, fresh = 0, dropped = 0, changed = 0;
    seg_buf names = {0};
    const rt_program *p = s->train;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        if (v->kind != RT_VAL_PARAM && v->kind != RT_VAL_BUFFER)
            continue;
        rt_tensor *t = rt_store_get(r->store, v->name);
        if (t && rt_type_equal(&t->type, &v->type))
            inherited++;
        else if (t && changed++ < SHOWN)
            seg_buf_printf(&names, "%s%s", changed > 1 ? ", " : "", v->name);
        else if (!t)
            fresh++;
    }
    if (changed > SHOWN)
        seg_buf_printf(&names, ", ...");
    for (int i = 0; i < rt_store_count(r->store); i++) {
        int used = 0;
        for (int j = 0; j < p->n_values && !used; j++)
            used = p->values[j].name && !strcmp(p->values[j].name, rt_store_name(r->store, i));
        dropped += !used;
    }
    printf("stage %s: %d tensors inherited, %d new, ", s->name, inherited, fresh);
    if (changed)
        printf("%d re-initialised: shape changed (%s), ", changed, names.data);
    printf("%d dropped; training %d tensors%s\n", dropped, s->n_trainable,
           r->o->verbose ? ":" : "");
    seg_buf_free(&names);
    for (int i = 0; r->o->verbose && i < s->n_trainable; i++)
        printf("  train %s\n", s->trainable[i]);
}

/* A checkpoint (--init, --resume) whose tensors have a net parameter's
 * name but another shape is an error listing every mismatch. */
static int check_store_types(const train_run *r, const rt_stage_spec *s, const char *src,
                             rt_error *err)
{
    seg_buf b = {0};
    int bad = 0;
    for (int i = 0; i < s->train->n_values; i++) {
        const rt_value *v = &s->train->values[i];
        rt_tensor *t = v->name ? rt_store_get(r->store, v->name) : NULL;
        if ((v->kind != RT_VAL_PARAM && v->kind != RT_VAL_BUFFER) || !t || rt_type_equal(&t->type, &v->type))
            continue;
        char a[96], c[96];
        seg_buf_printf(&b, "\n  %s: checkpoint %s, net %s", v->name, rt_type_str(&t->type, a, sizeof a),
                       rt_type_str(&v->type, c, sizeof c));
        bad++;
    }
    if (bad)
        rt_error_set(err, "%s: %d tensor%s do not match stage '%s':%s", src, bad, bad > 1 ? "s" : "",
                     s->name, b.data);
    seg_buf_free(&b);
    return bad ? -1 : 0;
}

/* Before stage k trains: its best and last networks so far (a resumed
 * stage's best epoch is in the rows read back) and its plan.csv row (a
 * warning when it cannot be written). */
static void stage_start(train_run *r, const train_stage *ts, int k)
{
    r->best_epoch = stage_best_epoch(r, k);
    r->last_epoch = 0;
    rt_store_free(r->last);
    r->last = NULL;
    rt_error err = {{0}};
    if (ts->have_plan &&
        train_write_plan(r->dir, r->s->stages[k].name, r->s->stages[k].batch, &ts->plan, &err))
        fprintf(stderr, "segc: warning: %s\n", err.msg);
}

static int run_stage(train_run *r, seg_program *prog, seg_diag *d, int k, rt_dataset *data,
                     const train_overrides *ov, const resume_state *rs, rt_error *err)
{
    const seg_stage *st = &r->s->stages[k];
    train_stage ts = {.arena = seg_arena_new(), .jit_on = r->o->jit, .log = stdout, .runs = 1,
                      .threads = r->o->threads};
    int rc = train_build_stage(prog, r->s, k, d, &ts, err);
    rt_stage_spec *sp = &ts.spec;
    for (int i = 0; rc == 0 && i < st->n_streams; i++)
        sp->streams[i].ds = &data[st->streams[i]];
    sp->val = st->val.stream >= 0 ? &data[st->val.stream] : NULL;
    if (rc == 0)
        rc = train_settings(r->s, k, ov, sp, err);
    if (rc == 0)
        stage_start(r, &ts, k);
    rt_resume res = {0};
    rt_store *best = NULL;
    if (rc == 0 && rs && rs->stage == k) {
        res.epoch = rs->epoch;
        res.ema = meta_d(rs->last, "ema");
        res.best_ema = meta_d(rs->last, "best_ema");
        res.bad_epochs = (int)meta_d(rs->last, "bad_epochs");
        res.best_metric = meta_d(rs->last, "best_metric");
        res.ckpt = rs->last;
        char leaf[300];
        snprintf(leaf, sizeof leaf, "ckpt/best-%s.safetensors", st->name);
        char *p = path_in(r, leaf);
        rt_ckpt *b = rt_ckpt_read(p, err);
        seg_free(p);
        if (b) {
            best = rt_store_new();
            store_load(best, b);
            res.best = best;
            rt_ckpt_free(b);
        }
        printf("stage %s: resuming after epoch %d\n", st->name, rs->epoch);
    }
    if (rc == 0 && r->first_stage == k && (r->o->init || r->o->resume))
        rc = check_store_types(r, sp, r->o->init ? r->o->init : r->o->resume, err);
    if (rc == 0) {
        print_inheritance(r, sp);
        rt_train_hooks h = {r, on_step, on_epoch, on_interrupt};
        r->stage_epochs_done = 0;
        r->meta = ts.meta;
        rc = rt_train_stage(sp, r->store, res.epoch ? &res : NULL, &h, err);
    }
    if (rc == 0)
        rc = stage_outputs(r, sp, err);
    rt_store_free(best);
    train_stage_free(&ts);
    return rc;
}

/* ------------------------------------------------------------- command */

static int parse_overrides(const cli_opts *o, train_overrides *ov)
{
    memset(ov, 0, sizeof *ov);
    ov->seed = o->seed;
    ov->seed_given = o->seed_given;
    ov->threads = o->threads;
    for (int i = 0; i < o->n_settings; i++) {
        const seg_setting *s = &o->settings[i];
        char *end;
        long v = strtol(s->value, &end, 10);
        if (!strcmp(s->key, "B") && o->default_b)
            continue;
        if (*end || v <= 0 || (strcmp(s->key, "epochs") && strcmp(s->key, "steps"))) {
            cli_error("train: --set takes epochs=N or steps=N (positive integers), not '%s=%s'",
                      s->key, s->value);
            return CLI_USAGE;
        }
        *(strcmp(s->key, "epochs") ? &ov->steps : &ov->epochs) = (int)v;
    }
    return CLI_OK;
}


static int default_dir(train_run *r)
{
    char buf[512];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    snprintf(buf, sizeof buf, "runs/%s-%04d%02d%02d-%02d%02d%02d", r->s->name, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    r->dir_owned = seg_xstrdup(buf);
    r->dir = r->dir_owned;
    return 0;
}

/* A fresh run in a folder used before: the per-stage index files and the
 * report would otherwise mix the old run's stages into the new one. */
static void forget_old_run(const train_run *r)
{
    static const char *const leaves[] = {"plan.csv", "overlays/overlays.csv", "report.html"};
    for (int i = 0; i < 3; i++) {
        char *p = path_in(r, leaves[i]);
        remove(p);
        seg_free(p);
    }
}

static int prepare_dir(train_run *r, rt_error *err)
{
    if (make_dir("runs", err) && !r->o->out && !r->o->resume)
        return -1;
    if (make_dir(r->dir, err))
        return -1;
    char *c = path_in(r, "ckpt"), *v = path_in(r, "overlays");
    int rc = make_dir(c, err) || make_dir(v, err);
    seg_free(c);
    seg_free(v);
    if (rc)
        return -1;
    return r->o->resume ? 0 : (forget_old_run(r), copy_source(r, err));
}

static int load_all_data(const seg_schedule *s, rt_dataset *data, rt_error *err)
{
    for (int i = 0; i < s->n_data; i++) {
        if (train_load_data(s, i, &data[i], err))
            return -1;
        printf("data %s: %d cases\n", s->data[i].name, data[i].n);
    }
    return 0;
}

static int train_body(train_run *r, seg_program *prog, seg_diag *d, const train_overrides *ov,
                      rt_error *err)
{
    const seg_schedule *s = r->s;
    rt_dataset *data = seg_xcalloc((size_t)(s->n_data ? s->n_data : 1), sizeof *data);
    resume_state rs = {0};
    int rc = prepare_dir(r, err);
    if (rc == 0 && r->o->resume)
        rc = resume_open(r, &rs, err);
    if (rc == 0 && r->o->init)
        rc = init_from(r, r->o->init, err);
    if (rc == 0)
        rc = load_all_data(s, data, err);
    int first = r->o->resume ? rs.stage + rs.done : 0;
    r->first_stage = first;
    for (int k = first; rc == 0 && k < s->n_stages; k++)
        rc = run_stage(r, prog, d, k, data, ov, r->o->resume && k == rs.stage ? &rs : NULL, err);
    for (int i = 0; i < s->n_data; i++)
        rt_dataset_free(&data[i]);
    seg_free(data);
    rt_ckpt_free(rs.last);
    return rc;
}

/* Per stage, its best epoch's metrics (every class). */
static void final_summary(const train_run *r)
{
    for (int k = 0; k < r->s->n_stages; k++) {
        const rt_epoch_row *best = NULL;
        for (int i = 0; i < r->n_rows; i++)
            if (r->rows[i].stage == k && r->rows[i].best && r->rows[i].validated)
                best = &r->rows[i];
        if (!best)
            continue;
        printf("stage %s: best epoch %d: %s %.4f;", best->stage_name, best->epoch, best->monitor,
               best->monitor_value);
        for (int c = 0; c < best->val.classes; c++)
            printf(" %s Dice %.4f%s", best->class_names[c], best->val.dice[c],
                   c + 1 < best->val.classes ? "," : ";");
        printf(" mIoU %.4f\n", best->val.miou);
    }
    printf("run folder: %s\n", r->dir);
    char *p = path_in(r, "report.html");
    if (access(p, R_OK) == 0)
        printf("report: %s (open it in a browser)\n", p);
    seg_free(p);
}

int cli_cmd_train(const cli_opts *o)
{
    train_overrides ov;
    seg_diag *d = seg_diag_new(stderr);
    seg_program *prog = seg_load(o->files[0], d);
    train_run r = {.o = o, .tty = isatty(1)};
    cli_opts rest = *o;
    rest.settings = NULL;
    int code = prog ? cli_pick_schedule(o, prog, d, &r.s, &rest) : CLI_BAD_PROGRAM;
    if (code == CLI_OK)
        code = parse_overrides(&rest, &ov);
    if (code == CLI_OK) {
        r.dir = o->resume ? o->resume : o->out;
        if (!r.dir)
            default_dir(&r);
        r.store = rt_store_new();
        rt_error err = {{0}};
        double t0 = (double)time(NULL);
        cli_stop_install();
        int rc = train_body(&r, prog, d, &ov, &err);
        code = rc == 0 ? CLI_OK : r.stop_sig ? 128 + r.stop_sig : CLI_RUNTIME;
        progress_clear(&r);
        if (r.stop_sig)
            interrupted_note(&r);
        else if (code)
            cli_error("%s", err.msg);
        else
            final_summary(&r);
        printf("wall time: %.0f s\n", (double)time(NULL) - t0);
        rt_store_free(r.store);
        rt_store_free(r.last);
    }
    cli_run_rows_free(&r.resumed);
    seg_free(r.rows);
    seg_free(r.dir_owned);
    cli_rest_free(&rest);
    seg_program_free(prog);
    seg_diag_free(d);
    return code;
}

/* ------------------------------------------------------ ir --stage --grad */

static int print_stage_graph(seg_program *p, const seg_schedule *s, int k, int grad, seg_diag *d)
{
    ir_graph *g = seg_stage_graph(p, s, k, 1, d);
    if (!g)
        return CLI_BAD_PROGRAM;
    char msg[256];
    ir_graph *x = grad ? ir_training_graph(g, 0, NULL, NULL, msg, sizeof msg)
                       : ir_expand_grads(g, NULL, msg, sizeof msg);
    ir_graph_free(g);
    if (!x) {
        cli_error("stage '%s': %s", s->stages[k].name, msg);
        return CLI_RUNTIME;
    }
    ir_print(x, stdout);
    ir_graph_free(x);
    return CLI_OK;
}

int cli_stage_ir(const cli_opts *o)
{
    seg_diag *d = seg_diag_new(stderr);
    seg_program *prog = seg_load(o->files[0], d);
    const seg_schedule *s = NULL;
    cli_opts rest = *o;
    rest.settings = NULL;
    int code = prog ? cli_pick_schedule(o, prog, d, &s, &rest) : CLI_BAD_PROGRAM;
    if (code == CLI_OK)
        code = cli_schedule_settings_only(&rest, "ir --stage");
    if (code == CLI_OK) {
        int k = stage_index(s, o->stage);
        if (k < 0) {
            cli_error("schedule '%s' has no stage '%s'", s->name, o->stage);
            code = CLI_USAGE;
        } else {
            code = print_stage_graph(prog, s, k, o->grad, d);
        }
    }
    cli_rest_free(&rest);
    seg_program_free(prog);
    seg_diag_free(d);
    return code;
}
