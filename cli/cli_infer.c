/* cli_infer.c — `segc infer RUN_DIR|CKPT --input PATH... --output DIR`:
 * a trained network applied to new scans.
 *
 * The checkpoint says everything (cli_model.c, ckpt_meta.c): the program,
 * the predicting model, its preprocessing and how its output becomes
 * labels. Each input (files, folders, globs: NIfTI for a 3D net, PNG for
 * a 2D one) is read, preprocessed as in training (clip, min-max, z-score,
 * resampling to the training spacing), predicted by sliding window
 * (runtime/sliding.c: overlapping tiles, Gaussian weights, optional
 * mirroring), its probabilities resampled back to the scan's own grid,
 * decoded, optionally reduced to the largest component per class, and
 * written into DIR under the input's name with the input's header: uint8
 * labels, or float32 probabilities with --probabilities (2D: as NIfTI).
 * With --labels, each case is compared with its label file (paired in
 * order): Dice, IoU, HD95 and ASD per class into DIR/metrics.csv and a
 * summary line.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void openblas_set_num_threads(int); /* from OpenBLAS; we include no BLAS header */

/* Per class over the cases: sums of the metrics where they are defined. */
typedef struct class_sum {
    double dice, iou, hd95, asd;
    int n, n_dist;
} class_sum;

typedef struct infer_run {
    const cli_opts *o;
    rt_ckpt *ckpt;
    char *ckpt_path;
    cli_net net;
    cli_infer_spec spec;
    pipeline_result pr;
    rt_interp *it;
    rt_sliding win;
    char **in, **lab;         /* expanded --input and --labels paths (owned) */
    int n_in, n_lab;
    int tty;
    seg_buf csv;              /* metrics.csv */
    class_sum sum[RT_MAX_CLASSES];
} infer_run;

/* -------------------------------------------------------------- paths */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static int wanted(const char *p, int nsp)
{
    return nsp == 2 ? has_suffix(p, ".png") : has_suffix(p, ".nii") || has_suffix(p, ".nii.gz");
}

static void push(char ***list, int *n, const char *s)
{
    *list = seg_xrealloc(*list, (size_t)(*n + 1) * sizeof **list);
    (*list)[(*n)++] = seg_xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The images of a folder (sorted). */
static int from_dir(const char *dir, int nsp, char ***list, int *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int first = *n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !wanted(e->d_name, nsp))
            continue;
        seg_buf b = {0};
        seg_buf_printf(&b, "%s/%s", dir, e->d_name);
        push(list, n, b.data);
        seg_buf_free(&b);
    }
    closedir(d);
    qsort(*list + first, (size_t)(*n - first), sizeof **list, cmp_str);
    return 0;
}

/* One --input/--labels argument: a folder, a glob or a file. */
static int expand_one(const char *arg, int nsp, const char *opt, char ***list, int *n)
{
    struct stat st;
    const char *kind = nsp == 2 ? "PNG (.png)" : "NIfTI (.nii, .nii.gz)";
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        int before = *n;
        if (from_dir(arg, nsp, list, n) == 0 && *n > before)
            return 0;
        cli_error("%s: folder '%s' holds no %s files", opt, arg, kind);
        return -1;
    }
    if (strpbrk(arg, "*?[")) {
        glob_t g;
        int rc = glob(arg, 0, NULL, &g);
        for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
            push(list, n, g.gl_pathv[i]);
        globfree(&g);
        if (rc == 0)
            return 0;
        cli_error("%s: no files match '%s'", opt, arg);
        return -1;
    }
    if (stat(arg, &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error("%s: cannot read '%s': %s", opt, arg, errno ? strerror(errno) : "not a file");
        return -1;
    }
    push(list, n, arg);
    return 0;
}

static int expand(const char *const *args, int n_args, int nsp, const char *opt, char ***list,
                  int *n)
{
    for (int i = 0; i < n_args; i++)
        if (expand_one(args[i], nsp, opt, list, n))
            return -1;
    for (int i = 0; i < *n; i++)
        if (!wanted((*list)[i], nsp)) {
            cli_error("%s: '%s' is not a %s file; the net is %dD and takes %s", opt, (*list)[i],
                      nsp == 2 ? "PNG" : "NIfTI", nsp, nsp == 2 ? ".png" : ".nii or .nii.gz");
            return -1;
        }
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* DIR/NAME of input i's result (seg-owned). */
static char *out_path(const infer_run *r, int i)
{
    const char *b = base_name(r->in[i]);
    seg_buf p = {0};
    seg_buf_printf(&p, "%s/%s", r->o->output, b);
    if (r->o->probabilities && has_suffix(b, ".png")) { /* float32 needs NIfTI */
        p.data[p.len - 4] = 0;
        p.len -= 4;
        seg_buf_printf(&p, ".nii.gz");
    }
    return p.data;
}

/* Results must not collide with each other or overwrite an input. */
static int check_outputs(const infer_run *r)
{
    for (int i = 0; i < r->n_in; i++) {
        char *a = out_path(r, i), ra[4096], rb[4096];
        int bad = 0;
        for (int j = 0; j < i && !bad; j++)
            bad = !strcmp(base_name(r->in[i]), base_name(r->in[j]));
        if (bad)
            cli_error("--input: two inputs are named '%s'; their results would share %s",
                      base_name(r->in[i]), a);
        for (int j = 0; j < r->n_in && !bad; j++)
            bad = realpath(a, ra) && realpath(r->in[j], rb) && !strcmp(ra, rb);
        if (bad && realpath(a, ra))
            cli_error("--output: %s would overwrite an input; choose another folder", a);
        seg_free(a);
        if (bad)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- model */

static void on_tiles(void *user, int64_t done, int64_t total)
{
    infer_run *r = user;
    if (!r->tty)
        return;
    int width = 30, k = (int)(width * done / total);
    printf("\r  [");
    for (int i = 0; i < width; i++)
        putchar(i < k ? '#' : '.');
    printf("] %lld/%lld tiles ", (long long)done, (long long)total);
    fflush(stdout);
}

/* The net input: rank, channels, tile size. */
static int net_geometry(infer_run *r)
{
    ir_id img = ir_find_input(r->net.graph, "image");
    if (img < 0 || r->net.graph->nodes[img].type.rank < 4 || r->net.graph->nodes[img].type.rank > 5) {
        cli_error("%s: net '%s' has no image input [B, C, spatial...] of 2 or 3 spatial axes",
                  r->ckpt_path, r->net.name);
        return CLI_RUNTIME;
    }
    const rt_type *t = &r->net.graph->nodes[img].type;
    rt_sliding *w = &r->win;
    rt_sliding_init(w);
    w->nsp = t->rank - 2;
    w->channels = (int)t->dim[1];
    for (int a = 0; a < w->nsp; a++)
        w->patch[a] = t->dim[2 + a];
    w->batch = (int)t->dim[0];
    w->overlap = r->o->overlap;
    w->mirror = r->o->tta;
    w->act = r->spec.act;
    w->output = r->spec.output;
    w->progress = on_tiles;
    w->user = r;
    return CLI_OK;
}

static int open_model(infer_run *r)
{
    const cli_opts *o = r->o;
    int batch = o->batch > 0 ? o->batch : 2;
    int rc = cli_ckpt_open(o->files[0], &r->ckpt, &r->ckpt_path);
    if (rc == CLI_OK)
        rc = cli_infer_spec_read(r->ckpt, r->ckpt_path, &r->spec);
    if (rc == CLI_OK)
        rc = cli_ckpt_net(r->ckpt, r->ckpt_path, batch, &r->net);
    if (rc == CLI_OK)
        rc = net_geometry(r);
    return rc;
}

/* The compiled program with the checkpoint's parameters. */
static int build_program(infer_run *r)
{
    const cli_opts *o = r->o;
    rt_budget budget = {.threads = o->threads, .what = "the forward pass"};
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = o->jit, .compile = 1, .budget = &budget};
    int rc = cli_pipeline(r->net.graph, &po, &r->pr, r->ckpt_path);
    if (rc != CLI_OK)
        return rc;
    r->it = rt_interp_new(r->pr.prog, 0, o->threads);
    if (r->pr.kernels)
        rt_interp_set_kernels(r->it, jit_program_table(r->pr.kernels));
    int loaded;
    rc = cli_ckpt_params(r->ckpt, r->ckpt_path, r->pr.prog, r->it, 1, &loaded);
    if (rc == CLI_OK)
        printf("model: %s (schedule %s, stage %s, net %s%s%s), %d tensors; %s -> %s\n",
               r->ckpt_path, rt_ckpt_meta(r->ckpt, "segc.schedule"),
               rt_ckpt_meta(r->ckpt, "segc.stage"), r->net.name,
               *rt_ckpt_meta(r->ckpt, "segc.net_args") ? " " : "",
               rt_ckpt_meta(r->ckpt, "segc.net_args"), loaded, r->spec.output,
               cli_decode_name(r->spec.decode));
    return rc;
}

/* --------------------------------------------------------------- cases */

/* The recorded preprocessing, in order. */
static int preprocess(const infer_run *r, rt_case *c, rt_error *err)
{
    for (int k = 0; k < r->spec.n_prep; k++) {
        const cli_prep *p = &r->spec.prep[k];
        int rc = 0;
        if (!strcmp(p->name, "clip"))
            rt_case_clip(c, p->v[0], p->v[1]);
        else if (!strcmp(p->name, "minmax"))
            rc = rt_case_minmax(c, err);
        else if (!strcmp(p->name, "zscore"))
            rc = rt_case_zscore(c, err);
        else if (!strcmp(p->name, "resample"))
            rc = rt_case_resample(c, p->v, err);
        if (rc)
            return -1;
    }
    return 0;
}

/* Probabilities [C, grid of c] at the scan's own grid (size, spacing). */
static float *to_scan_grid(float *prob, int C, const rt_case *c, const int64_t size[3],
                           const float spacing[3])
{
    int same = 1;
    for (int a = 0; a < 3; a++)
        same = same && c->size[a] == size[a];
    if (same)
        return prob;
    float *out = seg_xcalloc((size_t)(C * size[0] * size[1] * size[2]), sizeof *out);
    rt_resample_linear(prob, C, c->size, c->spacing, out, size, spacing);
    seg_free(prob);
    return out;
}

typedef struct scan {
    rt_case c;          /* the image, preprocessed in place */
    rt_volume vol;      /* NIfTI: the geometry to write back with */
    int64_t size[3];    /* the scan's own grid */
    float spacing[3];
    int32_t *truth;     /* --labels: in the prediction's classes, else NULL */
} scan;

static void scan_free(scan *s)
{
    rt_case_free(&s->c);
    rt_volume_free(&s->vol);
    seg_free(s->truth);
}

static int load_truth(const infer_run *r, int i, scan *s, rt_error *err)
{
    if (!r->n_lab)
        return 0;
    int64_t n = rt_case_numel(&s->c);
    s->truth = seg_xcalloc((size_t)n, sizeof *s->truth);
    if (rt_case_read_label(&s->c, r->lab[i], r->spec.data_classes, s->truth, err))
        return -1;
    for (int64_t v = 0; v < n; v++)
        s->truth[v] = r->spec.truth_map[s->truth[v]];
    return 0;
}

static int load_scan(const infer_run *r, int i, scan *s, rt_error *err)
{
    if (rt_case_read_image(&s->c, r->in[i], r->win.nsp == 3 ? &s->vol : NULL, err))
        return -1;
    memcpy(s->size, s->c.size, sizeof s->size);
    memcpy(s->spacing, s->c.spacing, sizeof s->spacing);
    if (s->c.channels != r->win.channels) {
        rt_error_set(err, "%s: the image has %d channel%s; net '%s' takes %d", r->in[i],
                     s->c.channels, s->c.channels == 1 ? "" : "s", r->net.name, r->win.channels);
        return -1;
    }
    return load_truth(r, i, s, err) || preprocess(r, &s->c, err) ? -1 : 0;
}

/* ------------------------------------------------------------- writing */

static int write_png(const char *path, const scan *s, const int32_t *map, rt_error *err)
{
    int64_t n = rt_case_numel(&s->c);
    uint8_t *px = seg_xcalloc((size_t)n, 1);
    for (int64_t v = 0; v < n; v++)
        px[v] = (uint8_t)map[v];
    int rc = rt_png_write(path, (int)s->size[1], (int)s->size[0], 1, 8, px, err);
    seg_free(px);
    return rc;
}

/* Labels (uint8) or probabilities (float32, C channels) on the scan's grid
 * with its header; a 2D image's probabilities as NIfTI of one slice. */
static int write_result(const infer_run *r, const char *path, const scan *s, const float *prob,
                        int C, const int32_t *map, rt_error *err)
{
    if (r->win.nsp == 2 && !r->o->probabilities)
        return write_png(path, s, map, err);
    int64_t n = s->size[0] * s->size[1] * s->size[2];
    rt_volume v = s->vol;
    if (r->win.nsp == 2) {
        memset(&v, 0, sizeof v);
        v.nx = s->size[1], v.ny = s->size[0], v.nz = 1;
        v.spacing[0] = v.spacing[1] = v.spacing[2] = 1;
    }
    v.nt = r->o->probabilities ? C : 1;
    float *labels = NULL;
    if (!r->o->probabilities) {
        labels = seg_xcalloc((size_t)n, sizeof *labels);
        for (int64_t i = 0; i < n; i++)
            labels[i] = (float)map[i];
    }
    v.data = labels ? labels : (float *)prob;
    int rc = rt_nifti_write(path, &v, r->o->probabilities ? RT_F32 : RT_U8, err);
    seg_free(labels);
    return rc;
}

/* ------------------------------------------------------------- metrics */

static void csv_num(seg_buf *b, double v)
{
    if (isnan(v))
        seg_buf_printf(b, ",nan");
    else
        seg_buf_printf(b, ",%.6g", v);
}

/* Per foreground class: a metrics.csv row, the sums, and the line part. */
static void evaluate(infer_run *r, int i, const scan *s, const int32_t *map)
{
    int64_t n = s->size[0] * s->size[1] * s->size[2];
    uint8_t *p = seg_xcalloc((size_t)n, 1), *t = seg_xcalloc((size_t)n, 1);
    for (int k = 1; k < r->spec.classes; k++) {
        for (int64_t v = 0; v < n; v++)
            p[v] = map[v] == k, t[v] = s->truth[v] == k;
        rt_mask_eval m;
        rt_mask_metrics(p, t, r->win.nsp, s->size, s->spacing, &m);
        seg_buf_printf(&r->csv, "%s,%s", base_name(r->in[i]), r->spec.names[k]);
        csv_num(&r->csv, m.dice), csv_num(&r->csv, m.iou);
        csv_num(&r->csv, m.hd95), csv_num(&r->csv, m.asd);
        seg_buf_printf(&r->csv, ",%lld,%lld\n", (long long)m.pred_voxels, (long long)m.truth_voxels);
        class_sum *c = &r->sum[k];
        c->dice += m.dice, c->iou += m.iou, c->n++;
        if (!isnan(m.hd95))
            c->hd95 += m.hd95, c->asd += m.asd, c->n_dist++;
        printf("  %s: Dice %.4f IoU %.4f HD95 %.2f mm ASD %.2f mm\n", r->spec.names[k], m.dice,
               m.iou, m.hd95, m.asd);
    }
    seg_free(p);
    seg_free(t);
}

static int write_metrics(infer_run *r, rt_error *err)
{
    seg_buf p = {0};
    seg_buf_printf(&p, "%s/metrics.csv", r->o->output);
    int rc = rt_file_write_atomic(p.data, r->csv.data, r->csv.len, err);
    if (rc == 0)
        printf("wrote %s\n", p.data);
    seg_buf_free(&p);
    for (int k = 1; rc == 0 && k < r->spec.classes; k++) {
        const class_sum *c = &r->sum[k];
        printf("metrics (%d case%s, mean per case): %s Dice %.4f IoU %.4f", c->n,
               c->n == 1 ? "" : "s", r->spec.names[k], c->dice / c->n, c->iou / c->n);
        if (c->n_dist)
            printf(" HD95 %.2f mm ASD %.2f mm", c->hd95 / c->n_dist, c->asd / c->n_dist);
        if (c->n_dist < c->n)
            printf(" (surface distances undefined in %d case%s: one mask empty)",
                   c->n - c->n_dist, c->n - c->n_dist == 1 ? "" : "s");
        putchar('\n');
    }
    return rc;
}

/* ---------------------------------------------------------------- a case */

static int predict(infer_run *r, scan *s, float **prob, int *C, int32_t **map, rt_error *err)
{
    if (rt_sliding_predict(&r->win, r->it, s->c.image, s->c.size, prob, C, err))
        return -1;
    if (r->tty)
        printf("\r%*s\r", 60, "");
    *prob = to_scan_grid(*prob, *C, &s->c, s->size, s->spacing);
    int64_t n = s->size[0] * s->size[1] * s->size[2];
    *map = seg_xcalloc((size_t)n, sizeof **map);
    rt_decode_map(r->spec.decode, r->spec.threshold, *prob, 1, *C, n, *map);
    if (r->o->keep_largest)
        rt_keep_largest(*map, s->size, r->spec.classes);
    return 0;
}

/* "scan.nii.gz: 128x128x62 voxels (2x2x3 mm), 27 tiles -> out/scan.nii.gz",
 * sizes x first as NIfTI and PNG give them. */
static void print_case(const infer_run *r, int i, const scan *s, const char *out, double sec)
{
    int nsp = r->win.nsp;
    printf("%s: ", r->in[i]);
    for (int a = nsp - 1; a >= 0; a--)
        printf("%lld%s", (long long)s->size[a], a ? "x" : nsp == 2 ? " pixels (" : " voxels (");
    for (int a = nsp - 1; a >= 0; a--)
        printf("%g%s", s->spacing[a], a ? "x" : " mm)");
    printf(", %lld tiles -> %s (%.1f s)\n", (long long)rt_sliding_tiles(&r->win, s->c.size), out,
           sec);
}

static int infer_case(infer_run *r, int i, rt_error *err)
{
    double t0 = seg_seconds();
    scan s;
    memset(&s, 0, sizeof s);
    float *prob = NULL;
    int32_t *map = NULL;
    int C = 0;
    char *out = out_path(r, i);
    int rc = load_scan(r, i, &s, err) || predict(r, &s, &prob, &C, &map, err) ||
             write_result(r, out, &s, prob, C, map, err) ? -1 : 0;
    if (rc == 0)
        print_case(r, i, &s, out, seg_seconds() - t0);
    if (rc == 0 && s.truth)
        evaluate(r, i, &s, map);
    fflush(stdout);
    seg_free(out);
    seg_free(prob);
    seg_free(map);
    scan_free(&s);
    return rc;
}

/* ------------------------------------------------------------- command */

static int check_args(const cli_opts *o)
{
    if (!o->n_inputs || !o->output) {
        cli_error("infer: give --input PATH... and --output DIR (run 'segc help infer')");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int gather(infer_run *r)
{
    const cli_opts *o = r->o;
    if (expand(o->inputs, o->n_inputs, r->win.nsp, "--input", &r->in, &r->n_in) ||
        expand(o->labels, o->n_labels, r->win.nsp, "--labels", &r->lab, &r->n_lab))
        return CLI_USAGE;
    if (r->n_lab && r->n_lab != r->n_in) {
        cli_error("--labels: %d label files for %d inputs (they pair in order)", r->n_lab, r->n_in);
        return CLI_USAGE;
    }
    struct stat st;
    if (mkdir(o->output, 0777) != 0 && errno != EEXIST) {
        cli_error("--output: cannot create folder '%s': %s", o->output, strerror(errno));
        return CLI_USAGE;
    }
    if (stat(o->output, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("--output: '%s' is not a folder", o->output);
        return CLI_USAGE;
    }
    return check_outputs(r) ? CLI_USAGE : CLI_OK;
}

static int run_all(infer_run *r)
{
    rt_error err = {{0}};
    seg_buf_printf(&r->csv, "case,class,dice,iou,hd95_mm,asd_mm,pred_voxels,truth_voxels\n");
    for (int i = 0; i < r->n_in; i++)
        if (infer_case(r, i, &err)) {
            cli_error("%s", err.msg);
            return CLI_RUNTIME;
        }
    if (r->n_lab && write_metrics(r, &err)) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

static void run_free(infer_run *r)
{
    for (int i = 0; i < r->n_in; i++)
        seg_free(r->in[i]);
    for (int i = 0; i < r->n_lab; i++)
        seg_free(r->lab[i]);
    seg_free(r->in);
    seg_free(r->lab);
    rt_interp_free(r->it);
    pipeline_result_free(&r->pr);
    cli_net_free(&r->net);
    cli_infer_spec_free(&r->spec);
    rt_ckpt_free(r->ckpt);
    seg_free(r->ckpt_path);
    seg_buf_free(&r->csv);
}

int cli_cmd_infer(const cli_opts *o)
{
    int rc = check_args(o);
    if (rc)
        return rc;
    if (o->threads_given)
        openblas_set_num_threads(o->threads);
    infer_run r = {.o = o, .tty = isatty(1)};
    rc = open_model(&r);
    if (rc == CLI_OK)
        rc = gather(&r);
    if (rc == CLI_OK)
        rc = build_program(&r);
    if (rc == CLI_OK)
        rc = run_all(&r);
    run_free(&r);
    return rc;
}
