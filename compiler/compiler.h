/* compiler.h — the public face of segc's compiler layer.
 *
 * The graph IR: an SSA dataflow graph whose nodes are ops (runtime/ops.def)
 * and whose values are tensors with static types. Each node is exactly one
 * value; a node's id is its index, and inputs always have smaller ids than
 * the node using them, so the node array is already a topological order.
 * Every node remembers the .seg span it came from.
 *
 * Parameters are named leaves (OP_PARAM) with a hierarchical dotted name
 * ("level.2.encoder.conv0.weight"), an initialiser, a group tag and a
 * frozen flag. Buffers (BN running statistics) are OP_PARAM leaves with
 * is_buffer set.
 *
 * The compiler never parses .seg text (lang/ does) and includes only
 * runtime/runtime.h below it.
 */
#ifndef SEGC_COMPILER_H
#define SEGC_COMPILER_H

#include "../runtime/runtime.h"

typedef int ir_id; /* node index; -1 = none */

typedef struct ir_param {
    rt_init init;      /* how to initialise */
    int is_buffer;     /* 1 = persistent state, never trained (BN stats) */
    int frozen;        /* 1 = gets no gradient (set per training stage) */
    const char *group; /* optimizer group tag ("" = default) */
} ir_param;

typedef struct ir_node {
    rt_op op;
    rt_attrs attrs;
    int n_in;
    ir_id *in;          /* arena-owned, n_in entries */
    rt_type type;       /* static output type */
    seg_span span;      /* .seg source of the call that made it */
    const char *name;   /* inputs and params: their name; else NULL */
    ir_param *param;    /* OP_PARAM only */
} ir_node;

typedef struct ir_output {
    const char *name;
    ir_id id;
} ir_output;

typedef struct ir_graph {
    seg_arena *arena;   /* owns nodes' names, inputs and params */
    ir_node *nodes;     /* growable (seg_xrealloc), n_nodes used */
    int n_nodes, cap_nodes;
    ir_output *outputs; /* growable, n_outputs used */
    int n_outputs, cap_outputs;
    const char *name;   /* the net's name */
    /* Source file names by span.file id, for IR printing and runtime
     * error locations; set by the front end (may be NULL). */
    const char *const *file_names;
    int n_file_names;
} ir_graph;

ir_graph *ir_graph_new(const char *name);
void ir_graph_free(ir_graph *g);

/* Leaves. Names are copied. ir_add_param returns the existing node when a
 * parameter of that name already exists with the same type (sharing), and
 * -1 with err set when the types differ. */
ir_id ir_add_input(ir_graph *g, const char *name, const rt_type *t, seg_span span);
ir_id ir_add_param(ir_graph *g, const char *name, const rt_type *t, rt_init init,
                   int is_buffer, seg_span span, char *err, size_t errlen);
ir_id ir_add_const(ir_graph *g, const rt_type *t, double value, seg_span span);

/* An op node. The output type comes from the op's shape rule
 * (ir_infer_type); reshape, broadcast, cast and random ops take their
 * output type from *want (NULL otherwise). On a shape error returns -1 and
 * writes a message (without location) into err. */
ir_id ir_add_op(ir_graph *g, rt_op op, const rt_attrs *a, const ir_id *in, int n_in,
                const rt_type *want, seg_span span, char *err, size_t errlen);

void ir_add_output(ir_graph *g, const char *name, ir_id id);
/* The node of a named output / input, or -1. */
ir_id ir_find_output(const ir_graph *g, const char *name);
ir_id ir_find_input(const ir_graph *g, const char *name);

/* Shape and dtype rule of every op (compiler/shape.c). Returns 0, or -1
 * with a message such as "conv: input has 3 channels but weight expects 4". */
int ir_infer_type(rt_op op, const rt_attrs *a, const rt_type *in, int n_in,
                  const rt_type *want, rt_type *out, char *err, size_t errlen);
/* 0 when t fits (rt_type_size: at most RT_MAX_TENSOR_BYTES), else -1 and
 * "f32[...] is too large (more than 256 TiB)" in err. ir_infer_type checks
 * every result with it; the front end checks declared input types. */
int ir_type_fits(const rt_type *t, char *err, size_t errlen);
/* Canonical attributes of a node whose types passed ir_infer_type (ir_add_op
 * applies it): nsp from the input rank, conv/conv_t kernel from the weight,
 * negative axes resolved, slice bounds clamped to [0, dim] like Python,
 * reduction axes == 0 spelled out as every axis. */
void ir_attrs_normalize(rt_op op, rt_attrs *a, const rt_type *in);
/* Slice attributes that keep every axis whole (begin 0, end INT64_MAX,
 * step 1); set begin/end/step of the sliced axes after calling it. */
void ir_attrs_slice_all(rt_attrs *a);

/* Stable, readable listing: one line per node with id, op, attributes,
 * type and source line. Golden-tested. */
void ir_print(const ir_graph *g, FILE *out);
/* Parameter listing: name, shape, count; then the total. */
void ir_print_params(const ir_graph *g, FILE *out);
int64_t ir_param_count(const ir_graph *g, int include_buffers);

/* ---------------------------------------------------------- autodiff */

typedef struct ir_ad_stats {
    int nodes_differentiated; /* forward nodes that got a backward */
    int backward_nodes;       /* nodes appended by differentiation */
} ir_ad_stats;

/* Append the backward graph of sum(loss) with respect to every trainable
 * parameter (OP_PARAM, not a buffer, not frozen). param_grad must hold
 * g->n_nodes entries (taken before the call); on return param_grad[p] is
 * the gradient node of parameter p, or -1 when the loss does not depend on
 * it. Only ops on a path from a trainable parameter to the loss get a
 * backward (freeze pruning). stats may be NULL. */
int ir_autodiff(ir_graph *g, ir_id loss, ir_id *param_grad, ir_ad_stats *stats,
                char *err, size_t errlen);

/* A copy of src in which every grad(y, x) node is replaced by the gradient
 * subgraph of sum(y) w.r.t. x, held constant (stop_grad) for any outer
 * differentiation. NULL with err set on failure. */
ir_graph *ir_expand_grads(const ir_graph *src, ir_ad_stats *stats, char *err, size_t errlen);

/* Arithmetic cost of one node (2 per multiply-add in convolutions and
 * matmuls, about 1 per element elsewhere). */
int64_t ir_node_flops(const ir_graph *g, ir_id id);

/* The training step of a stage graph (one with an output "loss"): a copy
 * with grad() expanded (ir_expand_grads), every parameter unfrozen when
 * unfreeze is set (to measure what freezing saves), the backward pass of
 * "loss" appended (ir_autodiff), and one output "grad:<param>" per
 * parameter that gets a gradient. *n_forward receives the node count
 * before the backward pass (may be NULL). NULL with err set on failure. */
ir_graph *ir_training_graph(const ir_graph *stage, int unfreeze, int *n_forward,
                            ir_ad_stats *stats, char *err, size_t errlen);

/* Lower to the runtime's straight-line program (one instruction per
 * non-leaf node). The program is independent of the graph afterwards. */
rt_program *ir_lower(const ir_graph *g);

/* ------------------------------------------------------------- fusion */

/* compiler/fuse.c: op patterns (a lattice, as TVM's) and the pass that
 * turns groups of elementwise ops, with a final sum/mean, into OP_FUSED
 * instructions. Run after autodiff and before the memory plan. */
typedef enum fuse_pattern {
    FUSE_ELEMWISE,     /* pointwise, same shapes */
    FUSE_BROADCAST,    /* pointwise with a broadcast input */
    FUSE_INJECTIVE,    /* each output element from one input element */
    FUSE_REDUCE,       /* reductions over axes */
    FUSE_OUT_ELEMWISE, /* may absorb an elementwise epilogue (conv, matmul) */
    FUSE_OPAQUE,       /* everything else */
} fuse_pattern;

#define FUSE_MAX_NODES 16  /* member ops of one group */
#define FUSE_MAX_INPUTS 8  /* outside inputs of one group */

typedef struct fuse_stats {
    int instrs_before, instrs_after;
    int groups;        /* OP_FUSED instructions made */
    int fused_ops;     /* instructions they replace */
    int fills_dropped; /* constant fills copied into their readers */
    int conv_relus;    /* ReLUs made a conv's epilogue (attrs.relu) */
    int relu_grads;    /* ReLU gradients made a data gradient's epilogue */
    int bias_sums;     /* bias gradients a weight gradient's driver sums (attrs.early_by) */
    int bn_folded;     /* inference batch norms folded into convs (compiler/pipeline.c) */
    int residuals;     /* residual adds made a conv's epilogue (attrs.residual) */
} fuse_stats;

fuse_pattern fuse_pattern_of(rt_op op);
/* A new program with the groups fused (same values; p is unchanged and
 * may be freed first). st may be NULL. */
rt_program *fuse_program(const rt_program *p, fuse_stats *st);
/* Shared by the passes that rewrite lowered programs (compiler/progedit.c):
 * a new program (own arena) with p's values, room for extra_values more,
 * and p's outputs, no instructions yet; an instruction copied into q's
 * arena; per value its defining instruction (-1 = none) and its readers
 * (instruction inputs, plus one per program output). */
rt_program *prog_new_like(const rt_program *p, int extra_values);
void prog_copy_instr(rt_program *q, const rt_instr *ins, rt_instr *to);
void prog_def_users(const rt_program *p, int *def, int *users);

/* Inference-mode batch norms folded into the conv before them
 * (compiler/fold_bn.c): a new program, p unchanged; *folded = how many. */
rt_program *fold_bn_program(const rt_program *p, int *folded);

/* ------------------------------------------------------- memory plans */

/* Static arena offsets for every temp of p (compiler/memplan.c; runtime.h
 * "memory plans"): liveness intervals from definition to last reader
 * (program outputs to the end), then greedy-by-size best-fit placement
 * with 64-byte alignment. Deterministic. The plan is allocated in arena
 * and describes p as it is now. */
/* ws: per instruction, bytes of workspace it needs while it runs (the JIT
 * conv driver's blocked operands: jit_program_workspace), placed in the
 * arena like a temp live at that instruction only; NULL = none. */
const rt_mem_plan *mem_plan_build(const rt_program *p, const int64_t *ws, seg_arena *arena);
/* p->plan = a plan of p in p's own arena (no-op if p has one), so every
 * interpreter made on p with rt_interp_new runs on one arena. */
void mem_plan_attach(rt_program *p, const int64_t *ws);

/* ------------------------------------------------- kernel IR / codegen */

/* Kernel IR (compiler/kir.c): one loop nest over blocked tensors, as a
 * small description with a stable text form (kir_print) that keys the JIT
 * object cache and is what `segc kir` shows. Codegen (compiler/
 * codegen_llvm.c, codegen_eltwise.c) lowers it to LLVM IR with explicit
 * vector types and loads it through runtime/jit: convolutions (forward,
 * weight gradient; data gradients and transposed convs as forward kernels)
 * and fused elementwise groups. */

typedef enum kir_kind {
    KIR_CONV_FWD,   /* direct convolution forward, NCDHW{vl}c output */
    KIR_CONV_BWD_W, /* weight gradient: direct reduction over blocked x, dy */
    KIR_ELTWISE,    /* a fused elementwise group, optionally summed (kir_eltwise.c) */
} kir_kind;

/* Fused epilogue of a convolution, applied in this order:
 * y = relu(conv(x, w) + bias + residual), then the mask. */
enum {
    KIR_EPI_BIAS = 1 << 0,     /* add bias[oc] */
    KIR_EPI_RESIDUAL = 1 << 1, /* add a tensor shaped like y (blocked) */
    KIR_EPI_RELU = 1 << 2,     /* max(., 0), NaN propagates */
    KIR_EPI_MASK = 1 << 3,     /* mask > 0 ? y : 0, the mask shaped like y (blocked) and
                                  passed as the residual operand: a data gradient's
                                  ReLU gradient (NaN in the mask: 0) */
};

typedef struct kir_conv {
    int64_t n;          /* batch */
    int64_t cin, cout;  /* logical channels (padded up to ib / vl in memory) */
    int64_t in[3];      /* input D, H, W (2-D: D = 1; 1-D: D = H = 1) */
    int64_t out[3];     /* output D, H, W */
    int k[3];           /* kernel size per axis */
    int s[3];           /* stride */
    int p[3];           /* symmetric zero padding */
    int d[3];           /* dilation */
    int vl;             /* output channel block = f32 lanes (16 AVX-512, 8 AVX2) */
    int ib;             /* input channel block: vl (blocked x) or 1 (plain NCDHW x) */
    int rc;             /* register tile: output channel blocks */
    int rw;             /* register tile: output x positions (at most) */
    int ic_chunk;       /* input blocks per pass over a row; partial sums live in y */
    int rows;           /* KIR_CONV_FWD: output rows (oh) per task, each chunk over all of them */
    unsigned epi;       /* KIR_EPI_* */
    int parts;          /* KIR_CONV_BWD_W: fixed split of the reduction rows */
    int wlanes;         /* KIR_CONV_BWD_W: input lanes per pass over a row (divides ib) */
    int wchains;        /* KIR_CONV_BWD_W: positions round-robin over this many accumulator sets */
    int wtaps;          /* KIR_CONV_BWD_W: tap columns per pass: 1, or all k[2] (stride-1 x) */
} kir_conv;

/* A fused group (OP_FUSED) as a loop nest over a view of at most three
 * dims [ext0][ext1][ext2] of the iteration shape, the innermost vectorised
 * (vl lanes, then a scalar tail). Dims are merged where every operand
 * either varies along all of them or along none, so each operand has one
 * element stride per view dim (0 = broadcast; the innermost is 0 or 1). */
#define KIR_ELT_MAX_IN 8
#define KIR_ELT_MAX_NODES 64
typedef struct kir_elt_node {
    rt_op op;        /* elementwise op, OP_BROADCAST (identity), OP_CONST */
    int n_in;
    int in[3];       /* >= 0: node; < 0: input -1 - in[k] */
    rt_dtype dtype;  /* f32, or u8 (a mask: comparisons, u8 constants) */
    float alpha, lo, hi;
    double value;    /* OP_CONST */
} kir_elt_node;

typedef struct kir_eltwise {
    int n_in;
    rt_dtype in_dtype[KIR_ELT_MAX_IN];
    int64_t in_stride[KIR_ELT_MAX_IN][3];
    int n_nodes;
    kir_elt_node node[KIR_ELT_MAX_NODES];
    int result;          /* the elementwise value: node (>= 0) or input (< 0) */
    int64_t ext[3];      /* view extents (leading 1s when fewer dims) */
    rt_op reduce;        /* 0 (none), OP_SUM or OP_MEAN of the result */
    int64_t out_stride[3]; /* element strides of the output (0 = reduced dim) */
    int64_t count;       /* elements summed into each output (mean divides) */
    rt_dtype out_dtype;
    int64_t chunk;       /* innermost elements per task */
    int vl;
} kir_eltwise;

typedef struct kir_kernel {
    kir_kind kind;     /* which arm below */
    kir_conv conv;     /* KIR_CONV_FWD and KIR_CONV_BWD_W */
    kir_eltwise elt;   /* KIR_ELTWISE */
} kir_kernel;

/* KIR_ELTWISE for a fused instruction: f its expression, in/out the
 * types of its operands and result. -1 with msg set when the generator
 * does not take it (another dtype, a u8 value in arithmetic, more than
 * three view dims...): the reference kernel runs it then. */
int kir_eltwise_init(kir_kernel *k, const rt_fused *f, const rt_type *in, int n_in,
                     const rt_type *out, int vl, char *msg, size_t msglen);
int64_t kir_eltwise_tasks(const kir_eltwise *e);
void kir_eltwise_print(const kir_eltwise *e, seg_buf *out);
/* Generated entry point: tasks [t0, t1) (codegen_eltwise.c). */
typedef void (*cg_eltwise_fn)(void *const *in, void *out, int64_t t0, int64_t t1);
struct LLVMOpaqueModule *cg_eltwise_module(const kir_eltwise *e, struct LLVMOpaqueContext *ctx,
                                           const char *symbol);

/* A forward convolution with nsp (1..3) spatial axes: x [n, cin, in_sp...],
 * weight [cout, cin, ksz...], attrs stride/pad/dilation (groups must be
 * 1). vl from rt_jit_vector_width. Chooses the input layout (ib = 1 for
 * cin <= KIR_PLAIN_CIN) and the blocking (kir_conv_plan). -1 with err set
 * on an unsupported or empty convolution. */
#define KIR_PLAIN_CIN 4 /* inputs with at most this many channels stay NCDHW */
int kir_conv_init(kir_kernel *k, int nsp, int64_t n, int64_t cin, int64_t cout,
                  const int64_t *in_sp, const int64_t *ksz, const rt_attrs *a, unsigned epi,
                  int vl, char *err, size_t errlen);
/* The weight gradient of that convolution (KIR_CONV_BWD_W): x as for the
 * forward kernel (ib = 1 for cin <= KIR_PLAIN_CIN), dy NCDHW{vl}c, and
 * the result as `parts` partial packed weights ([parts][cout/vl][cin/ib]
 * [kvol][ib][vl]), one per fixed range of (n, od, oh) rows, which the
 * driver sums in part order: bit-identical for any thread count. */
/* The same with the output extents given (stride 1; see kir.c). */
int kir_conv_init_out(kir_kernel *k, int nsp, int64_t n, int64_t cin, int64_t cout,
                      const int64_t *in_sp, const int64_t *ksz, const int64_t *out_sp,
                      const rt_attrs *a, unsigned epi, int vl, char *err, size_t errlen);
int kir_conv_bwd_w_init(kir_kernel *k, int nsp, int64_t n, int64_t cin, int64_t cout,
                        const int64_t *in_sp, const int64_t *ksz, const rt_attrs *a, int vl,
                        char *err, size_t errlen);
/* Choose rc, rw and ic_chunk for the host's register file and caches. */
void kir_conv_plan(kir_conv *c);
/* Stable multi-line text: kind, shapes, layouts, blocking, epilogue. */
void kir_print(const kir_kernel *k, seg_buf *out);
/* Parallel tasks: (n, output-channel group, od, oh) rows; for
 * KIR_CONV_BWD_W (part, output block, input block). */
int64_t kir_conv_tasks(const kir_conv *c);
/* Floats of the blocked operands: x (plain if ib = 1), packed weight,
 * padded bias, y (and residual). For KIR_CONV_BWD_W the "weight" is the
 * partial results (all parts) and y is the blocked dy. */
int64_t kir_conv_x_floats(const kir_conv *c);
int64_t kir_conv_w_floats(const kir_conv *c);
int64_t kir_conv_b_floats(const kir_conv *c);
int64_t kir_conv_y_floats(const kir_conv *c);

/* The generated entry point: rows [task_begin, task_end) of y. bias is
 * padded (kir_conv_b_floats); res may be NULL without KIR_EPI_RESIDUAL. */
typedef void (*cg_conv_fn)(const float *x, const float *w, const float *bias,
                           const float *res, float *y, int64_t task_begin, int64_t task_end);

/* The FP32 FMA peak loop `float name(i64 iters)` (codegen_peak.c): each
 * iteration does one fma on each of cg_peak_chains(vl) vectors of vl
 * floats. */
enum { CG_PEAK_CHAINS_MAX = 24 };
int cg_peak_chains(int vl);
struct LLVMOpaqueModule *cg_peak_module(struct LLVMOpaqueContext *ctx, int vl, const char *name);

/* LLVM module holding `symbol` for k, built in ctx (caller owns both). */
struct LLVMOpaqueModule *cg_conv_module(const kir_kernel *k, struct LLVMOpaqueContext *ctx,
                                        const char *symbol);

/* k's module written as DIR/name.ll (as generated) and DIR/name.opt.ll
 * (after the JIT's own passes for j's CPU) (codegen_emit.c). */
int cg_kernel_write_ll(rt_jit *j, const kir_kernel *k, const char *dir, const char *name,
                       rt_error *err);

/* A compiled, loaded kernel. */
typedef struct cg_kernel {
    kir_kernel kir;       /* what it computes */
    rt_jit_code *code;    /* the loaded object */
    cg_conv_fn conv;      /* entry point (KIR_CONV_FWD, KIR_CONV_BWD_W) */
    cg_eltwise_fn eltwise; /* entry point (KIR_ELTWISE) */
    int from_cache;       /* 1 = object came from the disk cache */
    char symbol[40];      /* "segc_k" + hash of the key text */
} cg_kernel;

/* Compile k (or load its object from the cache) and link it into j. */
cg_kernel *cg_kernel_build(rt_jit *j, const kir_kernel *k, rt_error *err);
/* The same in two steps, so objects can be made on several threads (one
 * emitter each; em NULL = j's own, one thread) and linked on one. */
typedef struct cg_object {
    void *obj;        /* seg-owned until linked */
    size_t len;
    int from_cache;
    char symbol[40];
} cg_object;
int cg_object_make(rt_jit *j, rt_jit_emitter *em, const kir_kernel *k, cg_object *o,
                   rt_error *err);
/* k's cache key text (seg-owned) and the symbol its object defines: what
 * cg_object_make looks up and links; tests plant entries with them. */
char *cg_object_text(rt_jit *j, const kir_kernel *k);
void cg_object_symbol(const char *text, char symbol[40]);
/* Links o (and frees its bytes, success or not). */
cg_kernel *cg_kernel_link(rt_jit *j, const kir_kernel *k, cg_object *o, rt_error *err);
void cg_kernel_free(rt_jit *j, cg_kernel *k);
/* Run a conv kernel over all its tasks on pool p (NULL = this thread). */
void cg_conv_run(const cg_kernel *k, rt_pool *p, const float *x, const float *w,
                 const float *bias, const float *res, float *y);

/* ------------------------------------------------------- jit programs */

/* JIT kernels for a whole rt_program (compiler/jitprog.c), run by the
 * interpreter through its kernel hook (rt_interp_set_kernels): generated
 * kernels for convolutions (forward, both gradients, transposed; f32,
 * groups 1) and fused groups (OP_FUSED), compiled or loaded from the
 * object cache, one per distinct kernel IR; the runtime's fast kernels
 * for what rt_fast_kernel_for takes; reference kernels for the rest.
 * jitprog.c's header says which fusions the conv drivers carry out. */
typedef struct jit_program jit_program;

/* A strided data gradient or a transposed convolution as one stride-1
 * kernel per output phase (compiler/jitphase.c, runtime RT_CONV_PHASED).
 * kir[i] describes phase i's kernel when phase[i] has taps. */
#define JIT_MAX_STRIDE 3
#define JIT_MAX_PHASES (JIT_MAX_STRIDE * JIT_MAX_STRIDE * JIT_MAX_STRIDE)
typedef struct jit_phased {
    rt_conv_kernel k; /* k.phases points at phase */
    rt_conv_phase phase[JIT_MAX_PHASES];
    kir_kernel kir[JIT_MAX_PHASES];
} jit_phased;
/* 0 when instruction ins (OP_CONV_BWD_DATA or OP_CONV_T) is taken. */
int jit_phased_init(jit_phased *jph, const rt_program *p, const rt_instr *ins, int vl);

typedef struct jit_program_stats {
    int convs;        /* OP_CONV instructions */
    int kernels;      /* of them, run by JIT kernels */
    int fused_relus;  /* ReLUs folded into a kernel's epilogue */
    int bwd_data;     /* OP_CONV_BWD_DATA instructions */
    int bwd_data_jit; /* of them, on JIT kernels (stride 1: forward kernels) */
    int bwd_weight;   /* OP_CONV_BWD_WEIGHT instructions */
    int bwd_weight_jit; /* of them, on JIT kernels */
    int distinct;     /* distinct kernels built */
    int from_cache;   /* of those, objects loaded from the cache */
    int fast;         /* instructions on the runtime's fast kernels (rt_fast_kernel_for) */
    int groups;       /* OP_FUSED instructions (compiler/fuse.c) */
    int groups_jit;   /* of them, on generated kernels */
    int bias_sums;    /* bias gradients summed by weight-gradient drivers */
    int conv_t;       /* OP_CONV_T instructions */
    int conv_t_jit;   /* of them, on phased JIT kernels */
    int blocked_values; /* results stored blocked for the convs reading them (concats) */
    double seconds;   /* wall time of the build */
} jit_program_stats;

/* Kernels for p (which must outlive the result) in two steps, so the
 * memory plan can place the drivers' workspaces in between:
 * jit_program_select decides every instruction's kernel for vl-lane
 * vectors (no LLVM yet; a pure function of p), jit_program_compile makes
 * (or loads from the cache) and links them into j (NULL: a JIT of its
 * own; its width must be vl). -1 with err set when a build fails.
 * jit_program_build does both for a JIT's width (tests, `segc bench`'s
 * warm rebuild); NULL with err set on failure. */
jit_program *jit_program_select(const rt_program *p, int vl);
/* The same, with the drivers' blocked outputs in chunks of at most
 * y_chunk_bytes (at least one output group; jit_program_select: 16 MB). */
jit_program *jit_program_select_chunked(const rt_program *p, int vl, int64_t y_chunk_bytes);
int jit_program_compile(jit_program *jp, const rt_program *p, rt_jit *j, rt_error *err);
jit_program *jit_program_build(const rt_program *p, rt_jit *j, rt_error *err);
/* The kernel IR jit_program_select gives conv instruction ins (epilogue
 * epi; the bias added here): NULL, or why the JIT leaves it to the
 * reference kernel (msg may hold the text). */
const char *jit_conv_kir(const rt_program *p, const rt_instr *ins, unsigned epi, int vl,
                         kir_kernel *kk, char *msg, size_t n);
/* Per instruction, the bytes of workspace its kernel's driver needs
 * (0 = none), for the memory plan (seg-owned). */
int64_t *jit_program_workspace(const jit_program *jp);
const rt_kernel_table *jit_program_table(const jit_program *jp);
const jit_program_stats *jit_program_stats_of(const jit_program *jp);
int jit_program_vector_width(const jit_program *jp);
/* What was chosen for instruction i (`segc kir` prints it). */
typedef struct jit_choice {
    int kernel;               /* its kernel (jit_program_kernel), -1 = none */
    int phases;               /* phased: kernel per output phase in phase_kernel (-1: no taps) */
    const int *phase_kernel;
    const rt_conv_kernel *conv; /* the runtime's view of a conv kernel, or NULL */
    int fast;                 /* runs on a fast runtime kernel */
    int by;                   /* done by instruction by's kernel (a bias sum), -1 = no */
    int blocked_out;          /* its result is stored blocked (NCDHW{vl}c) for the conv
                                 kernels that read it (rt_conv_kernel.x_blocked) */
    const char *why;          /* otherwise: why it stays on the reference kernel */
} jit_choice;
void jit_program_choice(const jit_program *jp, int i, jit_choice *c);
/* Value v's layout between kernels, for `segc kir`: "stored blocked", or
 * "plain: " and why (the op that writes it or the first that reads it
 * plain, the reason a layout copy remains). */
void jit_program_layout_note(const jit_program *jp, const rt_program *p, int v, char *buf,
                             size_t n);
/* Layout copies the conv drivers make per run (x or dy into the blocked
 * layout, y out of it), and those the program avoids (operands stored
 * blocked), for `segc plan`. */
void jit_program_layout_counts(const jit_program *jp, int *copies, int *stored);
/* Distinct kernel k: its IR and (text) the kir text that keys the cache. */
const kir_kernel *jit_program_kernel(const jit_program *jp, int k, const char **text);
/* One line: "jit WHAT: 14 of 15 convolutions on JIT kernels (...)". */
void jit_program_describe(const jit_program *jp, const char *what, FILE *out);
void jit_program_free(jit_program *jp);

/* ------------------------------------------------------------ pipeline */

/* compiler/pipeline.c: the one place that orders the passes from a graph
 * to a runnable program. Every command that runs or describes a program
 * (run, train, bench, kir, plan) goes through it:
 *   graph   PIPELINE_TRAIN: grad() expanded, the backward of "loss" for
 *           every trainable parameter appended, "grad:<param>" outputs
 *           (ir_training_graph); PIPELINE_INFER: grad() expanded only;
 *   lower   to the runtime's straight-line program (ir_lower);
 *   fuse    with `jit`: inference batch norms folded into their convs
 *           (fold_bn_program), then every fusion (fuse_program);
 *   select  with `jit`: each instruction's kernel (jit_program_select);
 *   plan    one arena for every temp and the drivers' workspaces;
 *   budget  with `budget`: will it fit in memory (runtime/budget.c)?
 *   compile with `jit` and `compile`: the kernels made and linked.
 * Without `jit` the program is the unfused one the reference interpreter
 * runs (the oracle), planned all the same. */
typedef enum pipeline_mode {
    PIPELINE_INFER, /* a forward program (grad() nodes expanded) */
    PIPELINE_TRAIN, /* a training step of a stage graph (output "loss") */
} pipeline_mode;

typedef struct pipeline_opts {
    pipeline_mode mode;
    int unfreeze;       /* PIPELINE_TRAIN: every parameter trainable (segc plan) */
    int jit;            /* fuse and choose JIT kernels (0: reference interpreter) */
    int compile;        /* with jit: make and link the kernels (0: stop at the plan) */
    rt_jit *host;       /* where kernels are linked (NULL: a JIT of the program's own) */
    int keep_graph;     /* keep the differentiated graph in the result (segc plan) */
    FILE *log;          /* with a compiled JIT: its "jit WHAT: ..." lines, NULL = quiet */
    const char *what;   /* the name in those lines ("forward", a stage's name) */
    rt_budget *budget;  /* the program will run: its bytes are added to *budget and
                           checked (rt_budget_check) after the plan, before the
                           kernels are compiled; NULL = no check (plan, kir) */
} pipeline_opts;

typedef struct pipeline_result {
    rt_program *prog;     /* the program to run, memory-planned */
    jit_program *kernels; /* with jit: its kernels (compiled when asked), else NULL */
    ir_graph *graph;      /* with keep_graph: the graph that was lowered */
    int n_forward;        /* nodes of that graph before the backward pass */
    int64_t fwd_flops, bwd_flops;
    ir_ad_stats ad;
    fuse_stats fuse;
    double ms_graph, ms_lower, ms_jit; /* time in each phase */
} pipeline_result;

/* The stages of a failure: the graph is the program's fault, the JIT
 * the machine's (different exit codes in the CLI). */
enum { PIPELINE_OK = 0, PIPELINE_BAD_GRAPH = -1, PIPELINE_JIT_FAILED = -2,
       PIPELINE_NO_MEMORY = -3 /* the budget check failed */ };
int pipeline_build(const ir_graph *g, const pipeline_opts *o, pipeline_result *r, rt_error *err);
void pipeline_result_free(pipeline_result *r);

#endif
