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
 *   RUN/ckpt/interrupted.safetensors  SIGINT/SIGTERM: all of that at the step where
 *                                     it stopped
 *
 * All files are written atomically; a crash or a NaN keeps the last good
 * checkpoint. Randomness is counter-based on (seed, step), so the step
 * counters in the checkpoint metadata are the whole RNG state, and a
 * resumed run reaches the same checkpoint bytes as an uninterrupted one
 * (store tensors and trained_by keys go out in name order); --resume
 * reads metrics.csv back and keeps the epochs before the resume point.
 * --resume validates what it loads: counters in range (resume_meta),
 * every tensor of the resumed stage present with its type
 * (check_ckpt_types), optimizer state complete (rt_optim_load_exact).
 *
 * On a terminal, a progress line (stage, epoch, steps, loss, s/step) is
 * redrawn in place after every step and erased before anything else is
 * printed.
 *
 * Under mpirun (cli_dist.c, runtime/dist.c) every rank runs this same
 * driver on its share of each batch; only rank 0 (r->writer) writes the
 * run folder and prints.
 *
 * SIGINT or SIGTERM (cli/process.c) ends the run after the step in
 * progress: its parameters, optimizer state and counters (the steps of
 * the epoch done and the sum of their losses) go to
 * ckpt/interrupted.safetensors, the message gives the command that
 * resumes, exit 130 or 143. --resume takes the newer of last.safetensors
 * and interrupted.safetensors, so a run resumed from the step a signal
 * stopped is exact too; the next epoch's checkpoint removes the
 * interrupted one. A second signal ends the process at once.
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
    cli_dist_job job;            /* under mpirun: the job, this rank's schedule */
    int writer;                  /* this process writes the run folder (rank 0) */
    const rt_ckpt *src;          /* --resume or --init: checked against the first stage */
    int stop_sig;                /* the signal that ended the run, 0 = none */
    int stop_epoch, stop_step;   /* where: epoch (from 1) and step within it */
    const char *stop_stage;
    int stop_saved;              /* ckpt/interrupted.safetensors was written */
    int steps_run;               /* steps this process ran (SEGC_TEST_INTERRUPT_AT_STEP) */
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

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The store's names, sorted (seg-owned array, borrowed strings): a
 * resumed run's store is filled in checkpoint order and an uninterrupted
 * run's in training order, and the checkpoint bytes must not differ. */
static const char **store_names_sorted(const rt_store *st, int *n)
{
    *n = rt_store_count(st);
    const char **v = seg_xcalloc((size_t)(*n ? *n : 1), sizeof *v);
    for (int i = 0; i < *n; i++)
        v[i] = rt_store_name(st, i);
    qsort(v, (size_t)*n, sizeof *v, name_cmp);
    return v;
}

/* Params and buffers: the running stage's live values, then, by name,
 * whatever the store holds that this stage does not use. */
static void add_state(rt_ckpt *c, const train_run *r, const rt_stage_spec *s, rt_interp *it)
{
    const rt_program *p = s->train;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        if (v->kind == RT_VAL_PARAM || v->kind == RT_VAL_BUFFER)
            rt_ckpt_add_tensor(c, v->name, rt_interp_value_at(it, i));
    }
    int n;
    const char **names = store_names_sorted(r->store, &n);
    for (int i = 0; i < n; i++)
        if (!rt_interp_value(it, names[i]))
            rt_ckpt_add_tensor(c, names[i], rt_store_get(r->store, names[i]));
    seg_free(names);
}

static int is_trainable(const rt_stage_spec *s, const char *name)
{
    for (int i = 0; i < s->n_trainable; i++)
        if (!strcmp(s->trainable[i], name))
            return 1;
    return 0;
}

/* "trained_by.NAME" for the store's tensors and the stage's trainable
 * ones, in name order whichever of the two holds a name now. */
static void add_trained_by(rt_ckpt *c, const train_run *r, const rt_stage_spec *s)
{
    int n, m = 0;
    const char **store = store_names_sorted(r->store, &n);
    const char **all = seg_xcalloc((size_t)(n + s->n_trainable + 1), sizeof *all);
    for (int i = 0; i < n; i++)
        if (rt_store_trained_by(r->store, store[i]) || is_trainable(s, store[i]))
            all[m++] = store[i];
    for (int i = 0; i < s->n_trainable; i++)
        if (!rt_store_get(r->store, s->trainable[i]))
            all[m++] = s->trainable[i];
    qsort(all, (size_t)m, sizeof *all, name_cmp);
    char key[600];
    for (int i = 0; i < m; i++) {
        snprintf(key, sizeof key, "trained_by.%s", all[i]);
        rt_ckpt_set_meta(c, key, is_trainable(s, all[i]) ? s->name
                                                         : rt_store_trained_by(r->store, all[i]));
    }
    seg_free(all);
    seg_free(store);
}

/* Where save_state writes: the epoch's checkpoint, or an interrupted step's. */
static const char *state_leaf(int mid)
{
    return mid ? "ckpt/interrupted.safetensors" : "ckpt/last.safetensors";
}

/* Everything a resume needs, at the end of an epoch (mid 0:
 * ckpt/last.safetensors) or after the step a signal stopped (mid 1:
 * ckpt/interrupted.safetensors, e->steps_done steps of epoch e->epoch
 * done, e->loss_sum their losses; "epoch" counts the finished ones). */
static int save_state(const train_run *r, const rt_stage_spec *s, const rt_epoch_report *e,
                      rt_interp *it, rt_optim *opt, int mid, rt_error *err)
{
    const char *leaf = state_leaf(mid);
    rt_ckpt *c = rt_ckpt_new();
    add_state(c, r, s, it);
    rt_optim_save(opt, c);
    rt_ckpt_set_meta(c, "schedule", r->s->name);
    rt_ckpt_set_meta(c, "stage", s->name);
    meta_num(c, "stage_index", s->index);
    meta_num(c, "epoch", mid ? e->epoch - 1 : e->epoch);
    meta_num(c, "stage_done", !mid && (e->stop || e->epoch >= e->epochs));
    meta_num(c, "step", (double)e->step);
    meta_num(c, "seed", (double)s->seed);
    meta_num(c, "ema", e->ema);
    meta_num(c, "best_ema", e->best_ema);
    meta_num(c, "bad_epochs", e->bad_epochs);
    meta_num(c, "best_metric", e->best_metric);
    if (mid) {
        meta_num(c, "steps_in_epoch", e->steps_done);
        meta_num(c, "epoch_loss_sum", e->loss_sum);
    }
    add_trained_by(c, r, s);
    cli_meta_apply(r->meta, c);
    char *p = path_in(r, leaf);
    int rc = rt_ckpt_write(c, p, err);
    seg_free(p);
    rt_ckpt_free(c);
    return rc;
}

/* The epoch's checkpoint; an interrupted step's file is older now. */
static int save_last(const train_run *r, const rt_stage_spec *s, const rt_epoch_report *e,
                     rt_interp *it, rt_optim *opt, rt_error *err)
{
    if (save_state(r, s, e, it, opt, 0, err))
        return -1;
    char *p = path_in(r, state_leaf(1));
    unlink(p);
    seg_free(p);
    return 0;
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
    if (r->job.dist)
        cli_dist_where(s->name, epoch, step, s->steps_per_epoch);
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
    if (r->writer && (write_metrics(r, err) || (e->best && save_best(r, s, e, it, err)) ||
                      save_last(r, s, e, it, opt, err)))
        return -1;
    r->best_epoch = e->best ? e->epoch : r->best_epoch;
    if (e->stop || e->epoch >= e->epochs) { /* the last network, for its overlays */
        r->last = r->last ? r->last : rt_store_new();
        rt_store_from_interp(r->last, it, s->train);
        r->last_epoch = e->epoch;
    }
    return simulated_crash(r, err);
}

/* Test hook: SEGC_TEST_INTERRUPT_AT_STEP=N sends this process SIGINT
 * during the N-th step it runs (counted over all stages), so the test of
 * resuming from an interrupted step is deterministic. */
static void test_interrupt(train_run *r)
{
    static int at = -1; /* read once, not on every step */
    if (at < 0) {
        const char *v = getenv("SEGC_TEST_INTERRUPT_AT_STEP");
        at = v ? atoi(v) : 0;
    }
    if (at > 0 && ++r->steps_run == at)
        raise(SIGINT);
}

/* After every step: a SIGINT or SIGTERM ends the stage here, with all a
 * resume from this step needs saved beside the checkpoints. */
static int on_interrupt(void *user, const rt_stage_spec *s, const rt_epoch_report *e,
                        rt_interp *it, rt_optim *opt, rt_error *err)
{
    train_run *r = user;
    test_interrupt(r);
    int sig = cli_stop_requested();
    if (!sig)
        return 0;
    progress_clear(r);
    r->stop_sig = sig, r->stop_epoch = e->epoch, r->stop_step = e->steps_done;
    r->stop_stage = s->name;
    rt_error werr = {{0}};
    r->stop_saved = !r->writer || save_state(r, s, e, it, opt, 1, &werr) == 0;
    if (!r->stop_saved) /* the run stops all the same; say why the file is missing */
        fprintf(stderr, "segc: warning: %s\n", werr.msg);
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
    char *p = path_in(r, state_leaf(0));
    const char *from = r->stop_saved ? "that step" : access(p, R_OK) == 0 ? "the last finished epoch"
                                                                         : NULL;
    if (r->stop_saved)
        fprintf(stderr, "  that step's parameters, optimizer state and counters: "
                "%s/ckpt/interrupted.safetensors\n", r->dir);
    if (from) {
        fprintf(stderr, "  resume from %s with:\n    segc train %s", from, r->o->files[0]);
        print_run_options(r->o);
        fprintf(stderr, " --resume %s\n", r->dir);
    } else {
        fprintf(stderr, "  nothing was saved to resume from; start again with:\n"
                "    segc train %s --out %s --overwrite\n", r->o->files[0], r->dir);
    }
    seg_free(p);
}

/* The end of a stage: pictures of its best network (in the store now)
 * and its last, then the report. A report that cannot be written is a
 * warning: the training it describes is done and saved. */
static int stage_outputs(train_run *r, const rt_stage_spec *s, rt_error *err)
{
    if (!r->writer)
        return 0;
    int rc = train_write_overlays(r->dir, s, r->store, r->best_epoch, r->last, r->last_epoch, err);
    rt_error rerr = {{0}};
    if (rc == 0 && cli_report_write(r->dir, &rerr))
        fprintf(stderr, "segc: warning: %s\n", rerr.msg);
    return rc;
}

/* ------------------------------------------------------------- resume */

typedef struct resume_state {
    rt_ckpt *last;          /* RUN/ckpt/last.safetensors, or interrupted.safetensors when newer */
    char *path;             /* its path, for messages (seg-owned) */
    int stage;              /* stage it was written in */
    double step;            /* steps of the stage done (which file is newer) */
    int done;               /* that stage had finished */
    rt_resume res;          /* its counters and plateau state, as the trainer takes them
                               (epoch, steps_done, loss_sum, ema, best_ema, bad_epochs,
                               best_metric; ckpt, path and best set by run_stage) */
} resume_state;

/* Metadata key k as a number: the whole value must parse (inf and nan
 * included: the plateau state starts at -inf). */
static int meta_num_get(const rt_ckpt *c, const char *path, const char *k, double *out,
                        rt_error *err)
{
    const char *v = rt_ckpt_meta(c, k);
    char *end = NULL;
    *out = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end) {
        rt_error_set(err, "%s: metadata '%s' is %s%s%s, expected a number", path, k,
                     v ? "'" : "missing", v ? v : "", v ? "'" : "");
        return -1;
    }
    return 0;
}

/* Metadata key k as an integer in [lo, hi]; anything else (a fraction,
 * -5, 1e300) is an error naming the file and the key. */
static int meta_int_get(const rt_ckpt *c, const char *path, const char *k, double lo, double hi,
                        double *out, rt_error *err)
{
    if (meta_num_get(c, path, k, out, err))
        return -1;
    if (!(*out >= lo && *out <= hi) || *out != floor(*out)) {
        rt_error_set(err, "%s: metadata '%s' is '%s', expected an integer from %.0f to %.0f",
                     path, k, rt_ckpt_meta(c, k), lo, hi);
        return -1;
    }
    return 0;
}

/* The counters and plateau state of last.safetensors, each checked
 * against the schedule before anything uses it as an index or a count. */
static int resume_meta(const train_run *r, resume_state *rs, rt_error *err)
{
    const rt_ckpt *c = rs->last;
    int mid = rt_ckpt_meta(c, "steps_in_epoch") != NULL; /* an interrupted step's file */
    double stage, epoch, done, bad, steps = 0;
    if (meta_int_get(c, rs->path, "stage_index", 0, r->s->n_stages - 1, &stage, err) ||
        meta_int_get(c, rs->path, "epoch", mid ? 0 : 1, 1e9, &epoch, err) ||
        meta_int_get(c, rs->path, "stage_done", 0, mid ? 0 : 1, &done, err) ||
        meta_int_get(c, rs->path, "bad_epochs", 0, epoch, &bad, err) ||
        meta_int_get(c, rs->path, "step", 0, 1e18, &rs->step, err) ||
        meta_num_get(c, rs->path, "ema", &rs->res.ema, err) ||
        meta_num_get(c, rs->path, "best_ema", &rs->res.best_ema, err) ||
        meta_num_get(c, rs->path, "best_metric", &rs->res.best_metric, err) ||
        (mid && (meta_int_get(c, rs->path, "steps_in_epoch", 1, 1e9, &steps, err) ||
                 meta_num_get(c, rs->path, "epoch_loss_sum", &rs->res.loss_sum, err))))
        return -1;
    rs->stage = (int)stage;
    rs->done = (int)done;
    rs->res.epoch = (int)epoch;
    rs->res.bad_epochs = (int)bad;
    rs->res.steps_done = (int)steps;
    const char *name = rt_ckpt_meta(c, "stage"), *want = r->s->stages[rs->stage].name;
    if (!name || strcmp(name, want)) {
        rt_error_set(err, "%s: metadata 'stage' is '%s' but stage_index %d is stage '%s'",
                     rs->path, name ? name : "(missing)", rs->stage, want);
        return -1;
    }
    return 0;
}

/* Every tensor of the checkpoint into the store, except optimizer state
 * (rt_train_stage reads that from the checkpoint itself). Other dtypes
 * than f32 stay out of the store: check_ckpt_types reports one that has
 * a parameter's name. Returns how many were loaded; their values add to
 * *values when it is not NULL. The REPL's :load uses it too. */
int cli_store_load_ckpt(rt_store *st, const rt_ckpt *c, int64_t *values)
{
    int n = 0;
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
        n++;
        if (values)
            *values += rt_type_numel(&t);
    }
    return n;
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
            (row.stage == rs->stage && row.epoch > rs->res.epoch))
            continue;
        *new_row(r) = row;
    }
}

static int resume_args_match(const train_run *r, const resume_state *rs, rt_error *err)
{
    const char *sched = rt_ckpt_meta(rs->last, "schedule");
    if (!sched || strcmp(sched, r->s->name)) {
        rt_error_set(err, "%s: the checkpoint is of schedule '%s', not '%s'", r->dir,
                     sched ? sched : "?", r->s->name);
        return -1;
    }
    seg_buf args = {0};
    cli_schedule_args(r->s, "", "\n", &args);
    const char *was = rt_ckpt_meta(rs->last, "segc.schedule_args"); /* NULL: an older segc */
    int differ = was && strcmp(was, args.data ? args.data : "");
    seg_buf_free(&args);
    if (differ) {
        char shown[400];
        snprintf(shown, sizeof shown, "%s", *was ? was : "none");
        for (char *c = shown; (c = strchr(c, '\n')); )
            *c = ' '; /* one "name=value" per line in the checkpoint */
        rt_error_set(err, "%s: the run's schedule had other parameter values (%s); resume with "
                     "the same --set", r->dir, shown);
        return -1;
    }
    uint64_t seed = r->o->seed_given ? r->o->seed : r->s->seed >= 0 ? (uint64_t)r->s->seed : 0;
    double was_seed;
    if (meta_int_get(rs->last, rs->path, "seed", 0, 18446744073709549568.0, &was_seed, err))
        return -1;
    if ((uint64_t)was_seed != seed) {
        rt_error_set(err, "%s: the run used --seed %.0f; resume with the same seed", r->dir,
                     was_seed);
        return -1;
    }
    return 0;
}

/* A stage that had finished handed its best network on, not its last:
 * load best-STAGE.safetensors over the last checkpoint's tensors, as the
 * uninterrupted run's end of stage did. */
static int resume_stage_best(train_run *r, const resume_state *rs, rt_error *err)
{
    char leaf[300];
    snprintf(leaf, sizeof leaf, "ckpt/best-%s.safetensors", r->s->stages[rs->stage].name);
    char *p = path_in(r, leaf);
    rt_ckpt *b = access(p, F_OK) == 0 ? rt_ckpt_read(p, err) : NULL;
    int bad = !b && access(p, F_OK) == 0;
    seg_free(p);
    if (b)
        cli_store_load_ckpt(r->store, b, NULL);
    rt_ckpt_free(b);
    return bad ? -1 : 0;
}

/* One of save_state's checkpoints (mid: the interrupted step's), checked,
 * into rs (a missing file: 1, rs untouched). */
static int resume_read(train_run *r, int mid, resume_state *rs, rt_error *err)
{
    char *p = path_in(r, state_leaf(mid));
    if (access(p, F_OK) != 0) {
        seg_free(p);
        return 1;
    }
    rs->last = rt_ckpt_read(p, err);
    rs->path = p;
    if (rs->last && mid && !rt_ckpt_meta(rs->last, "steps_in_epoch")) {
        printf("resume: %s was written by an older segc (no counters): resuming from the last "
               "finished epoch\n", p);
        return 1;
    }
    return !rs->last || resume_args_match(r, rs, err) || resume_meta(r, rs, err) ? -1 : 0;
}

static void resume_state_free(resume_state *rs)
{
    rt_ckpt_free(rs->last);
    seg_free(rs->path);
    memset(rs, 0, sizeof *rs);
}

/* The newer of last.safetensors (the last finished epoch) and
 * interrupted.safetensors (the step a signal stopped at, removed when an
 * epoch ends after it): the later stage, else more steps. */
static int resume_pick(train_run *r, resume_state *rs, rt_error *err)
{
    resume_state mid = {0};
    int a = resume_read(r, 0, rs, err);
    if (a < 0)
        return -1;
    int b = resume_read(r, 1, &mid, err);
    if (b != 0)
        resume_state_free(&mid);
    if (b < 0)
        return -1;
    if (b == 0 && (a == 1 || mid.stage > rs->stage ||
                   (mid.stage == rs->stage && mid.step > rs->step))) {
        resume_state_free(rs);
        *rs = mid;
    } else if (b == 0) {
        resume_state_free(&mid);
    }
    if (a == 1 && b == 1) {
        char *p = path_in(r, state_leaf(0));
        rt_error_set(err, "%s: no checkpoint to resume from (no epoch had finished, and no "
                     "interrupted step was saved)", p);
        seg_free(p);
        return -1;
    }
    return 0;
}

static int resume_open(train_run *r, resume_state *rs, rt_error *err)
{
    if (resume_pick(r, rs, err))
        return -1;
    resume_rows(r, rs);
    cli_store_load_ckpt(r->store, rs->last, NULL);
    r->src = rs->last;
    return rs->done ? resume_stage_best(r, rs, err) : 0;
}

/* ---------------------------------------------------------------- --init */

/* Partial load: every f32 tensor of the file goes into the store, and
 * the first stage takes those whose names it has (print_inheritance
 * says how many); the rest start from their initialisers. *c stays open
 * for check_ckpt_types. */
static int init_from(train_run *r, const char *path, rt_ckpt **c, rt_error *err)
{
    *c = rt_ckpt_read(path, err);
    if (!*c)
        return -1;
    int n = cli_store_load_ckpt(r->store, *c, NULL), skipped = rt_ckpt_count(*c) - n;
    printf("init: %d tensors from %s", n, path);
    if (skipped)
        printf(" (%d optimizer-state or non-f32 entries not loaded)", skipped);
    printf("\n");
    r->src = *c;
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

/* The checkpoint (--init, --resume) against the first stage's params and
 * buffers: one with a parameter's name but another dtype or shape is an
 * error listing every mismatch. Resuming inside a stage (exact) needs
 * every one of them too: a missing tensor would start fresh and the run
 * would silently not be the interrupted one. */
static int check_ckpt_types(const train_run *r, const rt_stage_spec *s, int exact, rt_error *err)
{
    const rt_program *p = s->train;
    rt_ckpt_want *want = seg_xcalloc((size_t)p->n_values + 1, sizeof *want);
    int n = 0;
    for (int i = 0; i < p->n_values; i++)
        if (p->values[i].kind == RT_VAL_PARAM || p->values[i].kind == RT_VAL_BUFFER)
            want[n++] = (rt_ckpt_want){p->values[i].name, p->values[i].type};
    unsigned flags = RT_CKPT_ALLOW_UNEXPECTED | (exact ? 0 : RT_CKPT_ALLOW_MISSING);
    rt_error why = {{0}};
    int bad = rt_ckpt_check(r->src, want, n, RT_OPTIM_PREFIX, flags, NULL, &why);
    if (bad)
        rt_error_set(err, "stage '%s': %s", s->name, why.msg);
    seg_free(want);
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
    if (r->writer && ts->have_plan &&
        train_write_plan(r->dir, r->s->stages[k].name, r->s->stages[k].batch, &ts->plan, &err))
        fprintf(stderr, "segc: warning: %s\n", err.msg);
}

static int run_stage(train_run *r, seg_program *prog, seg_diag *d, int k, rt_dataset *data,
                     const train_overrides *ov, const resume_state *rs, rt_error *err)
{
    const seg_stage *st = &r->s->stages[k];
    train_stage ts = {.arena = seg_arena_new(), .jit_on = r->o->jit, .log = stdout, .runs = 1,
                      .threads = r->o->threads};
    int rc = train_build_stage(prog, r->job.local ? r->job.local : r->s, k, d, &ts, err);
    rt_stage_spec *sp = &ts.spec;
    sp->dist = r->job.dist;
    sp->global_batch = st->batch;
    for (int i = 0; rc == 0 && i < st->n_streams; i++)
        sp->streams[i].ds = &data[st->streams[i]];
    sp->val = st->val.stream >= 0 ? &data[st->val.stream] : NULL;
    if (rc == 0)
        rc = train_settings(r->s, k, ov, sp, err);
    if (rc == 0 && r->job.dist) {
        char what[300];
        snprintf(what, sizeof what, "stage '%s''s compiled training program", st->name);
        rc = rt_dist_agree(r->job.dist, cli_dist_stage_hash(sp), what, err);
    }
    if (rc == 0)
        stage_start(r, &ts, k);
    rt_resume res = {0};
    rt_store *best = NULL;
    if (rc == 0 && r->first_stage == k && r->src)
        rc = check_ckpt_types(r, sp, rs != NULL, err);
    const rt_resume *rr = rs ? &rs->res : NULL;
    if (rc == 0 && rr && rr->epoch > sp->max_epochs) {
        rt_error_set(err, "%s: metadata 'epoch' is %d, but stage '%s' has %d epochs", rs->path,
                     rr->epoch, st->name, sp->max_epochs);
        rc = -1;
    }
    if (rc == 0 && rr && rr->steps_done &&
        (rr->steps_done > sp->steps_per_epoch || rr->epoch >= sp->max_epochs ||
         rs->step != (double)rr->epoch * sp->steps_per_epoch + rr->steps_done)) {
        rt_error_set(err, "%s: metadata 'steps_in_epoch' is %d after %d epochs and %.0f steps, "
                     "but stage '%s' has %d epochs of %d steps", rs->path, rr->steps_done,
                     rr->epoch, rs->step, st->name, sp->max_epochs, sp->steps_per_epoch);
        rc = -1;
    }
    if (rc == 0 && rs) {
        res = *rr;
        res.ckpt = rs->last;
        res.path = rs->path;
        char leaf[300];
        snprintf(leaf, sizeof leaf, "ckpt/best-%s.safetensors", st->name);
        char *p = path_in(r, leaf);
        rt_ckpt *b = rt_ckpt_read(p, err);
        seg_free(p);
        if (b) {
            best = rt_store_new();
            cli_store_load_ckpt(best, b, NULL);
            res.best = best;
            rt_ckpt_free(b);
        }
        if (res.steps_done)
            printf("stage %s: resuming after step %d of epoch %d\n", st->name, res.steps_done,
                   res.epoch + 1);
        else
            printf("stage %s: resuming after epoch %d\n", st->name, res.epoch);
    }
    if (rc == 0) {
        print_inheritance(r, sp);
        rt_train_hooks h = {r, on_step, on_epoch, on_interrupt};
        r->stage_epochs_done = 0;
        r->meta = ts.meta;
        rc = rt_train_stage(sp, r->store, res.epoch || res.steps_done ? &res : NULL, &h, err);
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
    if (!r->writer)
        return 0;
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
    rt_ckpt *init = NULL;
    int rc = prepare_dir(r, err);
    if (rc == 0 && r->o->resume)
        rc = resume_open(r, &rs, err);
    if (rc == 0 && r->o->init)
        rc = init_from(r, r->o->init, &init, err);
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
    seg_free(rs.path);
    rt_ckpt_free(init);
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

/* Under mpirun: join the job first, so that a rank failing to load the
 * program still takes the others down with it (cli_dist_end). */
static int join_job(train_run *r)
{
    rt_error err = {{0}};
    if (rt_dist_join(&r->job.dist, &err)) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    cli_dist_setup(r->job.dist);
    r->writer = rt_dist_rank(r->job.dist) == 0;
    r->tty = !r->job.dist && isatty(1); /* mpirun gives ranks a pseudo-terminal of its own */
    return CLI_OK;
}

/* A failure all ranks share is told by rank 0 alone. */
static void train_failed(const train_run *r, const rt_error *err)
{
    if (r->writer)
        cli_error("%s", err->msg);
    else if (!rt_dist_error_shared(r->job.dist))
        cli_error("rank %d: %s", rt_dist_rank(r->job.dist), err->msg);
}

int cli_cmd_train(const cli_opts *o)
{
    train_overrides ov;
    train_run r = {.o = o};
    if (join_job(&r))
        return CLI_RUNTIME;
    seg_diag *d = seg_diag_new(stderr);
    seg_program *prog = seg_load(o->files[0], d);
    cli_opts rest = *o;
    rest.settings = NULL;
    int code = prog ? cli_pick_schedule(o, prog, d, &r.s, &rest) : CLI_BAD_PROGRAM;
    if (code == CLI_OK)
        code = parse_overrides(&rest, &ov);
    cli_run_lock lock = {-1};
    if (code == CLI_OK && o->resume && o->overwrite) {
        cli_error("train: --resume and --overwrite exclude each other");
        code = CLI_USAGE;
    }
    if (code == CLI_OK) {
        r.dir = o->resume ? o->resume : o->out;
        if (!r.dir)
            default_dir(&r);
        /* under mpirun rank 0 alone writes, so it alone claims the folder */
        if (r.writer)
            code = cli_run_dir_claim(r.dir, o->resume      ? CLI_RUN_RESUME
                                            : o->overwrite ? CLI_RUN_OVERWRITE : CLI_RUN_NEW,
                                     &lock);
    }
    if (code == CLI_OK) {
        r.store = rt_store_new();
        rt_error err = {{0}};
        double t0 = (double)time(NULL);
        uint64_t seed = o->seed_given ? o->seed : r.s->seed >= 0 ? (uint64_t)r.s->seed : 0;
        int rc = cli_dist_begin(o, prog, r.s, seed, &r.job, &err);
        ov.threads = r.job.threads;
        /* under mpirun, mpirun's SIGTERM is cli_dist's (the job is ending) */
        if (!r.job.dist)
            cli_stop_install();
        if (!rc)
            rc = train_body(&r, prog, d, &ov, &err);
        code = rc == 0 ? CLI_OK : r.stop_sig ? 128 + r.stop_sig : CLI_RUNTIME;
        progress_clear(&r);
        if (r.stop_sig)
            interrupted_note(&r);
        else if (code)
            train_failed(&r, &err);
        else
            final_summary(&r);
        printf("wall time: %.0f s\n", (double)time(NULL) - t0);
        rt_store_free(r.store);
        rt_store_free(r.last);
    }
    cli_run_dir_release(&lock);
    cli_run_rows_free(&r.resumed);
    seg_free(r.rows);
    seg_free(r.dir_owned);
    cli_rest_free(&rest);
    seg_program_free(prog);
    seg_diag_free(d);
    return cli_dist_end(&r.job, code);
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
