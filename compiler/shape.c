/* shape.c — the shape and dtype rule of every graph op.
 *
 * ir_infer_type is the one place that knows what each op accepts and what
 * it produces. It checks the arity against rt_op_table, then dispatches to
 * one small rule per op (or per family: elementwise binary, unary,
 * reductions). Messages are user-facing: they start with the op's name,
 * say what is wrong and show both shapes where two disagree; the caller
 * (sema) adds the source location.
 *
 * ir_attrs_normalize puts the attributes of an accepted node in canonical
 * form, so kernels and passes never re-derive them: the spatial rank and
 * the conv kernel come from the types, negative axes are resolved, slice
 * bounds are clamped like Python's, and "all axes" (axes == 0) is spelled
 * out as a bit mask.
 *
 * Deliberate restrictions (the front end casts first):
 *   - elementwise binary operands have one dtype; arithmetic takes f32 or
 *     i32 (pow only f32), comparisons any dtype and give u8;
 *   - unary math, reductions, softmax, matmul, conv, pools, batchnorm and
 *     dropout take f32 only (abs and neg also i32, argmax also i32);
 *   - pooling windows must tile the padded input exactly:
 *     (in + 2 pad - k) % stride == 0;
 *   - slice steps are >= 1 (no reversal).
 * Ops whose result shape the caller computes (reshape, broadcast, cast,
 * upsample, random ops, and the backward ops autodiff emits) take it from
 * `want`; the rule only validates it.
 */
#include "compiler.h"

#include <stdint.h>
#include <string.h>

/* Everything one rule needs, so rules take a single argument. */
typedef struct shape_ctx {
    rt_op op;            /* the op being checked */
    const rt_attrs *a;   /* its attributes */
    const rt_type *in;   /* input types, n_in of them */
    int n_in;            /* number of inputs */
    const rt_type *want; /* caller-given output type, or NULL */
    rt_type *out;        /* where the result goes */
    char *err;           /* message buffer, may be NULL */
    size_t errlen;       /* its size */
} shape_ctx;

/* A formatted type. 160 bytes hold "f32[" plus six 20-digit dims. */
typedef struct tstr {
    char s[160];
} tstr;

static tstr ts(const rt_type *t)
{
    tstr b;
    rt_type_str(t, b.s, sizeof b.s);
    return b;
}

/* Just the shape, "[2, 3]", for targets whose dtype is beside the point. */
static tstr shp(const rt_type *t)
{
    tstr b = ts(t);
    char *br = strchr(b.s, '[');
    if (br)
        memmove(b.s, br, strlen(br) + 1);
    return b;
}

static int fail(shape_ctx *c, const char *fmt, ...) SEG_PRINTF(2, 3);
static int fail(shape_ctx *c, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "%s: ", rt_op_table[c->op].name);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ------------------------------------------------------------ helpers */

/* The message for a type beyond RT_MAX_TENSOR_BYTES. */
typedef struct bigstr {
    char s[sizeof(tstr) + 64];
} bigstr;

static bigstr too_large(const rt_type *t)
{
    bigstr b;
    snprintf(b.s, sizeof b.s, "%s is too large (more than 256 TiB)", ts(t).s);
    return b;
}

static int need_f32(shape_ctx *c, const rt_type *t, const char *what)
{
    if (t->dtype == RT_F32)
        return 0;
    return fail(c, "%s must be f32, got %s", what, ts(t).s);
}

/* A caller-given type: present, with a sane rank and positive dims. */
static int need_want(shape_ctx *c)
{
    const rt_type *w = c->want;
    if (!w)
        return fail(c, "the output type was not given");
    if (w->rank < 0 || w->rank > RT_MAX_RANK || (unsigned)w->dtype >= RT_DTYPE_COUNT)
        return fail(c, "invalid output type (rank %d)", w->rank);
    for (int i = 0; i < w->rank; i++)
        if (w->dim[i] < 1)
            return fail(c, "output shape %s has a dimension smaller than 1", shp(w).s);
    if (rt_type_size(w, NULL, NULL))
        return fail(c, "%s", too_large(w).s);
    return 0;
}

/* Resolve a possibly negative axis against rank, Python style. */
static int norm_axis(shape_ctx *c, int axis, const rt_type *t, int *res)
{
    int r = t->rank;
    if (axis < -r || axis >= r)
        return fail(c, "axis %d is out of range for %s (rank %d)", axis, ts(t).s, r);
    *res = axis < 0 ? axis + r : axis;
    return 0;
}

/* NumPy broadcasting of two shapes into out (dtype from a). */
static int broadcast2(const rt_type *a, const rt_type *b, rt_type *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    rt_type o = {.dtype = a->dtype, .rank = r};
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        o.dim[i] = da == 1 ? db : da;
    }
    *out = o;
    return 0;
}

/* The spatial rank of x: attrs.nsp when set, else rank - 2; x must be
 * [N, C, spatial...] with 1 to 3 spatial axes. */
static int spatial_rank(shape_ctx *c, const rt_type *x, int *nsp)
{
    int n = c->a->nsp ? c->a->nsp : x->rank - 2;
    if (x->rank < 3 || x->rank > 5)
        return fail(c, "input %s must be [N, C] followed by 1 to 3 spatial axes", ts(x).s);
    if (n != x->rank - 2)
        return fail(c, "input %s has %d spatial axes but the op expects %d",
                    ts(x).s, x->rank - 2, n);
    *nsp = n;
    return 0;
}

/* Stride, padding and dilation of one spatial axis. */
static int check_window(shape_ctx *c, int i, int k, int s, int p, int d)
{
    if (k < 1)
        return fail(c, "kernel size %d on spatial axis %d must be at least 1", k, i);
    if (s < 1)
        return fail(c, "stride %d on spatial axis %d must be at least 1", s, i);
    if (d < 1)
        return fail(c, "dilation %d on spatial axis %d must be at least 1", d, i);
    if (p < 0)
        return fail(c, "padding %d on spatial axis %d must not be negative", p, i);
    return 0;
}

/* --------------------------------------------------------- convolution */

/* groups divide both channel counts. */
static int check_groups(shape_ctx *c, int64_t cin, int64_t cout)
{
    int g = c->a->groups;
    if (g < 1)
        return fail(c, "groups must be at least 1, got %d", g);
    if (cin % g)
        return fail(c, "input channels (%lld) are not divisible by groups %d", (long long)cin, g);
    if (cout % g)
        return fail(c, "output channels (%lld) are not divisible by groups %d", (long long)cout, g);
    return 0;
}

static int check_bias(shape_ctx *c, int64_t cout)
{
    if (c->n_in < 3)
        return 0;
    const rt_type *b = &c->in[2];
    if (b->dtype != RT_F32 || b->rank != 1 || b->dim[0] != cout)
        return fail(c, "bias has type %s but the op has %lld output channels (expected f32[%lld])",
                    ts(b).s, (long long)cout, (long long)cout);
    return 0;
}

/* Input and weight: f32, same rank, [N, C, spatial...]. */
static int conv_operands(shape_ctx *c, int *nsp)
{
    const rt_type *x = &c->in[0], *w = &c->in[1];
    if (need_f32(c, x, "input") || need_f32(c, w, "weight") || spatial_rank(c, x, nsp))
        return -1;
    if (w->rank != x->rank)
        return fail(c, "weight %s must have rank %d like input %s", ts(w).s, x->rank, ts(x).s);
    return 0;
}

static int rule_conv(shape_ctx *c)
{
    const rt_type *x = &c->in[0], *w = &c->in[1];
    const rt_attrs *a = c->a;
    int nsp;
    if (conv_operands(c, &nsp) || check_groups(c, x->dim[1], w->dim[0]))
        return -1;
    if (w->dim[1] * a->groups != x->dim[1])
        return fail(c, "input has %lld channels but weight expects %lld (groups %d)",
                    (long long)x->dim[1], (long long)(w->dim[1] * a->groups), a->groups);
    if (check_bias(c, w->dim[0]))
        return -1;
    *c->out = *x;
    c->out->dim[1] = w->dim[0];
    for (int i = 0; i < nsp; i++) {
        int k = (int)w->dim[2 + i], s = a->stride[i], p = a->pad[i], d = a->dilation[i];
        if (check_window(c, i, k, s, p, d))
            return -1;
        int64_t o = rt_conv_out_size(x->dim[2 + i], k, s, p, d);
        if (o < 0)
            return fail(c, "spatial axis %d has size %lld, too small for kernel %d "
                        "(dilation %d, pad %d)", i, (long long)x->dim[2 + i], k, d, p);
        c->out->dim[2 + i] = o;
    }
    return 0;
}

static int check_out_pad(shape_ctx *c, int i)
{
    const rt_attrs *a = c->a;
    int op = a->out_pad[i];
    if (op < 0)
        return fail(c, "out_pad %d on spatial axis %d must not be negative", op, i);
    if (op >= a->stride[i] && op >= a->dilation[i])
        return fail(c, "out_pad %d on spatial axis %d must be smaller than stride %d or dilation %d",
                    op, i, a->stride[i], a->dilation[i]);
    return 0;
}

/* rt_conv_t_out_size with overflow checks: INT64_MAX when the size does
 * not fit (the checked type size then refuses it anyway). */
static int64_t conv_t_size(int64_t in, int k, int s, int p, int d, int out_pad)
{
    int64_t grown, tap;
    if (rt_size_mul(in - 1, s, &grown) || rt_size_mul(d, k - 1, &tap) ||
        rt_size_add(grown, tap, &grown) || rt_size_add(grown, (int64_t)out_pad + 1, &grown))
        return INT64_MAX;
    return rt_conv_t_out_size(in, k, s, p, d, out_pad);
}

static int rule_conv_t(shape_ctx *c)
{
    const rt_type *x = &c->in[0], *w = &c->in[1];
    const rt_attrs *a = c->a;
    int nsp;
    if (conv_operands(c, &nsp))
        return -1;
    if (w->dim[0] != x->dim[1])
        return fail(c, "input has %lld channels but weight expects %lld (groups %d)",
                    (long long)x->dim[1], (long long)w->dim[0], a->groups);
    int64_t cout = w->dim[1] * a->groups;
    if (check_groups(c, x->dim[1], cout) || check_bias(c, cout))
        return -1;
    *c->out = *x;
    c->out->dim[1] = cout;
    for (int i = 0; i < nsp; i++) {
        int k = (int)w->dim[2 + i], s = a->stride[i], p = a->pad[i], d = a->dilation[i];
        if (check_window(c, i, k, s, p, d) || check_out_pad(c, i))
            return -1;
        int64_t o = conv_t_size(x->dim[2 + i], k, s, p, d, a->out_pad[i]);
        if (o == INT64_MAX)
            return fail(c, "spatial axis %d of size %lld with stride %d gives an output too large",
                        i, (long long)x->dim[2 + i], s);
        if (o < 1)
            return fail(c, "spatial axis %d of size %lld gives output size %lld "
                        "(stride %d, pad %d, kernel %d)", i, (long long)x->dim[2 + i],
                        (long long)o, s, p, k);
        c->out->dim[2 + i] = o;
    }
    return 0;
}

/* ------------------------------------------------------------- pooling */

/* One spatial axis of max/avg pooling. PyTorch's floor rule silently
 * drops trailing input rows that no window reaches; in a U-Net that
 * misaligns skip connections, so here it is an error. Windows that only
 * overhang into padding (ResNet's 3/2/1 max-pool on an even size) are fine. */
static int pool_axis(shape_ctx *c, int i, int64_t in, int64_t *out)
{
    int k = c->a->kernel[i], s = c->a->stride[i], p = c->a->pad[i];
    if (check_window(c, i, k, s, p, 1))
        return -1;
    if (2 * p > k)
        return fail(c, "padding %d on spatial axis %d is more than half the kernel %d", p, i, k);
    int64_t o = rt_conv_out_size(in, k, s, p, 1);
    if (o < 0)
        return fail(c, "spatial axis %d has size %lld, smaller than kernel %d (pad %d)",
                    i, (long long)in, k, p);
    int64_t last = (o - 1) * s - p + k - 1; /* last input row any window reads */
    if (last < in - 1 && k == s && p == 0)
        return fail(c, "size %lld of spatial axis %d is not divisible by stride %d",
                    (long long)in, i, s);
    if (last < in - 1)
        return fail(c, "size %lld of spatial axis %d does not tile with kernel %d, stride %d, "
                    "pad %d: the last %lld rows would be dropped",
                    (long long)in, i, k, s, p, (long long)(in - 1 - last));
    *out = o;
    return 0;
}

static int rule_pool(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    int nsp;
    if (need_f32(c, x, "input") || spatial_rank(c, x, &nsp))
        return -1;
    *c->out = *x;
    for (int i = 0; i < nsp; i++)
        if (pool_axis(c, i, x->dim[2 + i], &c->out->dim[2 + i]))
            return -1;
    return 0;
}

static int rule_global_avgpool(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    int nsp;
    if (need_f32(c, x, "input") || spatial_rank(c, x, &nsp))
        return -1;
    *c->out = *x;
    for (int i = 0; i < nsp; i++)
        c->out->dim[2 + i] = 1;
    return 0;
}

/* The caller computes the output size (scale factors live in the front
 * end); this only checks it is the same kind of tensor. */
static int rule_upsample(shape_ctx *c)
{
    const rt_type *x = &c->in[0], *w = c->want;
    int nsp;
    if (need_f32(c, x, "input") || spatial_rank(c, x, &nsp) || need_want(c))
        return -1;
    if (c->a->mode != RT_UP_NEAREST && c->a->mode != RT_UP_LINEAR)
        return fail(c, "unknown mode %d", c->a->mode);
    if (w->rank != x->rank || w->dtype != x->dtype || w->dim[0] != x->dim[0] ||
        w->dim[1] != x->dim[1])
        return fail(c, "output %s must keep the rank, dtype, batch and channels of input %s",
                    ts(w).s, ts(x).s);
    *c->out = *w;
    return 0;
}

/* ------------------------------------------ normalisation, regularisers */

static int rule_batchnorm(shape_ctx *c)
{
    static const char *const role[] = {"input", "gamma", "beta", "running_mean", "running_var"};
    const rt_type *x = &c->in[0];
    if (need_f32(c, x, "input"))
        return -1;
    if (x->rank < 2)
        return fail(c, "input %s needs a channel axis (rank 2 or more)", ts(x).s);
    for (int i = 1; i < 5; i++) {
        const rt_type *s = &c->in[i];
        if (s->dtype != RT_F32 || s->rank != 1 || s->dim[0] != x->dim[1])
            return fail(c, "%s has type %s but input %s has %lld channels (expected f32[%lld])",
                        role[i], ts(s).s, ts(x).s, (long long)x->dim[1], (long long)x->dim[1]);
    }
    if (!(c->a->eps >= 0))
        return fail(c, "eps must not be negative, got %g", (double)c->a->eps);
    if (!(c->a->momentum >= 0 && c->a->momentum <= 1))
        return fail(c, "momentum must be in [0, 1], got %g", (double)c->a->momentum);
    *c->out = *x;
    return 0;
}

static int rule_dropout(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    if (need_f32(c, x, "input"))
        return -1;
    if (!(c->a->p >= 0 && c->a->p <= 1))
        return fail(c, "p must be in [0, 1], got %g", (double)c->a->p);
    if (c->a->channelwise && x->rank < 2)
        return fail(c, "channel dropout needs a channel axis, got %s", ts(x).s);
    *c->out = *x;
    return 0;
}

/* -------------------------------------------------------- data movement */

/* Input i agrees with input 0 in dtype, rank and every non-concat dim. */
static int concat_agree(shape_ctx *c, int i, int axis)
{
    const rt_type *a = &c->in[0], *b = &c->in[i];
    if (b->dtype != a->dtype)
        return fail(c, "input %d is %s but input 0 is %s (dtypes differ)", i, ts(b).s, ts(a).s);
    if (b->rank != a->rank)
        return fail(c, "input %d is %s but input 0 is %s (ranks differ)", i, ts(b).s, ts(a).s);
    for (int d = 0; d < a->rank; d++)
        if (d != axis && a->dim[d] != b->dim[d])
            return fail(c, "inputs differ in dimension %d (%lld vs %lld) along a non-concat axis",
                        d, (long long)a->dim[d], (long long)b->dim[d]);
    return 0;
}

static int rule_concat(shape_ctx *c)
{
    int axis;
    if (c->in[0].rank < 1)
        return fail(c, "cannot concatenate scalars");
    if (norm_axis(c, c->a->axis, &c->in[0], &axis))
        return -1;
    *c->out = c->in[0];
    for (int i = 1; i < c->n_in; i++) {
        if (concat_agree(c, i, axis))
            return -1;
        if (rt_size_add(c->out->dim[axis], c->in[i].dim[axis], &c->out->dim[axis]))
            return fail(c, "the result is too large (more than 256 TiB)");
    }
    return 0;
}

/* Python's clamping of a slice bound on an axis of size n. */
static int64_t slice_bound(int64_t v, int64_t n)
{
    if (v < 0)
        v = v < -n ? 0 : v + n;
    return v > n ? n : v;
}

static int rule_slice(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    const rt_attrs *a = c->a;
    *c->out = *x;
    for (int i = 0; i < x->rank; i++) {
        if (a->step[i] < 1)
            return fail(c, "step %lld on axis %d must be at least 1", (long long)a->step[i], i);
        int64_t b = slice_bound(a->begin[i], x->dim[i]), e = slice_bound(a->end[i], x->dim[i]);
        if (e <= b)
            return fail(c, "axis %d of %s is empty after slicing %lld:%lld", i, ts(x).s,
                        (long long)a->begin[i], (long long)a->end[i]);
        c->out->dim[i] = (e - b - 1) / a->step[i] + 1; /* ceil, without e - b + step overflowing */
    }
    return 0;
}

static int rule_reshape(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    if (need_want(c))
        return -1;
    if (rt_type_numel(c->want) != rt_type_numel(x))
        return fail(c, "cannot reshape %s (%lld elements) to %s (%lld elements)", ts(x).s,
                    (long long)rt_type_numel(x), shp(c->want).s,
                    (long long)rt_type_numel(c->want));
    *c->out = *c->want;
    c->out->dtype = x->dtype;
    return 0;
}

static void perm_str(const int *perm, int n, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < n && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%d", i ? ", " : "", perm[i]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

static int rule_permute(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    int seen[RT_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) {
        int p = c->a->perm[i];
        if (p < 0 || p >= x->rank || seen[p]++) {
            char buf[64];
            perm_str(c->a->perm, x->rank, buf, sizeof buf);
            return fail(c, "%s is not a permutation of the axes of %s", buf, ts(x).s);
        }
    }
    *c->out = *x;
    for (int i = 0; i < x->rank; i++)
        c->out->dim[i] = x->dim[c->a->perm[i]];
    return 0;
}

static int rule_broadcast(shape_ctx *c)
{
    const rt_type *x = &c->in[0], *w = c->want;
    if (need_want(c))
        return -1;
    int ok = x->rank <= w->rank;
    for (int i = 0; ok && i < x->rank; i++) {
        int64_t d = x->dim[x->rank - 1 - i];
        ok = d == 1 || d == w->dim[w->rank - 1 - i];
    }
    if (!ok)
        return fail(c, "cannot broadcast %s to %s", ts(x).s, shp(w).s);
    *c->out = *w;
    c->out->dtype = x->dtype;
    return 0;
}

static int rule_cast(shape_ctx *c)
{
    if (!c->want || (unsigned)c->want->dtype >= RT_DTYPE_COUNT)
        return fail(c, "the target dtype was not given");
    *c->out = c->in[0];
    c->out->dtype = c->want->dtype;
    return 0;
}

static int rule_one_hot(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    if (x->dtype == RT_F32)
        return fail(c, "labels must be i32 or u8, got %s", ts(x).s);
    if (x->rank < 1 || x->rank >= RT_MAX_RANK)
        return fail(c, "labels %s must be [N, ...] with rank 1 to %d", ts(x).s, RT_MAX_RANK - 1);
    if (c->a->count < 1)
        return fail(c, "the number of classes must be at least 1, got %d", c->a->count);
    rt_type o = {.dtype = RT_F32, .rank = x->rank + 1};
    o.dim[0] = x->dim[0];
    o.dim[1] = c->a->count;
    for (int i = 1; i < x->rank; i++)
        o.dim[i + 1] = x->dim[i];
    *c->out = o;
    return 0;
}

/* ---------------------------------------------------------- elementwise */

static int is_compare(rt_op op)
{
    switch (op) {
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
        return 1;
    default:
        return 0;
    }
}

static int rule_binary(shape_ctx *c)
{
    const rt_type *a = &c->in[0], *b = &c->in[1];
    if (a->dtype != b->dtype)
        return fail(c, "operand dtypes differ: %s and %s", ts(a).s, ts(b).s);
    if (!is_compare(c->op) && a->dtype == RT_U8)
        return fail(c, "u8 operands are not supported, got %s and %s", ts(a).s, ts(b).s);
    if (c->op == OP_POW && a->dtype != RT_F32)
        return fail(c, "operands must be f32, got %s and %s", ts(a).s, ts(b).s);
    if (broadcast2(a, b, c->out))
        return fail(c, "shapes %s and %s cannot broadcast", ts(a).s, ts(b).s);
    if (is_compare(c->op))
        c->out->dtype = RT_U8;
    return 0;
}

static int rule_where(shape_ctx *c)
{
    const rt_type *k = &c->in[0], *a = &c->in[1], *b = &c->in[2];
    rt_type ab;
    if (k->dtype != RT_U8)
        return fail(c, "condition must be u8, got %s", ts(k).s);
    if (a->dtype != b->dtype)
        return fail(c, "branch dtypes differ: %s and %s", ts(a).s, ts(b).s);
    if (broadcast2(a, b, &ab) || broadcast2(&ab, k, c->out))
        return fail(c, "shapes %s, %s and %s cannot broadcast", ts(k).s, ts(a).s, ts(b).s);
    c->out->dtype = a->dtype;
    return 0;
}

static int rule_unary(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    int int_ok = c->op == OP_ABS || c->op == OP_NEG;
    if (x->dtype != RT_F32 && !(int_ok && x->dtype == RT_I32))
        return fail(c, "input must be %s, got %s", int_ok ? "f32 or i32" : "f32", ts(x).s);
    if (c->op == OP_CLAMP && !(c->a->lo <= c->a->hi))
        return fail(c, "lower bound %g is above upper bound %g", (double)c->a->lo,
                    (double)c->a->hi);
    *c->out = *x;
    return 0;
}

/* ------------------------------------------------------------ reductions */

static int rule_reduce(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    unsigned all = (1u << x->rank) - 1, axes = c->a->axes ? c->a->axes : all;
    if (need_f32(c, x, "input"))
        return -1;
    if (axes & ~all)
        return fail(c, "axes mask 0x%x names an axis beyond the rank of %s", c->a->axes, ts(x).s);
    rt_type o = {.dtype = x->dtype};
    for (int i = 0; i < x->rank; i++) {
        if (!(axes >> i & 1))
            o.dim[o.rank++] = x->dim[i];
        else if (c->a->keepdim)
            o.dim[o.rank++] = 1;
    }
    *c->out = o;
    return 0;
}

static int rule_softmax(shape_ctx *c)
{
    int axis;
    if (need_f32(c, &c->in[0], "input") || norm_axis(c, c->a->axis, &c->in[0], &axis))
        return -1;
    *c->out = c->in[0];
    return 0;
}

static int rule_argmax(shape_ctx *c)
{
    const rt_type *x = &c->in[0];
    int axis;
    if (x->dtype == RT_U8)
        return fail(c, "input must be f32 or i32, got %s", ts(x).s);
    if (norm_axis(c, c->a->axis, x, &axis))
        return -1;
    rt_type o = {.dtype = RT_I32};
    for (int i = 0; i < x->rank; i++)
        if (i != axis)
            o.dim[o.rank++] = x->dim[i];
    *c->out = o;
    return 0;
}

static int rule_matmul(shape_ctx *c)
{
    const rt_type *a = &c->in[0], *b = &c->in[1];
    if (need_f32(c, a, "left operand") || need_f32(c, b, "right operand"))
        return -1;
    if (a->rank < 2 || a->rank != b->rank)
        return fail(c, "operands must have the same rank, 2 or more: %s x %s", ts(a).s, ts(b).s);
    int r = a->rank;
    for (int i = 0; i < r - 2; i++)
        if (a->dim[i] != b->dim[i])
            return fail(c, "batch dimensions differ: %s x %s", ts(a).s, ts(b).s);
    if (a->dim[r - 1] != b->dim[r - 2])
        return fail(c, "inner dimensions differ: %s x %s (%lld vs %lld)", ts(a).s, ts(b).s,
                    (long long)a->dim[r - 1], (long long)b->dim[r - 2]);
    *c->out = *a;
    c->out->dim[r - 1] = b->dim[r - 1];
    return 0;
}

/* ---------------------------------------------------- random, markers */

static int rule_random(shape_ctx *c)
{
    const rt_attrs *a = c->a;
    if (need_want(c))
        return -1;
    if (c->want->dtype != RT_F32)
        return fail(c, "draws f32 values, not %s", rt_dtype_name(c->want->dtype));
    if (c->op == OP_RAND_UNIFORM && !(a->lo <= a->hi))
        return fail(c, "lower bound %g is above upper bound %g", (double)a->lo, (double)a->hi);
    if (c->op == OP_RAND_NORMAL && !(a->hi >= 0))
        return fail(c, "standard deviation must not be negative, got %g", (double)a->hi);
    if (c->op == OP_RAND_BERNOULLI && !(a->p >= 0 && a->p <= 1))
        return fail(c, "p must be in [0, 1], got %g", (double)a->p);
    *c->out = *c->want;
    return 0;
}

static int rule_grad(shape_ctx *c)
{
    if (need_f32(c, &c->in[0], "the differentiated value") ||
        need_f32(c, &c->in[1], "the variable"))
        return -1;
    *c->out = c->in[1];
    return 0;
}

/* Backward ops (emitted by autodiff with the forward node's attributes):
 * the result is the type of the forward input being differentiated,
 * passed as want; gradients are f32. Where the result must equal the
 * first operand's type (maxpool, batchnorm data) or be per-channel
 * (batchnorm gamma), that is checked too. */
static int rule_backward(shape_ctx *c)
{
    const rt_type *w = c->want, *x = &c->in[0];
    if (need_want(c) || need_f32(c, w, "the gradient"))
        return -1;
    for (int i = 0; i < c->n_in; i++)
        if (need_f32(c, &c->in[i], "every operand"))
            return -1;
    int same = c->op == OP_MAXPOOL_BWD || c->op == OP_BATCHNORM_BWD_DATA;
    if (same && !rt_type_equal(w, x))
        return fail(c, "gradient %s must have the type of input %s", ts(w).s, ts(x).s);
    if (c->op == OP_BATCHNORM_BWD_GAMMA && (x->rank < 2 || w->rank != 1 || w->dim[0] != x->dim[1]))
        return fail(c, "gradient %s must be per channel of input %s", ts(w).s, ts(x).s);
    *c->out = *w;
    return 0;
}

/* input, param, const: their type is whatever the caller says. */
static int rule_leaf(shape_ctx *c)
{
    if (need_want(c))
        return -1;
    *c->out = *c->want;
    return 0;
}

/* ------------------------------------------------------------- dispatch */

/* Inputs a graph node may have: the op table's, except the operands only
 * fusion adds to lowered programs (a conv's residual, a data gradient's
 * ReLU mask). */
static int graph_max_inputs(rt_op op)
{
    return op == OP_CONV ? 3 : op == OP_CONV_BWD_DATA ? 2 : rt_op_table[op].max_in;
}

static int check_arity(shape_ctx *c)
{
    rt_op_info info = rt_op_table[c->op];
    info.max_in = graph_max_inputs(c->op);
    const rt_op_info *o = &info;
    if (c->n_in >= o->min_in && (o->max_in < 0 || c->n_in <= o->max_in))
        return 0;
    if (o->max_in < 0)
        return fail(c, "expects at least %d input%s, got %d", o->min_in,
                    o->min_in == 1 ? "" : "s", c->n_in);
    if (o->min_in == o->max_in)
        return fail(c, "expects %d input%s, got %d", o->min_in, o->min_in == 1 ? "" : "s",
                    c->n_in);
    return fail(c, "expects %d to %d inputs, got %d", o->min_in, o->max_in, c->n_in);
}

static int infer(shape_ctx *c)
{
    unsigned fl = rt_op_table[c->op].flags;
    switch (c->op) {
    case OP_INPUT: case OP_PARAM: case OP_CONST: return rule_leaf(c);
    case OP_CONV: return rule_conv(c);
    case OP_CONV_T: return rule_conv_t(c);
    case OP_MAXPOOL: case OP_AVGPOOL: return rule_pool(c);
    case OP_GLOBAL_AVGPOOL: return rule_global_avgpool(c);
    case OP_UPSAMPLE: return rule_upsample(c);
    case OP_BATCHNORM: return rule_batchnorm(c);
    case OP_DROPOUT: return rule_dropout(c);
    case OP_CONCAT: return rule_concat(c);
    case OP_SLICE: return rule_slice(c);
    case OP_RESHAPE: return rule_reshape(c);
    case OP_PERMUTE: return rule_permute(c);
    case OP_BROADCAST: return rule_broadcast(c);
    case OP_CAST: return rule_cast(c);
    case OP_ONE_HOT: return rule_one_hot(c);
    case OP_WHERE: return rule_where(c);
    case OP_SOFTMAX: case OP_LOG_SOFTMAX: return rule_softmax(c);
    case OP_ARGMAX: return rule_argmax(c);
    case OP_MATMUL: return rule_matmul(c);
    case OP_STOP_GRAD: *c->out = c->in[0]; return 0;
    case OP_GRAD: return rule_grad(c);
    case OP_CONV_BWD_DATA: case OP_CONV_BWD_WEIGHT: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    case OP_UPSAMPLE_BWD: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
    case OP_SLICE_BWD:
        return rule_backward(c);
    case OP_FUSED: return fail(c, "fused groups exist only in lowered programs (compiler/fuse.c)");
    default: break;
    }
    if (fl & RT_F_RANDOM)
        return rule_random(c);
    if (fl & RT_F_REDUCE)
        return rule_reduce(c);
    if ((fl & RT_F_ELEMWISE) && rt_op_table[c->op].max_in == 2)
        return rule_binary(c);
    if ((fl & RT_F_ELEMWISE) && rt_op_table[c->op].max_in == 1)
        return rule_unary(c);
    SEG_UNREACHABLE();
}

int ir_infer_type(rt_op op, const rt_attrs *a, const rt_type *in, int n_in,
                  const rt_type *want, rt_type *out, char *err, size_t errlen)
{
    SEG_ASSERT(op >= 0 && op < OP_COUNT);
    SEG_ASSERT(n_in == 0 || in);
    rt_attrs defaults;
    if (!a) {
        rt_attrs_init(&defaults);
        a = &defaults;
    }
    rt_type res = {0};
    shape_ctx c = {op, a, in, n_in, want, &res, err, errlen};
    if (err && errlen)
        err[0] = '\0';
    if (check_arity(&c) || infer(&c))
        return -1;
    if (rt_type_size(&res, NULL, NULL))
        return fail(&c, "the result %s", too_large(&res).s);
    *out = res;
    return 0;
}

int ir_type_fits(const rt_type *t, char *err, size_t errlen)
{
    if (rt_type_size(t, NULL, NULL) == 0)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s", too_large(t).s);
    return -1;
}

/* ------------------------------------------------------- canonical attrs */

void ir_attrs_slice_all(rt_attrs *a)
{
    for (int i = 0; i < RT_MAX_RANK; i++) {
        a->begin[i] = 0;
        a->end[i] = INT64_MAX;
        a->step[i] = 1;
    }
}

static void slice_normalize(rt_attrs *a, const rt_type *x)
{
    for (int i = 0; i < RT_MAX_RANK; i++) {
        if (i >= x->rank) {
            a->begin[i] = a->end[i] = 0;
            a->step[i] = 1;
            continue;
        }
        a->begin[i] = slice_bound(a->begin[i], x->dim[i]);
        a->end[i] = slice_bound(a->end[i], x->dim[i]);
    }
}

void ir_attrs_normalize(rt_op op, rt_attrs *a, const rt_type *in)
{
    switch (op) {
    case OP_CONV: case OP_CONV_T:
        a->nsp = in[0].rank - 2;
        for (int i = 0; i < a->nsp; i++)
            a->kernel[i] = (int)in[1].dim[2 + i];
        break;
    case OP_MAXPOOL: case OP_AVGPOOL: case OP_GLOBAL_AVGPOOL: case OP_UPSAMPLE:
        a->nsp = in[0].rank - 2;
        break;
    case OP_CONCAT: case OP_SOFTMAX: case OP_LOG_SOFTMAX: case OP_ARGMAX:
        if (a->axis < 0)
            a->axis += in[0].rank;
        break;
    case OP_SLICE:
        slice_normalize(a, &in[0]);
        break;
    case OP_SUM: case OP_MEAN: case OP_MAX:
        if (!a->axes)
            a->axes = (1u << in[0].rank) - 1;
        break;
    default:
        break;
    }
}
