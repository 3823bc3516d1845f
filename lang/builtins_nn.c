/* builtins_nn.c — built-in ops that own parameters or random streams:
 * conv, conv_t, linear, batchnorm, pooling, upsample, dropout and the
 * random draws.
 *
 * By default parameters follow PyTorch's default initialisation, so a Seg
 * net starts where the reference module starts:
 *   conv / conv_t / linear weight  U(-b, b), b = 1/sqrt(fan_in)
 *       (kaiming_uniform_ with a = sqrt(5)); bias U(-b, b) with the same b;
 *       fan_in = (Cin/groups) * prod(k) for conv and linear (in),
 *       (Cout/groups) * prod(k) for conv_t (PyTorch reads weight dim 1);
 *   batchnorm weight 1, bias 0, buffers running_mean 0, running_var 1.
 * `init` and `bias_init` choose otherwise (builtins_init.c).
 * Random ops and dropout get attrs.stream from their hierarchical name
 * (names.c), so two dropouts with one seed still draw differently and the
 * stream does not depend on evaluation order.
 */
#include "sema_internal.h"

#include <math.h>
#include <string.h>

#define A(name) sema_arg_find(a, name)

static sema_value tensor_result(ir_id id)
{
    return id < 0 ? sema_val_error() : sema_val_tensor(id);
}

static ir_id make_param(sema_state *st, const char *base, const char *leaf, const rt_type *t,
                        rt_init init, int buffer, seg_span at)
{
    char err[SEMA_ERRLEN] = "";
    const char *name = seg_arena_printf(st->arena, "%s.%s", base, leaf);
    ir_id id = ir_add_param(st->g, name, t, init, buffer, at, err, sizeof err);
    if (id < 0)
        sema_error(st, at, "%s", err);
    return id;
}

static rt_init init_const(float v) { return (rt_init){RT_INIT_CONST, v, 0}; }

static rt_type vec_type(int64_t n)
{
    return (rt_type){.dtype = RT_F32, .rank = 1, .dim = {n}};
}

/* x must be [N, C, spatial...] with 1 to 3 spatial axes; returns nsp. */
static int spatial_input(sema_state *st, const sema_builtin *bi, sema_args *a, ir_id *x,
                         seg_span span)
{
    if (sema_arg_tensor(st, bi, a, A("x"), x))
        return -1;
    const rt_type *t = sema_type_of(st, *x);
    if (t->rank >= 3 && t->rank <= 5)
        return t->rank - 2;
    char buf[160];
    sema_error(st, span, "%s(): the input must be [N, C] and 1 to 3 spatial axes, "
               "got %s", bi->name, rt_type_str(t, buf, sizeof buf));
    return -1;
}

/* --------------------------------------------------------- convolution */

/* pad = "same" at stride 1: dilation * (k - 1) / 2 on each side. */
static int pad_same(sema_state *st, const sema_builtin *bi, sema_args *a, rt_attrs *at)
{
    int i = A("pad");
    for (int d = 0; d < at->nsp; d++) {
        int total = at->dilation[d] * (at->kernel[d] - 1);
        if (at->stride[d] != 1) {
            sema_error(st, a->span[i], "%s(): pad = \"same\" needs stride 1", bi->name);
            return -1;
        }
        if (total % 2) {
            sema_error(st, a->span[i], "%s(): pad = \"same\" needs an odd kernel (k = %d "
                       "would pad unevenly)", bi->name, at->kernel[d]);
            return -1;
        }
        at->pad[d] = total / 2;
    }
    return 0;
}

static int conv_pad(sema_state *st, const sema_builtin *bi, sema_args *a, rt_attrs *at)
{
    sema_value p = a->v[A("pad")];
    if (p.kind == VAL_STRING && strcmp(p.s, "same") == 0 && bi->fn == sema_bi_conv)
        return pad_same(st, bi, a, at);
    if (p.kind == VAL_STRING) {
        sema_error(st, a->span[A("pad")], "%s(): 'pad' must be an int, a list of ints%s",
                   bi->name, bi->fn == sema_bi_conv ? " or \"same\"" : "");
        return -1;
    }
    return sema_arg_spatial(st, bi, a, A("pad"), at->nsp, at->pad);
}

/* k, stride, dilation, groups, pad (and out_pad for conv_t) into attrs. */
static int conv_attrs(sema_state *st, const sema_builtin *bi, sema_args *a, int nsp,
                      rt_attrs *at)
{
    int64_t groups;
    rt_attrs_init(at);
    at->nsp = nsp;
    if (sema_arg_spatial(st, bi, a, A("k"), nsp, at->kernel) ||
        sema_arg_spatial(st, bi, a, A("stride"), nsp, at->stride) ||
        sema_arg_spatial(st, bi, a, A("dilation"), nsp, at->dilation) ||
        sema_arg_int(st, bi, a, A("groups"), &groups))
        return -1;
    if (bi->fn == sema_bi_conv_t &&
        sema_arg_spatial(st, bi, a, A("out_pad"), nsp, at->out_pad))
        return -1;
    if (groups < 1 || groups > INT32_MAX) {
        sema_error(st, a->span[A("groups")], "%s(): 'groups' must be at least 1", bi->name);
        return -1;
    }
    at->groups = (int)groups;
    return conv_pad(st, bi, a, at);
}

static int conv_out(sema_state *st, const sema_builtin *bi, sema_args *a, int64_t cin,
                    int groups, int64_t *out, seg_span span)
{
    if (sema_arg_int(st, bi, a, A("out"), out))
        return -1;
    if (*out < 1) {
        sema_error(st, a->span[A("out")], "%s(): 'out' must be a positive number of channels, "
                   "got %lld", bi->name, (long long)*out);
        return -1;
    }
    if (cin % groups || *out % groups) {
        sema_error(st, span, "%s(): groups = %d must divide both the input "
                   "channels (%lld) and 'out' (%lld)", bi->name, groups, (long long)cin,
                   (long long)*out);
        return -1;
    }
    return 0;
}

/* The initialisers of a layer's weight (type wt) and bias. */
static int layer_inits(sema_state *st, const sema_builtin *bi, sema_args *a, const rt_type *wt,
                       int bias, rt_init *w_init, rt_init *b_init)
{
    sema_fans f;
    sema_fans_of(wt, &f);
    if (sema_arg_init(st, bi, a, A("init"), &f, w_init))
        return -1;
    if (!bias) {
        if (a->given[A("bias_init")])
            sema_error(st, a->span[A("bias_init")], "%s(): 'bias_init' needs bias = true",
                       bi->name);
        return a->given[A("bias_init")] ? -1 : 0;
    }
    f.weight = 0;
    f.bias = 1;
    return sema_arg_init(st, bi, a, A("bias_init"), &f, b_init);
}

/* Weight [d0, d1, k...], optional bias [out], then the op. */
static sema_value conv_finish(sema_state *st, const sema_builtin *bi, sema_args *a, rt_op op,
                              ir_id x, const rt_attrs *at, int64_t d0, int64_t d1,
                              int64_t out, seg_span span)
{
    int bias;
    rt_init w_init, b_init;
    if (sema_arg_bool(st, bi, a, A("bias"), &bias))
        return sema_val_error();
    rt_type wt = {.dtype = RT_F32, .rank = 2 + at->nsp, .dim = {d0, d1}};
    for (int i = 0; i < at->nsp; i++)
        wt.dim[2 + i] = at->kernel[i];
    if (layer_inits(st, bi, a, &wt, bias, &w_init, &b_init))
        return sema_val_error();
    const char *base = sema_names_op(st, bi->name, a->seg_name);
    ir_id in[3] = {x, make_param(st, base, "weight", &wt, w_init, 0, span), -1};
    if (bias) {
        rt_type bt = vec_type(out);
        in[2] = make_param(st, base, "bias", &bt, b_init, 0, span);
    }
    if (in[1] < 0 || (bias && in[2] < 0))
        return sema_val_error();
    return tensor_result(sema_add_op(st, op, at, in, bias ? 3 : 2, NULL, span));
}

/* conv and conv_t differ only in the op and in which side's channels
 * make the weight's first axis and its fan-in (PyTorch: weight [out,
 * in/g, k...] for conv, [in, out/g, k...] for conv_t; fan-in from dim 1). */
static sema_value conv_common(sema_state *st, const sema_builtin *bi, sema_args *a, rt_op op,
                              seg_span span)
{
    ir_id x;
    rt_attrs at;
    int64_t out;
    int nsp = spatial_input(st, bi, a, &x, span);
    if (nsp < 0 || conv_attrs(st, bi, a, nsp, &at))
        return sema_val_error();
    int64_t cin = sema_type_of(st, x)->dim[1];
    if (conv_out(st, bi, a, cin, at.groups, &out, span))
        return sema_val_error();
    int transposed = op == OP_CONV_T;
    int64_t per_group = (transposed ? out : cin) / at.groups;
    return conv_finish(st, bi, a, op, x, &at, transposed ? cin : out, per_group, out, span);
}

sema_value sema_bi_conv(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    return conv_common(st, bi, a, OP_CONV, span);
}

sema_value sema_bi_conv_t(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    return conv_common(st, bi, a, OP_CONV_T, span);
}

/* y = x W^T (+ b): permute the weight, matmul, add the bias. */
static sema_value linear_apply(sema_state *st, ir_id x, ir_id w, ir_id b, seg_span span)
{
    rt_attrs pa;
    rt_attrs_init(&pa);
    pa.perm[0] = 1;
    pa.perm[1] = 0;
    ir_id wt = sema_add_op(st, OP_PERMUTE, &pa, &w, 1, NULL, span);
    ir_id mm[2] = {x, wt};
    ir_id y = wt < 0 ? -1 : sema_add_op(st, OP_MATMUL, NULL, mm, 2, NULL, span);
    if (y < 0 || b < 0)
        return tensor_result(y);
    ir_id add[2] = {y, b};
    return tensor_result(sema_add_op(st, OP_ADD, NULL, add, 2, NULL, span));
}

/* linear: x [N, in] -> x W^T + b, W [out, in] (PyTorch's layout). */
sema_value sema_bi_linear(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    int64_t out;
    int bias;
    char buf[160];
    if (sema_arg_tensor(st, bi, a, A("x"), &x) || sema_arg_int(st, bi, a, A("out"), &out) ||
        sema_arg_bool(st, bi, a, A("bias"), &bias))
        return sema_val_error();
    const rt_type *t = sema_type_of(st, x);
    if (t->rank != 2) {
        sema_error(st, span, "linear(): the input must be [N, in], got %s; flatten() it first",
                   rt_type_str(t, buf, sizeof buf));
        return sema_val_error();
    }
    if (out < 1) {
        sema_error(st, a->span[A("out")], "linear(): 'out' must be positive");
        return sema_val_error();
    }
    rt_type wt = {.dtype = RT_F32, .rank = 2, .dim = {out, t->dim[1]}}, bt = vec_type(out);
    rt_init w_init, b_init;
    if (layer_inits(st, bi, a, &wt, bias, &w_init, &b_init))
        return sema_val_error();
    const char *base = sema_names_op(st, "linear", a->seg_name);
    ir_id w = make_param(st, base, "weight", &wt, w_init, 0, span);
    ir_id b = bias ? make_param(st, base, "bias", &bt, b_init, 0, span) : -1;
    if (w < 0 || (bias && b < 0))
        return sema_val_error();
    return linear_apply(st, x, w, b, span);
}

/* ---------------------------------------------------------- batchnorm */

static int bn_attrs(sema_state *st, const sema_builtin *bi, sema_args *a, rt_attrs *at,
                    int *affine)
{
    double eps, mom;
    rt_attrs_init(at);
    if (sema_arg_num(st, bi, a, A("eps"), &eps) || sema_arg_num(st, bi, a, A("momentum"), &mom) ||
        sema_arg_bool(st, bi, a, A("affine"), affine))
        return -1;
    at->eps = (float)eps;
    at->momentum = (float)mom;
    at->training = st->training;
    return 0;
}

/* The scale's and the shift's initialisers (constants only). */
static int bn_inits(sema_state *st, const sema_builtin *bi, sema_args *a, int affine,
                    rt_init *w_init, rt_init *b_init)
{
    static const char *const keys[] = {"init", "bias_init"};
    for (int k = 0; !affine && k < 2; k++)
        if (a->given[A(keys[k])]) {
            sema_error(st, a->span[A(keys[k])], "batchnorm(): '%s' needs affine = true",
                       keys[k]);
            return -1;
        }
    return sema_arg_init(st, bi, a, A("init"), NULL, w_init) ||
                   sema_arg_init(st, bi, a, A("bias_init"), NULL, b_init)
               ? -1 : 0;
}

sema_value sema_bi_batchnorm(sema_state *st, const sema_builtin *bi, sema_args *a,
                             seg_span span)
{
    ir_id x;
    rt_attrs at;
    int affine;
    if (sema_arg_tensor(st, bi, a, A("x"), &x) || bn_attrs(st, bi, a, &at, &affine))
        return sema_val_error();
    const rt_type *t = sema_type_of(st, x);
    if (t->rank < 2) {
        sema_error(st, a->span[A("x")], "batchnorm(): the input needs a channel axis");
        return sema_val_error();
    }
    rt_type ct = vec_type(t->dim[1]);
    rt_init w_init, b_init;
    if (bn_inits(st, bi, a, affine, &w_init, &b_init))
        return sema_val_error();
    const char *base = sema_names_op(st, "batchnorm", a->seg_name);
    ir_id in[5] = {x};
    in[1] = affine ? make_param(st, base, "weight", &ct, w_init, 0, span)
                   : ir_add_const(st->g, &ct, 1.0, span);
    in[2] = affine ? make_param(st, base, "bias", &ct, b_init, 0, span)
                   : ir_add_const(st->g, &ct, 0.0, span);
    in[3] = make_param(st, base, "running_mean", &ct, init_const(0), 1, span);
    in[4] = make_param(st, base, "running_var", &ct, init_const(1), 1, span);
    for (int i = 1; i < 5; i++)
        if (in[i] < 0)
            return sema_val_error();
    return tensor_result(sema_add_op(st, OP_BATCHNORM, &at, in, 5, NULL, span));
}

/* ------------------------------------------------------------ pooling */

sema_value sema_bi_pool(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    ir_id x;
    rt_attrs at;
    int nsp = spatial_input(st, bi, a, &x, span);
    rt_attrs_init(&at);
    if (nsp < 0 || sema_arg_spatial(st, bi, a, A("k"), nsp, at.kernel) ||
        sema_arg_spatial(st, bi, a, A("pad"), nsp, at.pad))
        return sema_val_error();
    at.nsp = nsp;
    if (a->v[A("stride")].kind == VAL_NONE)
        memcpy(at.stride, at.kernel, sizeof at.stride);
    else if (sema_arg_spatial(st, bi, a, A("stride"), nsp, at.stride))
        return sema_val_error();
    return tensor_result(sema_add_op(st, (rt_op)bi->op, &at, &x, 1, NULL, span));
}

sema_value sema_bi_global_avgpool(sema_state *st, const sema_builtin *bi, sema_args *a,
                                  seg_span span)
{
    ir_id x;
    rt_attrs at;
    int nsp = spatial_input(st, bi, a, &x, span);
    if (nsp < 0)
        return sema_val_error();
    rt_attrs_init(&at);
    at.nsp = nsp;
    return tensor_result(sema_add_op(st, OP_GLOBAL_AVGPOOL, &at, &x, 1, NULL, span));
}

/* ----------------------------------------------------------- upsample */

static int upsample_mode(sema_state *st, sema_args *a, int nsp, int *mode)
{
    static const char *const linear[] = {NULL, "linear", "bilinear", "trilinear"};
    int i = A("mode");
    sema_value m = a->v[i];
    if (m.kind == VAL_STRING && strcmp(m.s, "nearest") == 0) {
        *mode = RT_UP_NEAREST;
        return 0;
    }
    for (int r = 1; r <= 3; r++)
        if (m.kind == VAL_STRING && strcmp(m.s, linear[r]) == 0) {
            if (r == nsp) {
                *mode = RT_UP_LINEAR;
                return 0;
            }
            sema_error(st, a->span[i], "upsample(): mode \"%s\" needs %d spatial axes, the "
                       "input has %d (use \"%s\")", m.s, r, nsp, linear[nsp]);
            return -1;
        }
    sema_error(st, a->span[i], "upsample(): unknown mode %s%s%s; use \"nearest\", \"linear\", "
               "\"bilinear\" or \"trilinear\"", m.kind == VAL_STRING ? "\"" : "",
               m.kind == VAL_STRING ? m.s : sema_value_desc(st, m), m.kind == VAL_STRING ? "\"" : "");
    return -1;
}

/* scale: a number or a list of numbers per spatial axis. */
static int upsample_scale(sema_state *st, sema_args *a, int nsp, double *scale)
{
    int i = A("scale");
    sema_value v = a->v[i];
    int n = v.kind == VAL_LIST ? v.list->n : 1;
    if (n != 1 && n != nsp) {
        sema_error(st, a->span[i], "upsample(): 'scale' has %d values but the input has %d "
                   "spatial axes", n, nsp);
        return -1;
    }
    for (int d = 0; d < nsp; d++) {
        sema_value s = v.kind == VAL_LIST ? v.list->items[n == 1 ? 0 : d] : v;
        if (!sema_val_is_number(s) || !(sema_val_number(s) > 0)) {
            sema_error(st, a->span[i], "upsample(): 'scale' must be a positive number or a "
                       "list of them");
            return -1;
        }
        scale[d] = sema_val_number(s);
    }
    return 0;
}

sema_value sema_bi_upsample(sema_state *st, const sema_builtin *bi, sema_args *a,
                            seg_span span)
{
    ir_id x;
    rt_attrs at;
    double scale[3];
    int nsp = spatial_input(st, bi, a, &x, span), mode;
    if (nsp < 0 || upsample_scale(st, a, nsp, scale) || upsample_mode(st, a, nsp, &mode))
        return sema_val_error();
    rt_attrs_init(&at);
    at.nsp = nsp;
    at.mode = mode;
    rt_type want = *sema_type_of(st, x);
    for (int d = 0; d < nsp; d++) {
        double size = floor((double)want.dim[2 + d] * scale[d]);
        if (!(size < (double)RT_MAX_TENSOR_BYTES)) { /* before the cast: no overflow */
            sema_error(st, a->span[A("scale")], "upsample(): the output would be too large "
                       "(more than 256 TiB)");
            return sema_val_error();
        }
        want.dim[2 + d] = (int64_t)size;
        if (want.dim[2 + d] < 1) {
            sema_error(st, a->span[A("scale")], "upsample(): the output would be empty");
            return sema_val_error();
        }
    }
    return tensor_result(sema_add_op(st, OP_UPSAMPLE, &at, &x, 1, &want, span));
}

/* ------------------------------------------------------ random streams */

static int seed_arg(sema_state *st, const sema_builtin *bi, sema_args *a, rt_attrs *at)
{
    int64_t seed;
    if (sema_arg_int(st, bi, a, A("seed"), &seed))
        return -1;
    if (seed < 0) {
        sema_error(st, a->span[A("seed")], "%s(): 'seed' must not be negative", bi->name);
        return -1;
    }
    at->seed = (uint64_t)seed;
    const char *name = sema_names_op(st, bi->name, a->seg_name);
    if (st->io_prefix) /* each data stream of a stage draws its own numbers */
        name = seg_arena_printf(st->arena, "%s/%s", st->io_prefix, name);
    at->stream = sema_hash_str(name);
    return 0;
}

sema_value sema_bi_dropout(sema_state *st, const sema_builtin *bi, sema_args *a,
                           seg_span span)
{
    ir_id x;
    rt_attrs at;
    double p;
    rt_attrs_init(&at);
    if (sema_arg_tensor(st, bi, a, A("x"), &x) || sema_arg_num(st, bi, a, A("p"), &p) ||
        seed_arg(st, bi, a, &at))
        return sema_val_error();
    at.p = (float)p;
    at.training = st->training;
    at.channelwise = bi->op;
    return tensor_result(sema_add_op(st, OP_DROPOUT, &at, &x, 1, NULL, span));
}

/* The shape argument: a list of positive ints, a tensor or a type. */
static int random_shape(sema_state *st, const sema_builtin *bi, sema_args *a, rt_type *t)
{
    int i = A("shape");
    sema_value v = a->v[i];
    memset(t, 0, sizeof *t);
    t->dtype = RT_F32;
    if (v.kind == VAL_TENSOR || (v.kind == VAL_TYPE && v.type->rank >= 0)) {
        const rt_type *src = v.kind == VAL_TENSOR ? sema_type_of(st, v.t) : v.type;
        t->rank = src->rank;
        memcpy(t->dim, src->dim, sizeof t->dim);
        return 0;
    }
    int64_t dims[RT_MAX_RANK];
    int n;
    if (v.kind != VAL_LIST || sema_arg_ints(st, bi, a, i, dims, RT_MAX_RANK, &n)) {
        if (v.kind != VAL_LIST)
            sema_error(st, a->span[i], "%s(): 'shape' must be a list of ints or a tensor",
                       bi->name);
        return -1;
    }
    for (int d = 0; d < n; d++) {
        if (dims[d] < 1) {
            sema_error(st, a->span[i], "%s(): dimension %d of 'shape' must be positive",
                       bi->name, d);
            return -1;
        }
        t->dim[d] = dims[d];
    }
    t->rank = n;
    return 0;
}

static int random_params(sema_state *st, const sema_builtin *bi, sema_args *a, rt_attrs *at)
{
    double x, y = 0;
    switch ((rt_op)bi->op) {
    case OP_RAND_UNIFORM:
        if (sema_arg_num(st, bi, a, A("lo"), &x) || sema_arg_num(st, bi, a, A("hi"), &y))
            return -1;
        break;
    case OP_RAND_NORMAL:
        if (sema_arg_num(st, bi, a, A("mean"), &x) || sema_arg_num(st, bi, a, A("std"), &y))
            return -1;
        break;
    default:
        if (sema_arg_num(st, bi, a, A("p"), &x))
            return -1;
        at->p = (float)x;
        return 0;
    }
    at->lo = (float)x;
    at->hi = (float)y;
    return 0;
}

sema_value sema_bi_random(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    rt_attrs at;
    rt_type want;
    rt_attrs_init(&at);
    if (random_shape(st, bi, a, &want) || random_params(st, bi, a, &at) ||
        seed_arg(st, bi, a, &at))
        return sema_val_error();
    return tensor_result(sema_add_op(st, (rt_op)bi->op, &at, NULL, 0, &want, span));
}
