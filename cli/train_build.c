/* train_build.c — turns a checked schedule (lang/lang.h, "schedules")
 * into what the runtime's stage runner needs: datasets with their
 * preprocessing, and per stage the training and evaluation programs
 * (both compiled by compiler/pipeline.c, their kernels on one JIT unless
 * the JIT is off) and the settings.
 *
 * The training program of a stage is the stage graph (every model, the
 * loss, frozen flags already set by sema) with grad() expanded, the
 * backward graph appended by ir_autodiff and one output "grad:<param>" per
 * trainable parameter. Everything is checked here, before any step runs:
 * a learning rate of NaN, a patch that does not match the net, an empty
 * dataset, a constant image all fail with a message naming the setting or
 * the case.
 */
#include "cli.h"

#include <math.h>
#include <string.h>

/* ----------------------------------------------------------- datasets */

static int load_synthetic(const seg_scall *src, rt_dataset *ds, rt_error *err)
{
    rt_synth_opts o;
    int bad;
    if (seg_synthetic_opts(src, &o, &bad, err))
        return -1;
    return rt_dataset_synthetic(ds, &o, err);
}

static int load_files(const seg_scall *src, rt_dataset *ds, rt_error *err)
{
    int classes = (int)seg_scall_int(src, "classes", 2);
    const char *list = seg_scall_str(src, "list", NULL);
    if (list)
        return rt_dataset_list(ds, list, classes, err);
    const char *images = seg_scall_str(src, "images", NULL);
    const char *labels = seg_scall_str(src, "labels", NULL);
    if (!images || !labels) {
        rt_error_set(err, "%s(): give images and labels globs, or list", src->name);
        return -1;
    }
    return rt_dataset_glob(ds, images, labels, classes, err);
}

void cli_resample_spacing(const seg_scall *p, float t[3])
{
    double v[3] = {1, 1, 1};
    int n = seg_sv_numbers(seg_scall_arg(p, "spacing"), v, 3);
    t[0] = (float)v[0], t[1] = (float)v[n > 1], t[2] = (float)v[n > 2 ? 2 : 0];
}

static int preprocess(const seg_schedule *s, rt_dataset *ds, rt_error *err)
{
    for (int k = 0; k < s->n_preprocess; k++) {
        const seg_scall *p = s->preprocess[k];
        for (int i = 0; i < ds->n; i++) {
            rt_case *c = &ds->cases[i];
            int rc = 0;
            if (!strcmp(p->name, "clip"))
                rt_case_clip(c, (float)seg_scall_num(p, "lo", 0), (float)seg_scall_num(p, "hi", 1));
            else if (!strcmp(p->name, "minmax"))
                rc = rt_case_minmax(c, err);
            else if (!strcmp(p->name, "zscore"))
                rc = rt_case_zscore(c, err);
            else if (!strcmp(p->name, "resample")) {
                float sp[3];
                cli_resample_spacing(p, sp);
                rc = rt_case_resample(c, sp, err);
            }
            if (rc)
                return -1;
        }
    }
    return 0;
}

int train_load_data(const seg_schedule *s, int index, rt_dataset *ds, rt_error *err)
{
    const seg_scall *src = s->data[index].source;
    int rc = !strcmp(src->name, "synthetic") ? load_synthetic(src, ds, err) : load_files(src, ds, err);
    if (rc == 0 && ds->n == 0) {
        rt_error_set(err, "data '%s' has no cases", s->data[index].name);
        return -1;
    }
    if (rc == 0)
        rc = preprocess(s, ds, err);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        rt_error_set(err, "data '%s': %s", s->data[index].name, msg);
    }
    return rc;
}

/* ----------------------------------------------------------- programs */

/* Bytes of p's parameters. */
static int64_t param_bytes(const rt_program *p)
{
    int64_t total = 0, b;
    for (int i = 0; i < p->n_values; i++)
        if (p->values[i].kind == RT_VAL_PARAM && rt_type_size(&p->values[i].type, NULL, &b) == 0)
            total += b;
    return total;
}

/* The stage's training step and its evaluation forward, both through the
 * compile pipeline, their kernels on one JIT when the JIT is on. */
static int compile_programs(const ir_graph *g, const ir_graph *ge, const seg_stage *st,
                            train_stage *ts, rt_error *err)
{
    if (ts->jit_on && !(ts->jit = rt_jit_new(err)))
        return -1;
    /* The budget: the training step, then the evaluation forward with the
     * step's bytes and the optimizer's state (at most two f32 per
     * parameter, Adam's moments) counted in. */
    rt_budget budget = {.threads = ts->threads, .what = "the training step"};
    pipeline_opts po = {.mode = PIPELINE_TRAIN, .jit = ts->jit_on, .compile = 1,
                        .host = ts->jit, .log = ts->log, .what = st->name,
                        .budget = ts->runs ? &budget : NULL};
    rt_error e = {{0}};
    int rc = pipeline_build(g, &po, &ts->train, &e);
    if (rc == PIPELINE_OK) {
        po.mode = PIPELINE_INFER;
        po.log = NULL;
        budget.what = "the training step with its evaluation";
        budget.need += 2 * param_bytes(ts->train.prog);
        rc = pipeline_build(ge, &po, &ts->eval, &e);
    }
    if (rc != PIPELINE_OK)
        rt_error_set(err, "stage '%s': %s", st->name, e.msg);
    return rc == PIPELINE_OK ? 0 : -1;
}

/* What the stage validates (lang resolved it: lang/validate.c). */
static void validation_spec(const seg_stage *st, rt_stage_spec *sp)
{
    const seg_stage_val *v = &st->val;
    sp->pred_output = v->output;
    sp->decode = v->decode;
    sp->threshold = (float)v->threshold;
    sp->pred_classes = v->classes;
    sp->class_names = v->class_names;
    sp->classes = v->data_classes;
    seg_stage_truth_map(v, sp->truth_map);
    sp->monitor = v->monitor;
    sp->best_by = v->best_by;
}

static int net_geometry(const ir_graph *g, rt_stage_spec *sp, rt_error *err)
{
    ir_id img = ir_find_input(g, "image");
    if (img < 0) {
        rt_error_set(err, "stage '%s': the model has no input named 'image'", sp->name);
        return -1;
    }
    const rt_type *t = &g->nodes[img].type;
    sp->batch = (int)t->dim[0];
    sp->channels = (int)t->dim[1];
    sp->nsp = t->rank - 2;
    for (int i = 0; i < 3; i++)
        sp->patch[i] = i < sp->nsp ? t->dim[2 + i] : 1;
    return 0;
}

static rt_label_kind label_kind(const ir_graph *g, const char *prefix)
{
    char name[128];
    snprintf(name, sizeof name, "%slabel", prefix);
    ir_id l = ir_find_input(g, name);
    if (l < 0)
        return RT_LABEL_NONE;
    return g->nodes[l].type.dtype == RT_I32 ? RT_LABEL_INDEX : RT_LABEL_MASK;
}

int train_build_stage(seg_program *p, const seg_schedule *s, int k, seg_diag *d,
                      train_stage *ts, rt_error *err)
{
    const seg_stage *st = &s->stages[k];
    rt_stage_spec *sp = &ts->spec;
    sp->name = st->name;
    sp->index = k;
    ir_graph *g = seg_stage_graph(p, s, k, 1, d);
    ir_graph *ge = g ? seg_stage_graph(p, s, k, 0, d) : NULL;
    int rc = -1;
    if (!g || !ge) {
        rt_error_set(err, "stage '%s' does not compile", st->name);
        goto done;
    }
    if (net_geometry(g, sp, err) || compile_programs(g, ge, st, ts, err))
        goto done;
    char msg[256]; /* plan.csv only: a stage that trains but cannot be counted has no row */
    ts->have_plan = cli_plan_graph_stats(g, &ts->plan, NULL, msg, sizeof msg) == 0;
    sp->train = ts->train.prog;
    sp->eval = ts->eval.prog;
    sp->train_jit = ts->train.kernels ? jit_program_table(ts->train.kernels) : NULL;
    sp->eval_jit = ts->eval.kernels ? jit_program_table(ts->eval.kernels) : NULL;
    if (st->val.stream >= 0) {
        validation_spec(st, sp);
        sp->pred_act = cli_pred_activation(ge, st->val.output, st->val.decode);
        sp->overlap = 0.5;
    } else {
        sp->eval = NULL; /* nothing to validate */
    }
    ts->meta = cli_meta_build(p, s, k, sp, sp->pred_act);
    for (int i = 0; i < st->n_streams; i++) {
        sp->streams[i].prefix = i == 0 ? "" : seg_arena_printf(ts->arena, "%s.", s->data[st->streams[i]].name);
        sp->streams[i].label = label_kind(g, sp->streams[i].prefix);
    }
    sp->n_streams = st->n_streams;
    sp->trainable = st->trainable;
    sp->n_trainable = st->n_trainable;
    rc = 0;
done:
    ir_graph_free(g);
    ir_graph_free(ge);
    return rc;
}

void train_stage_free(train_stage *ts)
{
    pipeline_result_free(&ts->train);
    pipeline_result_free(&ts->eval);
    rt_jit_free(ts->jit);
    rt_ckpt_free(ts->meta);
    seg_free(ts->pred_name);
    seg_arena_free(ts->arena);
    memset(ts, 0, sizeof *ts);
}

/* ------------------------------------------------------------ settings */

static int optimizer_of(const seg_stage *st, rt_optim_config *c, rt_error *err)
{
    const seg_scall *o = st->optimizer;
    const char *kind = o ? o->name : "adam";
    rt_optim_config_init(c, !strcmp(kind, "sgd") ? RT_OPTIM_SGD
                            : !strcmp(kind, "adamw") ? RT_OPTIM_ADAMW : RT_OPTIM_ADAM);
    if (o) {
        c->lr = seg_scall_num(o, "lr", c->lr);
        c->weight_decay = seg_scall_num(o, "weight_decay", c->weight_decay);
        c->momentum = seg_scall_num(o, "momentum", c->momentum);
        c->nesterov = (int)seg_scall_int(o, "nesterov", 0);
        c->beta1 = seg_scall_num(o, "beta1", c->beta1);
        c->beta2 = seg_scall_num(o, "beta2", c->beta2);
        c->eps = seg_scall_num(o, "eps", c->eps);
    }
    if (!isfinite(c->lr) || c->lr <= 0) {
        rt_error_set(err, "stage '%s': optimizer %s(): lr must be a positive number, not %g",
                     st->name, kind, c->lr);
        return -1;
    }
    return 0;
}

static void stop_rules(const seg_stage *st, rt_stage_spec *sp)
{
    sp->max_epochs = 0;
    for (int i = 0; i < st->n_until; i++) {
        const seg_scall *u = st->until[i];
        if (!strcmp(u->name, "epochs"))
            sp->max_epochs = (int)seg_scall_int(u, "n", 50);
        else if (!strcmp(u->name, "steps"))
            sp->max_epochs = (int)((seg_scall_int(u, "n", 1000) + sp->steps_per_epoch - 1) /
                                   sp->steps_per_epoch);
        else if (!strcmp(u->name, "plateau")) {
            sp->plateau = 1;
            sp->plateau_patience = (int)seg_scall_int(u, "patience", 5);
            sp->plateau_delta = seg_scall_num(u, "delta", 0);
            sp->plateau_ema = seg_scall_num(u, "ema", 0);
        }
    }
    if (sp->max_epochs <= 0)
        sp->max_epochs = 50; /* a plateau rule alone still needs a bound */
}

static void lr_schedule(const seg_stage *st, rt_stage_spec *sp)
{
    const seg_scall *l = st->lr;
    double total = (double)sp->max_epochs * sp->steps_per_epoch;
    const char *kind = l ? l->name : "constant";
    rt_sched_kind k = !strcmp(kind, "poly") ? RT_SCHED_POLY : !strcmp(kind, "cosine") ? RT_SCHED_COSINE
                      : !strcmp(kind, "step") ? RT_SCHED_STEP : RT_SCHED_CONSTANT;
    rt_sched_init(&sp->lr, k, sp->optim.lr);
    sp->lr.total = total;
    if (l) {
        sp->lr.power = seg_scall_num(l, "power", 0.9);
        sp->lr.eta_min = seg_scall_num(l, "min", 0);
        sp->lr.step_size = seg_scall_num(l, "every", 1) * sp->steps_per_epoch;
        sp->lr.gamma = seg_scall_num(l, "gamma", 0.1);
        sp->lr.warmup = seg_scall_num(l, "warmup", 0);
    }
}

static void augmentation(const seg_schedule *s, rt_stage_spec *sp)
{
    rt_augment_opts *a = &sp->aug;
    rt_augment_opts_init(a, sp->seed);
    a->p_flip = a->p_rot90 = a->p_scale = a->p_shift = a->p_noise = 0;
    for (int i = 0; i < s->n_augment; i++) {
        const seg_scall *c = s->augment[i];
        float p = (float)seg_scall_num(c, "p", 0);
        if (!strcmp(c->name, "flip"))
            a->p_flip = p;
        else if (!strcmp(c->name, "rot90"))
            a->p_rot90 = p;
        else if (!strcmp(c->name, "scale")) {
            a->p_scale = p;
            a->scale_lo = (float)seg_scall_num(c, "lo", 0.75);
            a->scale_hi = (float)seg_scall_num(c, "hi", 1.25);
        } else if (!strcmp(c->name, "shift")) {
            a->p_shift = p;
            a->shift = (float)seg_scall_num(c, "amount", 0.1);
        } else if (!strcmp(c->name, "noise")) {
            a->p_noise = p;
            a->noise_max = (float)seg_scall_num(c, "max", 0.1);
        }
    }
    sp->augment = s->n_augment > 0;
}

int train_settings(const seg_schedule *s, int k, const train_overrides *ov, rt_stage_spec *sp,
                   rt_error *err)
{
    const seg_stage *st = &s->stages[k];
    if (sp->batch < 1 || sp->batch > RT_MAX_BATCH) {
        rt_error_set(err, "stage '%s': batch %d is outside 1..%d", st->name, sp->batch, RT_MAX_BATCH);
        return -1;
    }
    if (optimizer_of(st, &sp->optim, err))
        return -1;
    const rt_dataset *primary = sp->streams[0].ds;
    int global = sp->global_batch > 0 ? sp->global_batch : sp->batch; /* an epoch: global batches */
    sp->steps_per_epoch = ov->steps > 0            ? ov->steps
                          : st->steps_per_epoch > 0 ? st->steps_per_epoch
                                                    : (primary->n + global - 1) / global;
    sp->clip_norm = st->optimizer ? seg_scall_num(st->optimizer, "clip", 0) : 0;
    stop_rules(st, sp);
    if (ov->epochs > 0 && ov->epochs < sp->max_epochs)
        sp->max_epochs = ov->epochs;
    lr_schedule(st, sp);
    if (rt_sched_check(&sp->lr, err))
        return -1;
    sp->seed = ov->seed_given ? ov->seed : s->seed >= 0 ? (uint64_t)s->seed : 0;
    augmentation(s, sp);
    sp->fg_fraction = (float)st->oversample;
    sp->threads = ov->threads;
    return 0;
}
