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
 *
 * A step is one pass over all parameters on a thread pool (rt_optim_set_pool):
 * the update of a 30M-parameter network is memory-bound, worth spreading
 * over the threads that just ran the backward pass, and one rt_pool_run
 * instead of one per parameter keeps the 90-odd small tensors from costing
 * a wake-up each. The per-element loops are written so that gcc -O2
 * vectorises them (restrict, whole vectors, sqrtf without errno: see the
 * Makefile), which does not change a bit either. The tasks are fixed
 * blocks of OPTIM_BLOCK elements of each parameter, numbered across all
 * parameters, so the partition depends only on the parameter sizes; every
 * element's update is independent and runs the same float operations as a
 * plain sequential loop, so the results are the same bits for any thread
 * count. Step counts, state allocation and the per-parameter scalars (bias
 * corrections) are done first, serially. Gradient clipping uses the same
 * blocks: each block's sum of squares in double (eight interleaved partial
 * sums), the block sums added in block order. That too is the same for any
 * thread count, though it may differ in the last bits from one running sum
 * over all elements (torch's order is different again).
 */
#include "runtime/runtime.h"

#include <math.h>
#include <string.h>

/* Per-step coefficients of one parameter (float, as the updates use them),
 * worked out before the parallel pass. */
typedef struct optim_coef {
    unsigned flags;                /* SGD_* or ADAM_*: which loop runs */
    float wd, mom, damp1, neg_lr;  /* SGD */
    float b1, omb1, b2, omb2;      /* Adam, AdamW: betas and 1 - betas */
    float neg_step, bc2_sqrt, eps; /* -lr / (1 - b1^t), sqrt(1 - b2^t), eps */
    float l2, keep;                /* Adam's L2 term; AdamW's 1 - lr wd */
} optim_coef;

enum {
    SGD_WD = 1,      /* weight decay is not 0 */
    SGD_MOM = 2,     /* momentum is not 0 */
    SGD_FIRST = 4,   /* the momentum buffer starts as the gradient */
    SGD_NEST = 8,    /* Nesterov momentum */
    ADAM_L2 = 1,     /* Adam with weight decay */
    ADAM_DECAY = 2,  /* AdamW with weight decay */
};

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
    optim_coef k;    /* this step's coefficients */
} optim_slot;

struct rt_optim {
    rt_optim_config cfg;
    double lr;       /* current base learning rate */
    optim_slot *p;
    int n, cap;
    int64_t *first;  /* [n + 1]: first block (task) of each parameter; first[n] = all */
    rt_pool *pool;   /* borrowed; NULL = the calling thread */
};

/* ------------------------------------------------------------- blocks */

/* Elements per task of the flattened parameter space: each parameter is
 * cut into blocks of this many elements (its last block shorter), and the
 * blocks of all parameters are numbered one after another. */
enum { OPTIM_BLOCK = 16384 };

/* Loops run over whole groups of this many floats and then a scalar tail:
 * gcc -O2's "very cheap" vectoriser only takes a loop whose trip count is
 * a known multiple of the vector width (16 covers SSE to AVX-512). */
enum { OPTIM_VEC = 16 };

#define OPTIM_INLINE static inline __attribute__((always_inline))

static int64_t blocks_of(size_t n) { return (int64_t)((n + OPTIM_BLOCK - 1) / OPTIM_BLOCK); }

/* The array holding task t, given first[k] = the first task of array k
 * (first[n] = the task count): the smallest k with first[k + 1] > t. */
static int block_owner(const int64_t *first, int n, int64_t t)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (first[mid + 1] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* first[0..n] for arrays of the given lengths (caller frees). */
static int64_t *blocks_first(const size_t *lens, int n)
{
    int64_t *first = seg_xcalloc((size_t)n + 1, sizeof *first);
    for (int k = 0; k < n; k++)
        first[k + 1] = first[k] + blocks_of(lens[k]);
    return first;
}

/* Element range [*lo, *hi) of array k (len elements) covered by tasks
 * [begin, end); 0 if none. */
static int blocks_span(const int64_t *first, int k, size_t len, int64_t begin, int64_t end,
                       size_t *lo, size_t *hi)
{
    int64_t b = begin > first[k] ? begin : first[k];
    int64_t e = end < first[k + 1] ? end : first[k + 1];
    if (b >= e)
        return 0;
    *lo = (size_t)(b - first[k]) * OPTIM_BLOCK;
    *hi = (size_t)(e - first[k]) * OPTIM_BLOCK;
    if (*hi > len)
        *hi = len;
    return 1;
}

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
    o->first = seg_xcalloc(1, sizeof *o->first);
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
    seg_free(o->first);
    seg_free(o);
}

int rt_optim_add(rt_optim *o, const char *name, float *data, float *grad, size_t n)
{
    SEG_ASSERT(rt_optim_find(o, name) < 0); /* parameter names are unique */
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->p = seg_xrealloc(o->p, (size_t)o->cap * sizeof *o->p);
        o->first = seg_xrealloc(o->first, ((size_t)o->cap + 1) * sizeof *o->first);
    }
    optim_slot *s = &o->p[o->n];
    *s = (optim_slot){.name = seg_xstrdup(name), .data = data, .grad = grad, .n = n,
                      .lr_mult = 1, .wd_mult = 1};
    o->first[o->n + 1] = o->first[o->n] + blocks_of(n);
    return o->n++;
}

void rt_optim_set_mult(rt_optim *o, int index, double lr_mult, double wd_mult)
{
    SEG_ASSERT(index >= 0 && index < o->n);
    o->p[index].lr_mult = lr_mult;
    o->p[index].wd_mult = wd_mult;
}

void rt_optim_set_pool(rt_optim *o, rt_pool *pool) { o->pool = pool; }
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

/* SGD over n elements. The flags are constants at every call, so each
 * combination inlines into its own branch-free loop, and the restrict
 * arrays of sgd_span spare gcc the run-time alias checks that its -O2
 * vectoriser does not do. buf is only touched with momentum. */
OPTIM_INLINE void sgd_elem(const optim_coef *k, float *p, const float *grad,
                           float *buf, size_t i, int wd, int mom, int first, int nest)
{
    float g = grad[i];
    if (wd)
        g = g + k->wd * p[i];
    if (mom) {
        float b = first ? g : buf[i] * k->mom + k->damp1 * g;
        buf[i] = b;
        g = nest ? g + k->mom * b : b;
    }
    p[i] = p[i] + k->neg_lr * g;
}

OPTIM_INLINE void sgd_loop(const optim_coef *kp, float *p, const float *grad,
                           float *buf, size_t n, int wd, int mom, int first, int nest)
{
    const optim_coef k = *kp;
    size_t i = 0, whole = n / OPTIM_VEC * OPTIM_VEC;
    for (; i < whole; i++)
        sgd_elem(&k, p, grad, buf, i, wd, mom, first, nest);
    for (; i < n; i++)
        sgd_elem(&k, p, grad, buf, i, wd, mom, first, nest);
}

static void sgd_span(const optim_coef *k, float *restrict p, const float *restrict g,
                     float *restrict buf, size_t n)
{
    switch (k->flags) {
    case 0: sgd_loop(k, p, g, buf, n, 0, 0, 0, 0); break;
    case SGD_WD: sgd_loop(k, p, g, buf, n, 1, 0, 0, 0); break;
    case SGD_MOM: sgd_loop(k, p, g, buf, n, 0, 1, 0, 0); break;
    case SGD_MOM | SGD_WD: sgd_loop(k, p, g, buf, n, 1, 1, 0, 0); break;
    case SGD_MOM | SGD_FIRST: sgd_loop(k, p, g, buf, n, 0, 1, 1, 0); break;
    case SGD_MOM | SGD_FIRST | SGD_WD: sgd_loop(k, p, g, buf, n, 1, 1, 1, 0); break;
    case SGD_MOM | SGD_NEST: sgd_loop(k, p, g, buf, n, 0, 1, 0, 1); break;
    case SGD_MOM | SGD_NEST | SGD_WD: sgd_loop(k, p, g, buf, n, 1, 1, 0, 1); break;
    case SGD_MOM | SGD_NEST | SGD_FIRST: sgd_loop(k, p, g, buf, n, 0, 1, 1, 1); break;
    case SGD_MOM | SGD_NEST | SGD_FIRST | SGD_WD: sgd_loop(k, p, g, buf, n, 1, 1, 1, 1); break;
    default: SEG_UNREACHABLE();
    }
}

/* Adam and AdamW over n elements; l2 is Adam's weight decay, decay
 * AdamW's factor (flags constant at every call, as for SGD). */
OPTIM_INLINE void adam_elem(const optim_coef *k, float *p, const float *grad,
                            float *m, float *v, size_t i, int l2, int decay)
{
    float g = grad[i];
    if (decay)
        p[i] = p[i] * k->keep;
    if (l2)
        g = g + k->l2 * p[i];
    m[i] = m[i] * k->b1 + k->omb1 * g;
    v[i] = v[i] * k->b2 + k->omb2 * g * g;
    float denom = sqrtf(v[i]) / k->bc2_sqrt + k->eps;
    p[i] = p[i] + k->neg_step * m[i] / denom;
}

OPTIM_INLINE void adam_loop(const optim_coef *kp, float *p, const float *grad,
                            float *m, float *v, size_t n, int l2, int decay)
{
    const optim_coef k = *kp;
    size_t i = 0, whole = n / OPTIM_VEC * OPTIM_VEC;
    for (; i < whole; i++)
        adam_elem(&k, p, grad, m, v, i, l2, decay);
    for (; i < n; i++)
        adam_elem(&k, p, grad, m, v, i, l2, decay);
}

static void adam_span(const optim_coef *k, float *restrict p, const float *restrict g,
                      float *restrict m, float *restrict v, size_t n)
{
    switch (k->flags) {
    case 0: adam_loop(k, p, g, m, v, n, 0, 0); break;
    case ADAM_L2: adam_loop(k, p, g, m, v, n, 1, 0); break;
    case ADAM_DECAY: adam_loop(k, p, g, m, v, n, 0, 1); break;
    default: SEG_UNREACHABLE();
    }
}

/* Per step and parameter, before the parallel pass: count the step,
 * allocate the state on the first one and work out the coefficients. */
static void slot_prepare(const rt_optim *o, optim_slot *s)
{
    const rt_optim_config *c = &o->cfg;
    double lr = o->lr * s->lr_mult, wd = c->weight_decay * s->wd_mult;
    optim_coef *k = &s->k;
    *k = (optim_coef){.flags = 0};
    s->step++;
    if (c->kind == RT_OPTIM_SGD) {
        k->wd = (float)wd;
        k->mom = (float)c->momentum;
        k->damp1 = (float)(1 - c->dampening);
        k->neg_lr = (float)-lr;
        k->flags = (wd != 0 ? SGD_WD : 0) | (c->momentum != 0 ? SGD_MOM : 0)
                   | (c->momentum != 0 && c->nesterov ? SGD_NEST : 0);
        if (c->momentum != 0 && !s->buf0) {
            s->buf0 = seg_xcalloc(s->n, sizeof(float));
            k->flags |= SGD_FIRST;
        }
        return;
    }
    double l2 = c->kind == RT_OPTIM_ADAM ? wd : 0, decay = c->kind == RT_OPTIM_ADAMW ? wd : 0;
    if (!s->buf0) {
        s->buf0 = seg_xcalloc(s->n, sizeof(float));
        s->buf1 = seg_xcalloc(s->n, sizeof(float));
    }
    double t = (double)s->step;
    double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    k->b1 = (float)c->beta1;
    k->omb1 = (float)(1 - c->beta1);
    k->b2 = (float)c->beta2;
    k->omb2 = (float)(1 - c->beta2);
    k->neg_step = (float)-(lr / bc1);
    k->bc2_sqrt = (float)sqrt(bc2);
    k->eps = (float)c->eps;
    k->l2 = (float)l2;
    k->keep = (float)(1 - lr * decay);
    k->flags = (l2 != 0 ? ADAM_L2 : 0) | (decay != 0 ? ADAM_DECAY : 0);
}

/* Pool task: the update of the elements in blocks [begin, end). */
static void step_tasks(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    rt_optim *o = arg;
    for (int i = block_owner(o->first, o->n, begin); i < o->n && o->first[i] < end; i++) {
        optim_slot *s = &o->p[i];
        size_t lo, hi;
        if (!blocks_span(o->first, i, s->n, begin, end, &lo, &hi))
            continue;
        if (o->cfg.kind == RT_OPTIM_SGD)
            sgd_span(&s->k, s->data + lo, s->grad + lo, s->buf0 ? s->buf0 + lo : NULL, hi - lo);
        else
            adam_span(&s->k, s->data + lo, s->grad + lo, s->buf0 + lo, s->buf1 + lo, hi - lo);
    }
}

void rt_optim_step(rt_optim *o)
{
    for (int i = 0; i < o->n; i++)
        slot_prepare(o, &o->p[i]);
    rt_pool_run(o->pool, o->first[o->n], step_tasks, o);
}

/* ----------------------------------------------------------- clipping */

/* A clipping job: n gradient arrays in blocks (first[], as above). */
typedef struct clip_job {
    float *const *grads;
    const size_t *lens;
    int n;
    const int64_t *first;
    double *partial; /* per block: sum of squares */
    float scale;
} clip_job;

/* Sum of squares of one block in double, in eight interleaved partial
 * sums added up in a fixed order (independent chains, same bits always). */
static double block_sumsq(const float *g, size_t n)
{
    double acc[8] = {0};
    size_t i = 0, whole = n / 8 * 8;
    for (; i < whole; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (double)g[i + j] * g[i + j];
    for (; i < n; i++)
        acc[i % 8] += (double)g[i] * g[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static void clip_sum_tasks(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    clip_job *j = arg;
    int k = block_owner(j->first, j->n, begin);
    for (int64_t t = begin; t < end; t++) {
        while (j->first[k + 1] <= t)
            k++;
        size_t lo = (size_t)(t - j->first[k]) * OPTIM_BLOCK;
        size_t len = j->lens[k] - lo < OPTIM_BLOCK ? j->lens[k] - lo : OPTIM_BLOCK;
        j->partial[t] = block_sumsq(j->grads[k] + lo, len);
    }
}

static void clip_scale_tasks(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const clip_job *j = arg;
    const float cf = j->scale;
    for (int k = block_owner(j->first, j->n, begin); k < j->n && j->first[k] < end; k++) {
        size_t lo, hi;
        if (!blocks_span(j->first, k, j->lens[k], begin, end, &lo, &hi))
            continue;
        float *restrict g = j->grads[k];
        size_t whole = lo + (hi - lo) / OPTIM_VEC * OPTIM_VEC, i = lo;
        for (; i < whole; i++)
            g[i] *= cf;
        for (; i < hi; i++)
            g[i] *= cf;
    }
}

/* Clipping on a pool (NULL: the calling thread). The squared norm is a
 * sum of per-block partial sums added in block order, so it depends only
 * on the gradients' sizes and values, never on the thread count. */
static double clip_grad_norm(float *const *grads, const size_t *lens, int n, double max_norm,
                             rt_pool *pool)
{
    if (n <= 0)
        return 0;
    int64_t *first = blocks_first(lens, n);
    clip_job j = {.grads = grads, .lens = lens, .n = n, .first = first};
    j.partial = seg_xcalloc((size_t)first[n] + 1, sizeof *j.partial);
    rt_pool_run(pool, first[n], clip_sum_tasks, &j);
    double sum = 0;
    for (int64_t t = 0; t < first[n]; t++)
        sum += j.partial[t];
    double total = sqrt(sum);
    double coef = max_norm / (total + 1e-6);
    if (coef < 1) {
        j.scale = (float)coef;
        rt_pool_run(pool, first[n], clip_scale_tasks, &j);
    }
    seg_free(j.partial);
    seg_free(first);
    return total;
}

double rt_clip_grad_norm(float *const *grads, const size_t *lens, int n, double max_norm)
{
    return clip_grad_norm(grads, lens, n, max_norm, NULL);
}

double rt_optim_clip_grad_norm(rt_optim *o, double max_norm)
{
    float **g = seg_xcalloc((size_t)o->n + 1, sizeof *g);
    size_t *len = seg_xcalloc((size_t)o->n + 1, sizeof *len);
    for (int i = 0; i < o->n; i++) {
        g[i] = o->p[i].grad;
        len[i] = o->p[i].n;
    }
    double total = clip_grad_norm(g, len, o->n, max_norm, o->pool);
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

/* An exact resume's slot: its step, and its buffers once it has stepped
 * (SGD keeps one with momentum, Adam two). */
static int slot_complete(const rt_optim *o, const optim_slot *s, const rt_ckpt_entry *st,
                         const rt_ckpt_entry *e0, rt_error *err)
{
    int64_t step = 0;
    if (st)
        memcpy(&step, st->data, 8);
    int buffers = o->cfg.kind != RT_OPTIM_SGD || o->cfg.momentum != 0;
    if (!st)
        rt_error_set(err, "optimizer state of '%s' is missing (no " RT_OPTIM_PREFIX "%s.step)",
                     s->name, s->name);
    else if (step > 0 && buffers && !e0)
        rt_error_set(err, "optimizer state of '%s' has %lld steps but no buffers", s->name,
                     (long long)step);
    return !st || (step > 0 && buffers && !e0) ? -1 : 0;
}

/* Restore one slot; a slot with no saved step starts fresh unless exact. */
static int load_slot(const rt_optim *o, optim_slot *s, const rt_ckpt *c, int exact,
                     rt_error *err)
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
    if (exact && slot_complete(o, s, st, e0, err))
        return -1;
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
        if (load_slot(o, &o->p[i], c, 0, err))
            return -1;
    return 0;
}

int rt_optim_load_exact(rt_optim *o, const rt_ckpt *c, rt_error *err)
{
    for (int i = 0; i < o->n; i++)
        if (load_slot(o, &o->p[i], c, 1, err))
            return -1;
    return 0;
}
