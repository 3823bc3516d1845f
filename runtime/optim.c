/* optim.c — SGD, Adam and AdamW with PyTorch's update formulas.
 *
 * An optimizer holds a list of parameters (borrowed f32 arrays with their
 * gradients) and, per parameter, its state: a step count and one or two
 * buffers (SGD momentum; Adam/AdamW first and second moments), allocated at
 * the first step. The updates follow torch.optim's single-tensor CPU code
 * (torch 1.13, foreach off) operation by operation in float arithmetic, so
 * results agree with PyTorch to within float rounding (torch's vectorized
 * kernels may fuse a multiply-add that we round twice; tests allow 1e-6):
 *
 *   SGD:   g += wd p;  buf = g (first step) or buf = momentum buf + (1 - dampening) g;
 *          g = nesterov ? g + momentum buf : buf;  p += -lr g
 *   Adam:  g += wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g;
 *          denom = sqrt(v) / sqrt(1 - b2^t) + eps;  p += -(lr / (1 - b1^t)) m / denom
 *   AdamW: p *= 1 - lr wd first, then Adam without the L2 term.
 *
 * Parameter groups are per-parameter multipliers of the learning rate and
 * of the weight decay. Frozen parameters are simply never added: the
 * optimizer updates exactly what it holds and nothing else, and the caller
 * leaves frozen ones out (their gradients are never computed anyway).
 * Gradients are not zeroed here; the backward pass overwrites them.
 */
#include "runtime/runtime.h"

#include <math.h>
#include <string.h>

/* One parameter and its state. */
typedef struct optim_slot {
    char *name;      /* owned */
    float *data;     /* parameter values (borrowed) */
    float *grad;     /* gradient (borrowed), same length */
    size_t n;        /* element count */
    double lr_mult;  /* group: lr = base lr * lr_mult */
    double wd_mult;  /* group: wd = weight_decay * wd_mult */
    uint64_t step;   /* updates applied (torch's state['step']) */
    float *buf0;     /* SGD momentum buffer or Adam m; NULL until the first step */
    float *buf1;     /* Adam v; NULL for SGD */
} optim_slot;

struct rt_optim {
    rt_optim_config cfg;
    double lr;       /* current base learning rate */
    optim_slot *p;
    int n, cap;
};

void rt_optim_config_init(rt_optim_config *c, rt_optim_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->weight_decay = kind == RT_OPTIM_ADAMW ? 1e-2 : 0;
}

/* The same checks as torch's constructors. */
static int config_check(const rt_optim_config *c, rt_error *err)
{
    const char *bad = NULL;
    if (!(c->lr >= 0))
        bad = "learning rate must be >= 0";
    else if (!(c->weight_decay >= 0))
        bad = "weight decay must be >= 0";
    else if (c->kind == RT_OPTIM_SGD && !(c->momentum >= 0))
        bad = "momentum must be >= 0";
    else if (c->kind == RT_OPTIM_SGD && c->nesterov && (c->momentum <= 0 || c->dampening != 0))
        bad = "nesterov momentum needs momentum > 0 and dampening 0";
    else if (c->kind != RT_OPTIM_SGD
             && !(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1))
        bad = "betas must be in [0, 1)";
    else if (c->kind != RT_OPTIM_SGD && !(c->eps >= 0))
        bad = "eps must be >= 0";
    if (bad)
        rt_error_set(err, "optimizer: %s", bad);
    return bad ? -1 : 0;
}

rt_optim *rt_optim_new(const rt_optim_config *c, rt_error *err)
{
    if (config_check(c, err))
        return NULL;
    rt_optim *o = seg_xcalloc(1, sizeof *o);
    o->cfg = *c;
    o->lr = c->lr;
    return o;
}

void rt_optim_free(rt_optim *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n; i++) {
        seg_free(o->p[i].name);
        seg_free(o->p[i].buf0);
        seg_free(o->p[i].buf1);
    }
    seg_free(o->p);
    seg_free(o);
}

int rt_optim_add(rt_optim *o, const char *name, float *data, float *grad, size_t n)
{
    SEG_ASSERT(rt_optim_find(o, name) < 0); /* parameter names are unique */
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->p = seg_xrealloc(o->p, (size_t)o->cap * sizeof *o->p);
    }
    optim_slot *s = &o->p[o->n];
    *s = (optim_slot){.name = seg_xstrdup(name), .data = data, .grad = grad, .n = n,
                      .lr_mult = 1, .wd_mult = 1};
    return o->n++;
}

void rt_optim_set_mult(rt_optim *o, int index, double lr_mult, double wd_mult)
{
    SEG_ASSERT(index >= 0 && index < o->n);
    o->p[index].lr_mult = lr_mult;
    o->p[index].wd_mult = wd_mult;
}

void rt_optim_set_lr(rt_optim *o, double lr) { o->lr = lr; }
double rt_optim_lr(const rt_optim *o) { return o->lr; }
int rt_optim_count(const rt_optim *o) { return o->n; }

int rt_optim_find(const rt_optim *o, const char *name)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->p[i].name, name) == 0)
            return i;
    return -1;
}

uint64_t rt_optim_steps(const rt_optim *o, int index)
{
    SEG_ASSERT(index >= 0 && index < o->n);
    return o->p[index].step;
}

/* ------------------------------------------------------------ updates */

static void sgd_update(const rt_optim_config *c, optim_slot *s, double lr, double wd)
{
    const float wdf = (float)wd, mom = (float)c->momentum, damp1 = (float)(1 - c->dampening);
    const float neg_lr = (float)-lr;
    int first = 0;
    if (c->momentum != 0 && !s->buf0) {
        s->buf0 = seg_xcalloc(s->n, sizeof(float));
        first = 1;
    }
    for (size_t i = 0; i < s->n; i++) {
        float g = s->grad[i];
        if (wd != 0)
            g = g + wdf * s->data[i];
        if (c->momentum != 0) {
            float b = first ? g : s->buf0[i] * mom + damp1 * g;
            s->buf0[i] = b;
            g = c->nesterov ? g + mom * b : b;
        }
        s->data[i] = s->data[i] + neg_lr * g;
    }
}

/* Adam and AdamW; l2 is Adam's weight decay, decay AdamW's factor. */
static void adam_update(const rt_optim_config *c, optim_slot *s, double lr, double l2, double decay)
{
    if (!s->buf0) {
        s->buf0 = seg_xcalloc(s->n, sizeof(float));
        s->buf1 = seg_xcalloc(s->n, sizeof(float));
    }
    double t = (double)s->step;
    double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    const float b1 = (float)c->beta1, omb1 = (float)(1 - c->beta1);
    const float b2 = (float)c->beta2, omb2 = (float)(1 - c->beta2);
    const float neg_step = (float)-(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float eps = (float)c->eps, l2f = (float)l2, keep = (float)(1 - lr * decay);
    float *p = s->data, *m = s->buf0, *v = s->buf1;
    for (size_t i = 0; i < s->n; i++) {
        float g = s->grad[i];
        if (decay != 0)
            p[i] = p[i] * keep;
        if (l2 != 0)
            g = g + l2f * p[i];
        m[i] = m[i] * b1 + omb1 * g;
        v[i] = v[i] * b2 + omb2 * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] + neg_step * m[i] / denom;
    }
}

void rt_optim_step(rt_optim *o)
{
    const rt_optim_config *c = &o->cfg;
    for (int i = 0; i < o->n; i++) {
        optim_slot *s = &o->p[i];
        double lr = o->lr * s->lr_mult, wd = c->weight_decay * s->wd_mult;
        s->step++;
        if (c->kind == RT_OPTIM_SGD)
            sgd_update(c, s, lr, wd);
        else if (c->kind == RT_OPTIM_ADAM)
            adam_update(c, s, lr, wd, 0);
        else
            adam_update(c, s, lr, 0, wd);
    }
}

/* ----------------------------------------------------------- clipping */

double rt_clip_grad_norm(float *const *grads, const size_t *lens, int n, double max_norm)
{
    double sum = 0;
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < lens[k]; i++)
            sum += (double)grads[k][i] * grads[k][i];
    double total = sqrt(sum);
    double coef = max_norm / (total + 1e-6);
    if (coef < 1) {
        const float cf = (float)coef;
        for (int k = 0; k < n; k++)
            for (size_t i = 0; i < lens[k]; i++)
                grads[k][i] *= cf;
    }
    return total;
}

double rt_optim_clip_grad_norm(rt_optim *o, double max_norm)
{
    float **g = seg_xcalloc((size_t)o->n + 1, sizeof *g);
    size_t *len = seg_xcalloc((size_t)o->n + 1, sizeof *len);
    for (int i = 0; i < o->n; i++) {
        g[i] = o->p[i].grad;
        len[i] = o->p[i].n;
    }
    double total = rt_clip_grad_norm(g, len, o->n, max_norm);
    seg_free(g);
    seg_free(len);
    return total;
}

/* -------------------------------------------------------------- state */

/* "optim.<param>.<what>" into buf. */
static const char *state_name(char *buf, size_t n, const char *param, const char *what)
{
    snprintf(buf, n, "%s%s.%s", RT_OPTIM_PREFIX, param, what);
    return buf;
}

/* Names of a slot's buffers for this optimizer kind; the second may be NULL. */
static void buffer_names(const rt_optim *o, const char **b0, const char **b1)
{
    *b0 = o->cfg.kind == RT_OPTIM_SGD ? "momentum" : "m";
    *b1 = o->cfg.kind == RT_OPTIM_SGD ? NULL : "v";
}

void rt_optim_save(const rt_optim *o, rt_ckpt *c)
{
    const char *w0, *w1;
    buffer_names(o, &w0, &w1);
    for (int i = 0; i < o->n; i++) {
        const optim_slot *s = &o->p[i];
        char name[1024];
        int64_t n = (int64_t)s->n;
        /* I64, not U64: torch before 2.3 has no uint64 (same bits below 2^63). */
        rt_ckpt_add(c, state_name(name, sizeof name, s->name, "step"), RT_CKPT_I64, 0, NULL,
                    &s->step);
        if (s->buf0)
            rt_ckpt_add(c, state_name(name, sizeof name, s->name, w0), RT_CKPT_F32, 1, &n, s->buf0);
        if (s->buf1)
            rt_ckpt_add(c, state_name(name, sizeof name, s->name, w1), RT_CKPT_F32, 1, &n, s->buf1);
    }
}

/* Find a state entry; NULL if absent, or error if present with the wrong type. */
static int state_entry(const rt_ckpt *c, const optim_slot *s, const char *what, rt_ckpt_dtype dt,
                       uint64_t nbytes, const rt_ckpt_entry **out, rt_error *err)
{
    char name[1024];
    const rt_ckpt_entry *e = rt_ckpt_find(c, state_name(name, sizeof name, s->name, what));
    int same_dt = e && (e->dtype == dt || (dt == RT_CKPT_I64 && e->dtype == RT_CKPT_U64));
    if (e && (!same_dt || e->nbytes != nbytes)) {
        rt_error_set(err, "optimizer state '%s': %s of %llu bytes, expected %s of %llu bytes", name,
                     rt_ckpt_dtype_name(e->dtype), (unsigned long long)e->nbytes,
                     rt_ckpt_dtype_name(dt), (unsigned long long)nbytes);
        return -1;
    }
    *out = e;
    return 0;
}

static float *copy_buffer(float *dst, const rt_ckpt_entry *e, size_t n)
{
    if (!dst)
        dst = seg_xcalloc(n, sizeof(float));
    memcpy(dst, e->data, n * sizeof(float));
    return dst;
}

/* Restore one slot; a slot with no saved step starts fresh. */
static int load_slot(const rt_optim *o, optim_slot *s, const rt_ckpt *c, rt_error *err)
{
    const char *w0, *w1;
    buffer_names(o, &w0, &w1);
    const rt_ckpt_entry *st, *e0, *e1 = NULL;
    uint64_t bytes = (uint64_t)s->n * sizeof(float);
    if (state_entry(c, s, "step", RT_CKPT_I64, 8, &st, err)
        || state_entry(c, s, w0, RT_CKPT_F32, bytes, &e0, err)
        || (w1 && state_entry(c, s, w1, RT_CKPT_F32, bytes, &e1, err)))
        return -1;
    if (!st && (e0 || e1)) {
        rt_error_set(err, "optimizer state of '%s' has buffers but no step count", s->name);
        return -1;
    }
    if (w1 && st && !e0 != !e1) {
        rt_error_set(err, "optimizer state of '%s' has only one of '%s' and '%s'", s->name, w0, w1);
        return -1;
    }
    if (!st)
        return 0;
    int64_t step;
    memcpy(&step, st->data, 8);
    if (step < 0) {
        rt_error_set(err, "optimizer state of '%s' has a negative step count", s->name);
        return -1;
    }
    s->step = (uint64_t)step;
    if (e0)
        s->buf0 = copy_buffer(s->buf0, e0, s->n);
    if (e1)
        s->buf1 = copy_buffer(s->buf1, e1, s->n);
    if (w1 && !e0) /* Adam without moments: bias correction must restart too */
        s->step = 0;
    return 0;
}

int rt_optim_load(rt_optim *o, const rt_ckpt *c, rt_error *err)
{
    for (int i = 0; i < o->n; i++)
        if (load_slot(o, &o->p[i], c, err))
            return -1;
    return 0;
}
