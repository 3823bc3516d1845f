/* print.c — the textual forms of a graph: the IR listing and the
 * parameter table.
 *
 * ir_print writes one line per node, in id order, then the outputs:
 *
 *   graph unet
 *   %0 = input "image" : f32[1, 1, 64, 64, 64]  # unet.seg:2
 *   %4 = param "enc.conv0.weight" init=uniform(-0.19245, 0.19245) : f32[32, 1, 3, 3, 3]  # unet.seg:7
 *   %12 = conv(%0, %4, %5) nsp=3 k=[3,3,3] stride=[1,1,1] pad=[1,1,1] dil=[1,1,1] groups=1 : f32[...]  # unet.seg:7
 *   output "mask" = %40
 *
 * The listing is golden-tested, so it must not depend on anything but the
 * graph: floats are printed with %g, source files by their base name, and
 * each op shows only the attributes that matter to it (always for conv and
 * pooling, otherwise those that change its meaning or differ from the
 * defaults). print_attrs names every op (no default), so -Wswitch flags
 * an op added to ops.def and not considered there.
 *
 * ir_print_params lists parameters, then buffers (marked), in declaration
 * order with aligned columns, and ends with the total trainable count
 * written both with thousands separators and plainly.
 */
#include "compiler.h"

#include <string.h>

/* ------------------------------------------------------------ pieces */

static void print_ints(FILE *out, const char *key, const int *v, int n)
{
    fprintf(out, " %s=[", key);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%d", i ? "," : "", v[i]);
    fputc(']', out);
}

static void print_i64s(FILE *out, const char *key, const int64_t *v, int n)
{
    fprintf(out, " %s=[", key);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%lld", i ? "," : "", (long long)v[i]);
    fputc(']', out);
}

/* Reduction axes as a list, "axes=[1,2]". */
static void print_axes(FILE *out, unsigned axes)
{
    fputs(" axes=[", out);
    for (int i = 0, first = 1; i < 32; i++) {
        if (axes >> i & 1) {
            fprintf(out, "%s%d", first ? "" : ",", i);
            first = 0;
        }
    }
    fputc(']', out);
}

static void print_seed(FILE *out, const rt_attrs *a)
{
    fprintf(out, " seed=%llu stream=%u", (unsigned long long)a->seed, (unsigned)a->stream);
}

/* Spatial rank, kernel, stride and padding: conv and pooling. */
static void print_window(FILE *out, const rt_attrs *a)
{
    fprintf(out, " nsp=%d", a->nsp);
    print_ints(out, "k", a->kernel, a->nsp);
    print_ints(out, "stride", a->stride, a->nsp);
    print_ints(out, "pad", a->pad, a->nsp);
}

static void print_conv(FILE *out, const ir_node *n)
{
    const rt_attrs *a = &n->attrs;
    print_window(out, a);
    if (n->op == OP_CONV_T)
        print_ints(out, "out_pad", a->out_pad, a->nsp);
    print_ints(out, "dil", a->dilation, a->nsp);
    fprintf(out, " groups=%d", a->groups);
}

static void print_batchnorm(FILE *out, const rt_attrs *a)
{
    fprintf(out, " training=%d", a->training);
    if (a->eps != 1e-5f)
        fprintf(out, " eps=%g", (double)a->eps);
    if (a->momentum != 0.1f)
        fprintf(out, " momentum=%g", (double)a->momentum);
}

static void print_dropout(FILE *out, const rt_attrs *a)
{
    fprintf(out, " p=%g training=%d", (double)a->p, a->training);
    if (a->channelwise)
        fputs(" channelwise=1", out);
    print_seed(out, a);
}

static void print_random(FILE *out, rt_op op, const rt_attrs *a)
{
    if (op == OP_RAND_UNIFORM)
        fprintf(out, " lo=%g hi=%g", (double)a->lo, (double)a->hi);
    else if (op == OP_RAND_NORMAL)
        fprintf(out, " mean=%g std=%g", (double)a->lo, (double)a->hi);
    else
        fprintf(out, " p=%g", (double)a->p);
    print_seed(out, a);
}

static void print_slice(FILE *out, const rt_attrs *a, int rank)
{
    print_i64s(out, "begin", a->begin, rank);
    print_i64s(out, "end", a->end, rank);
    for (int i = 0; i < rank; i++) {
        if (a->step[i] != 1) {
            print_i64s(out, "step", a->step, rank);
            break;
        }
    }
}

static void print_reduce(FILE *out, const rt_attrs *a)
{
    print_axes(out, a->axes);
    if (a->keepdim)
        fputs(" keepdim=1", out);
}

/* The attributes that matter for n's op, each as " key=value". */
static void print_attrs(FILE *out, const ir_node *n)
{
    const rt_attrs *a = &n->attrs;
    switch (n->op) {
    case OP_CONV: case OP_CONV_T: case OP_CONV_BWD_DATA: case OP_CONV_BWD_WEIGHT:
        print_conv(out, n);
        break;
    case OP_MAXPOOL: case OP_AVGPOOL: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
        print_window(out, a);
        break;
    case OP_GLOBAL_AVGPOOL: fprintf(out, " nsp=%d", a->nsp); break;
    case OP_UPSAMPLE: case OP_UPSAMPLE_BWD:
        fprintf(out, " nsp=%d mode=%s", a->nsp, a->mode == RT_UP_LINEAR ? "linear" : "nearest");
        break;
    case OP_BATCHNORM: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
        print_batchnorm(out, a);
        break;
    case OP_DROPOUT: print_dropout(out, a); break;
    case OP_CONCAT: case OP_SOFTMAX: case OP_LOG_SOFTMAX: case OP_ARGMAX:
        fprintf(out, " axis=%d", a->axis);
        break;
    case OP_SLICE: case OP_SLICE_BWD: print_slice(out, a, n->type.rank); break;
    case OP_PERMUTE: print_ints(out, "perm", a->perm, n->type.rank); break;
    case OP_ONE_HOT: fprintf(out, " count=%d", a->count); break;
    case OP_LEAKY_RELU: fprintf(out, " alpha=%g", (double)a->alpha); break;
    case OP_CLAMP: fprintf(out, " lo=%g hi=%g", (double)a->lo, (double)a->hi); break;
    case OP_SUM: case OP_MEAN: case OP_MAX: print_reduce(out, a); break;
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI:
        print_random(out, n->op, a);
        break;
    /* nothing shown: print_node writes the leaves itself; these print no
     * attributes */
    case OP_INPUT: case OP_PARAM: case OP_CONST:
    case OP_RESHAPE: case OP_BROADCAST: case OP_CAST:
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    case OP_WHERE:
    case OP_NEG: case OP_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP: case OP_LOG:
    case OP_ABS: case OP_SQRT: case OP_ERF:
    case OP_MATMUL:
    case OP_STOP_GRAD: case OP_GRAD:
    case OP_FUSED:
    case OP_COUNT:
        break;
    }
}

/* ------------------------------------------------------------ nodes */

static const char *file_base(const ir_graph *g, int file)
{
    if (!g->file_names || file <= 0 || file >= g->n_file_names || !g->file_names[file])
        return "?";
    const char *slash = strrchr(g->file_names[file], '/');
    return slash ? slash + 1 : g->file_names[file];
}

static void print_init(FILE *out, const rt_init *init)
{
    switch (init->kind) {
    case RT_INIT_NONE: break;
    case RT_INIT_UNIFORM: fprintf(out, " init=uniform(%g, %g)", (double)init->a, (double)init->b); break;
    case RT_INIT_NORMAL: fprintf(out, " init=normal(%g, %g)", (double)init->a, (double)init->b); break;
    case RT_INIT_CONST: fprintf(out, " init=const(%g)", (double)init->a); break;
    }
}

static void print_param(FILE *out, const ir_node *n)
{
    const ir_param *p = n->param;
    fprintf(out, "%s \"%s\"", p->is_buffer ? "buffer" : "param", n->name);
    print_init(out, &p->init);
    if (p->frozen)
        fputs(" frozen", out);
    if (p->group && p->group[0])
        fprintf(out, " group=\"%s\"", p->group);
}

/* "op(%1, %2) attrs" */
static void print_op(FILE *out, const ir_node *n)
{
    fprintf(out, "%s(", rt_op_table[n->op].name);
    for (int i = 0; i < n->n_in; i++)
        fprintf(out, "%s%%%d", i ? ", " : "", n->in[i]);
    fputc(')', out);
    print_attrs(out, n);
}

static void print_node(FILE *out, const ir_graph *g, ir_id id)
{
    const ir_node *n = &g->nodes[id];
    char ty[160];
    fprintf(out, "%%%d = ", id);
    if (n->op == OP_INPUT)
        fprintf(out, "input \"%s\"", n->name);
    else if (n->op == OP_PARAM)
        print_param(out, n);
    else if (n->op == OP_CONST)
        fprintf(out, "const %g", n->attrs.value);
    else
        print_op(out, n);
    fprintf(out, " : %s", rt_type_str(&n->type, ty, sizeof ty));
    if (n->span.line > 0)
        fprintf(out, "  # %s:%d", file_base(g, n->span.file), n->span.line);
    fputc('\n', out);
}

void ir_print(const ir_graph *g, FILE *out)
{
    fprintf(out, "graph %s\n", g->name);
    for (int i = 0; i < g->n_nodes; i++)
        print_node(out, g, i);
    for (int i = 0; i < g->n_outputs; i++)
        fprintf(out, "output \"%s\" = %%%d\n", g->outputs[i].name, g->outputs[i].id);
}

/* ----------------------------------------------------------- params */

/* 2711425 -> "2,711,425". */
static char *thousands(int64_t v, char *buf, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t at = 0;
    if (v < 0 && at + 1 < n)
        buf[at++] = '-';
    for (int i = 0; i < len && at + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && at + 2 < n)
            buf[at++] = ',';
        buf[at++] = digits[i];
    }
    buf[at] = '\0';
    return buf;
}

/* One row of the table: the shape without its dtype, and the count. */
typedef struct param_row {
    char shape[160]; /* "[32, 1, 3, 3, 3]" */
    char count[32];  /* "864" with separators */
} param_row;

static void param_row_fill(const ir_node *n, param_row *r)
{
    char ty[160];
    rt_type_str(&n->type, ty, sizeof ty);
    snprintf(r->shape, sizeof r->shape, "%s", strchr(ty, '['));
    thousands(rt_type_numel(&n->type), r->count, sizeof r->count);
}

/* Column widths over every parameter and buffer. */
static void param_widths(const ir_graph *g, int w[3])
{
    w[0] = w[1] = w[2] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->op != OP_PARAM)
            continue;
        param_row r;
        param_row_fill(n, &r);
        int lens[3] = {(int)strlen(n->name), (int)strlen(r.shape), (int)strlen(r.count)};
        for (int k = 0; k < 3; k++)
            w[k] = lens[k] > w[k] ? lens[k] : w[k];
    }
}

static void param_rows(const ir_graph *g, FILE *out, const int w[3], int buffers)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->op != OP_PARAM || n->param->is_buffer != buffers)
            continue;
        param_row r;
        param_row_fill(n, &r);
        fprintf(out, "%-*s  %-*s  %*s", w[0], n->name, w[1], r.shape, w[2], r.count);
        if (buffers)
            fputs("  (buffer)", out);
        else if (n->param->frozen)
            fputs("  (frozen)", out);
        fputc('\n', out);
    }
}

void ir_print_params(const ir_graph *g, FILE *out)
{
    int w[3];
    char total[32];
    param_widths(g, w);
    param_rows(g, out, w, 0);
    param_rows(g, out, w, 1);
    int64_t n = ir_param_count(g, 0);
    fprintf(out, "total: %s parameter%s (%lld)\n", thousands(n, total, sizeof total),
            n == 1 ? "" : "s", (long long)n);
}
