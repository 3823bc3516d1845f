/* train_report.c — what `segc train` leaves in the run folder for the
 * report, besides metrics.csv and the checkpoints:
 *
 *   RUN/plan.csv      one row per stage: what `segc plan` counts for its
 *                     training step (cli_plan_graph_stats on the graph
 *                     train_build_stage compiles), written when the stage
 *                     starts;
 *   RUN/overlays/STAGE-NET-caseI-VIEW.png
 *                     the stage's validation cases predicted by its best
 *                     and its last network (NET "best", "last", or
 *                     "best-last" when they are the same epoch), three
 *                     orthogonal slices each (rt_overlay_write);
 *   RUN/overlays/overlays.csv
 *                     the index the report lays the pictures out by:
 *                     stage, network, epoch, case, source, view, slice,
 *                     focus ("errors" or "centre"), wrong voxels,
 *                     foreground Dice, the prediction's classes, file.
 *
 * Both CSV files keep other stages' rows when a stage rewrites its own
 * (cli_csv_put_stage), so a resumed run's files cover every stage. At most
 * OVERLAY_CASES validation cases per stage get pictures (the report says
 * how many there were).
 */
#include "cli.h"

#include <math.h>
#include <string.h>

enum {
    OVERLAY_CASES = 16,   /* validation cases pictured per stage and network */
    OVERLAY_PX_3D = 160,  /* longest case extent of a 3-D view, pixels */
    OVERLAY_PX_2D = 320,  /* of a 2-D case (one view instead of three) */
};

static const char plan_header[] =
    "stage,batch,trainable_params,trainable_tensors,frozen_params,frozen_tensors,"
    "forward_gflop,backward_gflop,step_gflop,backward_removed_gflop,backward_removed_pct,"
    "convs_trainable,convs_data_gradient_only,convs_no_backward,tensor_mb,arena_mb,"
    "params_inputs_mb";

static const char overlay_header[] =
    "stage,network,epoch,case,source,view,slice,focus,errors,dice_fg,classes,file";

static char *path_join(const char *dir, const char *leaf)
{
    size_t n = strlen(dir) + strlen(leaf) + 2;
    char *p = seg_xrealloc(NULL, n);
    snprintf(p, n, "%s/%s", dir, leaf);
    return p;
}

/* ----------------------------------------------------------------- plan */

static void plan_row(seg_buf *b, const char *stage, int batch, const cli_plan_stats *st)
{
    int64_t removed = st->unfrozen_bwd_flops - st->bwd_flops;
    double pct = st->unfrozen_bwd_flops ? 100.0 * (double)removed / (double)st->unfrozen_bwd_flops
                                        : 0;
    cli_csv_put(b, stage);
    seg_buf_printf(b, ",%d,%lld,%d,%lld,%d,%.6g,%.6g,%.6g,%.6g,%.3g,%d,%d,%d,%.6g,%.6g,%.6g\n",
                   batch, (long long)st->train_scalars, st->train_tensors,
                   (long long)st->frozen_scalars, st->frozen_tensors, st->fwd_flops / 1e9,
                   st->bwd_flops / 1e9, (st->fwd_flops + st->bwd_flops) / 1e9, removed / 1e9, pct,
                   st->conv_trainable, st->conv_data_only, st->conv_none,
                   (st->bytes_act + st->bytes_grad + st->bytes_param) / 1e6,
                   st->bytes_arena / 1e6, st->bytes_fixed / 1e6);
}

int train_write_plan(const char *dir, const char *stage, int batch, const cli_plan_stats *st,
                     rt_error *err)
{
    seg_buf b = {0};
    plan_row(&b, stage, batch, st);
    char *path = path_join(dir, "plan.csv");
    int rc = cli_csv_put_stage(path, plan_header, stage, b.data, err);
    seg_free(path);
    seg_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------- overlays */

/* The validation labels in the prediction's classes (-1 = ignored). */
static void map_truth(const rt_stage_spec *s, const rt_case *c, int32_t *truth)
{
    for (int64_t i = 0; i < rt_case_numel(c); i++) {
        int t = c->label ? c->label[i] : -1;
        truth[i] = t >= 0 && t < s->classes && t < RT_MAX_CLASSES ? s->truth_map[t] : -1;
    }
}

/* One network's pictures: which net, and where its rows go. */
typedef struct overlay_job {
    const char *dir;
    const rt_stage_spec *s;
    const char *net;        /* "best", "last" or "best-last" */
    int epoch;
    seg_buf *index;         /* overlays.csv rows */
} overlay_job;

static void index_row(const overlay_job *j, int ci, const rt_case *c, rt_view v,
                      const rt_overlay_focus *f, const char *leaf)
{
    seg_buf *b = j->index;
    cli_csv_put(b, j->s->name);
    seg_buf_printf(b, ",%s,%d,%d,", j->net, j->epoch, ci);
    cli_csv_put(b, c->source ? c->source : "");
    seg_buf_printf(b, ",%s,%lld,%s,%lld,", rt_view_name(v), (long long)rt_overlay_slice(v, f),
                   f->errors ? "errors" : "centre", (long long)f->errors);
    if (isfinite(f->dice_fg))
        seg_buf_printf(b, "%.6g", f->dice_fg);
    seg_buf_printf(b, ",");
    seg_buf cls = {0};
    for (int k = 0; k < j->s->pred_classes && j->s->class_names; k++)
        seg_buf_printf(&cls, "%s%s", k ? " " : "", j->s->class_names[k]);
    cli_csv_put(b, cls.data ? cls.data : "");
    seg_buf_free(&cls);
    seg_buf_printf(b, ",%s\n", leaf);
}

/* Predict case ci and write its views. */
static int overlay_case(const overlay_job *j, rt_interp *ev, int ci, rt_error *err)
{
    const rt_case *c = &j->s->val->cases[ci];
    int64_t n = rt_case_numel(c);
    int32_t *pred = seg_xcalloc((size_t)n, sizeof *pred), *truth = seg_xcalloc((size_t)n, sizeof *truth);
    int rc = rt_predict_case(j->s, ev, ci, pred, err);
    rt_view views[3];
    int nv = rt_overlay_views(c, views);
    rt_overlay_focus f;
    if (rc == 0) {
        map_truth(j->s, c, truth);
        rt_overlay_focus_of(c, truth, pred, &f);
    }
    for (int v = 0; rc == 0 && v < nv; v++) {
        char leaf[400];
        snprintf(leaf, sizeof leaf, "overlays/%s-%s-case%d-%s.png", j->s->name, j->net, ci,
                 rt_view_name(views[v]));
        char *path = path_join(j->dir, leaf);
        rc = rt_overlay_write(path, c, truth, pred, views[v], &f,
                              nv == 3 ? OVERLAY_PX_3D : OVERLAY_PX_2D, err);
        seg_free(path);
        if (rc == 0)
            index_row(j, ci, c, views[v], &f, leaf);
    }
    seg_free(pred);
    seg_free(truth);
    return rc;
}

static int overlay_net(const overlay_job *j, const rt_store *net, rt_error *err)
{
    const rt_stage_spec *s = j->s;
    rt_interp *ev = rt_interp_new(s->eval, s->seed, s->threads);
    rt_interp_set_kernels(ev, s->eval_jit);
    rt_store_to_interp(net, ev, s->eval);
    int rc = 0;
    for (int ci = 0; ci < s->val->n && ci < OVERLAY_CASES && rc == 0; ci++)
        rc = overlay_case(j, ev, ci, err);
    rt_interp_free(ev);
    return rc;
}

int train_write_overlays(const char *dir, const rt_stage_spec *s, const rt_store *best,
                         int best_epoch, const rt_store *last, int last_epoch, rt_error *err)
{
    if (!s->eval || !s->val || s->val->n == 0)
        return 0;
    seg_buf index = {0};
    int same = !last || last_epoch == best_epoch;
    overlay_job j = {dir, s, same ? "best-last" : "best", best_epoch, &index};
    int rc = overlay_net(&j, best, err);
    if (rc == 0 && !same) {
        j.net = "last", j.epoch = last_epoch;
        rc = overlay_net(&j, last, err);
    }
    char *path = path_join(dir, "overlays/overlays.csv");
    if (rc == 0)
        rc = cli_csv_put_stage(path, overlay_header, s->name, index.data, err);
    seg_free(path);
    seg_buf_free(&index);
    return rc;
}
