/* builtins.c — the one table of built-in calls, argument helpers, and the
 * compile-time helpers (shape, len, int, float, str).
 *
 * Each row names a builtin, its parameters as a short spec string and its
 * handler. The spec lists positional parameters, then ';', then
 * keyword-only ones; `p = literal` gives a default:
 *     "x, out; k = 3, stride = 1, pad = 0, dilation = 1, groups = 1, bias = true"
 * It is parsed at each call into fixed-size arrays on the stack (a few
 * dozen bytes of scanning, nothing allocated), then bind.c matches the
 * call's arguments against it. Every tensor builtin also takes
 * `name = "..."` (the naming segment, see names.c).
 *
 * Handlers find their arguments by parameter name (sema_arg_find) and
 * check types with the sema_arg_* helpers, which report
 * "conv(): 'k' must be an int or a list of ints" at the argument.
 */
#include "sema_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static sema_value bi_shape(sema_state *, const sema_builtin *, sema_args *, seg_span);
static sema_value bi_len(sema_state *, const sema_builtin *, sema_args *, seg_span);
static sema_value bi_int(sema_state *, const sema_builtin *, sema_args *, seg_span);
static sema_value bi_float(sema_state *, const sema_builtin *, sema_args *, seg_span);
static sema_value bi_str(sema_state *, const sema_builtin *, sema_args *, seg_span);

enum { BI_CT = 1 << 2 }; /* compile-time helper: no `name =` */

#define POOL_SPEC "x, k; stride = none, pad = 0"
/* The initialisers of a layer's weight and bias (builtins_init.c). */
#define INIT_SPEC "init = \"kaiming_uniform\", bias_init = \"kaiming_uniform\""
#define RED_SPEC "x; axes = none, keepdim = false"

static const sema_builtin builtins[] = {
    {"conv", "x, out; k = 3, stride = 1, pad = 0, dilation = 1, groups = 1, bias = true, "
     INIT_SPEC, BI_GRAPH, sema_bi_conv, 0},
    {"conv_t", "x, out; k = 2, stride = 2, pad = 0, out_pad = 0, dilation = 1, groups = 1, "
     "bias = true, " INIT_SPEC, BI_GRAPH, sema_bi_conv_t, 0},
    {"linear", "x, out; bias = true, " INIT_SPEC, BI_GRAPH, sema_bi_linear, 0},
    {"batchnorm", "x; eps = 1e-5, momentum = 0.1, affine = true, init = \"ones\", "
     "bias_init = \"zeros\"", BI_GRAPH, sema_bi_batchnorm, 0},
    {"param", "shape; init = none", BI_GRAPH, sema_bi_param, 0},
    {"maxpool", POOL_SPEC, BI_GRAPH, sema_bi_pool, OP_MAXPOOL},
    {"avgpool", POOL_SPEC, BI_GRAPH, sema_bi_pool, OP_AVGPOOL},
    {"global_avgpool", "x", BI_GRAPH, sema_bi_global_avgpool, 0},
    {"upsample", "x, scale, mode = \"nearest\"", BI_GRAPH, sema_bi_upsample, 0},
    {"dropout", "x; p = 0.5, seed = 0", BI_GRAPH, sema_bi_dropout, 0},
    {"dropout_channel", "x; p = 0.5, seed = 0", BI_GRAPH, sema_bi_dropout, 1},
    {"concat", "; axis = 1", BI_GRAPH | BI_VARARGS, sema_bi_concat, 0},
    {"slice", "x, axis, begin, end, step = 1", BI_GRAPH, sema_bi_slice, 0},
    {"reshape", "x, shape", BI_GRAPH, sema_bi_reshape, 0},
    {"permute", "x, perm", BI_GRAPH, sema_bi_permute, 0},
    {"transpose", "x, a, b", BI_GRAPH, sema_bi_transpose, 0},
    {"broadcast", "x, shape", BI_GRAPH, sema_bi_broadcast, 0},
    {"flatten", "x", BI_GRAPH, sema_bi_flatten, 0},
    {"relu", "x", 0, sema_bi_unary, OP_RELU},
    {"sigmoid", "x", 0, sema_bi_unary, OP_SIGMOID},
    {"tanh", "x", 0, sema_bi_unary, OP_TANH},
    {"exp", "x", 0, sema_bi_unary, OP_EXP},
    {"log", "x", 0, sema_bi_unary, OP_LOG},
    {"abs", "x", 0, sema_bi_unary, OP_ABS},
    {"sqrt", "x", 0, sema_bi_unary, OP_SQRT},
    {"erf", "x", 0, sema_bi_unary, OP_ERF},
    {"neg", "x", 0, sema_bi_unary, OP_NEG},
    {"leaky_relu", "x, slope = 0.01", BI_GRAPH, sema_bi_leaky_relu, 0},
    {"clamp", "x, lo, hi", 0, sema_bi_clamp, 0},
    {"pow", "x, y", 0, sema_bi_binary, OP_POW},
    {"minimum", "a, b", 0, sema_bi_binary, OP_MINIMUM},
    {"maximum", "a, b", 0, sema_bi_binary, OP_MAXIMUM},
    {"where", "cond, a, b", 0, sema_bi_where, 0},
    {"sum", RED_SPEC, BI_GRAPH, sema_bi_reduce, OP_SUM},
    {"mean", RED_SPEC, BI_GRAPH, sema_bi_reduce, OP_MEAN},
    {"max", RED_SPEC, BI_GRAPH, sema_bi_reduce, OP_MAX},
    {"softmax", "x; axis = 1", BI_GRAPH, sema_bi_axis_op, OP_SOFTMAX},
    {"log_softmax", "x; axis = 1", BI_GRAPH, sema_bi_axis_op, OP_LOG_SOFTMAX},
    {"argmax", "x; axis = 1", BI_GRAPH, sema_bi_axis_op, OP_ARGMAX},
    {"matmul", "a, b", BI_GRAPH, sema_bi_matmul, 0},
    {"one_hot", "labels, classes", BI_GRAPH, sema_bi_one_hot, 0},
    {"cast", "x, dtype", BI_GRAPH, sema_bi_cast, 0},
    {"uniform", "shape; lo = 0.0, hi = 1.0, seed = 0", BI_GRAPH, sema_bi_random,
     OP_RAND_UNIFORM},
    {"normal", "shape; mean = 0.0, std = 1.0, seed = 0", BI_GRAPH, sema_bi_random,
     OP_RAND_NORMAL},
    {"bernoulli", "shape; p = 0.5, seed = 0", BI_GRAPH, sema_bi_random, OP_RAND_BERNOULLI},
    {"stop_grad", "x", BI_GRAPH, sema_bi_stop_grad, 0},
    {"grad", "y, x", BI_GRAPH, sema_bi_grad, 0},
    {"shape", "x", BI_CT, bi_shape, 0},
    {"len", "v", BI_CT, bi_len, 0},
    {"int", "v", BI_CT, bi_int, 0},
    {"float", "v", BI_CT, bi_float, 0},
    {"str", "v", BI_CT, bi_str, 0},
};

enum { N_BUILTINS = (int)(sizeof builtins / sizeof builtins[0]) };

const sema_builtin *sema_builtin_find(const char *name)
{
    for (int i = 0; i < N_BUILTINS; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return NULL;
}

const char *sema_builtin_name(int i)
{
    return i >= 0 && i < N_BUILTINS ? builtins[i].name : NULL;
}

/* --------------------------------------------------------- spec parsing */

static const char *skip_ws(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

static const char *spec_default(sema_spec *sp, int i, const char *p)
{
    const char *end = p + strcspn(p, ",;");
    if (*p == '"') {
        size_t n = (size_t)(strchr(p + 1, '"') - (p + 1));
        SEG_ASSERT(n < sizeof sp->strs[i]);
        memcpy(sp->strs[i], p + 1, n);
        sp->def[i] = sema_val_string(sp->strs[i]);
    } else if (strncmp(p, "none", 4) == 0) {
        sp->def[i] = sema_val_none();
    } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        sp->def[i] = sema_val_bool(*p == 't');
    } else if (strcspn(p, ".e,;") < (size_t)(end - p)) {
        sp->def[i] = sema_val_float(strtod(p, NULL));
    } else {
        sp->def[i] = sema_val_int(strtoll(p, NULL, 10));
    }
    return end;
}

void sema_spec_parse(const char *spec, sema_spec *sp)
{
    int positional = 1;
    memset(sp, 0, sizeof *sp);
    for (const char *p = skip_ws(spec); *p; p = skip_ws(p)) {
        if (*p == ';' || *p == ',') {
            positional &= *p != ';';
            p++;
            continue;
        }
        int i = sp->n++;
        size_t len = strcspn(p, " =,;");
        SEG_ASSERT(i < SEMA_MAX_PARAMS && len < sizeof sp->names[i]);
        memcpy(sp->names[i], p, len);
        p = skip_ws(p + len);
        sp->f[i] = (sema_formal){sp->names[i], positional, positional && *p != '='};
        sp->def[i] = sema_val_none();
        if (*p == '=')
            p = spec_default(sp, i, skip_ws(p + 1));
    }
}

/* ------------------------------------------------------------- calling */

sema_value sema_call_builtin(sema_state *st, const sema_builtin *bi, const ast_expr *call)
{
    sema_spec sp;
    sema_args a;
    sema_spec_parse(bi->spec, &sp);
    sema_binder b = {bi->name, sp.f, sp.n, (bi->flags & BI_VARARGS) != 0,
                     !(bi->flags & BI_CT)};
    if (sema_bind(st, &b, call->args, call->span, &a))
        return sema_val_error();
    for (int i = 0; i < sp.n; i++) {
        if (a.given[i])
            continue;
        a.v[i] = sp.def[i];
        if (a.v[i].kind == VAL_STRING)
            a.v[i].s = seg_arena_strdup(st->arena, a.v[i].s);
    }
    if ((bi->flags & BI_GRAPH) && !st->g) {
        sema_error(st, call->span, "%s() builds a tensor: it is only allowed inside a net, "
                   "a block or a loss", bi->name);
        return sema_val_error();
    }
    return bi->fn(st, bi, &a, call->span);
}

/* ------------------------------------------------------ argument helpers */

int sema_arg_find(const sema_args *a, const char *name)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->names[i], name) == 0)
            return i;
    SEG_UNREACHABLE();
}

static int arg_wrong(sema_state *st, const sema_builtin *bi, sema_args *a, int i,
                     const char *what)
{
    if (a->v[i].kind != VAL_ERROR)
        sema_error(st, a->span[i], "%s(): '%s' must be %s, got %s", bi->name, a->names[i], what,
                   sema_value_desc(st, a->v[i]));
    return -1;
}

int sema_arg_int(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int64_t *out)
{
    if (a->v[i].kind != VAL_INT)
        return arg_wrong(st, bi, a, i, "an int");
    *out = a->v[i].i;
    return 0;
}

int sema_arg_num(sema_state *st, const sema_builtin *bi, sema_args *a, int i, double *out)
{
    if (!sema_val_is_number(a->v[i]))
        return arg_wrong(st, bi, a, i, "a number");
    *out = sema_val_number(a->v[i]);
    return 0;
}

int sema_arg_bool(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int *out)
{
    if (a->v[i].kind != VAL_BOOL)
        return arg_wrong(st, bi, a, i, "true or false");
    *out = (int)a->v[i].i;
    return 0;
}

int sema_arg_tensor(sema_state *st, const sema_builtin *bi, sema_args *a, int i, ir_id *out)
{
    if (a->v[i].kind != VAL_TENSOR)
        return arg_wrong(st, bi, a, i, "a tensor");
    *out = a->v[i].t;
    return 0;
}

int sema_arg_ints(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int64_t *out,
                  int max, int *n)
{
    sema_value v = a->v[i];
    if (v.kind == VAL_INT) {
        out[0] = v.i;
        *n = 1;
        return 0;
    }
    if (v.kind != VAL_LIST)
        return arg_wrong(st, bi, a, i, "an int or a list of ints");
    if (v.list->n > max) {
        sema_error(st, a->span[i], "%s(): '%s' has %d values, at most %d are allowed", bi->name,
                   a->names[i], v.list->n, max);
        return -1;
    }
    for (int j = 0; j < v.list->n; j++) {
        if (v.list->items[j].kind != VAL_INT)
            return arg_wrong(st, bi, a, i, "an int or a list of ints");
        out[j] = v.list->items[j].i;
    }
    *n = v.list->n;
    return 0;
}

int sema_arg_spatial(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int nsp,
                     int *out)
{
    int64_t v[RT_MAX_RANK];
    int n;
    if (sema_arg_ints(st, bi, a, i, v, RT_MAX_RANK, &n))
        return -1;
    if (n != 1 && n != nsp) {
        sema_error(st, a->span[i], "%s(): '%s' has %d values but the input has %d spatial axes",
                   bi->name, a->names[i], n, nsp);
        return -1;
    }
    for (int j = 0; j < nsp; j++) {
        int64_t x = v[n == 1 ? 0 : j];
        if (x < INT32_MIN || x > INT32_MAX)
            return arg_wrong(st, bi, a, i, "a small int");
        out[j] = (int)x;
    }
    return 0;
}

int sema_arg_axis(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int rank,
                  int *out)
{
    int64_t x;
    if (sema_arg_int(st, bi, a, i, &x))
        return -1;
    if (x < -rank || x >= rank) {
        sema_error(st, a->span[i], "%s(): axis %lld is out of range for a rank-%d tensor",
                   bi->name, (long long)x, rank);
        return -1;
    }
    *out = (int)(x < 0 ? x + rank : x);
    return 0;
}

/* ------------------------------------------------- compile-time helpers */

static sema_value dims_list(sema_state *st, const rt_type *t)
{
    sema_value l = sema_list_new(st, t->rank);
    for (int i = 0; i < t->rank; i++)
        l.list->items[i] = sema_val_int(t->dim[i]);
    return l;
}

static sema_value bi_shape(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span at)
{
    (void)at;
    sema_value v = a->v[0];
    if (v.kind == VAL_TENSOR)
        return dims_list(st, sema_type_of(st, v.t));
    if (v.kind == VAL_TYPE && v.type->rank >= 0)
        return dims_list(st, v.type);
    arg_wrong(st, bi, a, 0, "a tensor");
    return sema_val_error();
}

static sema_value bi_len(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span at)
{
    (void)at;
    sema_value v = a->v[0];
    switch (v.kind) {
    case VAL_LIST: return sema_val_int(v.list->n);
    case VAL_STRING: return sema_val_int((int64_t)strlen(v.s));
    case VAL_FAMILY: return sema_val_int(v.fam->n);
    case VAL_RANGE: return sema_val_int(v.r.hi >= v.r.lo ? v.r.hi - v.r.lo + 1 : 0);
    default: arg_wrong(st, bi, a, 0, "a list, a range or a string"); return sema_val_error();
    }
}

static sema_value parse_number(sema_state *st, const sema_builtin *bi, sema_args *a, int as_int)
{
    const char *s = a->v[0].s;
    char *end;
    errno = 0;
    long long i = as_int ? strtoll(s, &end, 10) : 0;
    double f = as_int ? 0 : strtod(s, &end);
    if (end == s || *skip_ws(end) || errno) {
        sema_error(st, a->span[0], "%s(): \"%s\" is not %s", bi->name, s,
                   as_int ? "an int" : "a number");
        return sema_val_error();
    }
    return as_int ? sema_val_int(i) : sema_val_float(f);
}

static sema_value bi_int(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span at)
{
    sema_value v = a->v[0];
    if (v.kind == VAL_INT || v.kind == VAL_BOOL)
        return sema_val_int(v.i);
    if (v.kind == VAL_STRING)
        return parse_number(st, bi, a, 1);
    if (v.kind != VAL_FLOAT) {
        arg_wrong(st, bi, a, 0, "a number, a bool or a string");
        return sema_val_error();
    }
    if (!(fabs(v.f) < 9.2e18)) {
        sema_error(st, at, "int(): %g does not fit in an int", v.f);
        return sema_val_error();
    }
    return sema_val_int((int64_t)v.f);
}

static sema_value bi_float(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span at)
{
    (void)at;
    sema_value v = a->v[0];
    if (sema_val_is_number(v))
        return sema_val_float(sema_val_number(v));
    if (v.kind == VAL_STRING)
        return parse_number(st, bi, a, 0);
    arg_wrong(st, bi, a, 0, "a number or a string");
    return sema_val_error();
}

static sema_value bi_str(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span at)
{
    (void)bi;
    (void)at;
    if (a->v[0].kind == VAL_ERROR)
        return a->v[0];
    return sema_val_string(sema_value_str(st, a->v[0]));
}
