/* opdump.c — run every forward op of runtime/ops.def through segc and dump
 * inputs, results and gradients for tests/torch/compare.py.
 *
 * Usage: opdump OUT_DIR   (writes OUT_DIR/manifest.jsonl and *.bin)
 *
 * Each case is a tiny graph: the op over its inputs, built with ir_add_op
 * (so the shape rule and attribute normalisation take part), lowered and
 * run in the reference interpreter on one thread. f32 inputs are
 * trainable parameters x0, x1, ...; BN running statistics are buffers;
 * integer and u8 inputs are graph inputs. Inputs are filled from a fixed
 * counter-based generator seeded by the case name, so every run dumps the
 * same bytes.
 *
 * For ops with a derivative and an f32 result, the case also appends
 * loss = sum(out * R), R a fixed f32 input of the output's type, runs
 * ir_autodiff and dumps d loss / d x_k for every trainable input (zeros
 * when the loss does not depend on it, e.g. through stop_grad).
 *
 * Files are raw little-endian arrays in row-major order: f32, i32 or u8.
 * The manifest has one JSON object per case:
 *   {"name", "op", "attrs": {every rt_attrs field, as the case set it,
 *    before normalisation}, "inputs": [{"file","dtype","shape","grad"}],
 *    "out": {...}, "R": {...} or null, "grads": [file or null per input],
 *    "state": [files of BN running mean/var after the run] or null,
 *    "error": message or null}
 * A case that segc rejects or fails to run is written with "error" set,
 * and compare.py counts it as a failure.
 *
 * Not dumped: leaves (input, param, const, rand_*), grad (a marker that
 * autodiff expands) and the *_bwd ops, which only autodiff emits; they are
 * covered by the gradient comparisons.
 */
#include "compiler/compiler.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_IN = 5 };

/* How an input is filled. */
typedef enum fill {
    F_U,      /* uniform [-1, 1] */
    F_POS,    /* uniform [0.5, 1.5] */
    F_AWAY,   /* |x| uniform [0.5, 1.5], random sign */
    F_Q,      /* multiples of 0.25 in [-1, 1]: ties and exact zeros */
    F_WIDE,   /* uniform [-8, 8] */
    F_CASTF,  /* uniform [-10, 10] (f32 -> int truncation) */
    F_CASTU,  /* uniform [0, 250) (f32 -> u8) */
    F_SMALLP, /* uniform [0.01, 4] (log, sqrt) */
    F_INT,    /* i32 in [-5, 5] */
    F_INTNZ,  /* i32 in [-5, 5] without 0 (divisors) */
    F_INTBIG, /* i32 in [-300, 300] (wraps in u8) */
    F_LABEL,  /* i32/u8 in [0, attrs.count) */
    F_BIT,    /* u8 0/1 */
    F_BYTE,   /* u8 in [0, 6] (comparisons with ties) */
    F_RM,     /* uniform [-0.5, 0.5]: running mean */
} fill;

typedef struct spec {
    const char *name;
    rt_op op;
    rt_attrs a;
    int n_in;
    rt_type in[MAX_IN];
    fill fill[MAX_IN];
    int buffer[MAX_IN]; /* BN running statistics */
    int has_want;
    rt_type want;
    int nograd;         /* do not differentiate */
} spec;

static const char *g_dir;
static FILE *g_man;
static int g_cases, g_errors;

/* ------------------------------------------------------------ helpers */

/* "2,3,4" -> shape; "" -> rank 0. */
static rt_type ty(rt_dtype dt, const char *dims)
{
    rt_type t = {.dtype = dt};
    const char *p = dims;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        SEG_ASSERT(end != p && t.rank < RT_MAX_RANK);
        t.dim[t.rank++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return t;
}

static spec S(const char *name, rt_op op)
{
    spec s;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.op = op;
    rt_attrs_init(&s.a);
    return s;
}

static void in(spec *s, fill f, rt_dtype dt, const char *dims)
{
    SEG_ASSERT(s->n_in < MAX_IN);
    s->in[s->n_in] = ty(dt, dims);
    s->fill[s->n_in] = f;
    s->n_in++;
}

static void inf32(spec *s, fill f, const char *dims) { in(s, f, RT_F32, dims); }

static void want(spec *s, rt_dtype dt, const char *dims)
{
    s->has_want = 1;
    s->want = ty(dt, dims);
}

static void set3(int *v, int a, int b, int c)
{
    v[0] = a, v[1] = b, v[2] = c;
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void fill_tensor(rt_tensor *t, fill f, uint64_t seed, uint32_t stream, int count)
{
    int64_t n = rt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++) {
        float u = rt_rand_uniform01(seed, stream, 0, (uint64_t)i);
        float v2 = rt_rand_uniform01(seed, stream + 1000, 0, (uint64_t)i);
        int64_t k = (int64_t)(u * 11) - 5; /* [-5, 5] */
        switch (f) {
        case F_U: rt_f32(t)[i] = 2 * u - 1; break;
        case F_POS: rt_f32(t)[i] = 0.5f + u; break;
        case F_AWAY: rt_f32(t)[i] = (0.5f + u) * (v2 < 0.5f ? -1.f : 1.f); break;
        case F_Q: rt_f32(t)[i] = (float)((int)(u * 9) - 4) * 0.25f; break;
        case F_WIDE: rt_f32(t)[i] = 16 * u - 8; break;
        case F_CASTF: rt_f32(t)[i] = 20 * u - 10; break;
        case F_CASTU: rt_f32(t)[i] = 250 * u; break;
        case F_SMALLP: rt_f32(t)[i] = 0.01f + 3.99f * u; break;
        case F_RM: rt_f32(t)[i] = u - 0.5f; break;
        case F_INT: rt_i32(t)[i] = (int32_t)k; break;
        case F_INTNZ: rt_i32(t)[i] = (int32_t)(k ? k : (v2 < 0.5f ? -3 : 2)); break;
        case F_INTBIG: rt_i32(t)[i] = (int32_t)(u * 601) - 300; break;
        case F_LABEL:
            if (t->type.dtype == RT_I32)
                rt_i32(t)[i] = (int32_t)(u * count);
            else
                rt_u8(t)[i] = (uint8_t)(u * count);
            break;
        case F_BIT: rt_u8(t)[i] = u < 0.5f; break;
        case F_BYTE: rt_u8(t)[i] = (uint8_t)(u * 7); break;
        }
    }
}

/* ------------------------------------------------------------- output */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_ints(FILE *f, const int *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", v[i]);
    fputc(']', f);
}

static void json_i64s(FILE *f, const int64_t *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%lld", i ? "," : "", (long long)v[i]);
    fputc(']', f);
}

static void json_attrs(FILE *f, const rt_attrs *a)
{
    fprintf(f, "{\"nsp\":%d,\"kernel\":", a->nsp);
    json_ints(f, a->kernel, 3);
    fputs(",\"stride\":", f);
    json_ints(f, a->stride, 3);
    fputs(",\"pad\":", f);
    json_ints(f, a->pad, 3);
    fputs(",\"dilation\":", f);
    json_ints(f, a->dilation, 3);
    fputs(",\"out_pad\":", f);
    json_ints(f, a->out_pad, 3);
    fprintf(f, ",\"groups\":%d,\"axis\":%d,\"axes\":%u,\"keepdim\":%d,\"mode\":%d,"
               "\"training\":%d,\"channelwise\":%d,\"count\":%d,\"alpha\":%.9g,\"lo\":%.9g,"
               "\"hi\":%.9g,\"p\":%.9g,\"eps\":%.9g,\"momentum\":%.9g,\"begin\":",
            a->groups, a->axis, a->axes, a->keepdim, a->mode, a->training, a->channelwise,
            a->count, (double)a->alpha, (double)a->lo, (double)a->hi, (double)a->p,
            (double)a->eps, (double)a->momentum);
    json_i64s(f, a->begin, RT_MAX_RANK);
    fputs(",\"end\":", f);
    json_i64s(f, a->end, RT_MAX_RANK);
    fputs(",\"step\":", f);
    json_i64s(f, a->step, RT_MAX_RANK);
    fputs(",\"perm\":", f);
    json_ints(f, a->perm, RT_MAX_RANK);
    fputc('}', f);
}

/* Write t to DIR/<case>.<what>.bin; returns the file name (static buffer
 * rotation is not needed: the caller prints it at once). */
static void dump_tensor(const spec *s, const char *what, const rt_type *type, const void *data,
                        char *fname, size_t n)
{
    snprintf(fname, n, "%s.%s.bin", s->name, what);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_dir, fname);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t bytes = (size_t)rt_type_numel(type) * rt_dtype_size(type->dtype);
    if (bytes && fwrite(data, 1, bytes, f) != bytes) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void json_tensor(FILE *f, const char *fname, const rt_type *t)
{
    fputs("{\"file\":", f);
    json_str(f, fname);
    fprintf(f, ",\"dtype\":\"%s\",\"shape\":", rt_dtype_name(t->dtype));
    json_i64s(f, t->dim, t->rank);
    fputc('}', f);
}

/* A case segc could not build or run. */
static void record_error(const spec *s, const char *msg)
{
    fputs("{\"name\":", g_man);
    json_str(g_man, s->name);
    fputs(",\"op\":", g_man);
    json_str(g_man, rt_op_table[s->op].name);
    fputs(",\"error\":", g_man);
    json_str(g_man, msg);
    fputs("}\n", g_man);
    fprintf(stderr, "opdump: %s: %s\n", s->name, msg);
    g_errors++;
}

/* -------------------------------------------------------------- a case */

static int is_trainable(const spec *s, int k)
{
    return s->in[k].dtype == RT_F32 && !s->buffer[k];
}

static void run_case(const spec *s)
{
    char err[512];
    seg_span sp = {0};
    ir_graph *g = ir_graph_new(s->name);
    ir_id ids[MAX_IN];
    g_cases++;
    for (int k = 0; k < s->n_in; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "x%d", k);
        if (s->in[k].dtype == RT_F32) {
            rt_init none = {RT_INIT_NONE, 0, 0};
            ids[k] = ir_add_param(g, nm, &s->in[k], none, s->buffer[k], sp, err, sizeof err);
            SEG_ASSERT(ids[k] >= 0);
        } else {
            ids[k] = ir_add_input(g, nm, &s->in[k], sp);
        }
    }
    ir_id y = ir_add_op(g, s->op, &s->a, ids, s->n_in, s->has_want ? &s->want : NULL, sp, err,
                        sizeof err);
    if (y < 0) {
        record_error(s, err);
        ir_graph_free(g);
        return;
    }
    rt_type yt = g->nodes[y].type;
    ir_add_output(g, "out", y);
    int grad = !s->nograd && yt.dtype == RT_F32 && !(rt_op_table[s->op].flags & RT_F_NOGRAD);
    ir_id *gid = NULL;
    if (grad) {
        ir_id r = ir_add_input(g, "R", &yt, sp);
        ir_id two[2] = {y, r};
        ir_id prod = ir_add_op(g, OP_MUL, NULL, two, 2, NULL, sp, err, sizeof err);
        rt_attrs sa;
        rt_attrs_init(&sa);
        ir_id loss = prod < 0 ? -1 : ir_add_op(g, OP_SUM, &sa, &prod, 1, NULL, sp, err, sizeof err);
        SEG_ASSERT(loss >= 0);
        gid = seg_xcalloc((size_t)g->n_nodes, sizeof *gid);
        if (ir_autodiff(g, loss, gid, NULL, err, sizeof err) < 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "autodiff: %s", err);
            record_error(s, msg);
            seg_free(gid);
            ir_graph_free(g);
            return;
        }
        ir_add_output(g, "loss", loss);
        for (int k = 0; k < s->n_in; k++) {
            char nm[16];
            snprintf(nm, sizeof nm, "g%d", k);
            if (is_trainable(s, k) && gid[ids[k]] >= 0)
                ir_add_output(g, nm, gid[ids[k]]);
        }
    }
    rt_program *prog = ir_lower(g);
    rt_interp *it = rt_interp_new(prog, 1, 1);
    uint64_t seed = hash_name(s->name);
    char fn[MAX_IN][300], fout[300], fr[300], fg[MAX_IN][300], fst[2][300];
    for (int k = 0; k < s->n_in; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "x%d", k);
        rt_tensor *t = rt_interp_value(it, nm);
        SEG_ASSERT(t);
        fill_tensor(t, s->fill[k], seed, (uint32_t)k, s->a.count);
        dump_tensor(s, nm + 0, &t->type, t->data, fn[k], sizeof fn[k]);
    }
    if (grad) {
        rt_tensor *r = rt_interp_value(it, "R");
        fill_tensor(r, F_U, seed, 77, 0);
        dump_tensor(s, "R", &r->type, r->data, fr, sizeof fr);
    }
    rt_error e = {{0}};
    if (rt_interp_run(it, 0, &e) < 0) {
        record_error(s, e.msg);
        goto done;
    }
    rt_tensor *out = rt_interp_output(it, "out");
    dump_tensor(s, "out", &out->type, out->data, fout, sizeof fout);
    for (int k = 0; grad && k < s->n_in; k++) {
        if (!is_trainable(s, k))
            continue;
        char nm[16], what[16];
        snprintf(nm, sizeof nm, "g%d", k);
        snprintf(what, sizeof what, "grad%d", k);
        rt_tensor *gt = rt_interp_output(it, nm);
        if (gt) {
            dump_tensor(s, what, &gt->type, gt->data, fg[k], sizeof fg[k]);
        } else { /* no dependence: the gradient is zero */
            rt_tensor *z = rt_tensor_new(&s->in[k]);
            dump_tensor(s, what, &z->type, z->data, fg[k], sizeof fg[k]);
            rt_tensor_free(z);
        }
    }
    int stateful = s->op == OP_BATCHNORM;
    if (stateful)
        for (int k = 0; k < 2; k++) {
            char nm[16], what[16];
            snprintf(nm, sizeof nm, "x%d", 3 + k);
            snprintf(what, sizeof what, "state%d", k);
            rt_tensor *t = rt_interp_value(it, nm);
            dump_tensor(s, what, &t->type, t->data, fst[k], sizeof fst[k]);
        }

    /* the manifest line */
    FILE *f = g_man;
    fputs("{\"name\":", f);
    json_str(f, s->name);
    fputs(",\"op\":", f);
    json_str(f, rt_op_table[s->op].name);
    fputs(",\"attrs\":", f);
    json_attrs(f, &s->a);
    fputs(",\"inputs\":[", f);
    for (int k = 0; k < s->n_in; k++) {
        fputs(k ? "," : "", f);
        json_tensor(f, fn[k], &s->in[k]);
    }
    fputs("],\"out\":", f);
    json_tensor(f, fout, &out->type);
    fputs(",\"R\":", f);
    if (grad)
        json_tensor(f, fr, &yt);
    else
        fputs("null", f);
    fputs(",\"grads\":[", f);
    for (int k = 0; k < s->n_in; k++) {
        fputs(k ? "," : "", f);
        if (grad && is_trainable(s, k))
            json_str(f, fg[k]);
        else
            fputs("null", f);
    }
    fputs("],\"state\":", f);
    if (stateful) {
        fputc('[', f);
        json_str(f, fst[0]);
        fputc(',', f);
        json_str(f, fst[1]);
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fputs(",\"error\":null}\n", f);
done:
    rt_interp_free(it);
    rt_program_free(prog);
    seg_free(gid);
    ir_graph_free(g);
}

/* ============================================================== cases */

/* conv / conv_t: x, w[, b]; k..: stride, pad, dilation, out_pad per axis. */
static void conv_case(const char *name, rt_op op, const char *x, const char *w, const char *b,
                      int groups, const int st[3], const int pd[3], const int dl[3],
                      const int op_[3])
{
    spec s = S(name, op);
    inf32(&s, F_U, x);
    inf32(&s, F_U, w);
    if (b)
        inf32(&s, F_U, b);
    s.a.groups = groups;
    for (int i = 0; i < 3; i++) {
        s.a.stride[i] = st ? st[i] : 1;
        s.a.pad[i] = pd ? pd[i] : 0;
        s.a.dilation[i] = dl ? dl[i] : 1;
        s.a.out_pad[i] = op_ ? op_[i] : 0;
    }
    run_case(&s);
}

#define V3(a, b, c) ((const int[3]){a, b, c})

static void cases_conv(void)
{
    conv_case("conv1d_stride2_pad1_bias", OP_CONV, "2,4,9", "6,4,3", "6", 1, V3(2, 1, 1),
              V3(1, 0, 0), NULL, NULL);
    conv_case("conv1d_dil2_groups2", OP_CONV, "1,4,11", "4,2,3", NULL, 2, NULL, V3(2, 0, 0),
              V3(2, 1, 1), NULL);
    conv_case("conv2d_stride21_pad1_bias", OP_CONV, "2,3,7,6", "4,3,3,3", "4", 1, V3(2, 1, 1),
              V3(1, 1, 0), NULL, NULL);
    conv_case("conv2d_groups3_dil21_bias", OP_CONV, "1,6,8,7", "9,2,3,2", "9", 3, V3(1, 2, 1),
              V3(2, 1, 0), V3(2, 1, 1), NULL);
    conv_case("conv2d_1x1", OP_CONV, "2,5,4,4", "3,5,1,1", "3", 1, NULL, NULL, NULL, NULL);
    conv_case("conv2d_depthwise", OP_CONV, "1,4,6,6", "4,1,3,3", NULL, 4, NULL, V3(1, 1, 0),
              NULL, NULL);
    conv_case("conv2d_k5_pad2_stride3", OP_CONV, "1,2,11,10", "3,2,5,5", "3", 1, V3(3, 3, 1),
              V3(2, 2, 0), NULL, NULL);
    conv_case("conv3d_pad1_bias", OP_CONV, "1,2,5,6,4", "3,2,3,3,3", "3", 1, NULL, V3(1, 1, 1),
              NULL, NULL);
    conv_case("conv3d_stride_dil_groups2", OP_CONV, "2,4,6,5,7", "4,2,3,2,3", NULL, 2,
              V3(2, 1, 2), V3(1, 0, 1), V3(1, 2, 1), NULL);
    conv_case("conv3d_k1_stride2", OP_CONV, "1,3,4,5,6", "2,3,1,1,1", "2", 1, V3(2, 2, 2), NULL,
              NULL, NULL);

    conv_case("conv_t1d_stride2_pad1_bias", OP_CONV_T, "2,3,5", "3,2,4", "2", 1, V3(2, 1, 1),
              V3(1, 0, 0), NULL, NULL);
    conv_case("conv_t1d_groups3_outpad", OP_CONV_T, "1,6,4", "6,1,3", "3", 3, V3(3, 1, 1),
              V3(1, 0, 0), NULL, V3(2, 0, 0));
    conv_case("conv_t2d_groups2_outpad1_bias", OP_CONV_T, "1,4,3,4", "4,3,3,3", "6", 2,
              V3(2, 2, 1), V3(1, 1, 0), NULL, V3(1, 1, 0));
    conv_case("conv_t2d_k2s2", OP_CONV_T, "2,3,4,3", "3,2,2,2", NULL, 1, V3(2, 2, 1), NULL, NULL,
              NULL);
    conv_case("conv_t2d_dil2_outpad1", OP_CONV_T, "1,2,4,4", "2,2,3,3", "2", 1, V3(2, 1, 1),
              V3(2, 1, 0), V3(2, 2, 1), V3(1, 0, 0));
    conv_case("conv_t2d_stride1_pad1", OP_CONV_T, "2,3,5,4", "3,4,3,3", "4", 1, NULL,
              V3(1, 1, 0), NULL, NULL);
    conv_case("conv_t3d_k2s2_bias", OP_CONV_T, "1,4,3,2,3", "4,2,2,2,2", "2", 1, V3(2, 2, 2),
              NULL, NULL, NULL);
    conv_case("conv_t3d_groups2_outpad", OP_CONV_T, "1,4,3,3,2", "4,1,3,3,3", NULL, 2,
              V3(2, 2, 1), V3(1, 1, 1), NULL, V3(1, 0, 0));
}

static void pool_case(const char *name, rt_op op, const char *x, int k, int st, int pd)
{
    spec s = S(name, op);
    inf32(&s, F_U, x);
    for (int i = 0; i < 3; i++)
        s.a.kernel[i] = k, s.a.stride[i] = st, s.a.pad[i] = pd;
    run_case(&s);
}

static void cases_pool(void)
{
    pool_case("maxpool1d_k2s2", OP_MAXPOOL, "2,3,8", 2, 2, 0);
    pool_case("maxpool1d_k3s2p1", OP_MAXPOOL, "2,2,9", 3, 2, 1);
    pool_case("maxpool2d_k2s2", OP_MAXPOOL, "1,3,6,4", 2, 2, 0);
    pool_case("maxpool2d_k3s2p1", OP_MAXPOOL, "2,2,7,9", 3, 2, 1);
    pool_case("maxpool2d_k3s1p1", OP_MAXPOOL, "1,2,5,4", 3, 1, 1);
    pool_case("maxpool3d_k2s2", OP_MAXPOOL, "1,2,4,6,4", 2, 2, 0);
    pool_case("maxpool3d_k3s1p1", OP_MAXPOOL, "1,2,4,3,5", 3, 1, 1);
    pool_case("avgpool1d_k3s1p1", OP_AVGPOOL, "2,3,7", 3, 1, 1);
    pool_case("avgpool1d_k2s2", OP_AVGPOOL, "1,2,6", 2, 2, 0);
    pool_case("avgpool2d_k2s2", OP_AVGPOOL, "2,3,6,8", 2, 2, 0);
    pool_case("avgpool2d_k3s2p1", OP_AVGPOOL, "1,2,7,5", 3, 2, 1);
    pool_case("avgpool3d_k2s2", OP_AVGPOOL, "1,2,4,4,6", 2, 2, 0);
    pool_case("avgpool3d_k3s1p1", OP_AVGPOOL, "1,1,4,5,3", 3, 1, 1);
    /* a non-cubic window */
    {
        spec s = S("avgpool3d_k212_s212_p101", OP_AVGPOOL);
        inf32(&s, F_U, "1,2,4,5,6");
        set3(s.a.kernel, 2, 1, 2);
        set3(s.a.stride, 2, 1, 2);
        set3(s.a.pad, 1, 0, 1);
        run_case(&s);
        s = S("maxpool2d_k32_s21_p10", OP_MAXPOOL);
        inf32(&s, F_U, "2,2,7,5");
        set3(s.a.kernel, 3, 2, 1);
        set3(s.a.stride, 2, 1, 1);
        set3(s.a.pad, 1, 0, 0);
        run_case(&s);
    }
    const char *gap[][2] = {{"global_avgpool1d", "2,3,7"},
                            {"global_avgpool2d", "2,3,5,4"},
                            {"global_avgpool3d", "1,4,3,4,5"}};
    for (int i = 0; i < 3; i++) {
        spec s = S(gap[i][0], OP_GLOBAL_AVGPOOL);
        inf32(&s, F_U, gap[i][1]);
        run_case(&s);
    }
}

static void up_case(const char *name, int mode, const char *x, const char *out)
{
    spec s = S(name, OP_UPSAMPLE);
    inf32(&s, F_U, x);
    s.a.mode = mode;
    want(&s, RT_F32, out);
    run_case(&s);
}

static void cases_upsample(void)
{
    up_case("up_nearest1d_x2", RT_UP_NEAREST, "2,3,5", "2,3,10");
    up_case("up_nearest1d_5to7", RT_UP_NEAREST, "2,3,5", "2,3,7");
    up_case("up_nearest1d_7to3", RT_UP_NEAREST, "1,2,7", "1,2,3");
    up_case("up_nearest2d_x2", RT_UP_NEAREST, "1,2,3,4", "1,2,6,8");
    up_case("up_nearest2d_3x4to7x5", RT_UP_NEAREST, "1,2,3,4", "1,2,7,5");
    up_case("up_nearest2d_6x8to4x3", RT_UP_NEAREST, "2,1,6,8", "2,1,4,3");
    up_case("up_nearest2d_x3", RT_UP_NEAREST, "1,2,3,3", "1,2,9,9");
    up_case("up_nearest3d_x2", RT_UP_NEAREST, "1,2,2,3,2", "1,2,4,6,4");
    up_case("up_nearest3d_mixed", RT_UP_NEAREST, "1,2,2,3,2", "1,2,5,4,3");
    up_case("up_linear1d_x2", RT_UP_LINEAR, "2,3,5", "2,3,10");
    up_case("up_linear1d_5to13", RT_UP_LINEAR, "2,3,5", "2,3,13");
    up_case("up_linear1d_6to4", RT_UP_LINEAR, "1,2,6", "1,2,4");
    up_case("up_bilinear_x2", RT_UP_LINEAR, "1,2,3,4", "1,2,6,8");
    up_case("up_bilinear_3x4to7x9", RT_UP_LINEAR, "2,2,3,4", "2,2,7,9");
    up_case("up_bilinear_same", RT_UP_LINEAR, "1,2,4,5", "1,2,4,5");
    up_case("up_bilinear_5x7to3x4", RT_UP_LINEAR, "1,1,5,7", "1,1,3,4");
    up_case("up_bilinear_1x1to3x2", RT_UP_LINEAR, "1,2,1,1", "1,2,3,2");
    up_case("up_trilinear_x2", RT_UP_LINEAR, "1,2,2,3,2", "1,2,4,6,4");
    up_case("up_trilinear_mixed", RT_UP_LINEAR, "1,2,2,3,2", "1,2,3,7,5");
    up_case("up_trilinear_x3_same", RT_UP_LINEAR, "1,1,3,2,4", "1,1,9,2,4");
}

static void bn_case(const char *name, const char *x, int training, float momentum, float eps)
{
    spec s = S(name, OP_BATCHNORM);
    inf32(&s, F_U, x);
    rt_type t = ty(RT_F32, x);
    char c[16];
    snprintf(c, sizeof c, "%lld", (long long)t.dim[1]);
    inf32(&s, F_POS, c); /* gamma */
    inf32(&s, F_U, c);   /* beta */
    inf32(&s, F_RM, c);  /* running mean */
    inf32(&s, F_POS, c); /* running var */
    s.buffer[3] = s.buffer[4] = 1;
    s.a.training = training;
    s.a.momentum = momentum;
    s.a.eps = eps;
    run_case(&s);
}

static void cases_norm(void)
{
    bn_case("batchnorm2d_train", "3,4,3,5", 1, 0.1f, 1e-5f);
    bn_case("batchnorm3d_train_m03_eps1e-3", "2,3,3,2,4", 1, 0.3f, 1e-3f);
    bn_case("batchnorm1d_train", "4,5,6", 1, 0.1f, 1e-5f);
    bn_case("batchnorm_nc_train", "6,3", 1, 0.01f, 1e-5f);
    bn_case("batchnorm2d_train_m1", "2,2,3,3", 1, 1.0f, 1e-5f);
    bn_case("batchnorm2d_eval", "2,4,3,3", 0, 0.1f, 1e-5f);
    bn_case("batchnorm3d_eval_eps1e-2", "1,3,2,3,4", 0, 0.1f, 1e-2f);

    /* Dropout: random masks cannot match PyTorch's generator, so only the
     * deterministic settings are compared exactly; the *_mask cases let
     * compare.py take the mask from segc's output and check the scaling
     * 1 / (1 - p), the mask's shape (channelwise) and the gradient. */
    struct {
        const char *name;
        float p;
        int training, channelwise;
    } dr[] = {{"dropout_train_p0", 0, 1, 0},
              {"dropout_eval_p05", 0.5f, 0, 0},
              {"dropout_channelwise_train_p0", 0, 1, 1},
              {"dropout_channelwise_eval_p05", 0.5f, 0, 1},
              {"dropout_train_p03_mask", 0.3f, 1, 0},
              {"dropout_channelwise_train_p05_mask", 0.5f, 1, 1}};
    for (size_t i = 0; i < sizeof dr / sizeof dr[0]; i++) {
        spec s = S(dr[i].name, OP_DROPOUT);
        inf32(&s, F_AWAY, "2,6,4,5");
        s.a.p = dr[i].p;
        s.a.training = dr[i].training;
        s.a.channelwise = dr[i].channelwise;
        s.a.seed = 5;
        run_case(&s);
    }
}

static void cases_movement(void)
{
    spec s = S("concat_axis1_3in", OP_CONCAT);
    inf32(&s, F_U, "2,3,4,2");
    inf32(&s, F_U, "2,1,4,2");
    inf32(&s, F_U, "2,2,4,2");
    s.a.axis = 1;
    run_case(&s);
    s = S("concat_axis0", OP_CONCAT);
    inf32(&s, F_U, "1,3,4");
    inf32(&s, F_U, "2,3,4");
    s.a.axis = 0;
    run_case(&s);
    s = S("concat_axis_neg1", OP_CONCAT);
    inf32(&s, F_U, "2,3,4");
    inf32(&s, F_U, "2,3,1");
    inf32(&s, F_U, "2,3,2");
    s.a.axis = -1;
    run_case(&s);
    s = S("concat_single", OP_CONCAT);
    inf32(&s, F_U, "2,3");
    s.a.axis = 0;
    run_case(&s);
    s = S("concat_i32_axis2", OP_CONCAT);
    in(&s, F_INT, RT_I32, "2,2,3");
    in(&s, F_INT, RT_I32, "2,2,2");
    s.a.axis = 2;
    run_case(&s);
    s = S("concat_u8_axis0", OP_CONCAT);
    in(&s, F_BIT, RT_U8, "2,5");
    in(&s, F_BIT, RT_U8, "1,5");
    s.a.axis = 0;
    run_case(&s);

    s = S("slice_steps", OP_SLICE);
    inf32(&s, F_U, "4,6,7");
    ir_attrs_slice_all(&s.a);
    s.a.begin[0] = 1, s.a.end[0] = 4, s.a.step[0] = 2;
    s.a.begin[2] = 2, s.a.end[2] = 6, s.a.step[2] = 3;
    run_case(&s);
    s = S("slice_negative_bounds_5d", OP_SLICE);
    inf32(&s, F_U, "2,3,4,5,6");
    ir_attrs_slice_all(&s.a);
    s.a.begin[1] = -2;
    s.a.begin[3] = 1, s.a.end[3] = -1, s.a.step[3] = 2;
    s.a.begin[4] = -5, s.a.end[4] = 100, s.a.step[4] = 4;
    run_case(&s);
    s = S("slice_i32", OP_SLICE);
    in(&s, F_INT, RT_I32, "5,4");
    ir_attrs_slice_all(&s.a);
    s.a.begin[0] = 1, s.a.step[0] = 3;
    s.a.end[1] = 3;
    run_case(&s);

    s = S("reshape_3d_to_2d", OP_RESHAPE);
    inf32(&s, F_U, "2,3,4");
    want(&s, RT_F32, "4,6");
    run_case(&s);
    s = S("reshape_to_1d", OP_RESHAPE);
    inf32(&s, F_U, "2,3,4");
    want(&s, RT_F32, "24");
    run_case(&s);
    s = S("reshape_to_scalar", OP_RESHAPE);
    inf32(&s, F_U, "1,1");
    want(&s, RT_F32, "");
    run_case(&s);
    s = S("reshape_i32_5d", OP_RESHAPE);
    in(&s, F_INT, RT_I32, "6,4");
    want(&s, RT_I32, "1,2,3,2,2");
    run_case(&s);

    s = S("permute_3d", OP_PERMUTE);
    inf32(&s, F_U, "2,3,4");
    s.a.perm[0] = 2, s.a.perm[1] = 0, s.a.perm[2] = 1;
    run_case(&s);
    s = S("permute_ncdhw_to_ndhwc", OP_PERMUTE);
    inf32(&s, F_U, "2,3,2,4,3");
    s.a.perm[1] = 2, s.a.perm[2] = 3, s.a.perm[3] = 4, s.a.perm[4] = 1;
    run_case(&s);
    s = S("permute_6d", OP_PERMUTE);
    inf32(&s, F_U, "2,1,3,2,2,3");
    {
        int p[6] = {5, 3, 0, 4, 1, 2};
        memcpy(s.a.perm, p, sizeof p);
    }
    run_case(&s);
    s = S("permute_i32", OP_PERMUTE);
    in(&s, F_INT, RT_I32, "3,4");
    s.a.perm[0] = 1, s.a.perm[1] = 0;
    run_case(&s);

    s = S("broadcast_2d_to_3d", OP_BROADCAST);
    inf32(&s, F_U, "3,1");
    want(&s, RT_F32, "2,3,4");
    run_case(&s);
    s = S("broadcast_channel_to_4d", OP_BROADCAST);
    inf32(&s, F_U, "1,4,1,1");
    want(&s, RT_F32, "2,4,3,5");
    run_case(&s);
    s = S("broadcast_scalar", OP_BROADCAST);
    inf32(&s, F_U, "");
    want(&s, RT_F32, "2,3");
    run_case(&s);
    s = S("broadcast_u8", OP_BROADCAST);
    in(&s, F_BIT, RT_U8, "1,3");
    want(&s, RT_U8, "4,2,3");
    run_case(&s);

    struct {
        const char *name;
        rt_dtype from, to;
        fill f;
    } ca[] = {{"cast_f32_i32", RT_F32, RT_I32, F_CASTF},
              {"cast_i32_f32", RT_I32, RT_F32, F_INTBIG},
              {"cast_u8_f32", RT_U8, RT_F32, F_BYTE},
              {"cast_f32_u8", RT_F32, RT_U8, F_CASTU},
              {"cast_i32_u8_wraps", RT_I32, RT_U8, F_INTBIG},
              {"cast_u8_i32", RT_U8, RT_I32, F_BYTE}};
    for (size_t i = 0; i < sizeof ca / sizeof ca[0]; i++) {
        s = S(ca[i].name, OP_CAST);
        in(&s, ca[i].f, ca[i].from, "3,5,2");
        want(&s, ca[i].to, "3,5,2");
        run_case(&s);
    }

    s = S("one_hot_i32_3d", OP_ONE_HOT);
    s.a.count = 5;
    in(&s, F_LABEL, RT_I32, "2,3,4");
    run_case(&s);
    s = S("one_hot_u8_2d", OP_ONE_HOT);
    s.a.count = 3;
    in(&s, F_LABEL, RT_U8, "3,5");
    run_case(&s);
    s = S("one_hot_i32_1d", OP_ONE_HOT);
    s.a.count = 4;
    in(&s, F_LABEL, RT_I32, "7");
    run_case(&s);
    s = S("one_hot_i32_4d", OP_ONE_HOT);
    s.a.count = 2;
    in(&s, F_LABEL, RT_I32, "1,2,3,2");
    run_case(&s);

    s = S("stop_grad", OP_STOP_GRAD);
    inf32(&s, F_U, "2,3,4");
    run_case(&s);
}

static void bin_case(const char *name, rt_op op, rt_dtype dt, fill fa, const char *a, fill fb,
                     const char *b)
{
    spec s = S(name, op);
    in(&s, fa, dt, a);
    in(&s, fb, dt, b);
    run_case(&s);
}

static void cases_elementwise(void)
{
    /* f32 arithmetic, with broadcasting both ways and with a scalar */
    struct {
        const char *name;
        rt_op op;
        fill fb;
    } ar[] = {{"add", OP_ADD, F_U},         {"sub", OP_SUB, F_U},
              {"mul", OP_MUL, F_U},         {"div", OP_DIV, F_AWAY},
              {"minimum", OP_MINIMUM, F_U}, {"maximum", OP_MAXIMUM, F_U}};
    for (size_t i = 0; i < sizeof ar / sizeof ar[0]; i++) {
        char n1[64], n2[64], n3[64], n4[64];
        snprintf(n1, sizeof n1, "%s_same", ar[i].name);
        snprintf(n2, sizeof n2, "%s_bcast", ar[i].name);
        snprintf(n3, sizeof n3, "%s_bcast_both", ar[i].name);
        snprintf(n4, sizeof n4, "%s_scalar_left", ar[i].name);
        bin_case(n1, ar[i].op, RT_F32, F_U, "2,3,4", ar[i].fb, "2,3,4");
        bin_case(n2, ar[i].op, RT_F32, F_U, "2,3,4", ar[i].fb, "3,1");
        bin_case(n3, ar[i].op, RT_F32, F_U, "2,1,4", ar[i].fb, "3,1");
        bin_case(n4, ar[i].op, RT_F32, ar[i].fb, "", F_U, "2,5");
    }
    bin_case("minimum_ties", OP_MINIMUM, RT_F32, F_Q, "3,8", F_Q, "3,8");
    bin_case("maximum_ties_bcast", OP_MAXIMUM, RT_F32, F_Q, "3,8", F_Q, "8");
    bin_case("div_bcast_left", OP_DIV, RT_F32, F_U, "4", F_AWAY, "2,3,4");
    bin_case("pow_same", OP_POW, RT_F32, F_POS, "2,3,4", F_U, "2,3,4");
    bin_case("pow_bcast", OP_POW, RT_F32, F_POS, "2,3,4", F_WIDE, "4");
    bin_case("pow_scalar_exp", OP_POW, RT_F32, F_SMALLP, "3,5", F_U, "");

    /* i32 arithmetic (div truncates toward zero: torch rounding_mode='trunc') */
    bin_case("add_i32_bcast", OP_ADD, RT_I32, F_INT, "2,3,4", F_INT, "3,1");
    bin_case("sub_i32", OP_SUB, RT_I32, F_INT, "3,4", F_INT, "3,4");
    bin_case("mul_i32_bcast", OP_MUL, RT_I32, F_INT, "3,4", F_INT, "4");
    bin_case("div_i32_trunc", OP_DIV, RT_I32, F_INTBIG, "4,5", F_INTNZ, "4,5");
    bin_case("minimum_i32", OP_MINIMUM, RT_I32, F_INT, "3,4", F_INT, "3,1");
    bin_case("maximum_i32", OP_MAXIMUM, RT_I32, F_INT, "3,4", F_INT, "3,4");

    /* comparisons: f32 with ties, i32, u8 */
    struct {
        const char *name;
        rt_op op;
    } cmp[] = {{"lt", OP_LT}, {"le", OP_LE}, {"gt", OP_GT},
               {"ge", OP_GE}, {"eq", OP_EQ}, {"ne", OP_NE}};
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
        char n1[64], n2[64], n3[64];
        snprintf(n1, sizeof n1, "%s_f32_ties_bcast", cmp[i].name);
        snprintf(n2, sizeof n2, "%s_i32", cmp[i].name);
        snprintf(n3, sizeof n3, "%s_u8_bcast", cmp[i].name);
        bin_case(n1, cmp[i].op, RT_F32, F_Q, "2,3,8", F_Q, "8");
        bin_case(n2, cmp[i].op, RT_I32, F_INT, "4,6", F_INT, "4,6");
        bin_case(n3, cmp[i].op, RT_U8, F_BYTE, "3,1", F_BYTE, "2,1,5");
    }

    spec s = S("where_bcast3", OP_WHERE);
    in(&s, F_BIT, RT_U8, "2,1,4");
    inf32(&s, F_U, "2,3,4");
    inf32(&s, F_U, "3,1");
    run_case(&s);
    s = S("where_same", OP_WHERE);
    in(&s, F_BIT, RT_U8, "3,5");
    inf32(&s, F_U, "3,5");
    inf32(&s, F_U, "3,5");
    run_case(&s);
    s = S("where_i32", OP_WHERE);
    in(&s, F_BIT, RT_U8, "4,3");
    in(&s, F_INT, RT_I32, "4,3");
    in(&s, F_INT, RT_I32, "3");
    run_case(&s);

    /* unary */
    struct {
        const char *name;
        rt_op op;
        fill f;
    } un[] = {{"neg", OP_NEG, F_U},
              {"relu", OP_RELU, F_U},
              {"relu_ties", OP_RELU, F_Q},
              {"leaky_relu", OP_LEAKY_RELU, F_U},
              {"leaky_relu_ties", OP_LEAKY_RELU, F_Q},
              {"sigmoid", OP_SIGMOID, F_WIDE},
              {"tanh", OP_TANH, F_WIDE},
              {"tanh_small", OP_TANH, F_U},
              {"exp", OP_EXP, F_WIDE},
              {"log", OP_LOG, F_SMALLP},
              {"abs", OP_ABS, F_U},
              {"abs_ties", OP_ABS, F_Q},
              {"sqrt", OP_SQRT, F_SMALLP},
              {"erf", OP_ERF, F_U},
              {"erf_wide", OP_ERF, F_WIDE},
              {"clamp", OP_CLAMP, F_U},
              {"clamp_ties", OP_CLAMP, F_Q}};
    for (size_t i = 0; i < sizeof un / sizeof un[0]; i++) {
        s = S(un[i].name, un[i].op);
        inf32(&s, un[i].f, "2,3,5");
        if (un[i].op == OP_LEAKY_RELU)
            s.a.alpha = 0.2f;
        if (un[i].op == OP_CLAMP)
            s.a.lo = -0.5f, s.a.hi = 0.75f;
        run_case(&s);
    }
    s = S("leaky_relu_default_alpha", OP_LEAKY_RELU);
    inf32(&s, F_U, "4,5");
    run_case(&s);
    s = S("neg_i32", OP_NEG);
    in(&s, F_INT, RT_I32, "3,4");
    run_case(&s);
    s = S("abs_i32", OP_ABS);
    in(&s, F_INT, RT_I32, "3,4");
    run_case(&s);
}

static void reduce_case(const char *name, rt_op op, fill f, const char *x, unsigned axes, int keep)
{
    spec s = S(name, op);
    inf32(&s, f, x);
    s.a.axes = axes;
    s.a.keepdim = keep;
    run_case(&s);
}

static void cases_reduce(void)
{
    reduce_case("sum_axes02", OP_SUM, F_U, "2,3,4", 5, 0);
    reduce_case("sum_all", OP_SUM, F_U, "2,3,4", 0, 0);
    reduce_case("sum_spatial_keepdim_5d", OP_SUM, F_U, "2,3,2,3,4", 28, 1);
    reduce_case("sum_axis1", OP_SUM, F_U, "3,7", 2, 0);
    reduce_case("mean_axis1_keepdim", OP_MEAN, F_U, "2,3,4", 2, 1);
    reduce_case("mean_all", OP_MEAN, F_U, "3,4,5", 0, 0);
    reduce_case("mean_all_keepdim", OP_MEAN, F_U, "3,4,5", 0, 1);
    reduce_case("mean_axes023", OP_MEAN, F_U, "2,3,4,5", 13, 0);
    reduce_case("max_axes12", OP_MAX, F_U, "2,3,4", 6, 0);
    reduce_case("max_all", OP_MAX, F_U, "2,3,4", 0, 0);
    reduce_case("max_axis3_keepdim", OP_MAX, F_U, "2,3,2,5", 8, 1);
    reduce_case("max_ties_axis1", OP_MAX, F_Q, "4,9", 2, 0);
    reduce_case("max_ties_all", OP_MAX, F_Q, "3,6", 0, 0);

    struct {
        const char *name;
        rt_op op;
        int axis;
        fill f;
        const char *x;
    } sm[] = {{"softmax_axis1_4d", OP_SOFTMAX, 1, F_U, "2,4,3,3"},
              {"softmax_axis_neg1", OP_SOFTMAX, -1, F_U, "2,3,5"},
              {"softmax_axis0", OP_SOFTMAX, 0, F_U, "4,3"},
              {"softmax_wide", OP_SOFTMAX, 1, F_WIDE, "2,6,4"},
              {"log_softmax_axis1_4d", OP_LOG_SOFTMAX, 1, F_U, "2,4,3,3"},
              {"log_softmax_axis_neg1", OP_LOG_SOFTMAX, -1, F_U, "2,3,5"},
              {"log_softmax_axis0", OP_LOG_SOFTMAX, 0, F_U, "4,3"},
              {"log_softmax_wide", OP_LOG_SOFTMAX, 1, F_WIDE, "2,6,4"},
              {"argmax_axis1_4d", OP_ARGMAX, 1, F_U, "2,5,3,3"},
              {"argmax_axis_neg1_ties", OP_ARGMAX, -1, F_Q, "3,4,6"},
              {"argmax_axis0_ties", OP_ARGMAX, 0, F_Q, "5,4"}};
    for (size_t i = 0; i < sizeof sm / sizeof sm[0]; i++) {
        spec s = S(sm[i].name, sm[i].op);
        inf32(&s, sm[i].f, sm[i].x);
        s.a.axis = sm[i].axis;
        run_case(&s);
    }
    spec s = S("argmax_i32_ties", OP_ARGMAX);
    in(&s, F_INT, RT_I32, "3,8");
    s.a.axis = 1;
    run_case(&s);

    const char *mm[][3] = {{"matmul_2d", "3,4", "4,5"},
                           {"matmul_batched_3d", "2,3,4", "2,4,5"},
                           {"matmul_batched_4d", "2,2,3,4", "2,2,4,2"},
                           {"matmul_k9", "1,7,9", "1,9,6"},
                           {"matmul_vector_shapes", "4,1,6", "4,6,1"}};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        s = S(mm[i][0], OP_MATMUL);
        inf32(&s, F_U, mm[i][1]);
        inf32(&s, F_U, mm[i][2]);
        run_case(&s);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: opdump OUT_DIR\n");
        return 2;
    }
    g_dir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.jsonl", g_dir);
    g_man = fopen(path, "w");
    if (!g_man) {
        perror(path);
        return 1;
    }
    cases_conv();
    cases_pool();
    cases_upsample();
    cases_norm();
    cases_movement();
    cases_elementwise();
    cases_reduce();
    fclose(g_man);
    fprintf(stderr, "opdump: %d cases, %d rejected or failed in segc\n", g_cases, g_errors);
    return 0;
}
