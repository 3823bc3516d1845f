/* cli_bench.c — `segc bench`: how fast one step of a program runs here.
 *
 * What is timed (each a fresh rt_interp with parameters from --seed):
 *   - a training step of a schedule's stage (--stage, default when the
 *     schedule has one stage): the program `segc train` runs — the stage
 *     graph with grad() expanded, the backward of "loss" (autodiff with
 *     freeze pruning) and one "grad:<param>" output per trainable
 *     parameter — followed by the stage optimizer's update of the
 *     trainable parameters;
 *   - the stage's evaluation program with --stage and --infer (forward
 *     and loss, batch norms in inference mode);
 *   - one inference forward of a net with --net (or a file without
 *     schedules), as `segc run` does it;
 *   - with --volume DxHxW, what `segc infer` does to one scan: a
 *     sliding-window prediction of the net over a random volume of that
 *     size (runtime/sliding.c: tiles of the net's input, --overlap 0.5,
 *     B tiles per run, Gaussian weights); a step is the whole volume and
 *     its GFLOP are the net's forward times the runs.
 * Inputs are seeded random data of the right types, bound once: f32
 * images uniform in [0, 1), f32 labels 0/1, i32 labels class ids of the
 * stream's data, "progress" 0.5. The numbers measure speed only.
 *
 * Warm-up steps (1, or 2 from 5 timed steps on) run first, then --steps N
 * (default 5) timed steps; the median wall time counts. Reported: the
 * median (and min/max), GFLOP per step (the sum of ir_node_flops over the
 * graph that was lowered; the optimizer's few FLOPs per parameter are not
 * counted), GFLOP/s, the share of this machine's FP32 peak, peak RSS
 * (getrusage; the program's temporaries live in the memory planner's
 * arena, as in `segc run` and `segc train`), and compile times: front
 * end, graph build, autodiff, lowering with the memory plan, and when
 * convolutions run on JIT kernels (--jit / --no-jit, as for run and
 * train) the JIT build (cold, as the cache has it) and a second build on
 * a fresh JIT (warm: every object from the disk cache).
 *
 * Peak: a JIT-compiled loop of independent vector FMAs (24 accumulators
 * of the JIT's width, as in bench/conv_bench.c) on a pool of the same
 * thread count, each thread's FLOPs over its own CPU time, summed, best
 * of a few runs; measured once per thread count per process. Step times
 * are wall clock, so on a busy machine the share of peak is a lower bound.
 *
 * The last line is machine-readable for bench/run.sh:
 *   result: step_ms=... gflop=... gflops=... peak_pct=... ...
 */
#include "cli.h"

#include <errno.h>
#include <llvm-c/Core.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void openblas_set_num_threads(int); /* from OpenBLAS; we include no BLAS header */

enum { BENCH_DEFAULT_STEPS = 5 };

static double bench_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ peak */

#define PEAK_ITERS 2000000L /* ~10-20 ms per call near peak */
#define PEAK_REPS 5

typedef float (*peak_fn)(int64_t iters);


typedef struct peak_job {
    peak_fn fn;
    double *cpu;          /* CPU seconds per pool thread */
    volatile float *sink; /* keeps the result alive */
} peak_job;

static void peak_task(void *arg, int64_t b, int64_t e, int t)
{
    peak_job *pj = arg;
    double t0 = bench_thread_cpu_s();
    for (int64_t i = b; i < e; i++)
        pj->sink[t] = pj->fn(PEAK_ITERS);
    pj->cpu[t] = bench_thread_cpu_s() - t0;
}

/* GFLOP/s of the FMA loop on `threads` threads, or 0 when the JIT is not
 * available (err says why). */
static double peak_measure(int threads, int *lanes, rt_error *err)
{
    rt_jit *jit = rt_jit_new(err);
    if (!jit)
        return 0;
    int vl = rt_jit_vector_width(jit);
    *lanes = vl;
    rt_jit_tsc *tsc = rt_jit_tsc_new();
    LLVMModuleRef m = cg_peak_module(rt_jit_tsc_context(tsc), vl, "segc_bench_peak");
    rt_jit_code *code = NULL;
    int rc = rt_jit_add_module(jit, tsc, m, "segc_bench_peak", &code, err);
    rt_jit_tsc_free(tsc);
    double best = 0;
    if (rc == 0) {
        peak_job pj;
        void *addr = rt_jit_code_addr(code);
        memcpy(&pj.fn, &addr, sizeof addr);
        pj.cpu = seg_xcalloc((size_t)threads, sizeof *pj.cpu);
        pj.sink = seg_xcalloc((size_t)threads, sizeof(float));
        rt_pool *pool = rt_pool_new(threads);
        for (int rep = 0; rep < PEAK_REPS; rep++) {
            rt_pool_run(pool, threads, peak_task, &pj);
            double gf = 0;
            for (int t = 0; t < threads; t++)
                gf += pj.cpu[t] > 0
                          ? (double)PEAK_ITERS * cg_peak_chains(vl) * vl * 2 / pj.cpu[t] * 1e-9
                          : 0;
            best = gf > best ? gf : best;
        }
        rt_pool_free(pool);
        seg_free(pj.cpu);
        seg_free((void *)pj.sink);
        rt_jit_release(jit, code, err);
    }
    rt_jit_free(jit);
    return best;
}

/* The FP32 FMA peak for a thread count, measured once per process. */
static double peak_gflops(int threads, int *lanes, rt_error *err)
{
    typedef struct peak_entry {
        int threads, lanes;
        double gflops;
    } peak_entry;
    static peak_entry cache[8];
    static int n_cache;
    for (int i = 0; i < n_cache; i++)
        if (cache[i].threads == threads) {
            *lanes = cache[i].lanes;
            return cache[i].gflops;
        }
    double g = peak_measure(threads, lanes, err);
    if (g > 0 && n_cache < 8)
        cache[n_cache++] = (peak_entry){threads, *lanes, g};
    return g;
}

/* ----------------------------------------------------------- the program */

typedef enum bench_mode { BENCH_NET, BENCH_STAGE_TRAIN, BENCH_STAGE_EVAL } bench_mode;

/* What is benchmarked and what it cost to compile. */
typedef struct bench {
    const cli_opts *o;
    int threads, steps, warmup;
    bench_mode mode;
    seg_diag *diag;
    seg_program *prog;
    const seg_schedule *sched;    /* stage modes */
    cli_opts rest;                /* stage modes: the options, --set without the
                                     schedule's parameters (b->o points here then) */
    seg_schedule sched_copy;      /* with --set B applied */
    seg_stage *stages;            /* sched_copy's stages */
    int stage;                    /* index in sched */
    char *net_name;               /* BENCH_NET, owned */
    int batch;                    /* 0 = the schedule's */
    pipeline_result pr;           /* the program and its (not yet compiled) kernels */
    int64_t fwd_flops, bwd_flops;
    double ms_front, ms_graph, ms_grad, ms_lower;
    double ms_jit_cold, ms_jit_warm;
    int jit_kernels, jit_convs, jit_cold_cached, jit_warm_cached;
    int64_t arena_bytes;          /* the interpreter's arena, 0 = unplanned */
    rt_sliding win;               /* --volume: the sliding window */
    float *volume;                /* --volume: the random scan */
    int64_t tiles, runs;          /* --volume: tiles, and program runs per step */
} bench;


/* --stage NAME, or the only stage. */
static int bench_stage_index(const bench *b, const seg_schedule *s)
{
    for (int k = 0; k < s->n_stages; k++)
        if (b->o->stage ? !strcmp(s->stages[k].name, b->o->stage) : s->n_stages == 1)
            return k;
    if (b->o->stage)
        fprintf(stderr, "segc: error: schedule '%s' has no stage '%s' (stages:", s->name,
                b->o->stage);
    else
        fprintf(stderr, "segc: error: schedule '%s' has %d stages; choose one with --stage "
                "(stages:", s->name, s->n_stages);
    for (int k = 0; k < s->n_stages; k++)
        fprintf(stderr, "%s %s", k ? "," : "", s->stages[k].name);
    fputs(")\n", stderr);
    return -1;
}

/* In stage modes --set takes only B, the batch size. */
static int bench_batch(bench *b)
{
    return cli_batch_setting(b->o, "bench", &b->batch);
}

/* Which program: a net's forward, or a stage's training or eval step. */
static int bench_pick(bench *b)
{
    const cli_opts *o = b->o;
    const char **names = NULL;
    int n_sched = seg_program_schedules(b->prog, &names);
    if (o->net && (o->stage || o->schedule)) {
        cli_error("bench: give --net or --schedule/--stage, not both");
        return CLI_USAGE;
    }
    if (n_sched == 0 && (o->stage || o->schedule)) {
        cli_error("bench: %s has no schedule", o->files[0]);
        return CLI_USAGE;
    }
    if (o->net || n_sched == 0 || (o->infer && !o->stage && !o->schedule)) {
        b->mode = BENCH_NET;
        int n_nets = seg_program_nets(b->prog, &names);
        for (int i = 0; o->net && i < n_nets; i++)
            if (!strcmp(names[i], o->net))
                return CLI_OK;
        if (!o->net && n_nets > 0)
            return CLI_OK;
        fprintf(stderr, "segc: error: %s has no net named '%s' (nets:", o->files[0],
                o->net ? o->net : "");
        for (int i = 0; i < n_nets; i++)
            fprintf(stderr, "%s %s", i ? "," : "", names[i]);
        fputs(")\n", stderr);
        return CLI_USAGE;
    }
    b->mode = o->infer ? BENCH_STAGE_EVAL : BENCH_STAGE_TRAIN;
    int picked = cli_pick_schedule(b->o, b->prog, b->diag, &b->sched, &b->rest);
    if (picked != CLI_OK)
        return picked;
    b->o = &b->rest;
    if ((b->stage = bench_stage_index(b, b->sched)) < 0)
        return CLI_USAGE;
    int rc = bench_batch(b);
    if (rc != CLI_OK)
        return rc;
    b->sched_copy = *b->sched;
    b->stages = seg_xcalloc((size_t)b->sched->n_stages, sizeof *b->stages);
    for (int k = 0; k < b->sched->n_stages; k++) {
        b->stages[k] = b->sched->stages[k];
        if (b->batch > 0)
            b->stages[k].batch = b->batch;
    }
    b->sched_copy.stages = b->stages;
    return CLI_OK;
}

/* The program through the compile pipeline, as `segc run` and `segc
 * train` build it; the kernels are built later, timed (bench_jit). */
static int bench_build(bench *b, const ir_graph *g, pipeline_mode mode)
{
    /* it will run: checked against memory like run and train (the kernels
     * are compiled later, so the budget is told about the JIT here) */
    rt_budget budget = {.threads = b->o->threads, .jit = b->o->jit,
                        .what = mode == PIPELINE_TRAIN ? "the training step" : "the forward pass"};
    pipeline_opts po = {.mode = mode, .jit = b->o->jit, .compile = 0, .budget = &budget};
    char what[300];
    snprintf(what, sizeof what, "stage '%s'",
             b->mode == BENCH_NET ? b->net_name : b->sched->stages[b->stage].name);
    int rc = cli_pipeline(g, &po, &b->pr, b->mode == BENCH_NET ? NULL : what);
    if (rc != CLI_OK)
        return rc;
    b->ms_grad = b->pr.ms_graph;
    b->ms_lower = b->pr.ms_lower;
    b->fwd_flops = b->pr.fwd_flops;
    b->bwd_flops = b->pr.bwd_flops;
    return CLI_OK;
}

/* Load the file and compile the program, timing each phase. */
static int bench_compile(bench *b)
{
    const cli_opts *o = b->o;
    FILE *f = fopen(o->files[0], "r");
    if (!f) {
        cli_error("cannot read '%s': %s", o->files[0], strerror(errno));
        return CLI_USAGE;
    }
    fclose(f);
    double t0 = (1e3 * seg_seconds());
    b->prog = seg_load(o->files[0], b->diag);
    b->ms_front = (1e3 * seg_seconds()) - t0;
    if (!b->prog)
        return CLI_BAD_PROGRAM;
    int rc = bench_pick(b);
    if (rc != CLI_OK)
        return rc;
    t0 = (1e3 * seg_seconds());
    if (b->mode == BENCH_NET) {
        ir_graph *g = seg_elaborate_net(b->prog, o->net, o->settings, o->n_settings, 0, b->diag);
        b->ms_graph = (1e3 * seg_seconds()) - t0;
        if (!g || seg_diag_error_count(b->diag) > 0) {
            if (g)
                ir_graph_free(g);
            return CLI_BAD_PROGRAM;
        }
        b->net_name = seg_xstrdup(g->name);
        rc = bench_build(b, g, PIPELINE_INFER);
        ir_graph_free(g);
        return rc;
    }
    ir_graph *g = seg_stage_graph(b->prog, &b->sched_copy, b->stage,
                                  b->mode == BENCH_STAGE_TRAIN, b->diag);
    b->ms_graph = (1e3 * seg_seconds()) - t0;
    if (!g || seg_diag_error_count(b->diag) > 0) {
        if (g)
            ir_graph_free(g);
        return CLI_BAD_PROGRAM;
    }
    rc = bench_build(b, g, b->mode == BENCH_STAGE_TRAIN ? PIPELINE_TRAIN : PIPELINE_INFER);
    ir_graph_free(g);
    return rc;
}

/* ---------------------------------------------------------------- inputs */

static int bench_ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

/* Label classes of the stream whose inputs are named prefix + "label". */
static int bench_classes(const bench *b, const char *name)
{
    if (b->mode == BENCH_NET)
        return 2;
    const seg_stage *st = &b->sched->stages[b->stage];
    for (int i = st->n_streams - 1; i >= 0; i--) {
        const char *pre = i == 0 ? "" : b->sched->data[st->streams[i]].name;
        size_t n = strlen(pre);
        if (!strncmp(name, pre, n) && (i == 0 || name[n] == '.'))
        {
            const char *const *names;
            seg_arena *a = seg_arena_new();
            int k = seg_data_classes(b->sched->data[st->streams[i]].source, &names, a);
            seg_arena_free(a);
            return k;
        }
    }
    return 2;
}

/* Seeded data of the input's type: labels 0/1 (f32, u8) or class ids
 * (i32), "progress" 0.5, everything else uniform in [0, 1). */
static void bench_fill(const bench *b, rt_tensor *t, const char *name)
{
    uint32_t stream = rt_hash_str(name);
    int64_t n = rt_type_numel(&t->type);
    int label = bench_ends_with(name, "label");
    int classes = t->type.dtype == RT_I32 ? bench_classes(b, name) : 2;
    for (int64_t k = 0; k < n; k++) {
        float u = rt_rand_uniform01(b->o->seed, stream, 1, (uint64_t)k);
        switch (t->type.dtype) {
        case RT_F32:
            rt_f32(t)[k] = !strcmp(name, "progress") ? 0.5f : label ? (float)(u >= 0.5f) : u;
            break;
        case RT_I32: rt_i32(t)[k] = (int32_t)(u * (float)classes) % classes; break;
        case RT_U8: rt_u8(t)[k] = (uint8_t)(u >= 0.5f); break;
        default: SEG_UNREACHABLE();
        }
    }
}

static void bench_inputs(const bench *b, rt_interp *it)
{
    for (int i = 0; i < b->pr.prog->n_values; i++)
        if (b->pr.prog->values[i].kind == RT_VAL_INPUT)
            bench_fill(b, rt_interp_value_at(it, i), b->pr.prog->values[i].name);
}

/* The stage's optimizer over its trainable parameters (train.c's setup). */
static rt_optim *bench_optim(const bench *b, rt_interp *it, const char **kind, rt_error *err)
{
    const seg_stage *st = &b->sched->stages[b->stage];
    const seg_scall *o = st->optimizer;
    *kind = o ? o->name : "adam";
    rt_optim_config c;
    rt_optim_config_init(&c, !strcmp(*kind, "sgd")     ? RT_OPTIM_SGD
                             : !strcmp(*kind, "adamw") ? RT_OPTIM_ADAMW
                                                       : RT_OPTIM_ADAM);
    if (o) {
        c.lr = seg_scall_num(o, "lr", c.lr);
        c.weight_decay = seg_scall_num(o, "weight_decay", c.weight_decay);
        c.momentum = seg_scall_num(o, "momentum", c.momentum);
        c.nesterov = (int)seg_scall_int(o, "nesterov", 0);
    }
    rt_optim *opt = rt_optim_new(&c, err);
    if (opt)
        rt_optim_set_pool(opt, rt_interp_pool(it));
    for (int i = 0; opt && i < st->n_trainable; i++) {
        char gname[512];
        snprintf(gname, sizeof gname, "grad:%s", st->trainable[i]);
        rt_tensor *p = rt_interp_value(it, st->trainable[i]);
        rt_tensor *g = rt_interp_output(it, gname);
        if (p && g)
            rt_optim_add(opt, st->trainable[i], rt_f32(p), rt_f32(g),
                         (size_t)rt_type_numel(&p->type));
    }
    return opt;
}

/* ------------------------------------------------------------------- jit */

/* Cold: the program's kernels compiled (or loaded when the disk cache
 * has them) on a new JIT; warm: the same kernels again on a second JIT,
 * all from the cache now. */
static int bench_jit(bench *b, rt_error *err)
{
    double t0 = (1e3 * seg_seconds());
    if (jit_program_compile(b->pr.kernels, b->pr.prog, NULL, err))
        return -1;
    b->ms_jit_cold = (1e3 * seg_seconds()) - t0;
    const jit_program_stats *s = jit_program_stats_of(b->pr.kernels);
    b->jit_kernels = s->kernels;
    b->jit_convs = s->convs;
    b->jit_cold_cached = s->from_cache;
    t0 = (1e3 * seg_seconds());
    jit_program *warm = jit_program_build(b->pr.prog, NULL, err);
    b->ms_jit_warm = (1e3 * seg_seconds()) - t0;
    b->jit_warm_cached = warm ? jit_program_stats_of(warm)->from_cache : 0;
    if (!warm)
        b->ms_jit_warm = -1;
    jit_program_free(warm);
    return 0;
}

/* ------------------------------------------------------------------ runs */

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --volume: the window of the net's input and a random volume. */
static int bench_volume(bench *b, rt_interp *it)
{
    const cli_opts *o = b->o;
    rt_tensor *in = rt_interp_value(it, "image");
    const rt_program *p = b->pr.prog;
    if (!in || in->type.rank != o->n_volume + 2 || p->n_outputs < 1) {
        cli_error("bench --volume: net '%s' needs an input 'image' of %d spatial axes and an "
                  "output", b->net_name, o->n_volume);
        return CLI_USAGE;
    }
    rt_sliding *w = &b->win;
    rt_sliding_init(w);
    w->nsp = o->n_volume;
    w->channels = (int)in->type.dim[1];
    w->batch = (int)in->type.dim[0];
    for (int a = 0; a < w->nsp; a++)
        w->patch[a] = in->type.dim[2 + a];
    w->overlap = o->overlap;
    w->output = p->output_names[0];
    int64_t size[3] = {o->volume[0], o->volume[1], o->n_volume == 3 ? o->volume[2] : 1}, n = 1;
    for (int a = 0; a < 3; a++)
        n *= size[a];
    b->volume = seg_xcalloc((size_t)(n * w->channels), sizeof *b->volume);
    for (int64_t i = 0; i < n * w->channels; i++)
        b->volume[i] = rt_rand_uniform01(b->o->seed, 7, 0, (uint64_t)i);
    b->tiles = rt_sliding_tiles(w, size);
    b->runs = (b->tiles + w->batch - 1) / w->batch;
    return CLI_OK;
}

/* One sliding-window prediction of the whole --volume. */
static int bench_volume_step(bench *b, rt_interp *it, rt_error *err)
{
    const cli_opts *o = b->o;
    int64_t size[3] = {o->volume[0], o->volume[1], o->n_volume == 3 ? o->volume[2] : 1};
    float *prob = NULL;
    int C;
    int rc = rt_sliding_predict(&b->win, it, b->volume, size, &prob, &C, err);
    seg_free(prob);
    return rc;
}

/* Step s (interpreter run and optimizer update, or a whole --volume) in *ms. */
static int bench_one(bench *b, rt_interp *it, rt_optim *opt, int s, double *ms, rt_error *err)
{
    double t0 = 1e3 * seg_seconds();
    if (b->volume ? bench_volume_step(b, it, err) : rt_interp_run(it, (uint64_t)s, err))
        return -1;
    if (opt)
        rt_optim_step(opt);
    *ms = 1e3 * seg_seconds() - t0;
    return 0;
}

/* Warm-up, then the timed steps; times[] sorted on return. The warm-up
 * is b->warmup steps and, for short steps, at least BENCH_WARM_MS (at
 * most 100 steps): on this VM an idle second CPU takes a while to come up
 * to speed (a 2 ms conv measured 3.9 ms over its first 20 steps, 2.1 ms
 * after). b->warmup becomes the number of warm-up steps run. */
#define BENCH_WARM_MS 300.0
static int bench_steps(bench *b, rt_interp *it, rt_optim *opt, double *times, rt_error *err)
{
    int s = 0;
    double ms, warm = 0;
    if (b->volume) { /* a step is minutes: one run of the program warms up */
        if (rt_interp_run(it, 0, err))
            return -1;
        b->warmup = 0, warm = BENCH_WARM_MS, s = 1;
    }
    for (; s < b->warmup || (warm < BENCH_WARM_MS && s < 100); s++, warm += ms)
        if (bench_one(b, it, opt, s, &ms, err))
            return -1;
    b->warmup = s;
    for (int t = 0; t < b->steps; t++, s++)
        if (bench_one(b, it, opt, s, &times[t], err))
            return -1;
    qsort(times, (size_t)b->steps, sizeof *times, bench_cmp_double);
    return 0;
}

static double bench_median(const double *t, int n)
{
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* ---------------------------------------------------------------- report */

static void bench_title(const bench *b, const char *optim)
{
    const char *file = b->o->files[0];
    if (b->mode == BENCH_NET && b->volume) {
        printf("segc bench: sliding-window prediction of net %s (%s) over a %lldx%lldx%lld "
               "volume: %lld tiles of %lldx%lldx%lld, overlap %g, %d per run, Gaussian-weighted\n",
               b->net_name, file, (long long)b->o->volume[0], (long long)b->o->volume[1],
               (long long)(b->o->n_volume == 3 ? b->o->volume[2] : 1), (long long)b->tiles,
               (long long)b->win.patch[0], (long long)b->win.patch[1],
               (long long)b->win.patch[2], b->win.overlap, b->win.batch);
        return;
    }
    if (b->mode == BENCH_NET) {
        printf("segc bench: inference forward of net %s (%s), batch norms in inference mode\n",
               b->net_name, file);
        return;
    }
    const seg_stage *st = &b->stages[b->stage];
    if (b->mode == BENCH_STAGE_TRAIN)
        printf("segc bench: training step of stage %s of schedule %s (%s): forward, backward, "
               "%s update of %d trainable tensors (%d frozen), batch %d\n", st->name,
               b->sched->name, file, optim, st->n_trainable, st->n_frozen, st->batch);
    else
        printf("segc bench: evaluation step of stage %s of schedule %s (%s): forward and loss, "
               "batch %d\n", st->name, b->sched->name, file, st->batch);
}

static void bench_report(const bench *b, const double *times, const char *optim)
{
    double med = bench_median(times, b->steps);
    double gflop = (double)(b->fwd_flops + b->bwd_flops) / 1e9 * (b->volume ? (double)b->runs : 1);
    double gfs = med > 0 ? gflop / (med / 1e3) : 0;
    rt_error err = {{0}};
    int lanes = 0;
    double peak = peak_gflops(b->threads, &lanes, &err);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
    double compile = b->ms_front + b->ms_graph + b->ms_grad + b->ms_lower;
    bench_title(b, optim);
    printf("  %-14s %d instructions, %d threads (pool and OpenBLAS), %s\n", "program",
           b->pr.prog->n_instrs, b->threads,
           b->o->jit ? "JIT kernels (convolutions, fused groups) and fast runtime kernels" : "reference kernels");
    const fuse_stats *f = &b->pr.fuse;
    if (b->o->jit)
        printf("  %-14s %d -> %d instructions: %d elementwise groups of %d ops (%d fills inlined), "
               "%d conv+ReLU, %d residual adds, %d batch norms folded, %d ReLU and %d bias "
               "gradients into convs\n", "fusion", f->instrs_before,
               f->instrs_after, f->groups, f->fused_ops, f->fills_dropped, f->conv_relus,
               f->residuals, f->bn_folded, f->relu_grads, f->bias_sums);
    printf("  %-14s %.3f ms median of %d (min %.3f, max %.3f) after %d warm-up step%s\n",
           "step time", med, b->steps, times[0], times[b->steps - 1], b->warmup,
           b->warmup == 1 ? "" : "s");
    if (b->mode == BENCH_STAGE_TRAIN)
        printf("  %-14s %.3f GFLOP per step (forward %.3f, backward %.3f)\n", "work", gflop,
               (double)b->fwd_flops / 1e9, (double)b->bwd_flops / 1e9);
    else
        printf("  %-14s %.3f GFLOP per step\n", "work", gflop);
    printf("  %-14s %.2f GFLOP/s\n", "speed", gfs);
    if (peak > 0)
        printf("  %-14s %.1f%% of %.1f GFLOP/s (FP32 FMA peak on %d thread%s, %d lanes)\n",
               "of peak", 100 * gfs / peak, peak, b->threads, b->threads == 1 ? "" : "s", lanes);
    else
        printf("  %-14s unknown: %s\n", "of peak", err.msg);
    if (b->arena_bytes > 0)
        printf("  %-14s %.1f MB (temporaries in a planned arena of %.1f MB)\n", "peak RSS",
               rss_mb, (double)b->arena_bytes / (1024.0 * 1024.0));
    else
        printf("  %-14s %.1f MB (one buffer per temporary)\n", "peak RSS", rss_mb);
    printf("  %-14s %.2f ms (front end %.2f, graph %.2f, %s %.2f, lower + memory plan %.2f)\n",
           "compile", compile, b->ms_front, b->ms_graph,
           b->mode == BENCH_STAGE_TRAIN ? "autodiff" : "grad expansion", b->ms_grad, b->ms_lower);
    if (b->o->jit)
        printf("  %-14s %.1f ms cold (%d of %d convolutions, %d kernels from the cache), "
               "%.1f ms warm (%d from the cache)\n", "jit compile", b->ms_jit_cold,
               b->jit_kernels, b->jit_convs, b->jit_cold_cached, b->ms_jit_warm,
               b->jit_warm_cached);
    printf("result: step_ms=%.3f min_ms=%.3f max_ms=%.3f steps=%d threads=%d gflop=%.4f "
           "gflops=%.2f peak_gflops=%.1f peak_pct=%.2f rss_mb=%.1f arena_mb=%.1f compile_ms=%.2f "
           "jit=%d jit_cold_ms=%.1f jit_warm_ms=%.1f tiles=%lld\n", med, times[0],
           times[b->steps - 1], b->steps, b->threads, gflop, gfs, peak,
           peak > 0 ? 100 * gfs / peak : 0.0, rss_mb, (double)b->arena_bytes / (1024.0 * 1024.0),
           compile, b->o->jit, b->ms_jit_cold, b->ms_jit_warm, (long long)b->tiles);
}

/* --------------------------------------------------------------- command */

static int bench_run(bench *b)
{
    rt_error err = {{0}};
    if (b->pr.kernels && bench_jit(b, &err)) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    rt_interp *it = rt_interp_new(b->pr.prog, b->o->seed, b->threads);
    if (b->pr.kernels)
        rt_interp_set_kernels(it, jit_program_table(b->pr.kernels));
    b->arena_bytes = rt_interp_arena_bytes(it);
    bench_inputs(b, it);
    if (b->o->n_volume && (b->mode != BENCH_NET || bench_volume(b, it) != CLI_OK)) {
        if (b->mode != BENCH_NET)
            cli_error("bench --volume: give a net (--net), not a stage");
        rt_interp_free(it);
        return CLI_USAGE;
    }
    const char *optim = "";
    rt_optim *opt = b->mode == BENCH_STAGE_TRAIN ? bench_optim(b, it, &optim, &err) : NULL;
    int rc = b->mode == BENCH_STAGE_TRAIN && !opt ? -1 : 0;
    double *times = seg_xcalloc((size_t)b->steps, sizeof *times);
    if (rc == 0)
        rc = bench_steps(b, it, opt, times, &err);
    if (rc == 0)
        bench_report(b, times, optim);
    else
        cli_error("%s", err.msg);
    seg_free(times);
    seg_free(b->volume);
    rt_optim_free(opt);
    rt_interp_free(it);
    return rc ? CLI_RUNTIME : CLI_OK;
}

int cli_cmd_bench(const cli_opts *o)
{
    bench b;
    memset(&b, 0, sizeof b);
    b.o = o;
    b.threads = o->threads;
    openblas_set_num_threads(b.threads); /* always: both thread pools the same size */
    b.steps = o->steps > 0 ? o->steps : BENCH_DEFAULT_STEPS;
    b.warmup = b.steps >= 5 ? 2 : 1;
    b.diag = seg_diag_new(stderr);
    int rc = bench_compile(&b);
    if (rc == CLI_OK)
        rc = bench_run(&b);
    pipeline_result_free(&b.pr);
    cli_rest_free(&b.rest);
    seg_free(b.net_name);
    seg_free(b.stages);
    if (b.prog)
        seg_program_free(b.prog);
    seg_diag_free(b.diag);
    fflush(stdout);
    return rc;
}
