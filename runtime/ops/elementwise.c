/* elementwise.c — pointwise kernels and the strided broadcast iterator.
 *
 * Binary ops (add sub mul div pow minimum maximum, comparisons lt..ne) and
 * where() broadcast their operands to the output shape with NumPy rules.
 * Each operand gets strides over the output shape (0 on broadcast axes);
 * ops_iter merges axes that are contiguous for every operand, so equal
 * shapes and scalar operands collapse into one row, and the row functions
 * below have unit-stride and scalar-operand loops that the compiler
 * vectorises. f32 inputs take typed loops; other dtypes (i32 labels, u8
 * masks) take a generic path that computes in double and stores with a C
 * cast, which is exact for i32 add/sub/mul and for comparisons.
 *
 * PyTorch semantics kept: minimum/maximum/clamp/relu propagate NaN; div is
 * true division; sigmoid is evaluated in the form that cannot overflow.
 * Unary ops are f32 only, except neg and abs, which also take i32.
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>
#include <string.h>

/* -------------------------------------------------------------- iterator */

void ops_strides_contig(const rt_type *t, int64_t *s)
{
    int64_t acc = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        s[i] = acc;
        acc *= t->dim[i];
    }
}

int ops_strides_bcast(const rt_type *src, int rank, const int64_t *dim, int64_t *s)
{
    int64_t cs[RT_MAX_RANK];
    if (src->rank > rank)
        return -1;
    ops_strides_contig(src, cs);
    for (int i = 0; i < rank; i++) {
        int j = i - (rank - src->rank);
        if (j < 0 || src->dim[j] == 1)
            s[i] = 0;
        else if (src->dim[j] == dim[i])
            s[i] = cs[j];
        else
            return -1;
    }
    return 0;
}

/* Can axis i of the caller's arrays merge into the last kept axis r? */
static int iter_mergeable(const ops_iter *it, int r, int64_t d, int64_t strides[][RT_MAX_RANK], int i)
{
    for (int k = 0; k < it->n; k++)
        if (it->stride[k][r] != strides[k][i] * d)
            return 0;
    return 1;
}

void ops_iter_init(ops_iter *it, int rank, const int64_t *dim, int n,
                   int64_t strides[][RT_MAX_RANK])
{
    SEG_ASSERT(n >= 1 && n <= OPS_MAX_OPERANDS && rank >= 0 && rank <= RT_MAX_RANK);
    memset(it, 0, sizeof *it);
    it->n = n;
    int r = 0;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        numel *= dim[i];
        if (dim[i] == 1)
            continue; /* moves no operand */
        if (r > 0 && iter_mergeable(it, r - 1, dim[i], strides, i)) {
            it->dim[r - 1] *= dim[i];
            for (int k = 0; k < n; k++)
                it->stride[k][r - 1] = strides[k][i];
            continue;
        }
        it->dim[r] = dim[i];
        for (int k = 0; k < n; k++)
            it->stride[k][r] = strides[k][i];
        r++;
    }
    if (r == 0)
        it->dim[r++] = 1; /* a scalar: one row of one element */
    it->rank = r;
    it->len = it->dim[r - 1];
    for (int k = 0; k < n; k++)
        it->inner[k] = it->stride[k][r - 1];
    it->rows_left = numel ? numel / it->len : 0;
}

int ops_iter_next(ops_iter *it)
{
    if (it->rows_left == 0)
        return 0;
    it->rows_left--;
    if (!it->started) {
        it->started = 1;
        return 1;
    }
    for (int i = it->rank - 2; i >= 0; i--) {
        it->idx[i]++;
        for (int k = 0; k < it->n; k++)
            it->off[k] += it->stride[k][i];
        if (it->idx[i] < it->dim[i])
            break;
        for (int k = 0; k < it->n; k++)
            it->off[k] -= it->stride[k][i] * it->dim[i];
        it->idx[i] = 0;
    }
    return 1;
}

/* --------------------------------------------------------- binary, f32 */

static float f_min(float a, float b) { return a != a ? a : b != b ? b : a < b ? a : b; }
static float f_max(float a, float b) { return a != a ? a : b != b ? b : a > b ? a : b; }

/* One row of a binary op: o[i] = EXPR(a = x[i*sx], b = y[i*sy]), with
 * the unit-stride and scalar cases spelled out for vectorisation. */
#define BIN_ROW(NAME, OT, EXPR)                                                       \
    static void NAME(int64_t n, const float *x, int64_t sx, const float *y, int64_t sy, \
                     OT *o)                                                           \
    {                                                                                 \
        if (sx == 1 && sy == 1) {                                                     \
            for (int64_t i = 0; i < n; i++) { float a = x[i], b = y[i]; o[i] = (OT)(EXPR); } \
        } else if (sx == 1 && sy == 0) {                                              \
            float b = y[0];                                                           \
            for (int64_t i = 0; i < n; i++) { float a = x[i]; o[i] = (OT)(EXPR); }   \
        } else if (sx == 0 && sy == 1) {                                              \
            float a = x[0];                                                           \
            for (int64_t i = 0; i < n; i++) { float b = y[i]; o[i] = (OT)(EXPR); }   \
        } else {                                                                      \
            for (int64_t i = 0; i < n; i++) {                                         \
                float a = x[i * sx], b = y[i * sy];                                   \
                o[i] = (OT)(EXPR);                                                    \
            }                                                                         \
        }                                                                             \
    }

BIN_ROW(row_add, float, a + b)
BIN_ROW(row_sub, float, a - b)
BIN_ROW(row_mul, float, a * b)
BIN_ROW(row_div, float, a / b)
BIN_ROW(row_pow, float, powf(a, b))
BIN_ROW(row_min, float, f_min(a, b))
BIN_ROW(row_max, float, f_max(a, b))
BIN_ROW(row_lt, uint8_t, a < b)
BIN_ROW(row_le, uint8_t, a <= b)
BIN_ROW(row_gt, uint8_t, a > b)
BIN_ROW(row_ge, uint8_t, a >= b)
BIN_ROW(row_eq, uint8_t, a == b)
BIN_ROW(row_ne, uint8_t, a != b)

typedef void bin_row_f(int64_t, const float *, int64_t, const float *, int64_t, float *);
typedef void cmp_row_f(int64_t, const float *, int64_t, const float *, int64_t, uint8_t *);

static bin_row_f *bin_row_for(rt_op op)
{
    switch (op) {
    case OP_ADD: return row_add;
    case OP_SUB: return row_sub;
    case OP_MUL: return row_mul;
    case OP_DIV: return row_div;
    case OP_POW: return row_pow;
    case OP_MINIMUM: return row_min;
    case OP_MAXIMUM: return row_max;
    default: return NULL;
    }
}

static cmp_row_f *cmp_row_for(rt_op op)
{
    switch (op) {
    case OP_LT: return row_lt;
    case OP_LE: return row_le;
    case OP_GT: return row_gt;
    case OP_GE: return row_ge;
    case OP_EQ: return row_eq;
    case OP_NE: return row_ne;
    default: return NULL;
    }
}

static void binary_f32(const ops_call *c, ops_iter *it)
{
    const float *x = rt_f32(c->in[0]), *y = rt_f32(c->in[1]);
    bin_row_f *bf = bin_row_for(c->op);
    cmp_row_f *cf = cmp_row_for(c->op);
    while (ops_iter_next(it)) {
        const float *xr = x + it->off[1], *yr = y + it->off[2];
        if (bf)
            bf(it->len, xr, it->inner[1], yr, it->inner[2], rt_f32(c->out) + it->off[0]);
        else
            cf(it->len, xr, it->inner[1], yr, it->inner[2], rt_u8(c->out) + it->off[0]);
    }
}

/* ------------------------------------------------------ binary, generic */

static double d_min(double a, double b) { return a != a ? a : b != b ? b : a < b ? a : b; }
static double d_max(double a, double b) { return a != a ? a : b != b ? b : a > b ? a : b; }

static double binary_apply(rt_op op, double a, double b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_POW: return pow(a, b);
    case OP_MINIMUM: return d_min(a, b);
    case OP_MAXIMUM: return d_max(a, b);
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    default: SEG_UNREACHABLE();
    }
}

static void binary_generic(const ops_call *c, ops_iter *it)
{
    while (ops_iter_next(it))
        for (int64_t i = 0; i < it->len; i++) {
            double a = ops_load(c->in[0], it->off[1] + i * it->inner[1]);
            double b = ops_load(c->in[1], it->off[2] + i * it->inner[2]);
            ops_store(c->out, it->off[0] + i * it->inner[0], binary_apply(c->op, a, b));
        }
}

/* Strides of the output (st[0]) and of each input (st[1..]) over the
 * output shape; fails when an input does not broadcast to it. */
static int bcast_setup(const ops_call *c, int64_t st[][RT_MAX_RANK], int n_in)
{
    const rt_type *ot = &c->out->type;
    ops_strides_contig(ot, st[0]);
    for (int i = 0; i < n_in; i++)
        if (ops_strides_bcast(&c->in[i]->type, ot->rank, ot->dim, st[i + 1]) < 0) {
            char a[96], b[96];
            return ops_fail(c, "input %d %s does not broadcast to %s", i,
                            rt_type_str(&c->in[i]->type, a, sizeof a), rt_type_str(ot, b, sizeof b));
        }
    return 0;
}

int ops_binary(const ops_call *c)
{
    int64_t st[3][RT_MAX_RANK];
    if (bcast_setup(c, st, 2) < 0)
        return -1;
    int cmp = cmp_row_for(c->op) != NULL;
    rt_dtype xt = c->in[0]->type.dtype, yt = c->in[1]->type.dtype, ot = c->out->type.dtype;
    if (cmp && ot != RT_U8)
        return ops_fail(c, "comparison result must be u8, got %s", rt_dtype_name(ot));
    ops_iter it;
    ops_iter_init(&it, c->out->type.rank, c->out->type.dim, 3, st);
    if (xt == RT_F32 && yt == RT_F32 && (cmp || ot == RT_F32))
        binary_f32(c, &it);
    else
        binary_generic(c, &it);
    return 0;
}

/* ---------------------------------------------------------------- where */

int ops_where(const ops_call *c)
{
    int64_t st[4][RT_MAX_RANK];
    if (bcast_setup(c, st, 3) < 0)
        return -1;
    rt_dtype ot = c->out->type.dtype;
    if (c->in[1]->type.dtype != ot || c->in[2]->type.dtype != ot)
        return ops_fail(c, "both branches must have the output dtype %s", rt_dtype_name(ot));
    const rt_tensor *cond = c->in[0];
    size_t es = rt_dtype_size(ot);
    const char *a = c->in[1]->data, *b = c->in[2]->data;
    char *o = c->out->data;
    ops_iter it;
    ops_iter_init(&it, c->out->type.rank, c->out->type.dim, 4, st);
    while (ops_iter_next(&it))
        for (int64_t i = 0; i < it.len; i++) {
            int take_a = cond->type.dtype == RT_U8 ? rt_u8(cond)[it.off[1] + i * it.inner[1]] != 0
                                                   : ops_load(cond, it.off[1] + i * it.inner[1]) != 0;
            const char *src = take_a ? a + (it.off[2] + i * it.inner[2]) * (int64_t)es
                                     : b + (it.off[3] + i * it.inner[3]) * (int64_t)es;
            memcpy(o + (it.off[0] + i * it.inner[0]) * (int64_t)es, src, es);
        }
    return 0;
}

/* ---------------------------------------------------------------- unary */

static float f_sigmoid(float x)
{
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x); /* x < 0: e in (0, 1), no overflow */
    return e / (1.0f + e);
}

static float f_clamp(float x, float lo, float hi)
{
    if (x != x)
        return x;
    return fminf(fmaxf(x, lo), hi); /* lo > hi gives hi everywhere, like PyTorch */
}

#define UN_LOOP(EXPR)                              \
    do {                                           \
        for (int64_t i = 0; i < n; i++) {          \
            float v = x[i];                        \
            o[i] = (EXPR);                         \
        }                                          \
    } while (0)

static void unary_f32(rt_op op, const rt_attrs *at, const float *x, float *o, int64_t n)
{
    float alpha = at->alpha, lo = at->lo, hi = at->hi;
    switch (op) {
    case OP_NEG: UN_LOOP(-v); break;
    case OP_RELU: UN_LOOP(v < 0 ? 0.0f : v); break; /* NaN passes through */
    case OP_LEAKY_RELU: UN_LOOP(v > 0 ? v : v * alpha); break;
    case OP_SIGMOID: UN_LOOP(f_sigmoid(v)); break;
    case OP_TANH: UN_LOOP(tanhf(v)); break;
    case OP_EXP: UN_LOOP(expf(v)); break;
    case OP_LOG: UN_LOOP(logf(v)); break;
    case OP_ABS: UN_LOOP(fabsf(v)); break;
    case OP_SQRT: UN_LOOP(sqrtf(v)); break;
    case OP_ERF: UN_LOOP(erff(v)); break;
    case OP_CLAMP: UN_LOOP(f_clamp(v, lo, hi)); break;
    default: SEG_UNREACHABLE();
    }
}

static void unary_i32(rt_op op, const int32_t *x, int32_t *o, int64_t n)
{
    /* Unsigned arithmetic: INT32_MIN wraps to itself, as in PyTorch. */
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)x[i];
        o[i] = (op == OP_NEG || x[i] < 0) ? (int32_t)(0u - u) : x[i];
    }
}

int ops_unary(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    if (!rt_type_equal(&x->type, &c->out->type))
        return ops_fail(c, "output type differs from the input's");
    int64_t n = rt_type_numel(&x->type);
    if (x->type.dtype == RT_F32) {
        unary_f32(c->op, c->a, rt_f32(x), rt_f32(c->out), n);
        return 0;
    }
    if (x->type.dtype == RT_I32 && (c->op == OP_NEG || c->op == OP_ABS)) {
        unary_i32(c->op, rt_i32(x), rt_i32(c->out), n);
        return 0;
    }
    return ops_fail(c, "input must be f32%s, got %s",
                    c->op == OP_NEG || c->op == OP_ABS ? " or i32" : "",
                    rt_dtype_name(x->type.dtype));
}
