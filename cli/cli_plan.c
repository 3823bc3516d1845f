/* cli_plan.c — `segc plan`: what each stage of a training schedule costs.
 *
 * For every stage we build its training graph (seg_stage_graph: frozen
 * flags set, batch norms of frozen params in inference mode) and compile
 * it with compiler/pipeline.c exactly as the training driver will (grad()
 * expanded, the output "loss" differentiated, fused and memory-planned;
 * the JIT kernels chosen but not compiled). Nothing runs; everything
 * printed is counted on the graph and the plan:
 *   - trainable and frozen parameters (scalars and tensors);
 *   - forward FLOPs (nodes that existed before autodiff) and backward
 *     FLOPs (nodes autodiff appended), per step;
 *   - what freezing saves: a second copy of the graph with every
 *     non-buffer param unfrozen (batch-norm modes untouched) is
 *     differentiated too, and the backward node and FLOP counts compared;
 *   - what each frozen convolution keeps: a data gradient only (it lies
 *     between trainable params and the loss) or no backward at all;
 *   - what a data-parallel step (mpirun, runtime/dist.c) communicates:
 *     the trainable gradients and the f32 buffers, never a frozen
 *     parameter's, in buckets;
 *   - the sum of the lowered training program's tensor sizes, and the
 *     arena the memory planner (compiler/memplan.c) gives its temps: the
 *     peak bytes of one step, what the trainer allocates, plus the
 *     params, buffers and inputs that live outside the arena. The program
 *     is the trainer's: outputs "loss", the model's, and "grad:<param>";
 *   - the layout copies its conv kernels still make per step, and the
 *     operands stored blocked instead (jit_program_layout_counts).
 * --set takes only B (the batch size); model arguments are the schedule's.
 * The trainer counts each stage the same way (cli_plan_graph_stats) for
 * the run folder's plan.csv.
 * Exit codes: 1 usage, 65 program errors (including autodiff failures).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One differentiated copy of a stage graph. */
typedef struct plan_side {
    pipeline_result pr; /* the step as compiler/pipeline.c builds it */
    const ir_graph *g;  /* its differentiated graph (pr.graph) */
    int n_fwd;          /* nodes before autodiff */
} plan_side;

enum { CONV_TRAINABLE, CONV_DATA_ONLY, CONV_NONE };

/* ------------------------------------------------------------ formatting */


static double gflop(int64_t f) { return (double)f / 1e9; }

/* Bytes as megabytes (10^6) with one decimal, grouped: "2,563.4". */
static const char *mbytes(int64_t b, char *buf, size_t n)
{
    int64_t tenths = (b + 50000) / 100000;
    char whole[32];
    snprintf(buf, n, "%s.%d", cli_group_digits(tenths / 10, whole, sizeof whole), (int)(tenths % 10));
    return buf;
}

/* ---------------------------------------------------------------- graphs */

/* The stage's training step, as the trainer compiles it (fused and
 * planned for the JIT, kernels chosen but not built), optionally with
 * every parameter unfrozen, to compare what freezing saves. */
static int side_build(const ir_graph *stage, int unfreeze, plan_side *sd, char *err, size_t n)
{
    memset(sd, 0, sizeof *sd);
    pipeline_opts po = {.mode = PIPELINE_TRAIN, .unfreeze = unfreeze, .jit = 1, .keep_graph = 1};
    rt_error e = {{0}};
    if (pipeline_build(stage, &po, &sd->pr, &e) != PIPELINE_OK) {
        snprintf(err, n, "%s", e.msg);
        return -1;
    }
    sd->g = sd->pr.graph;
    sd->n_fwd = sd->pr.n_forward;
    return 0;
}

static void side_free(plan_side *sd)
{
    pipeline_result_free(&sd->pr);
    memset(sd, 0, sizeof *sd);
}

/* ---------------------------------------------------------------- counts */

static void count_params(const plan_side *sd, cli_plan_stats *st)
{
    for (int i = 0; i < sd->n_fwd; i++) {
        const ir_node *n = &sd->g->nodes[i];
        if (n->op != OP_PARAM)
            continue;
        int64_t k = rt_type_numel(&n->type);
        if (n->param->is_buffer) {
            st->buffer_scalars += n->type.dtype == RT_F32 ? k : 0;
            continue;
        }
        if (n->param->frozen) {
            st->frozen_scalars += k;
            st->frozen_tensors++;
        } else {
            st->train_scalars += k;
            st->train_tensors++;
        }
    }
}

/* FLOPs of the forward part [0, n_fwd) and of the backward part. */
static void count_flops(const plan_side *sd, int64_t *fwd, int64_t *bwd)
{
    *fwd = *bwd = 0;
    for (int i = 0; i < sd->g->n_nodes; i++)
        *(i < sd->n_fwd ? fwd : bwd) += ir_node_flops(sd->g, i);
}

/* What the conv(s) with weight w keep: a frozen weight whose data gradient
 * is computed (conv_bwd_data, or conv for a transposed conv, reading w)
 * keeps the data gradient only; otherwise it has no backward. */
static int conv_kind(const plan_side *sd, ir_id w)
{
    if (!sd->g->nodes[w].param->frozen)
        return CONV_TRAINABLE;
    for (int i = sd->n_fwd; i < sd->g->n_nodes; i++) {
        const ir_node *n = &sd->g->nodes[i];
        if ((n->op == OP_CONV_BWD_DATA || n->op == OP_CONV) && n->n_in > 1 && n->in[1] == w)
            return CONV_DATA_ONLY;
    }
    return CONV_NONE;
}

/* Convolutions by weight parameter (a shared weight counts once); with
 * verbose set, one line per frozen one. */
static void count_convs(const plan_side *sd, cli_plan_stats *st, FILE *verbose)
{
    unsigned char *seen = seg_xcalloc((size_t)sd->n_fwd, 1);
    for (int i = 0; i < sd->n_fwd; i++) {
        const ir_node *n = &sd->g->nodes[i];
        if ((n->op != OP_CONV && n->op != OP_CONV_T) || n->n_in < 2)
            continue;
        ir_id w = n->in[1];
        const ir_node *wn = &sd->g->nodes[w];
        if (wn->op != OP_PARAM || wn->param->is_buffer || seen[w])
            continue;
        seen[w] = 1;
        int kind = conv_kind(sd, w);
        st->conv_trainable += kind == CONV_TRAINABLE;
        st->conv_data_only += kind == CONV_DATA_ONLY;
        st->conv_none += kind == CONV_NONE;
        if (verbose && kind != CONV_TRAINABLE)
            fprintf(verbose, "    %-40s %s\n", wn->name,
                    kind == CONV_DATA_ONLY ? "data gradient only" : "no backward");
    }
    seg_free(seen);
}

/* Sum of every value's size in the lowered training program. */
static void count_memory(const plan_side *sd, cli_plan_stats *st)
{
    rt_program *p = ir_lower(sd->g);
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        int64_t b = rt_type_numel(&v->type) * (int64_t)rt_dtype_size(v->type.dtype);
        if (v->kind == RT_VAL_PARAM || v->kind == RT_VAL_BUFFER)
            st->bytes_param += b;
        else if (i >= sd->n_fwd)
            st->bytes_grad += b;
        else
            st->bytes_act += b;
    }
    const rt_mem_plan *m = sd->pr.prog->plan; /* the arena as the JIT runs the step */
    st->bytes_arena = m->arena_bytes;
    st->bytes_fixed = m->fixed_bytes;
    if (sd->pr.kernels)
        jit_program_layout_counts(sd->pr.kernels, &st->layout_copies, &st->layout_stored);
    rt_program_free(p);
}

/* ---------------------------------------------------------------- output */

/* "  label     12.345 GFLOP  (12,345,678,901 FLOP" — the caller closes it. */
static void print_flops(FILE *out, const char *label, int64_t flops)
{
    char a[32];
    fprintf(out, "  %-30s %13.3f GFLOP  (%s FLOP", label, gflop(flops),
            cli_group_digits(flops, a, sizeof a));
}

static void print_counts(FILE *out, const cli_plan_stats *st)
{
    char a[32], b[32];
    fprintf(out, "  %-30s %13s scalars in %d tensors\n", "trainable params",
            cli_group_digits(st->train_scalars, a, sizeof a), st->train_tensors);
    fprintf(out, "  %-30s %13s scalars in %d tensors\n", "frozen params",
            cli_group_digits(st->frozen_scalars, a, sizeof a), st->frozen_tensors);
    print_flops(out, "forward", st->fwd_flops);
    fprintf(out, ", %s nodes)\n", cli_group_digits(st->fwd_nodes, a, sizeof a));
    print_flops(out, "backward", st->bwd_flops);
    fprintf(out, ", %s nodes)\n", cli_group_digits(st->bwd_nodes, a, sizeof a));
    print_flops(out, "per step (forward + backward)", st->fwd_flops + st->bwd_flops);
    fputs(")\n", out);
    int64_t saved = st->unfrozen_bwd_flops - st->bwd_flops;
    double pct = st->unfrozen_bwd_flops ? 100.0 * (double)saved / (double)st->unfrozen_bwd_flops
                                        : 0.0;
    print_flops(out, "backward removed by freezing", saved);
    fprintf(out, ", %.1f%% of unfrozen; %s of %s nodes)\n", pct,
            cli_group_digits(st->unfrozen_bwd_nodes - st->bwd_nodes, a, sizeof a),
            cli_group_digits(st->unfrozen_bwd_nodes, b, sizeof b));
}

static void print_convs_memory(FILE *out, const cli_plan_stats *st)
{
    char a[40], b[40], c[40];
    fprintf(out, "  %-30s %13d trainable, %d frozen with data gradient only, "
            "%d frozen with no backward\n", "convolutions",
            st->conv_trainable, st->conv_data_only, st->conv_none);
    int64_t total = st->bytes_act + st->bytes_grad + st->bytes_param;
    fprintf(out, "  %-30s %13s MB  sum of tensor sizes, %s bytes\n", "memory",
            mbytes(total, a, sizeof a), cli_group_digits(total, b, sizeof b));
    fprintf(out, "  %-30s %13s MB  planned arena (fused step), %s bytes, + %s MB params/inputs\n",
            "", mbytes(st->bytes_arena, a, sizeof a), cli_group_digits(st->bytes_arena, b, sizeof b),
            mbytes(st->bytes_fixed, c, sizeof c));
    fprintf(out, "  %-30s %13s MB  activations, %s MB gradients, %s MB params\n", "",
            mbytes(st->bytes_act, a, sizeof a), mbytes(st->bytes_grad, b, sizeof b),
            mbytes(st->bytes_param, c, sizeof c));
    fprintf(out, "  %-30s %13d conv operands copied between plain and blocked layouts per "
            "step, %d stored blocked (segc kir --stage: each, and why)\n", "layout copies",
            st->layout_copies, st->layout_stored);
}

void cli_plan_print(FILE *out, const cli_plan_stats *st)
{
    print_counts(out, st);
    print_convs_memory(out, st);
}

/* ---------------------------------------------------------------- stages */

int cli_plan_graph_stats(const ir_graph *g, cli_plan_stats *st, FILE *verbose, char *err, size_t n)
{
    plan_side fr, un;
    memset(st, 0, sizeof *st);
    int rc = side_build(g, 0, &fr, err, n);
    if (rc == 0)
        rc = side_build(g, 1, &un, err, n);
    else
        memset(&un, 0, sizeof un);
    if (rc == 0) {
        int64_t ufwd;
        count_params(&fr, st);
        count_flops(&fr, &st->fwd_flops, &st->bwd_flops);
        count_flops(&un, &ufwd, &st->unfrozen_bwd_flops);
        st->fwd_nodes = fr.n_fwd;
        st->bwd_nodes = fr.g->n_nodes - fr.n_fwd;
        st->unfrozen_bwd_nodes = un.g->n_nodes - un.n_fwd;
        count_convs(&fr, st, verbose);
        count_memory(&fr, st);
    }
    side_free(&fr);
    side_free(&un);
    return rc;
}

/* Bytes each rank of `mpirun -np N segc train` averages per step. */
static void print_comm(FILE *out, const cli_plan_stats *st)
{
    int64_t floats = st->train_scalars + st->buffer_scalars;
    int64_t bytes = rt_dist_payload_bytes(floats);
    char a[40], b[40];
    fprintf(out, "  %-30s %13s MB  per step under mpirun: %s bytes of trainable gradients%s in "
            "%d bucket%s (frozen params send nothing); each of N ranks sends and receives "
            "2(N-1)/N of it\n", "communicated", mbytes(bytes, a, sizeof a),
            cli_group_digits(bytes, b, sizeof b), st->buffer_scalars ? " and buffers" : "",
            rt_dist_bucket_count(floats), rt_dist_bucket_count(floats) == 1 ? "" : "s");
}

static int plan_stage(seg_program *p, const seg_schedule *s, int i, const cli_opts *o,
                      seg_diag *d)
{
    const seg_stage *sg = &s->stages[i];
    ir_graph *g = seg_stage_graph(p, s, i, 1, d);
    if (!g || seg_diag_error_count(d) > 0) {
        if (g)
            ir_graph_free(g);
        return CLI_BAD_PROGRAM;
    }
    printf("\nstage %s (%d of %d), batch %d\n", sg->name, i + 1, s->n_stages, sg->batch);
    cli_plan_stats st;
    char err[512];
    char *list = NULL;
    size_t len = 0;
    FILE *verbose = o->verbose ? open_memstream(&list, &len) : NULL;
    int rc = cli_plan_graph_stats(g, &st, verbose, err, sizeof err);
    ir_graph_free(g);
    if (verbose)
        fclose(verbose);
    if (rc == 0) {
        cli_plan_print(stdout, &st);
        print_comm(stdout, &st);
        if (len)
            printf("  frozen convolutions, by weight:\n%s", list);
    } else
        cli_error("stage '%s': %s", sg->name, err);
    free(list);
    return rc ? CLI_BAD_PROGRAM : CLI_OK;
}

/* ------------------------------------------------------------- options */


/* --set B=N overrides every stage's batch; *batch stays 0 without it. */
static int parse_batch(const cli_opts *o, int *batch)
{
    *batch = 0;
    return cli_batch_setting(o, "plan", batch);
}

static int file_readable(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("cannot read '%s': %s", path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

/* Every stage of s, with the batch overridden when batch > 0. */
static int plan_schedule(seg_program *p, const seg_schedule *s, int batch, const cli_opts *o,
                         seg_diag *d)
{
    seg_schedule copy = *s;
    seg_stage *stages = seg_xcalloc((size_t)s->n_stages + 1, sizeof *stages);
    for (int i = 0; i < s->n_stages; i++) {
        stages[i] = s->stages[i];
        if (batch > 0)
            stages[i].batch = batch;
    }
    copy.stages = stages;
    seg_buf args = {0};
    cli_schedule_args(s, " (", ", ", &args);
    printf("plan of schedule %s%s%s in %s: %d stage%s, training graphs (nothing runs)\n",
           s->name, args.len ? args.data : "", args.len ? ")" : "", o->files[0], s->n_stages,
           s->n_stages == 1 ? "" : "s");
    seg_buf_free(&args);
    int rc = CLI_OK;
    for (int i = 0; i < s->n_stages && rc == CLI_OK; i++)
        rc = plan_stage(p, &copy, i, o, d);
    seg_free(stages);
    return rc;
}

int cli_cmd_plan(const cli_opts *o)
{
    int batch;
    if (!file_readable(o->files[0]))
        return CLI_USAGE;
    seg_diag *d = seg_diag_new(stderr);
    seg_program *p = seg_load(o->files[0], d);
    int rc = p ? CLI_OK : CLI_BAD_PROGRAM;
    const seg_schedule *s = NULL;
    cli_opts rest = *o;
    rest.settings = NULL;
    if (p)
        rc = cli_pick_schedule(o, p, d, &s, &rest);
    if (rc == CLI_OK)
        rc = parse_batch(&rest, &batch);
    if (rc == CLI_OK)
        rc = plan_schedule(p, s, batch, o, d);
    cli_rest_free(&rest);
    if (p)
        seg_program_free(p);
    seg_diag_free(d);
    return rc;
}
