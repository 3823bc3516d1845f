/* cli_run.c — `segc run`: one forward pass of a net, on the JIT kernels
 * (the default) or the reference interpreter (--no-jit).
 *
 * The net is elaborated (B defaults to 1), lowered to an rt_program and
 * run once. Its inputs come either from a NIfTI volume (--input; the net
 * must have exactly one input, and the volume's nx*ny*nz*nt voxels become
 * [1, nt, z, y, x] for a 3-D net, or [1, nt, y, x] for a 2-D net when
 * nz = 1) or from the counter-based generator (every f32 input uniform in
 * [0, 1) with stream = hash of the input's name at step 1, integer inputs
 * zero). Parameters are initialised from --seed, or come from a
 * checkpoint of `segc train`: FILE itself may be one (a run folder or a
 * .safetensors file; its recorded net runs with B = 1, cli_model.c), or
 * --init CKPT loads the tensors whose names match into FILE's net. It prints every input's
 * source, every output's type and min/mean/max, and the wall time of the
 * pass; --output writes the first output as NIfTI ([1, C, z, y, x] ->
 * x, y, z, C) with the input volume's header when the grids agree.
 * The program comes from compiler/pipeline.c: with the JIT (the default)
 * fused, planned and its kernels built before the timed pass.
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void openblas_set_num_threads(int); /* from OpenBLAS; we include no BLAS header */

/* ------------------------------------------------------------- inputs */

static int cli_count_inputs(const rt_program *p, int *first)
{
    int n = 0;
    for (int i = p->n_values - 1; i >= 0; i--)
        if (p->values[i].kind == RT_VAL_INPUT) {
            *first = i;
            n++;
        }
    return n;
}

/* The tensor type a volume becomes for an input of type want. */
static void cli_volume_type(const rt_volume *v, const rt_type *want, rt_type *t)
{
    memset(t, 0, sizeof *t);
    t->dtype = RT_F32;
    int two_d = want->rank == 4 && v->nz == 1;
    int64_t dims5[5] = {1, v->nt, v->nz, v->ny, v->nx};
    int64_t dims4[4] = {1, v->nt, v->ny, v->nx};
    t->rank = two_d ? 4 : 5;
    memcpy(t->dim, two_d ? dims4 : dims5, (size_t)t->rank * sizeof(int64_t));
}

static int cli_bind_volume(const cli_opts *o, const cli_net *n, const rt_program *p,
                           rt_interp *it, const rt_volume *v)
{
    int idx = -1;
    int count = cli_count_inputs(p, &idx);
    if (count != 1) {
        cli_error("--input needs a net with exactly one input; net '%s' has %d", n->name, count);
        return CLI_USAGE;
    }
    const rt_value *in = &p->values[idx];
    rt_tensor t = {.data = v->data, .owns_data = 0};
    cli_volume_type(v, &in->type, &t.type);
    char a[128], b[128];
    if (!rt_type_equal(&t.type, &in->type)) {
        cli_error("%s: a volume of %lld x %lld x %lld voxels (x, y, z) with %lld channel(s) "
                  "gives %s, but input '%s' of net '%s' is %s",
                  o->input, (long long)v->nx, (long long)v->ny, (long long)v->nz,
                  (long long)v->nt, rt_type_str(&t.type, a, sizeof a), in->name, n->name,
                  rt_type_str(&in->type, b, sizeof b));
        return CLI_RUNTIME;
    }
    rt_error err = {{0}};
    if (rt_interp_set_input(it, in->name, &t, &err)) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    printf("input %s: %s from %s\n", in->name, rt_type_str(&in->type, a, sizeof a), o->input);
    return CLI_OK;
}

/* Fill input value i with seeded noise (f32) or zeros (integer types). */
static void cli_fill_random(rt_tensor *t, const char *name, uint64_t seed)
{
    char buf[128];
    if (t->type.dtype != RT_F32) {
        printf("input %s: %s zeros\n", name, rt_type_str(&t->type, buf, sizeof buf));
        return;
    }
    uint32_t stream = rt_hash_str(name);
    int64_t n = rt_type_numel(&t->type);
    for (int64_t k = 0; k < n; k++)
        rt_f32(t)[k] = rt_rand_uniform01(seed, stream, 1, (uint64_t)k);
    printf("input %s: %s uniform random in [0, 1), seed %llu\n", name,
           rt_type_str(&t->type, buf, sizeof buf), (unsigned long long)seed);
}

static void cli_bind_random(const cli_opts *o, const rt_program *p, rt_interp *it)
{
    for (int i = 0; i < p->n_values; i++)
        if (p->values[i].kind == RT_VAL_INPUT)
            cli_fill_random(rt_interp_value_at(it, i), p->values[i].name, o->seed);
}

/* ------------------------------------------------------------ outputs */

static double cli_elem(const rt_tensor *t, int64_t i)
{
    switch (t->type.dtype) {
    case RT_F32: return rt_f32(t)[i];
    case RT_I32: return rt_i32(t)[i];
    case RT_U8: return rt_u8(t)[i];
    default: SEG_UNREACHABLE();
    }
}

/* "min 0.1 mean 0.5 max 0.9" over the finite values, plus a NaN/inf count. */
static void cli_print_stats(const char *name, const rt_tensor *t)
{
    int64_t n = rt_type_numel(&t->type), bad = 0;
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = cli_elem(t, i);
        if (!isfinite(x)) {
            bad++;
            continue;
        }
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        sum += x;
    }
    char buf[128];
    printf("output %s: %s", name, rt_type_str(&t->type, buf, sizeof buf));
    if (n > bad)
        printf("  min %.6g  mean %.6g  max %.6g", lo, sum / (double)(n - bad), hi);
    if (bad)
        printf("  (%lld non-finite values)", (long long)bad);
    putchar('\n');
}

/* Volume grid of an output type: [1, C, z, y, x] or [1, C, y, x]. */
static int cli_output_grid(const rt_type *t, int64_t g[4])
{
    if ((t->rank != 5 && t->rank != 4) || t->dim[0] != 1)
        return -1;
    int r = t->rank;
    g[0] = t->dim[r - 1];
    g[1] = t->dim[r - 2];
    g[2] = r == 5 ? t->dim[2] : 1;
    g[3] = t->dim[1];
    return 0;
}

/* NIfTI file names, as rt_nifti_read and rt_nifti_write want them. */
static int cli_is_nifti_name(const char *s)
{
    size_t n = strlen(s);
    return (n > 4 && strcmp(s + n - 4, ".nii") == 0) || (n > 7 && strcmp(s + n - 7, ".nii.gz") == 0);
}

/* Checked before running so a long pass is not wasted on a bad --output. */
static int cli_check_file_args(const cli_opts *o, const rt_program *p)
{
    int64_t g[4];
    if (o->input && !cli_is_nifti_name(o->input)) {
        cli_error("--input: '%s' is not a NIfTI file name (use .nii or .nii.gz)", o->input);
        return CLI_USAGE;
    }
    if (!o->output)
        return CLI_OK;
    if (!cli_is_nifti_name(o->output)) {
        cli_error("--output: '%s' is not a NIfTI file name (use .nii or .nii.gz)", o->output);
        return CLI_USAGE;
    }
    if (p->n_outputs == 0) {
        cli_error("--output: the net has no outputs");
        return CLI_USAGE;
    }
    const rt_type *t = &p->values[p->outputs[0]].type;
    if (cli_output_grid(t, g) != 0) {
        char buf[128];
        cli_error("--output: output '%s' is %s; a volume needs [1, C, z, y, x] or [1, C, y, x]",
                  p->output_names[0], rt_type_str(t, buf, sizeof buf));
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int cli_write_output(const cli_opts *o, const rt_program *p, rt_interp *it,
                            const rt_volume *src)
{
    const rt_tensor *t = rt_interp_value_at(it, p->outputs[0]);
    rt_volume v = {.spacing = {1, 1, 1}};
    int64_t g[4];
    SEG_ASSERT(cli_output_grid(&t->type, g) == 0);
    v.nx = g[0], v.ny = g[1], v.nz = g[2], v.nt = g[3];
    if (src && src->nx == v.nx && src->ny == v.ny && src->nz == v.nz) {
        memcpy(v.spacing, src->spacing, sizeof v.spacing);
        memcpy(v.affine, src->affine, sizeof v.affine);
        v.header = src->header;
    }
    int64_t n = rt_type_numel(&t->type);
    v.data = seg_xcalloc((size_t)n, sizeof(float));
    for (int64_t i = 0; i < n; i++)
        v.data[i] = (float)cli_elem(t, i);
    rt_error err = {{0}};
    int rc = rt_nifti_write(o->output, &v, t->type.dtype, &err);
    seg_free(v.data);
    if (rc) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    printf("wrote %s: output %s as %s, %lld x %lld x %lld x %lld\n", o->output,
           p->output_names[0], rt_dtype_name(t->type.dtype), (long long)v.nx, (long long)v.ny,
           (long long)v.nz, (long long)v.nt);
    return CLI_OK;
}

/* ------------------------------------------------------------- the pass */

static int cli_forward(const rt_program *p, rt_interp *it, int threads, int jit)
{
    rt_error err = {{0}};
    double t0 = (1e3 * seg_seconds());
    int rc = rt_interp_run(it, 0, &err);
    double ms = (1e3 * seg_seconds()) - t0;
    if (rc) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    for (int i = 0; i < p->n_outputs; i++)
        cli_print_stats(p->output_names[i], rt_interp_value_at(it, p->outputs[i]));
    printf("time: %.3f ms (one forward pass, interpreter%s, %d thread%s)\n", ms,
           jit ? " + JIT convolutions" : "", threads, threads == 1 ? "" : "s");
    return CLI_OK;
}

/* Parameters from a checkpoint: all of them for `run CKPT`, those whose
 * names match for --init. */
static int cli_load_ckpt(const cli_opts *o, const rt_program *p, rt_interp *it)
{
    const char *arg = o->init ? o->init : o->files[0];
    rt_ckpt *c;
    char *path;
    int loaded = 0, rc = cli_ckpt_open(arg, &c, &path);
    if (rc == CLI_OK)
        rc = cli_ckpt_params(c, path, p, it, o->init == NULL, &loaded);
    if (rc == CLI_OK)
        printf("init: %d tensors from %s\n", loaded, path);
    rt_ckpt_free(c);
    seg_free(path);
    return rc;
}

static int cli_run_program(const cli_opts *o, const cli_net *n, const pipeline_result *pr,
                           int threads)
{
    const rt_program *p = pr->prog;
    rt_volume vol;
    memset(&vol, 0, sizeof vol);
    rt_error err = {{0}};
    int rc = cli_check_file_args(o, p);
    if (rc == CLI_OK && o->input && rt_nifti_read(o->input, &vol, &err)) {
        cli_error("%s", err.msg);
        rc = CLI_RUNTIME;
    }
    rt_interp *it = rc == CLI_OK ? rt_interp_new(p, o->seed, threads) : NULL;
    if (it && pr->kernels) {
        jit_program_describe(pr->kernels, "forward", stdout);
        rt_interp_set_kernels(it, jit_program_table(pr->kernels));
    }
    if (rc == CLI_OK && (o->init || cli_is_checkpoint(o->files[0])))
        rc = cli_load_ckpt(o, p, it);
    if (rc == CLI_OK && o->input)
        rc = cli_bind_volume(o, n, p, it, &vol);
    else if (rc == CLI_OK)
        cli_bind_random(o, p, it);
    if (rc == CLI_OK)
        rc = cli_forward(p, it, threads, o->jit);
    if (rc == CLI_OK && o->output)
        rc = cli_write_output(o, p, it, o->input ? &vol : NULL);
    rt_interp_free(it);
    rt_volume_free(&vol);
    return rc;
}

/* `run CKPT`: the checkpoint's recorded net with B = 1 (flags that pick
 * or shape a net from a file do not apply). */
static int cli_run_net_of(const cli_opts *o, cli_net *n)
{
    memset(n, 0, sizeof *n);
    if (o->net || o->init || o->train || o->n_settings > (o->default_b ? 1 : 0)) {
        cli_error("run %s: a checkpoint brings its own net; --net, --set, --train and --init "
                  "apply to a .seg FILE", o->files[0]);
        return CLI_USAGE;
    }
    rt_ckpt *c;
    char *path;
    int rc = cli_ckpt_open(o->files[0], &c, &path);
    if (rc == CLI_OK)
        rc = cli_ckpt_net(c, path, 1, n);
    rt_ckpt_free(c);
    seg_free(path);
    return rc;
}

int cli_cmd_run(const cli_opts *o)
{
    if (o->threads_given) /* else OpenBLAS keeps its own default */
        openblas_set_num_threads(o->threads);
    cli_net n;
    int rc = cli_is_checkpoint(o->files[0]) ? cli_run_net_of(o, &n) : cli_net_load(o, o->train, &n);
    rt_budget budget = {.threads = o->threads, .what = "the forward pass"};
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = o->jit, .compile = 1, .budget = &budget};
    pipeline_result pr;
    if (rc == CLI_OK)
        rc = cli_pipeline(n.graph, &po, &pr, NULL);
    if (rc == CLI_OK) {
        rc = cli_run_program(o, &n, &pr, o->threads);
        pipeline_result_free(&pr);
    }
    cli_net_free(&n);
    fflush(stdout);
    return rc;
}
