/* builtins_tensor.c — built-in ops without parameters: data movement
 * (concat, slice, reshape, permute, transpose, broadcast, flatten, cast),
 * elementwise math, reductions, softmax/argmax, matmul, one_hot, and the
 * gradient markers.
 *
 * The front end computes what the shape rules cannot know (reshape's -1,
 * broadcast targets, cast dtypes) and passes it as the `want` type; every
 * other shape check is the IR's (compiler/shape.c), reported at the call.
 * Elementwise math on plain numbers is evaluated at compile time
 * (`sqrt(2.0)`, `maximum(a, 1)`), so helpers work in constants too.
 */
#include "sema_internal.h"

#include <math.h>
#include <string.h>

#define A(name) sema_arg_find(a, name)

static sema_value tensor_result(ir_id id)
{
    return id < 0 ? sema_val_error() : sema_val_tensor(id);
}

static sema_value unary_op(sema_state *st, rt_op op, const rt_attrs *at, ir_id x, seg_span s)
{
    return tensor_result(sema_add_op(st, op, at, &x, 1, NULL, s));
}

/* -------------------------------------------------------- data movement */

/* concat(a, b, ...) or concat([a, b, ...]). */
sema_value sema_bi_concat(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    sema_value *items = a->rest;
    seg_span *spans = a->rest_span;
    int n = a->n_rest;
    if (n == 1 && items[0].kind == VAL_LIST) {
        spans = NULL;
        n = items[0].list->n;
        items = items[0].list->items;
    }
    if (n == 0) {
        sema_error(st, span, "concat() needs at least one tensor");
        return sema_val_error();
    }
    ir_id *ids = seg_arena_alloc(st->arena, (size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) {
        if (items[i].kind != VAL_TENSOR) {
            if (items[i].kind != VAL_ERROR)
                sema_error(st, spans ? spans[i] : span, "concat(): item %d must be a tensor, "
                           "got %s", i, sema_value_desc(st, items[i]));
            return sema_val_error();
        }
        ids[i] = items[i].t;
    }
    rt_attrs at;
    rt_attrs_init(&at);
    /* checked here, before it becomes an int (a huge axis wrapped to -1) */
    if (sema_arg_axis(st, bi, a, A("axis"), sema_type_of(st, ids[0])->rank, &at.axis))
        return sema_val_error();
    return tensor_result(sema_add_op(st, OP_CONCAT, &at, ids, n, NULL, span));
}

sema_value sema_bi_slice(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    int axis;
    int64_t b, e, step;
    if (sema_arg_tensor(st, bi, a, A("x"), &x))
        return sema_val_error();
    int rank = sema_type_of(st, x)->rank;
    if (sema_arg_axis(st, bi, a, A("axis"), rank, &axis) ||
        sema_arg_int(st, bi, a, A("begin"), &b) || sema_arg_int(st, bi, a, A("end"), &e) ||
        sema_arg_int(st, bi, a, A("step"), &step))
        return sema_val_error();
    rt_attrs at;
    rt_attrs_init(&at);
    for (int i = 0; i < RT_MAX_RANK; i++) {
        at.begin[i] = 0;
        at.end[i] = INT64_MAX;
        at.step[i] = 1;
    }
    at.begin[axis] = b;
    at.end[axis] = e;
    at.step[axis] = step;
    return unary_op(st, OP_SLICE, &at, x, span);
}

/* A shape list with at most one -1, resolved against numel. */
static int target_shape(sema_state *st, const sema_builtin *bi, sema_args *a, int64_t numel,
                        rt_type *t, seg_span span)
{
    int64_t d[RT_MAX_RANK], known = 1;
    int n, hole = -1, i = A("shape");
    if (sema_arg_ints(st, bi, a, i, d, RT_MAX_RANK, &n))
        return -1;
    for (int k = 0; k < n; k++) {
        if (d[k] == -1 && hole < 0) {
            hole = k;
        } else if (d[k] == -1 && bi->fn == sema_bi_reshape) {
            sema_error(st, span, "reshape(): only one dimension of the shape may be -1");
            return -1;
        } else if (d[k] < 1) {
            sema_error(st, span, "%s(): dimension %d of the shape must be positive%s",
                       bi->name, k, bi->fn == sema_bi_reshape ? " (or one -1)" : "");
            return -1;
        } else if (__builtin_mul_overflow(known, d[k], &known)) {
            sema_error(st, span, "%s(): the shape is too large (more than 256 TiB)", bi->name);
            return -1;
        }
    }
    if (hole >= 0 && (bi->fn != sema_bi_reshape || known == 0 || numel % known)) {
        sema_error(st, span, "%s(): cannot infer the -1 dimension: %lld elements do not "
                   "divide into %lld", bi->name, (long long)numel, (long long)known);
        return -1;
    }
    if (hole >= 0)
        d[hole] = numel / known;
    t->rank = n;
    memcpy(t->dim, d, sizeof d);
    return 0;
}

sema_value sema_bi_reshape(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    if (sema_arg_tensor(st, bi, a, A("x"), &x))
        return sema_val_error();
    rt_type want = *sema_type_of(st, x);
    if (target_shape(st, bi, a, rt_type_numel(&want), &want, span))
        return sema_val_error();
    return tensor_result(sema_add_op(st, OP_RESHAPE, NULL, &x, 1, &want, span));
}

sema_value sema_bi_broadcast(sema_state *st, const sema_builtin *bi, sema_args *a,
                             seg_span span)
{
    ir_id x;
    if (sema_arg_tensor(st, bi, a, A("x"), &x))
        return sema_val_error();
    rt_type want = *sema_type_of(st, x);
    if (target_shape(st, bi, a, 0, &want, span))
        return sema_val_error();
    return tensor_result(sema_add_op(st, OP_BROADCAST, NULL, &x, 1, &want, span));
}

sema_value sema_bi_flatten(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    if (sema_arg_tensor(st, bi, a, A("x"), &x))
        return sema_val_error();
    rt_type want = *sema_type_of(st, x);
    if (want.rank < 1) {
        sema_error(st, a->span[A("x")], "flatten(): the input needs a batch axis");
        return sema_val_error();
    }
    int64_t n = want.dim[0], rest = rt_type_numel(&want) / n;
    want.rank = 2;
    want.dim[1] = rest;
    return tensor_result(sema_add_op(st, OP_RESHAPE, NULL, &x, 1, &want, span));
}

sema_value sema_bi_permute(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    int64_t p[RT_MAX_RANK];
    int n;
    if (sema_arg_tensor(st, bi, a, A("x"), &x) ||
        sema_arg_ints(st, bi, a, A("perm"), p, RT_MAX_RANK, &n))
        return sema_val_error();
    int rank = sema_type_of(st, x)->rank;
    if (n != rank) {
        sema_error(st, a->span[A("perm")], "permute(): 'perm' has %d axes but the input has "
                   "rank %d", n, rank);
        return sema_val_error();
    }
    rt_attrs at;
    rt_attrs_init(&at);
    for (int i = 0; i < n; i++) {
        if (p[i] < -rank || p[i] >= rank) { /* before the cast: 2^32 would become axis 0 */
            sema_error(st, a->span[A("perm")], "permute(): axis %lld is out of range for a "
                       "rank-%d tensor", (long long)p[i], rank);
            return sema_val_error();
        }
        at.perm[i] = (int)(p[i] < 0 ? p[i] + rank : p[i]);
    }
    return unary_op(st, OP_PERMUTE, &at, x, span);
}

sema_value sema_bi_transpose(sema_state *st, const sema_builtin *bi, sema_args *a,
                             seg_span span)
{
    ir_id x;
    int i, j;
    if (sema_arg_tensor(st, bi, a, A("x"), &x))
        return sema_val_error();
    int rank = sema_type_of(st, x)->rank;
    if (sema_arg_axis(st, bi, a, A("a"), rank, &i) || sema_arg_axis(st, bi, a, A("b"), rank, &j))
        return sema_val_error();
    rt_attrs at;
    rt_attrs_init(&at);
    at.perm[i] = j;
    at.perm[j] = i;
    return unary_op(st, OP_PERMUTE, &at, x, span);
}

static int dtype_arg(sema_state *st, const sema_builtin *bi, sema_args *a, rt_dtype *dt)
{
    int i = A("dtype");
    sema_value v = a->v[i];
    if (v.kind == VAL_TYPE && v.type->rank < 0) {
        *dt = v.type->dtype;
        return 0;
    }
    for (int d = 0; v.kind == VAL_STRING && d < RT_DTYPE_COUNT; d++)
        if (strcmp(v.s, rt_dtype_name((rt_dtype)d)) == 0) {
            *dt = (rt_dtype)d;
            return 0;
        }
    sema_error(st, a->span[i], "%s(): 'dtype' must be \"f32\", \"i32\" or \"u8\"", bi->name);
    return -1;
}

sema_value sema_bi_cast(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    rt_dtype dt;
    if (sema_arg_tensor(st, bi, a, A("x"), &x) || dtype_arg(st, bi, a, &dt))
        return sema_val_error();
    rt_type want = *sema_type_of(st, x);
    if (want.dtype == dt)
        return sema_val_tensor(x);
    want.dtype = dt;
    return tensor_result(sema_add_op(st, OP_CAST, NULL, &x, 1, &want, span));
}

sema_value sema_bi_one_hot(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    int64_t c;
    if (sema_arg_tensor(st, bi, a, A("labels"), &x) ||
        sema_arg_int(st, bi, a, A("classes"), &c))
        return sema_val_error();
    if (c < 1 || c > INT32_MAX) {
        sema_error(st, a->span[A("classes")], "one_hot(): 'classes' must be at least 1");
        return sema_val_error();
    }
    rt_attrs at;
    rt_attrs_init(&at);
    at.count = (int)c;
    at.axis = 1;
    return unary_op(st, OP_ONE_HOT, &at, x, span);
}

/* ----------------------------------------------------------- elementwise */

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Compile-time value of a unary op on a number; NAN when undefined. */
static double unary_number(rt_op op, double x)
{
    switch (op) {
    case OP_RELU: return x > 0 ? x : 0;
    case OP_SIGMOID: return sigmoid(x);
    case OP_TANH: return tanh(x);
    case OP_EXP: return exp(x);
    case OP_LOG: return x > 0 ? log(x) : NAN;
    case OP_ABS: return fabs(x);
    case OP_SQRT: return x >= 0 ? sqrt(x) : NAN;
    case OP_ERF: return erf(x);
    case OP_NEG: return -x;
    default: SEG_UNREACHABLE();
    }
}

static sema_value number_result(sema_state *st, const sema_builtin *bi, double r, seg_span span)
{
    if (isnan(r)) {
        sema_error(st, span, "%s() is undefined for this value", bi->name);
        return sema_val_error();
    }
    return sema_val_float(r);
}

sema_value sema_bi_unary(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    sema_value v = a->v[0];
    if (sema_val_is_number(v)) {
        if ((bi->op == OP_NEG || bi->op == OP_ABS || bi->op == OP_RELU) && v.kind == VAL_INT &&
            v.i != INT64_MIN)
            return sema_val_int(bi->op == OP_RELU ? (v.i > 0 ? v.i : 0)
                                : bi->op == OP_NEG ? -v.i : (v.i < 0 ? -v.i : v.i));
        return number_result(st, bi, unary_number((rt_op)bi->op, sema_val_number(v)), span);
    }
    if (v.kind != VAL_TENSOR) {
        sema_error(st, a->span[0], "%s(): 'x' must be a tensor or a number, got %s", bi->name,
                   sema_value_desc(st, v));
        return sema_val_error();
    }
    ir_id x = sema_tensor_of(st, v, 1, span);
    return x < 0 ? sema_val_error() : unary_op(st, (rt_op)bi->op, NULL, x, span);
}

sema_value sema_bi_leaky_relu(sema_state *st, const sema_builtin *bi, sema_args *a,
                              seg_span span)
{
    double slope;
    if (sema_arg_num(st, bi, a, A("slope"), &slope))
        return sema_val_error();
    ir_id x = sema_tensor_of(st, a->v[A("x")], 1, a->span[A("x")]);
    if (x < 0)
        return sema_val_error();
    rt_attrs at;
    rt_attrs_init(&at);
    at.alpha = (float)slope;
    return unary_op(st, OP_LEAKY_RELU, &at, x, span);
}

sema_value sema_bi_clamp(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    double lo, hi;
    if (sema_arg_num(st, bi, a, A("lo"), &lo) || sema_arg_num(st, bi, a, A("hi"), &hi))
        return sema_val_error();
    sema_value v = a->v[A("x")];
    if (sema_val_is_number(v)) {
        double x = sema_val_number(v);
        return sema_val_float(x < lo ? lo : x > hi ? hi : x);
    }
    ir_id x = sema_tensor_of(st, v, 1, a->span[A("x")]);
    if (x < 0)
        return sema_val_error();
    rt_attrs at;
    rt_attrs_init(&at);
    at.lo = (float)lo;
    at.hi = (float)hi;
    return unary_op(st, OP_CLAMP, &at, x, span);
}

static double binary_number(rt_op op, double x, double y)
{
    switch (op) {
    case OP_POW: return pow(x, y);
    case OP_MINIMUM: return x < y ? x : y;
    case OP_MAXIMUM: return x > y ? x : y;
    default: SEG_UNREACHABLE();
    }
}

/* pow, minimum, maximum: numbers at compile time, else a graph node. */
sema_value sema_bi_binary(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    sema_value x = a->v[0], y = a->v[1];
    if (sema_val_is_number(x) && sema_val_is_number(y)) {
        if (x.kind == VAL_INT && y.kind == VAL_INT && bi->op != OP_POW)
            return sema_val_int(bi->op == OP_MINIMUM ? (x.i < y.i ? x.i : y.i)
                                                     : (x.i > y.i ? x.i : y.i));
        return number_result(st, bi, binary_number((rt_op)bi->op, sema_val_number(x),
                                                   sema_val_number(y)), span);
    }
    ir_id in[2];
    in[0] = sema_tensor_of(st, x, 1, a->span[0]);
    in[1] = in[0] < 0 ? -1 : sema_tensor_of(st, y, 1, a->span[1]);
    if (in[1] < 0)
        return sema_val_error();
    return tensor_result(sema_add_op(st, (rt_op)bi->op, NULL, in, 2, NULL, span));
}

sema_value sema_bi_where(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    sema_value c = a->v[A("cond")];
    if (c.kind == VAL_BOOL)
        return a->v[c.i ? A("a") : A("b")];
    ir_id in[3];
    if (sema_arg_tensor(st, bi, a, A("cond"), &in[0]))
        return sema_val_error();
    in[1] = sema_tensor_of(st, a->v[A("a")], 1, a->span[A("a")]);
    in[2] = in[1] < 0 ? -1 : sema_tensor_of(st, a->v[A("b")], 1, a->span[A("b")]);
    if (in[2] < 0)
        return sema_val_error();
    return tensor_result(sema_add_op(st, OP_WHERE, NULL, in, 3, NULL, span));
}

/* ---------------------------------------------------------- reductions */

/* axes = none (all), an int or a list of ints, as a bit mask. */
static int axes_mask(sema_state *st, const sema_builtin *bi, sema_args *a, int rank,
                     unsigned *mask)
{
    int i = A("axes");
    int64_t ax[RT_MAX_RANK];
    int n;
    *mask = 0;
    if (a->v[i].kind == VAL_NONE)
        return 0;
    if (sema_arg_ints(st, bi, a, i, ax, RT_MAX_RANK, &n))
        return -1;
    for (int k = 0; k < n; k++) {
        int64_t x = ax[k] < 0 ? ax[k] + rank : ax[k];
        if (x < 0 || x >= rank || (*mask >> x & 1)) {
            sema_error(st, a->span[i], "%s(): axis %lld is %s for a rank-%d tensor", bi->name,
                       (long long)ax[k], x >= 0 && x < rank ? "repeated" : "out of range", rank);
            return -1;
        }
        *mask |= 1u << x;
    }
    if (n == 0) {
        sema_error(st, a->span[i], "%s(): 'axes' is empty; leave it out to reduce every axis",
                   bi->name);
        return -1;
    }
    return 0;
}

sema_value sema_bi_reduce(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    rt_attrs at;
    int keep;
    ir_id x = sema_tensor_of(st, a->v[A("x")], 1, a->span[A("x")]);
    if (x < 0 || sema_arg_bool(st, bi, a, A("keepdim"), &keep))
        return sema_val_error();
    rt_attrs_init(&at);
    if (axes_mask(st, bi, a, sema_type_of(st, x)->rank, &at.axes))
        return sema_val_error();
    at.keepdim = keep;
    return unary_op(st, (rt_op)bi->op, &at, x, span);
}

/* softmax, log_softmax, argmax over one axis. */
sema_value sema_bi_axis_op(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    int axis;
    if (sema_arg_tensor(st, bi, a, A("x"), &x))
        return sema_val_error();
    if (bi->op != OP_ARGMAX && (x = sema_tensor_of(st, a->v[A("x")], 1, span)) < 0)
        return sema_val_error();
    if (sema_arg_axis(st, bi, a, A("axis"), sema_type_of(st, x)->rank, &axis))
        return sema_val_error();
    rt_attrs at;
    rt_attrs_init(&at);
    at.axis = axis;
    return unary_op(st, (rt_op)bi->op, &at, x, span);
}

sema_value sema_bi_matmul(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id in[2];
    if (sema_arg_tensor(st, bi, a, A("a"), &in[0]) || sema_arg_tensor(st, bi, a, A("b"), &in[1]))
        return sema_val_error();
    in[0] = sema_tensor_of(st, a->v[A("a")], 1, span);
    in[1] = in[0] < 0 ? -1 : sema_tensor_of(st, a->v[A("b")], 1, span);
    if (in[1] < 0)
        return sema_val_error();
    return tensor_result(sema_add_op(st, OP_MATMUL, NULL, in, 2, NULL, span));
}

/* ----------------------------------------------------------- gradients */

sema_value sema_bi_stop_grad(sema_state *st, const sema_builtin *bi, sema_args *a,
                             seg_span span)
{
    ir_id x;
    if (sema_arg_tensor(st, bi, a, A("x"), &x))
        return sema_val_error();
    return unary_op(st, OP_STOP_GRAD, NULL, x, span);
}

/* grad(y, x) = d sum(y) / dx, expanded by autodiff later. */
sema_value sema_bi_grad(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id in[2];
    if (sema_arg_tensor(st, bi, a, A("y"), &in[0]) || sema_arg_tensor(st, bi, a, A("x"), &in[1]))
        return sema_val_error();
    return tensor_result(sema_add_op(st, OP_GRAD, NULL, in, 2, NULL, span));
}
