/* train.c — runs one training stage: its training and evaluation
 * programs, each on an rt_interp with the kernel table the caller
 * compiled for it (rt_stage_spec.train_jit / eval_jit: JIT convolutions,
 * fused groups and fast kernels, what `segc train` does by default), or
 * on the reference kernels alone when a table is NULL (--no-jit).
 *
 * A step: sample a batch of patches from every stream (foreground
 * oversampling, deterministic in (seed, epoch, batch)), augment it
 * (deterministic in (seed, step)), set the program's inputs, run forward +
 * backward, check the loss is finite, optionally clip, and let the
 * optimizer update the trainable parameters in place inside the
 * interpreter (the grads are the program's "grad:<param>" outputs).
 *
 * An epoch ends with validation: the eval program (inference-mode batch
 * norm, no dropout) runs over every validation case by sliding window
 * (runtime/sliding.c: tiles of the net's input size overlapping by half,
 * Gaussian-weighted probabilities, as `segc infer` does), and the
 * per-voxel classes feed one confusion matrix for the whole set. The stop rule is a plateau of an exponential moving
 * average of the foreground Dice, with a patience, or the epoch limit.
 *
 * Everything that varies from run to run is a function of the seed and
 * the step counters, so a resumed run reaches the same weights.
 *
 * With ranks (s->dist, runtime/dist.c) the batch above is the global one:
 * every rank samples it whole (cheap: patch positions) and fills and
 * augments only its share, items r*b .. r*b+b-1, each with the
 * randomness of its global index, so the data of a step does not depend
 * on the rank count. After the backward pass the ranks agree on the step
 * (a failure anywhere stops all) and average the trainable gradients and
 * the buffers; validation cases are dealt out to ranks and the confusion
 * matrices summed.
 */
#include "runtime.h"

#include <math.h>
#include <string.h>
#include <time.h>

typedef struct trainer {
    const rt_stage_spec *s;
    rt_interp *train;
    rt_interp *eval;
    rt_optim *optim;
    rt_batch batch[RT_MAX_STREAMS];
    rt_tensor *label_buf[RT_MAX_STREAMS]; /* converted label input */
    rt_tensor *image_buf[RT_MAX_STREAMS];
    rt_tensor *dist_buf[RT_MAX_STREAMS];
    rt_tensor *progress;                  /* rank-0 f32 */
    uint64_t step;                        /* global step in the stage */
    rt_dist_grads *avg;                   /* with ranks: what is averaged each step */
} trainer;

static int64_t patch_voxels(const rt_stage_spec *s)
{
    int64_t v = 1;
    for (int i = 0; i < s->nsp; i++)
        v *= s->patch[i];
    return v;
}

/* Input tensor types of one stream. */
static rt_type input_type(const rt_stage_spec *s, int channels, int with_channel_axis,
                          rt_dtype dt)
{
    rt_type t = {.dtype = dt, .rank = 0};
    t.dim[t.rank++] = s->batch;
    if (with_channel_axis)
        t.dim[t.rank++] = channels;
    for (int i = 0; i < s->nsp; i++)
        t.dim[t.rank++] = s->patch[i];
    return t;
}

static int program_has(const rt_program *p, const char *name)
{
    for (int i = 0; i < p->n_values; i++)
        if (p->values[i].name && p->values[i].kind == RT_VAL_INPUT && !strcmp(p->values[i].name, name))
            return 1;
    return 0;
}

static void batch_alloc(const rt_stage_spec *s, rt_batch *b, int want_dist)
{
    int64_t v = patch_voxels(s);
    b->n = s->batch;
    b->channels = s->channels;
    b->nsp = s->nsp;
    for (int i = 0; i < 3; i++)
        b->size[i] = i < s->nsp ? s->patch[i] : 1;
    b->image = seg_xcalloc((size_t)(s->batch * s->channels * v), sizeof(float));
    b->label = seg_xcalloc((size_t)(s->batch * v), sizeof(int32_t));
    b->dist = want_dist ? seg_xcalloc((size_t)(s->batch * v), sizeof(float)) : NULL;
}

static void batch_release(rt_batch *b)
{
    seg_free(b->image);
    seg_free(b->label);
    seg_free(b->dist);
    memset(b, 0, sizeof *b);
}

static char *input_name(const char *prefix, const char *field, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", prefix, field);
    return buf;
}

static void trainer_buffers(trainer *t)
{
    const rt_stage_spec *s = t->s;
    for (int k = 0; k < s->n_streams; k++) {
        char name[128];
        int want_dist = program_has(s->train, input_name(s->streams[k].prefix, "dist", name, sizeof name));
        batch_alloc(s, &t->batch[k], want_dist);
        rt_type it = input_type(s, s->channels, 1, RT_F32);
        t->image_buf[k] = rt_tensor_new(&it);
        rt_type lt = s->streams[k].label == RT_LABEL_INDEX ? input_type(s, 1, 0, RT_I32)
                                                          : input_type(s, 1, 1, RT_F32);
        t->label_buf[k] = rt_tensor_new(&lt);
        rt_type dt = input_type(s, 1, 1, RT_F32);
        t->dist_buf[k] = rt_tensor_new(&dt);
    }
    rt_type pt = {.dtype = RT_F32, .rank = 0};
    t->progress = rt_tensor_new(&pt);
}

/* Copy a filled batch into the input tensors of a program. */
static int feed(trainer *t, rt_interp *it, const rt_program *p, int k, rt_error *err)
{
    const rt_stage_spec *s = t->s;
    const rt_batch *b = &t->batch[k];
    int64_t v = patch_voxels(s) * s->batch;
    char name[128];
    memcpy(t->image_buf[k]->data, b->image, (size_t)(v * s->channels) * sizeof(float));
    if (rt_interp_set_input(it, input_name(s->streams[k].prefix, "image", name, sizeof name),
                            t->image_buf[k], err))
        return -1;
    if (program_has(p, input_name(s->streams[k].prefix, "label", name, sizeof name))) {
        if (s->streams[k].label == RT_LABEL_INDEX)
            memcpy(t->label_buf[k]->data, b->label, (size_t)v * sizeof(int32_t));
        else
            for (int64_t i = 0; i < v; i++)
                rt_f32(t->label_buf[k])[i] = b->label[i] > 0;
        if (rt_interp_set_input(it, name, t->label_buf[k], err))
            return -1;
    }
    if (b->dist && program_has(p, input_name(s->streams[k].prefix, "dist", name, sizeof name))) {
        memcpy(t->dist_buf[k]->data, b->dist, (size_t)v * sizeof(float));
        if (rt_interp_set_input(it, name, t->dist_buf[k], err))
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------- parameters */

/* Copy params and buffers by name between two interpreters. */
static void copy_state(rt_interp *from, const rt_program *to_p, rt_interp *to)
{
    for (int i = 0; i < to_p->n_values; i++) {
        const rt_value *v = &to_p->values[i];
        if (v->kind != RT_VAL_PARAM && v->kind != RT_VAL_BUFFER)
            continue;
        rt_tensor *src = rt_interp_value(from, v->name);
        rt_tensor *dst = rt_interp_value_at(to, i);
        if (src && rt_type_equal(&src->type, &dst->type))
            memcpy(dst->data, src->data,
                   (size_t)rt_type_numel(&src->type) * rt_dtype_size(src->type.dtype));
    }
}

static int build_optimizer(trainer *t, rt_error *err)
{
    const rt_stage_spec *s = t->s;
    t->optim = rt_optim_new(&s->optim, err);
    if (!t->optim)
        return -1;
    rt_optim_set_pool(t->optim, rt_interp_pool(t->train)); /* the update on the same threads */
    for (int i = 0; i < s->n_trainable; i++) {
        char gname[512];
        snprintf(gname, sizeof gname, "grad:%s", s->trainable[i]);
        rt_tensor *p = rt_interp_value(t->train, s->trainable[i]);
        rt_tensor *g = rt_interp_output(t->train, gname);
        if (!p || !g) {
            rt_error_set(err, "stage '%s': parameter '%s' has no gradient in the training program",
                         s->name, s->trainable[i]);
            return -1;
        }
        rt_optim_add(t->optim, s->trainable[i], rt_f32(p), rt_f32(g), (size_t)rt_type_numel(&p->type));
    }
    return 0;
}

/* With ranks: the trainable gradients, in the optimizer's order, then the
 * f32 buffers (batch-norm running statistics, so every rank validates
 * with the same ones). Frozen parameters have no gradient to send. */
static void dist_tensors(trainer *t)
{
    const rt_stage_spec *s = t->s;
    if (!s->dist)
        return;
    t->avg = rt_dist_grads_new(s->dist);
    for (int i = 0; i < s->n_trainable; i++) {
        char gname[512];
        snprintf(gname, sizeof gname, "grad:%s", s->trainable[i]);
        rt_tensor *g = rt_interp_output(t->train, gname);
        rt_dist_grads_add(t->avg, rt_f32(g), (size_t)rt_type_numel(&g->type));
    }
    for (int i = 0; i < s->train->n_values; i++) {
        const rt_value *v = &s->train->values[i];
        rt_tensor *b = v->kind == RT_VAL_BUFFER ? rt_interp_value_at(t->train, i) : NULL;
        if (b && b->type.dtype == RT_F32)
            rt_dist_grads_add(t->avg, rt_f32(b), (size_t)rt_type_numel(&b->type));
    }
}

/* ---------------------------------------------------------------- steps */

/* The global batch's patches, this rank's share filled and augmented. */
static int sample(trainer *t, uint64_t epoch, uint64_t index, rt_error *err)
{
    const rt_stage_spec *s = t->s;
    int global = s->global_batch > 0 ? s->global_batch : s->batch;
    int first = rt_dist_rank(s->dist) * s->batch;
    rt_patch *patches = seg_xcalloc((size_t)global, sizeof *patches);
    int rc = 0;
    for (int k = 0; k < s->n_streams && rc == 0; k++) {
        rt_sampler sm;
        rt_sampler_init(&sm, s->nsp, s->patch, global, s->seed * 31 + (uint64_t)k * 7919 + (uint64_t)s->index);
        sm.fg_fraction = s->streams[k].label == RT_LABEL_NONE ? 0 : s->fg_fraction;
        t->batch[k].first = first;
        rc = rt_sampler_batch(&sm, s->streams[k].ds, epoch, index, patches, err) ||
             rt_batch_fill(&t->batch[k], s->streams[k].ds, patches + first, err) ? -1 : 0;
        if (rc == 0 && s->augment) {
            rt_augment_opts a = s->aug;
            a.seed = s->seed * 131 + (uint64_t)k + 17 * (uint64_t)s->index;
            rt_augment_batch(&a, t->step, &t->batch[k]);
        }
    }
    seg_free(patches);
    return rc;
}

/* Forward and backward of this process's batch, its loss checked. */
static int local_step(trainer *t, uint64_t epoch, uint64_t index, uint64_t total, double *loss,
                      rt_error *err)
{
    const rt_stage_spec *s = t->s;
    if (sample(t, epoch, index, err))
        return -1;
    for (int k = 0; k < s->n_streams; k++)
        if (feed(t, t->train, s->train, k, err))
            return -1;
    if (program_has(s->train, "progress")) {
        rt_f32(t->progress)[0] = total ? (float)((double)t->step / (double)total) : 0;
        if (rt_interp_set_input(t->train, "progress", t->progress, err))
            return -1;
    }
    rt_optim_set_lr(t->optim, rt_sched_value(&s->lr, (double)t->step));
    if (rt_interp_run(t->train, t->step, err))
        return -1;
    *loss = rt_f32(rt_interp_output(t->train, "loss"))[0];
    if (!isfinite(*loss)) {
        const char *at = rt_interp_first_nonfinite(t->train);
        rt_error_set(err, "stage '%s', epoch %llu, step %llu: the loss is %s; the first "
                     "non-finite value comes from %s", s->name, (unsigned long long)epoch + 1,
                     (unsigned long long)t->step, isnan(*loss) ? "NaN" : "infinite",
                     at ? at : "an input");
        return -1;
    }
    return 0;
}

/* One step: with ranks, every rank learns how the others' went (one
 * failure stops all, at this step) and the gradients are averaged before
 * the update, so every rank updates alike. */
static int one_step(trainer *t, uint64_t epoch, uint64_t index, uint64_t total, double *loss,
                    rt_error *err)
{
    const rt_stage_spec *s = t->s;
    *loss = 0;
    int rc = local_step(t, epoch, index, total, loss, err);
    if (s->dist && rt_dist_step_agree(s->dist, rc, loss, err) == 0)
        rt_dist_grads_reduce(t->avg);
    else if (rc || s->dist)
        return -1;
    if (s->clip_norm > 0)
        rt_optim_clip_grad_norm(t->optim, s->clip_norm);
    rt_optim_step(t->optim);
    t->step++;
    return 0;
}

/* ----------------------------------------------------------- validation */

/* The sliding window of the stage's eval program (runtime/sliding.c). */
static void sliding_of(const rt_stage_spec *s, rt_sliding *w)
{
    rt_sliding_init(w);
    w->nsp = s->nsp;
    for (int a = 0; a < 3; a++)
        w->patch[a] = s->patch[a];
    w->channels = s->channels;
    w->batch = s->batch;
    w->overlap = s->overlap > 0 ? s->overlap : 0.5;
    w->act = s->pred_act;
    w->output = s->pred_output;
}

int rt_predict_case_probs(const rt_stage_spec *s, rt_interp *eval, int ci, float **prob,
                          int *channels, rt_error *err)
{
    const rt_case *c = &s->val->cases[ci];
    rt_sliding w;
    sliding_of(s, &w);
    return rt_sliding_predict(&w, eval, c->image, c->size, prob, channels, err);
}

int rt_predict_case(const rt_stage_spec *s, rt_interp *eval, int ci, int32_t *map, rt_error *err)
{
    float *prob;
    int channels;
    if (rt_predict_case_probs(s, eval, ci, &prob, &channels, err))
        return -1;
    rt_decode_map(s->decode, s->threshold, prob, 1, channels, rt_case_numel(&s->val->cases[ci]),
                  map);
    seg_free(prob);
    return 0;
}

/* The validation labels as the prediction's classes (s->truth_map). */
static void map_truth(const rt_stage_spec *s, const rt_case *c, int32_t *truth)
{
    for (int64_t i = 0; i < rt_case_numel(c); i++) {
        int t = c->label[i];
        truth[i] = t >= 0 && t < s->classes ? s->truth_map[t] : -1;
    }
}

/* With ranks, rank r validates cases r, r + N, ... and the counts are
 * summed (integers: the same in any order). */
int rt_validate(const rt_stage_spec *s, rt_interp *eval, rt_confusion *conf, rt_error *err)
{
    rt_confusion_init(conf, s->pred_classes);
    int rc = 0, ranks = rt_dist_size(s->dist);
    for (int ci = rt_dist_rank(s->dist); ci < s->val->n && rc == 0; ci += ranks) {
        const rt_case *c = &s->val->cases[ci];
        int32_t *map = seg_xcalloc((size_t)rt_case_numel(c), sizeof *map);
        int32_t *truth = seg_xcalloc((size_t)rt_case_numel(c), sizeof *truth);
        rc = rt_predict_case(s, eval, ci, map, err);
        map_truth(s, c, truth);
        if (rc == 0) {
            rt_confusion_add(conf, map, truth, rt_case_numel(c));
            rt_confusion_add_objects(conf, map, truth, c->nsp, c->size);
        }
        seg_free(map);
        seg_free(truth);
    }
    double unused = 0;
    if (!s->dist || rt_dist_step_agree(s->dist, rc, &unused, err))
        return s->dist ? -1 : rc;
    rt_dist_sum_i64(s->dist, &conf->m[0][0], RT_MAX_CLASSES * RT_MAX_CLASSES);
    rt_dist_sum_i64(s->dist, conf->objects, RT_MAX_CLASSES);
    rt_dist_sum_i64(s->dist, conf->detected, RT_MAX_CLASSES);
    return 0;
}

/* ---------------------------------------------------------------- epochs */

typedef struct plateau_state {
    double ema, best;
    int bad, started;
} plateau_state;

/* Returns 1 when the rule fires. best tracks the EMA. */
static int plateau_update(const rt_stage_spec *s, plateau_state *ps, double metric)
{
    ps->ema = ps->started ? s->plateau_ema * ps->ema + (1 - s->plateau_ema) * metric : metric;
    ps->started = 1;
    if (ps->ema > ps->best + s->plateau_delta) {
        ps->best = ps->ema;
        ps->bad = 0;
        return 0;
    }
    return ++ps->bad >= s->plateau_patience;
}

/* Steps r->steps_done.. of epoch r->epoch - 1 (from 0: a resumed epoch
 * starts part-way, its losses so far in r->loss_sum); r->loss becomes
 * the epoch's mean loss. */
static int run_epoch(trainer *t, rt_epoch_report *r, const rt_train_hooks *h, rt_error *err)
{
    const rt_stage_spec *s = t->s;
    uint64_t total = (uint64_t)s->max_epochs * (uint64_t)s->steps_per_epoch;
    int e = r->epoch - 1;
    for (int i = r->steps_done; i < s->steps_per_epoch; i++) {
        double loss;
        if (one_step(t, (uint64_t)e, (uint64_t)i, total, &loss, err))
            return -1;
        r->loss_sum += loss;
        r->steps_done = i + 1;
        r->step = t->step;
        if (h && h->step)
            h->step(h->user, s, e + 1, i + 1, loss);
        int stop = h && h->interrupt ? h->interrupt(h->user, s, r, t->train, t->optim, err) : 0;
        if (stop)
            return stop < 0 ? -1 : RT_TRAIN_STOPPED;
    }
    r->loss = r->loss_sum / s->steps_per_epoch;
    return 0;
}

static void trainer_free(trainer *t)
{
    for (int k = 0; k < RT_MAX_STREAMS; k++) {
        batch_release(&t->batch[k]);
        rt_tensor_free(t->image_buf[k]);
        rt_tensor_free(t->label_buf[k]);
        rt_tensor_free(t->dist_buf[k]);
    }
    rt_tensor_free(t->progress);
    rt_dist_grads_free(t->avg);
    rt_optim_free(t->optim);
    rt_interp_free(t->train);
    rt_interp_free(t->eval);
}

static int epoch_validate(trainer *t, rt_epoch_report *r, rt_error *err)
{
    const rt_stage_spec *s = t->s;
    r->monitor = NAN;
    if (!t->eval || !s->val || s->val->n == 0)
        return 0;
    copy_state(t->train, s->eval, t->eval);
    rt_confusion conf;
    if (rt_validate(s, t->eval, &conf, err))
        return -1;
    rt_val_metrics_of(&conf, &r->val);
    r->validated = 1;
    r->monitor = rt_val_metric(&r->val, s->monitor);
    return 0;
}

/* Keep the best parameters (all of them: frozen ones too, so a stage's
 * result is one consistent network). */
static void snapshot(const rt_stage_spec *s, trainer *t, rt_store *best)
{
    rt_store_from_interp(best, t->train, s->train);
}

static void publish(const rt_stage_spec *s, rt_store *from, rt_store *store)
{
    for (int i = 0; i < rt_store_count(from); i++) {
        const char *n = rt_store_name(from, i);
        const char *by = NULL;
        for (int j = 0; j < s->n_trainable; j++)
            if (!strcmp(s->trainable[j], n))
                by = s->name;
        rt_store_put(store, n, rt_store_get(from, n), by);
    }
}

static int stage_loop(trainer *t, rt_store *best, const rt_resume *rs, const rt_train_hooks *h,
                      rt_error *err)
{
    const rt_stage_spec *s = t->s;
    plateau_state ps = {0, -INFINITY, 0, 0};
    double best_metric = -INFINITY;
    int e0 = rs ? rs->epoch : 0;
    if (e0 > 0) { /* plateau state of the epochs done (none: as a fresh stage) */
        ps.ema = rs->ema, ps.best = rs->best_ema, ps.bad = rs->bad_epochs, ps.started = 1;
        best_metric = rs->best_metric;
    }
    int i0 = rs ? rs->steps_done : 0; /* an interrupted epoch: steps it had done */
    t->step = (uint64_t)e0 * (uint64_t)s->steps_per_epoch + (uint64_t)i0;
    for (int e = e0; e < s->max_epochs; e++) {
        double t0 = seg_seconds();
        rt_epoch_report r = {.epoch = e + 1, .epochs = s->max_epochs, .ema = ps.ema,
                             .best_ema = ps.best, .bad_epochs = ps.bad,
                             .best_metric = best_metric, .step = t->step};
        if (e == e0 && i0 > 0)
            r.steps_done = i0, r.loss_sum = rs->loss_sum;
        int first = r.steps_done;
        int rc = run_epoch(t, &r, h, err);
        if (rc)
            return rc;
        r.step_seconds = (seg_seconds() - t0) / (first < s->steps_per_epoch
                                                  ? s->steps_per_epoch - first : 1);
        r.lr = rt_sched_value(&s->lr, (double)t->step - 1);
        if (epoch_validate(t, &r, err))
            return -1;
        double metric = r.validated ? rt_val_metric(&r.val, s->best_by) : -r.loss;
        r.stop = s->plateau && r.validated && plateau_update(s, &ps, r.monitor);
        r.ema = ps.ema;
        r.best = metric > best_metric;
        if (r.best) {
            best_metric = metric;
            snapshot(s, t, best);
        }
        r.seconds = seg_seconds() - t0;
        r.best_ema = ps.best, r.bad_epochs = ps.bad, r.best_metric = best_metric;
        r.step = t->step;
        int hrc = h && h->epoch ? h->epoch(h->user, s, &r, t->train, t->optim, err) : 0;
        double unused = 0; /* with ranks: rank 0's checkpoint is written before anyone stops */
        if (s->dist ? rt_dist_step_agree(s->dist, hrc, &unused, err) : hrc)
            return -1;
        if (r.stop)
            break;
    }
    return 0;
}

/* ------------------------------------------------------------ trainer */

/* A stage's training program and optimizer kept between runs of steps
 * (the REPL's :train): the same step as rt_train_stage's, without epochs
 * or validation. */
struct rt_trainer {
    trainer t;
};

rt_trainer *rt_trainer_new(const rt_stage_spec *s, const rt_store *store, rt_error *err)
{
    rt_trainer *tr = seg_xcalloc(1, sizeof *tr);
    tr->t.s = s;
    tr->t.train = rt_interp_new(s->train, s->seed, s->threads);
    rt_interp_set_kernels(tr->t.train, s->train_jit);
    rt_store_to_interp(store, tr->t.train, s->train);
    trainer_buffers(&tr->t);
    if (build_optimizer(&tr->t, err)) {
        rt_trainer_free(tr);
        return NULL;
    }
    return tr;
}

void rt_trainer_load(rt_trainer *tr, const rt_store *store)
{
    rt_store_to_interp(store, tr->t.train, tr->t.s->train);
}

int rt_trainer_step(rt_trainer *tr, double *loss, rt_error *err)
{
    const rt_stage_spec *s = tr->t.s;
    uint64_t spe = s->steps_per_epoch > 0 ? (uint64_t)s->steps_per_epoch : 1;
    uint64_t total = (uint64_t)s->max_epochs * spe;
    return one_step(&tr->t, tr->t.step / spe, tr->t.step % spe, total, loss, err);
}

uint64_t rt_trainer_steps(const rt_trainer *tr) { return tr->t.step; }

void rt_trainer_set_steps(rt_trainer *tr, uint64_t steps) { tr->t.step = steps; }

void rt_trainer_save(rt_trainer *tr, rt_store *store)
{
    rt_store *now = rt_store_new();
    rt_store_from_interp(now, tr->t.train, tr->t.s->train);
    publish(tr->t.s, now, store);
    rt_store_free(now);
}

void rt_trainer_free(rt_trainer *tr)
{
    if (!tr)
        return;
    trainer_free(&tr->t);
    seg_free(tr);
}

int rt_train_stage(const rt_stage_spec *s, rt_store *store, const rt_resume *resume,
                   const rt_train_hooks *hooks, rt_error *err)
{
    trainer t = {.s = s};
    int rc = -1;
    rt_store *best = rt_store_new();
    t.train = rt_interp_new(s->train, s->seed, s->threads);
    rt_interp_set_kernels(t.train, s->train_jit);
    rt_store_to_interp(store, t.train, s->train);
    if (s->eval) {
        t.eval = rt_interp_new(s->eval, s->seed, s->threads);
        rt_interp_set_kernels(t.eval, s->eval_jit);
    }
    trainer_buffers(&t);
    if (build_optimizer(&t, err))
        goto done;
    dist_tensors(&t);
    if (resume && resume->ckpt && rt_optim_load_exact(t.optim, resume->ckpt, err)) {
        rt_error why = *err;
        rt_error_set(err, "%s: %s", resume->path ? resume->path : "checkpoint", why.msg);
        goto done;
    }
    if (resume && resume->best)
        for (int i = 0; i < rt_store_count(resume->best); i++)
            rt_store_put(best, rt_store_name(resume->best, i),
                         rt_store_get(resume->best, rt_store_name(resume->best, i)), NULL);
    int stop = stage_loop(&t, best, resume, hooks, err);
    if (stop) {
        rc = stop == RT_TRAIN_STOPPED ? stop : -1;
        goto done;
    }
    if (rt_store_count(best) == 0) /* resumed at the very end: keep what we have */
        snapshot(s, &t, best);
    publish(s, best, store);
    rc = 0;
done:
    rt_store_free(best);
    trainer_free(&t);
    return rc;
}
