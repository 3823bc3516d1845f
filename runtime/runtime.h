/* runtime.h — the public face of segc's runtime, the bottom layer.
 *
 * Everything above (compiler/, lang/, cli/) includes this header and no
 * other runtime header (lang/'s syntax tree needs only base.h). It holds:
 *   - base.h: the allocation funnel, arenas, assertions, spans, errors;
 *   - tensor types and the flat attribute record every op uses;
 *   - the op table (generated from ops.def);
 *   - rt_program, the executable form of a graph, and the reference
 *     interpreter that runs it;
 *   - volume I/O (NIfTI).
 * The runtime never includes anything from compiler/ or lang/.
 */
#ifndef SEGC_RUNTIME_H
#define SEGC_RUNTIME_H

#include "base.h"

/* ------------------------------------------------------------- tensors */

#define RT_MAX_RANK 6

typedef enum rt_dtype {
    RT_F32, /* data, activations, parameters */
    RT_I32, /* labels, indices (argmax) */
    RT_U8,  /* masks, comparison results */
    RT_DTYPE_COUNT
} rt_dtype;

const char *rt_dtype_name(rt_dtype t); /* "f32", "i32", "u8" */
size_t rt_dtype_size(rt_dtype t);

/* A static tensor type: dtype and shape. Rank 0 is a scalar. */
typedef struct rt_type {
    rt_dtype dtype;
    int rank;
    int64_t dim[RT_MAX_RANK];
} rt_type;

/* The largest tensor segc represents: 2^48 bytes (256 TiB), more than any
 * 64-bit machine can address today. A shape that does not fit is an error
 * where the shape is built (compiler/shape.c, the file readers), so element
 * and byte counts, and sums of a few thousand of them, fit in int64. */
#define RT_MAX_TENSOR_BYTES ((int64_t)1 << 48)

/* Elements and bytes of t (either pointer may be NULL): 0, or -1 when a
 * dimension is negative or t would hold more than RT_MAX_TENSOR_BYTES.
 * The one place that multiplies a shape out with overflow checks. */
int rt_type_size(const rt_type *t, int64_t *numel, int64_t *bytes);
/* Checked arithmetic on non-negative sizes: 0, or -1 on overflow (a
 * product above RT_MAX_TENSOR_BYTES counts as one). */
int rt_size_mul(int64_t a, int64_t b, int64_t *out);
int rt_size_add(int64_t a, int64_t b, int64_t *out);
/* Elements of a type already checked by rt_type_size. */
int64_t rt_type_numel(const rt_type *t);
int rt_type_equal(const rt_type *a, const rt_type *b);
/* "f32[2, 1, 64, 64, 64]" into buf; returns buf. */
char *rt_type_str(const rt_type *t, char *buf, size_t n);

/* A tensor: a type and contiguous row-major (NCDHW) data. */
typedef struct rt_tensor {
    rt_type type;
    void *data;   /* owned iff owns_data */
    int owns_data;
} rt_tensor;

rt_tensor *rt_tensor_new(const rt_type *t);          /* zero-filled, owns data */
/* The same, or NULL when its data cannot be allocated (sizes from data). */
rt_tensor *rt_tensor_try_new(const rt_type *t);
void rt_tensor_free(rt_tensor *t);
static inline float *rt_f32(const rt_tensor *t) { return (float *)t->data; }
static inline int32_t *rt_i32(const rt_tensor *t) { return (int32_t *)t->data; }
static inline uint8_t *rt_u8(const rt_tensor *t) { return (uint8_t *)t->data; }

/* ----------------------------------------------------------------- ops */

enum {
    RT_F_ELEMWISE = 1 << 0,
    RT_F_REDUCE   = 1 << 1,
    RT_F_LEAF     = 1 << 2,
    RT_F_RANDOM   = 1 << 3,
    RT_F_NOGRAD   = 1 << 4,
    RT_F_STATEFUL = 1 << 5,
};

typedef enum rt_op {
#define RT_OP(e, name, mn, mx, fl) e,
#include "ops.def"
#undef RT_OP
    OP_COUNT
} rt_op;

typedef struct rt_op_info {
    const char *name; /* as written in the IR printer */
    int min_in;       /* fewest inputs */
    int max_in;       /* most inputs, -1 = variadic */
    unsigned flags;   /* RT_F_* */
} rt_op_info;
extern const rt_op_info rt_op_table[OP_COUNT];

typedef enum rt_upsample_mode {
    RT_UP_NEAREST, /* PyTorch 'nearest': src = floor(dst * in / out) */
    RT_UP_LINEAR,  /* linear/bilinear/trilinear by spatial rank, align_corners false */
} rt_upsample_mode;

/* The attributes of an op, one flat record for all ops; each op reads the
 * fields listed beside them and ignores the rest. The output shape of
 * reshape/broadcast/random ops is the node's type, so it is not here. */
typedef struct rt_attrs {
    int nsp;                   /* conv, pools, upsample: spatial rank 1..3 */
    int kernel[3];             /* conv (from weight), pools */
    int stride[3];             /* conv, conv_t, pools */
    int pad[3];                /* conv, conv_t, pools: symmetric zero padding */
    int dilation[3];           /* conv, conv_t */
    int out_pad[3];            /* conv_t: extra size on one side */
    int groups;                /* conv, conv_t */
    int axis;                  /* concat, softmax, log_softmax, argmax, one_hot (1) */
    unsigned axes;             /* sum/mean/max: bit i set = reduce axis i */
    int keepdim;               /* sum/mean/max */
    int mode;                  /* upsample: rt_upsample_mode */
    int training;              /* batchnorm, dropout: 1 = training behaviour */
    int channelwise;           /* dropout: drop whole channels (spatial dropout) */
    int count;                 /* one_hot: number of classes */
    float alpha;               /* leaky_relu slope */
    float lo, hi;              /* clamp bounds; rand_uniform range; rand_normal mean, std */
    float p;                   /* dropout drop probability; bernoulli P(1) */
    float eps;                 /* batchnorm */
    float momentum;            /* batchnorm running-stat update (PyTorch convention) */
    double value;              /* const fill value */
    int64_t begin[RT_MAX_RANK];/* slice, per axis */
    int64_t end[RT_MAX_RANK];  /* slice, per axis (exclusive) */
    int64_t step[RT_MAX_RANK]; /* slice, per axis (>= 1) */
    int perm[RT_MAX_RANK];     /* permute: output axis i = input axis perm[i] */
    uint64_t seed;             /* random ops, dropout */
    uint32_t stream;           /* random ops, dropout: distinguishes draws with one seed */
    const struct rt_fused *fused; /* fused: the expression (owned by the program) */
    int relu;                  /* conv: ReLU of the result, fused by compiler/fuse.c */
    int residual;              /* conv: the last input is added to the result (before the
                                  ReLU), fused by compiler/fuse.c */
    int early_by;              /* fused bias-gradient sum: also written (earlier) by the
                                  weight gradient at instruction early_by - 1; 0 = no */
} rt_attrs;

void rt_attrs_init(rt_attrs *a); /* neutral defaults: stride/dilation 1, groups 1, ... */

/* Output size of one spatial axis of a convolution (and of a pooling
 * window, dil 1): (in + 2 pad - dil (k - 1) - 1) / stride + 1, floor rule;
 * -1 when the window does not fit into the padded input or k, stride or
 * dil is below 1 or pad negative (runtime/ops/conv.c). */
int64_t rt_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil);
/* The same for a transposed convolution, the inverse map:
 * (in - 1) stride - 2 pad + dil (k - 1) + out_pad + 1; below 1 when the
 * padding eats it all (the caller reports that). */
int64_t rt_conv_t_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                           int64_t out_pad);

/* Kernel execution context. */
typedef struct rt_ctx {
    uint64_t step;   /* training step, mixed into random streams */
    int threads;     /* thread budget */
    rt_error *err;   /* where kernels report failures */
} rt_ctx;

/* Run one op's reference kernel: inputs in[0..n_in), result into out,
 * whose type is already set and data allocated. Returns 0 or -1 with
 * ctx->err set. STATEFUL ops may write their inputs (BN running stats). */
int rt_kernel_run(rt_op op, const rt_attrs *a, rt_tensor *const *in, int n_in,
                  rt_tensor *out, rt_ctx *ctx);

/* ------------------------------------------------ counter-based random */

/* Philox4x32-10: four 32-bit outputs for a 128-bit counter and 64-bit key.
 * Random ops draw element i from counter (i, stream, step), key = seed, so
 * results do not depend on thread count or evaluation order. */
void rt_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
float rt_rand_uniform01(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index);
float rt_rand_normal(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index);
uint32_t rt_hash_str(const char *s); /* FNV-1a, for per-parameter streams */

/* ------------------------------------------------------------ programs */

/* How a parameter is initialised (PyTorch's defaults are expressed as these). */
typedef enum rt_init_kind {
    RT_INIT_NONE,    /* inputs and temporaries */
    RT_INIT_UNIFORM, /* U(a, b): Kaiming-uniform weights, fan-in biases */
    RT_INIT_NORMAL,  /* N(a, b^2) */
    RT_INIT_CONST,   /* all a: BN gamma 1, beta 0, running var 1 */
} rt_init_kind;

typedef struct rt_init {
    rt_init_kind kind;
    float a, b;
} rt_init;

typedef enum rt_value_kind {
    RT_VAL_INPUT,  /* bound by the caller before a run */
    RT_VAL_PARAM,  /* trainable parameter, initialised from rt_init */
    RT_VAL_BUFFER, /* persistent non-trainable state (BN running stats) */
    RT_VAL_TEMP,   /* computed by an instruction */
    RT_VAL_FUSED,  /* computed inside a fused instruction, never stored */
} rt_value_kind;

typedef struct rt_value {
    rt_type type;
    rt_value_kind kind;
    const char *name; /* inputs, params, buffers; NULL for temps */
    rt_init init;     /* params and buffers */
} rt_value;

typedef struct rt_instr {
    rt_op op;
    rt_attrs attrs;
    int n_in;
    int *in;           /* value indices */
    int out;           /* value index */
    const char *where; /* "file.seg:12:5: conv" for runtime errors */
} rt_instr;

/* A straight-line program over numbered values, in execution order. The
 * program owns all its memory through its arena. */
typedef struct rt_program {
    seg_arena *arena;
    rt_value *values;
    int n_values;
    rt_instr *instrs;
    int n_instrs;
    int *outputs;              /* value indices of the named outputs */
    const char **output_names;
    int n_outputs;
    /* Static arena offsets of the temps (compiler/memplan.c, in the
     * program's arena; see "memory plans" below); NULL = unplanned. */
    const struct rt_mem_plan *plan;
} rt_program;

void rt_program_free(rt_program *p);

/* A fused instruction's expression (OP_FUSED, made by compiler/fuse.c):
 * nodes in topological order, the last one is the instruction's result.
 * Every node but the last has exactly one consumer inside the group, so
 * nothing outside needs its value (it is an RT_VAL_FUSED value). */
typedef struct rt_fused_node {
    rt_op op;        /* elementwise (RT_F_ELEMWISE), OP_BROADCAST, OP_CONST, or,
                        as the last node only, OP_SUM / OP_MEAN */
    rt_attrs attrs;  /* the original instruction's (fused = NULL) */
    rt_type type;    /* its result */
    int n_in;
    int in[3];       /* >= 0: an earlier node; < 0: instruction input -1 - in[k] */
    const char *where; /* its source location, as rt_instr.where */
} rt_fused_node;

typedef struct rt_fused {
    int n_nodes;
    const rt_fused_node *nodes;
} rt_fused;

/* The `where` of the first node of fused instruction ins whose result has
 * a NaN or infinity, evaluating it on in (the reference way), or NULL. */
const char *rt_fused_first_nonfinite(const rt_instr *ins, rt_tensor *const *in, uint64_t step);

/* ---------------------------------------------------------- interpreter */

/* The reference interpreter: one tensor per value, one kernel call per
 * instruction, in order. Slow and obviously right; the JIT's oracle. */
typedef struct rt_interp rt_interp;

rt_interp *rt_interp_new(const rt_program *p, uint64_t seed, int threads);
void rt_interp_free(rt_interp *it);
/* Value by name (inputs, params, buffers) or NULL. */
rt_tensor *rt_interp_value(rt_interp *it, const char *name);
/* Copy data into a named input; checks the type. */
int rt_interp_set_input(rt_interp *it, const char *name, const rt_tensor *t, rt_error *err);
/* Run every instruction once; step feeds the random streams. */
int rt_interp_run(rt_interp *it, uint64_t step, rt_error *err);
/* Instruction i alone, on whatever the values hold (tests replay a
 * reference run's values through another kernel one instruction at a
 * time). */
int rt_interp_run_one(rt_interp *it, int i, uint64_t step, rt_error *err);
rt_tensor *rt_interp_output(rt_interp *it, const char *name);
rt_tensor *rt_interp_value_at(rt_interp *it, int index);

/* Initialise one parameter tensor from its rt_init, with a stream derived
 * from its name, so a seed gives the same weights in any order. */
void rt_param_init(rt_tensor *t, const rt_init *init, const char *name, uint64_t seed);

/* -------------------------------------------------------- memory plans */

/* One arena for all temporaries of a program (DESIGN.md §5 "Memory"). The
 * compiler (compiler/memplan.c) makes the plan; the interpreter
 * (runtime/interp.c, runtime/arena_plan.c) only consumes the offsets.
 *
 * Temp v lives over the inclusive instruction interval [first[v],
 * last[v]]: from its defining instruction to its last reader, or to
 * n_instrs for a program output. Temps whose intervals intersect never
 * share bytes, so no instruction's output aliases one of its inputs, and
 * program outputs ("loss", "grad:*") are intact after a run, at the same
 * address in every run (the optimizer keeps pointers to them). Inputs,
 * params and buffers are not planned (offset -1): they persist in their
 * own storage. */
#define RT_MEM_ALIGN 64 /* every offset and planned size is a multiple */

typedef struct rt_mem_plan {
    int n_values, n_instrs;  /* the program's */
    int64_t *offset;         /* per value: byte offset in the arena; -1 = not planned */
    int64_t *bytes;          /* per value: its size in bytes */
    int *first, *last;       /* per value: live interval of a temp; -1 = not planned */
    int64_t arena_bytes;     /* the arena: peak bytes of one run */
    int64_t temp_bytes;      /* sum of the temps' sizes (one buffer each) */
    int64_t fixed_bytes;     /* inputs, params and buffers (outside the arena) */
    int64_t live_peak_bytes; /* lower bound: most (rounded) temp bytes live at once */
    int64_t *ws_offset;      /* per instruction: its workspace in the arena, -1 = none */
    int64_t *ws_bytes;       /* per instruction: workspace size (0 = none) */
    int fit_most;            /* most neighbours the gap search examined for one value
                              * (at most 1024, which keeps planning O(n log n)) */
} rt_mem_plan;

/* 0 when m is a sound plan for p: sizes match, intervals cover each temp's
 * definition, readers and output use, every temp lies inside the arena on
 * an aligned offset, temps live at the same time do not overlap, and no
 * instruction reads or writes a value that is never stored (RT_VAL_FUSED).
 * Otherwise -1 with err naming the first violation. */
int rt_mem_plan_check(const rt_program *p, const rt_mem_plan *m, rt_error *err);
/* An interpreter on plan m (checked; a broken plan is an internal error):
 * every temp is a view (owns_data 0) into one zeroed arena, and each
 * reference kernel's output is zeroed before it runs, since the bytes hold
 * an earlier value. m NULL: one tensor per value, as rt_interp_new. */
rt_interp *rt_interp_new_planned(const rt_program *p, const rt_mem_plan *m, uint64_t seed,
                                 int threads);
/* rt_interp_new uses p->plan unless $SEGC_ARENA is "0" (1 = use it). */
int rt_mem_plan_enabled(void);
/* Bytes of the interpreter's arena, 0 when unplanned. */
int64_t rt_interp_arena_bytes(const rt_interp *it);

/* ------------------------------------------------ memory budget (budget.c) */

/* What a run will hold, checked before it allocates or compiles anything. */
typedef struct rt_budget {
    int64_t need;   /* bytes in all: arenas, fixed values, optimizer state */
    int64_t arena;  /* the arenas' part of need (for the message) */
    int threads;    /* threads it runs on (stacks, OpenBLAS buffers) */
    int jit;        /* it compiles kernels with LLVM */
    const char *what; /* what needs it, for the message ("the training step of stage
                         one"); NULL = "the run" */
} rt_budget;
/* --max-memory (bytes; 0 = none): the most a run's own bytes may be. */
void rt_budget_set_max(int64_t bytes);
/* Bytes rt_interp_new will allocate for p: its arena and fixed values
 * (every value, without a plan or with $SEGC_ARENA=0). */
int64_t rt_program_bytes(const rt_program *p);
/* Add p's bytes (and its arena) to b. */
void rt_budget_add_program(rt_budget *b, const rt_program *p);
/* 0 when b fits the machine's memory, its address-space limit and
 * --max-memory; else -1 and err says "WHAT needs 12.3 GB (...), more than
 * ..." with the figures. */
int rt_budget_check(const rt_budget *b, rt_error *err);

/* Interpreter internals (runtime/arena_plan.c), used by runtime/interp.c. */
/* Allocate the arena of m (zeroed, RT_MEM_ALIGN-aligned; *base is what to
 * seg_free) and put a view tensor into vals[v] for every planned value. */
char *rt_mem_arena_bind(const rt_program *p, const rt_mem_plan *m, rt_tensor **vals,
                        void **base);

/* -------------------------------------------------------------- volumes */

/* A volume read from NIfTI: data as f32 (scl_slope/inter applied), spatial
 * dims (x, y, z) and voxel spacing, plus the source header so a
 * segmentation can be written back with the same geometry. */
typedef struct rt_volume {
    int64_t nx, ny, nz;   /* spatial size (x fastest in memory) */
    int64_t nt;           /* 4th dimension (channels/time), >= 1 */
    float spacing[3];     /* mm */
    float affine[4][4];   /* sform if set, else qform */
    float *data;          /* nx*ny*nz*nt floats, x fastest */
    void *header;         /* opaque copy of the source nifti header, may be NULL */
} rt_volume;

int rt_nifti_read(const char *path, rt_volume *v, rt_error *err);
/* Write data (x fastest) as dtype RT_F32, RT_U8 or RT_I32; atomically
 * (temp file then rename). like may be NULL (identity geometry). */
int rt_nifti_write(const char *path, const rt_volume *v, rt_dtype dtype, rt_error *err);
void rt_volume_free(rt_volume *v);

/* ----------------------------------------------------------------- data */

/* The data pipeline of training (runtime/data/, docs/data.md): cases,
 * datasets, synthetic phantoms, PNG, preprocessing, distance transforms,
 * patch sampling, augmentation and batch assembly. Spatial arrays are
 * row-major with the slowest axis first: (Z, Y, X) in 3D, (Y, X) in 2D;
 * unused trailing entries of size[] and spacing[] are 1. */

/* One training case: an image with C channels and its label map. */
typedef struct rt_case {
    int nsp;           /* spatial rank, 2 or 3 */
    int channels;      /* C >= 1 */
    int64_t size[3];   /* spatial size, slowest first; size[nsp..2] = 1 */
    float spacing[3];  /* mm per voxel along size[]; unused entries 1 */
    float *image;      /* f32 [C, size...] */
    int32_t *label;    /* i32 [size...], class per voxel */
    char *source;      /* "img/case01.nii.gz" or "lesions3d case 4": names the case in errors */
} rt_case;

int64_t rt_case_numel(const rt_case *c); /* spatial voxels, one channel */
void rt_case_free(rt_case *c);           /* frees the arrays, zeroes *c */

/* A list of cases; zero-initialise, free with rt_dataset_free. */
typedef struct rt_dataset {
    rt_case *cases; /* owned */
    int n;          /* cases in use */
    int cap;        /* cases allocated */
} rt_dataset;

void rt_dataset_push(rt_dataset *ds, rt_case *c); /* takes over *c's arrays */
void rt_dataset_free(rt_dataset *ds);

/* Synthetic phantoms, "lesions3d" and "lesions2d": an irregular organ on a
 * textured background with lesions inside it. Lesion mode "default": 0-4
 * lesions of radius 2-6, labels 0 background, 1 organ, 2 lesion. Mode
 * "small": 2-6 irregular lesions of radius 1-3 and labels 0 background,
 * 1 lesion (the organ stays in the image only). Defaults in docs/data.md,
 * rt_synth_opts_init and rt_synth_opts_set_lesions. */
typedef enum rt_synth_lesion_mode {
    RT_SYNTH_LESIONS_DEFAULT, /* organ and lesions labelled, lesions 2-6 voxels */
    RT_SYNTH_LESIONS_SMALL,   /* lesions alone labelled, 1-3 voxels, under 1 % of the volume */
} rt_synth_lesion_mode;

typedef struct rt_synth_opts {
    int nsp;                  /* 3 for lesions3d, 2 for lesions2d */
    int cases;                /* number of cases */
    int64_t size[3];          /* spatial size, slowest first */
    float spacing[3];         /* mm per voxel; geometry is physical */
    uint64_t seed;            /* case i depends on (seed, i) only */
    float organ_cnr;          /* (organ mean - background mean) / noise */
    float lesion_cnr;         /* |lesion mean - organ mean| / noise */
    int lesion_sign;          /* -1 darker, +1 brighter, 0 random per lesion */
    int lesions_min;          /* lesions per case, uniform in [min, max] */
    int lesions_max;
    float lesion_radius_min;  /* voxels (of the finest spacing) */
    float lesion_radius_max;
    float organ_radius_min;   /* organ semi-axes, fraction of the smallest extent */
    float organ_radius_max;
    float irregularity;       /* amplitude of the radial harmonics, 0 = ellipsoid */
    float texture;            /* std of the smooth background field, in noise units */
    float texture_scale;      /* cell size of the background field, voxels */
    float noise;              /* Gaussian noise sigma */
    float blur;               /* partial-volume Gaussian sigma, voxels (before noise) */
    int hu;                   /* 1: map to CT-like units, v' = hu_offset + hu_scale * v */
    float hu_scale;           /* HU per noise unit */
    float hu_offset;          /* HU of the background */
    float lesion_irregularity; /* amplitude of each lesion's radial harmonics, 0 = balls */
    rt_synth_lesion_mode lesion_mode; /* which labels, and the lesion defaults */
    uint32_t given;           /* bit k: option k of the name table was set by name, so a
                               * lesion mode's defaults leave it alone */
} rt_synth_opts;

/* Defaults for kind "lesions3d" or "lesions2d"; -1 with err for others. */
int rt_synth_opts_init(rt_synth_opts *o, const char *kind, rt_error *err);
/* Set one option by name (as written in a .seg call): n values in v. */
int rt_synth_opts_set(rt_synth_opts *o, const char *name, const double *v, int n,
                      rt_error *err);
/* Lesion mode "default" or "small" (as written in synthetic(lesions = ...)):
 * sets the mode and its lesion defaults, except options already or later
 * given by name through rt_synth_opts_set, which win in either order. */
int rt_synth_opts_set_lesions(rt_synth_opts *o, const char *mode, rt_error *err);
int rt_synth_opts_check(const rt_synth_opts *o, rt_error *err);
/* Label classes of the phantoms: 3 (background, organ, lesion) in the
 * default mode, 2 (background, lesion) in the small mode. */
int rt_synth_classes(const rt_synth_opts *o);
/* Name of class cls, "background", "organ" or "lesion"; NULL out of range. */
const char *rt_synth_class_name(const rt_synth_opts *o, int cls);
/* Generate case `index` into *c (allocated here). */
int rt_synth_case(const rt_synth_opts *o, int index, rt_case *c, rt_error *err);
/* Append o->cases synthetic cases to ds. */
int rt_dataset_synthetic(rt_dataset *ds, const rt_synth_opts *o, rt_error *err);

/* Paired files by glob: both patterns are expanded and sorted, the k-th
 * image pairs with the k-th label. .png files load as 2D cases, .nii and
 * .nii.gz as 3D cases. Labels must be integers in [0, classes). */
int rt_dataset_glob(rt_dataset *ds, const char *image_glob, const char *label_glob,
                    int classes, rt_error *err);
/* A list file: one "image label" pair per line; '#' starts a comment;
 * relative paths are relative to the list file's folder. */
int rt_dataset_list(rt_dataset *ds, const char *list_path, int classes, rt_error *err);
/* Load one pair (used by both of the above). */
int rt_case_load(rt_case *c, const char *image_path, const char *label_path, int classes,
                 rt_error *err);

/* One image alone as a case (its label all 0): .png 2D, .nii/.nii.gz 3D.
 * For NIfTI, vol (may be NULL) gets the file's geometry and header
 * (vol->data NULL; free with rt_volume_free) to write a result back on
 * the same grid. */
int rt_case_read_image(rt_case *c, const char *path, rt_volume *vol, rt_error *err);
/* A label file for case c: same grid, one channel, integers in
 * [0, classes), into label (rt_case_numel(c) values). */
int rt_case_read_label(const rt_case *c, const char *path, int classes, int32_t *label,
                       rt_error *err);

/* PNG (libpng). Pixels come back planar as floats with their stored
 * values (0..255 or 0..65535); palettes are expanded, alpha dropped. */
typedef struct rt_png {
    int width, height;
    int channels;  /* 1 or 3 */
    int bit_depth; /* 8 or 16 (1, 2, 4-bit gray is expanded to 8) */
    float *data;   /* [channels, height, width] */
} rt_png;

/* want_channels: 1 = gray (RGB by Rec. 709 luma), 3 = RGB (gray
 * replicated), 0 = as stored (1 for gray, 3 for colour). */
int rt_png_read(const char *path, int want_channels, rt_png *img, rt_error *err);
void rt_png_free(rt_png *img);
/* Write interleaved samples (uint8_t for depth 8, uint16_t for 16) with
 * 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels, atomically. */
int rt_png_write(const char *path, int width, int height, int channels, int bit_depth,
                 const void *pixels, rt_error *err);

/* Preprocessing, per case (per channel for minmax and zscore). */
void rt_case_clip(rt_case *c, float lo, float hi);
int rt_case_minmax(rt_case *c, rt_error *err); /* to [0, 1] */
int rt_case_zscore(rt_case *c, rt_error *err); /* mean 0, std 1 */
/* To target spacing: (bi/tri)linear image, nearest label; voxel centres aligned. */
int rt_case_resample(rt_case *c, const float target[3], rt_error *err);
/* Channels [channels, from...] at spacing from_sp to the grid `to` of
 * spacing to_sp, (bi/tri)linear with voxel centres aligned as
 * rt_case_resample does (unused axes: size 1, spacing 1): how a
 * prediction made at the training spacing returns to its scan's grid. */
void rt_resample_linear(const float *src, int channels, const int64_t from[3],
                        const float from_sp[3], float *dst, const int64_t to[3],
                        const float to_sp[3]);
/* Crop and/or pad to size; offset[i] = first source index of the window
 * (negative pads before), NULL = centred. Image pads with pad_value, label with 0. */
int rt_case_crop_pad(rt_case *c, const int64_t size[3], const int64_t *offset,
                     float pad_value, rt_error *err);

/* Exact Euclidean distance transform (Felzenszwalb-Huttenlocher), in mm:
 * distance from each voxel to the nearest voxel with mask != 0, 0 on the
 * mask. With no foreground every distance is the diagonal of the volume,
 * sqrt(sum (size_i * spacing_i)^2). */
void rt_edt(const uint8_t *mask, int nsp, const int64_t size[3], const float spacing[3],
            float *dist);
/* rt_edt of label > 0 over a case. */
void rt_case_distance(const rt_case *c, float *dist);

/* Patch sampling with foreground oversampling (nnU-Net style). */
typedef struct rt_sampler {
    int64_t patch[3];   /* patch size, slowest first; unused entries 1 */
    int batch;          /* patches per batch */
    float fg_fraction;  /* share of patches forced to hold foreground (0.33) */
    uint64_t seed;
} rt_sampler;

typedef struct rt_patch {
    int case_index;     /* into the dataset */
    int64_t origin[3];  /* first voxel; may be negative or overhang (padded) */
    int forced_fg;      /* 1 if centred on a foreground voxel */
} rt_patch;

void rt_sampler_init(rt_sampler *s, int nsp, const int64_t patch[3], int batch, uint64_t seed);
/* Patches of batch `batch_index` in `epoch`: out[0..s->batch). Cases are
 * visited in a per-epoch permutation; a function of (seed, epoch, index). */
int rt_sampler_batch(const rt_sampler *s, const rt_dataset *ds, uint64_t epoch,
                     uint64_t batch_index, rt_patch *out, rt_error *err);

/* Batch assembly into caller-owned contiguous buffers. */
typedef struct rt_batch {
    int n;          /* patches */
    int channels;   /* C */
    int nsp;        /* spatial rank */
    int64_t size[3];/* patch size */
    float *image;   /* [n, C, size...] */
    int32_t *label; /* [n, size...], may be NULL */
    float *dist;    /* [n, size...] distance to label > 0 (rt_case_distance), may be NULL */
    int first;      /* index of patch 0 in the global batch (data parallelism):
                       augmentation draws item first + i's randomness */
} rt_batch;

/* Cut patches p[0..b->n) out of ds into b (outside the case: image 0,
 * label 0). All cases must have b->channels channels and rank b->nsp. */
int rt_batch_fill(rt_batch *b, const rt_dataset *ds, const rt_patch *p, rt_error *err);

/* Augmentation, decided per (seed, step, item). */
typedef struct rt_augment_opts {
    uint64_t seed;
    float p_flip;       /* per spatial axis */
    float p_rot90;      /* a 90-degree rotation in a random plane of equal sides */
    float p_scale;      /* intensity *= U(scale_lo, scale_hi) */
    float scale_lo, scale_hi;
    float p_shift;      /* intensity += U(-shift, shift) */
    float shift;
    float p_noise;      /* intensity += N(0, s^2), s ~ U(0, noise_max) */
    float noise_max;
} rt_augment_opts;

void rt_augment_opts_init(rt_augment_opts *o, uint64_t seed);
/* Augment every item of b in place: geometric transforms move image,
 * label and dist together; intensity ones touch the image only. */
void rt_augment_batch(const rt_augment_opts *o, uint64_t step, rt_batch *b);


/* ---------------------------------------------------------- checkpoints */
/* runtime/ckpt.c: safetensors files. A writer collects named tensors (data
 * not copied) and string metadata, then writes atomically; a reader loads
 * and validates a whole file. The same rt_ckpt type serves both. */

typedef enum rt_ckpt_dtype {
    RT_CKPT_F32, /* "F32": parameters, buffers, optimizer moments */
    RT_CKPT_I32, /* "I32" */
    RT_CKPT_U8,  /* "U8" */
    RT_CKPT_U64, /* "U64" (PyTorch reads it only from 2.3 on) */
    RT_CKPT_I64, /* "I64": counters (optimizer step counts), readable by any torch */
    RT_CKPT_DTYPE_COUNT
} rt_ckpt_dtype;

const char *rt_ckpt_dtype_name(rt_ckpt_dtype t); /* as in the file: "F32" */
size_t rt_ckpt_dtype_size(rt_ckpt_dtype t);
rt_ckpt_dtype rt_ckpt_dtype_of(rt_dtype t);

/* One named tensor. Writer: data is the caller's and must stay valid until
 * rt_ckpt_write returns. Reader: data points into the loaded file and may
 * be unaligned (files from other writers): copy it out with memcpy or
 * rt_ckpt_load. */
typedef struct rt_ckpt_entry {
    const char *name;
    rt_ckpt_dtype dtype;
    int rank;                 /* 0..RT_MAX_RANK */
    int64_t dim[RT_MAX_RANK];
    const void *data;
    uint64_t nbytes;          /* numel * dtype size */
} rt_ckpt_entry;

typedef struct rt_ckpt rt_ckpt;

rt_ckpt *rt_ckpt_new(void); /* an empty writer */
void rt_ckpt_free(rt_ckpt *c);
/* Add a tensor (the name is copied, the data is not). Duplicate names are
 * reported by rt_ckpt_write. */
void rt_ckpt_add(rt_ckpt *c, const char *name, rt_ckpt_dtype dtype, int rank,
                 const int64_t *dim, const void *data);
void rt_ckpt_add_tensor(rt_ckpt *c, const char *name, const rt_tensor *t);
void rt_ckpt_set_meta(rt_ckpt *c, const char *key, const char *value); /* copies; replaces */
/* Write atomically: temp file in the same folder, fsync, rename, fsync the
 * folder. On failure the previous file is intact and no temp file remains
 * (except when only the final folder fsync fails: the error then says the
 * new file is in place). */
int rt_ckpt_write(const rt_ckpt *c, const char *path, rt_error *err);
/* Read and validate a whole file; NULL with err naming the file. */
rt_ckpt *rt_ckpt_read(const char *path, rt_error *err);
int rt_ckpt_count(const rt_ckpt *c);
const rt_ckpt_entry *rt_ckpt_at(const rt_ckpt *c, int i); /* in file order */
const rt_ckpt_entry *rt_ckpt_find(const rt_ckpt *c, const char *name); /* or NULL */
const char *rt_ckpt_meta(const rt_ckpt *c, const char *key);           /* or NULL */
int rt_ckpt_meta_count(const rt_ckpt *c);
const char *rt_ckpt_meta_key(const rt_ckpt *c, int i);
/* Copy tensor `name` into t, whose dtype and shape must match. */
int rt_ckpt_load(const rt_ckpt *c, const char *name, rt_tensor *t, rt_error *err);

/* Compare a checkpoint with what a net expects. Returns the number of
 * mismatches (missing, unexpected, type differs); lists them all, one a
 * line, in *report (may be NULL) and as much as fits in err. Checkpoint
 * entries whose names start with ignore_prefix (e.g. RT_OPTIM_PREFIX; may
 * be NULL) are never "unexpected". */
enum {
    RT_CKPT_ALLOW_MISSING = 1 << 0,    /* net names absent from the file are fine */
    RT_CKPT_ALLOW_UNEXPECTED = 1 << 1, /* file names unknown to the net are fine */
};
typedef struct rt_ckpt_want {
    const char *name;
    rt_type type;
} rt_ckpt_want;
int rt_ckpt_check(const rt_ckpt *c, const rt_ckpt_want *want, int n, const char *ignore_prefix,
                  unsigned flags, seg_buf *report, rt_error *err);


/* ----------------------------------------------------------- optimizers */
/* runtime/optim.c: torch.optim's SGD, Adam and AdamW (single-tensor CPU
 * formulas, float arithmetic in torch's order) over parameters given as
 * f32 arrays with gradients. Frozen parameters are simply never added. */

typedef enum rt_optim_kind {
    RT_OPTIM_SGD,   /* torch.optim.SGD */
    RT_OPTIM_ADAM,  /* torch.optim.Adam: L2 weight decay added to the gradient */
    RT_OPTIM_ADAMW, /* torch.optim.AdamW: decoupled decay p *= 1 - lr * wd */
} rt_optim_kind;

typedef struct rt_optim_config {
    rt_optim_kind kind;
    double lr;           /* base learning rate; rt_optim_set_lr changes it */
    double momentum;     /* SGD; 0 = none */
    double dampening;    /* SGD */
    int nesterov;        /* SGD; needs momentum > 0 and dampening 0 */
    double beta1, beta2; /* Adam, AdamW */
    double eps;          /* Adam, AdamW */
    double weight_decay; /* all kinds */
} rt_optim_config;

/* Checkpoint names of optimizer state: "optim.<param>.step" (i64 scalar),
 * ".momentum" (SGD), ".m" and ".v" (Adam, AdamW), all f32[n]. */
#define RT_OPTIM_PREFIX "optim."

typedef struct rt_optim rt_optim;
typedef struct rt_pool rt_pool; /* runtime/pool.c, declared below */

/* torch's defaults: lr 1e-3; Adam betas (0.9, 0.999), eps 1e-8; AdamW wd 1e-2. */
void rt_optim_config_init(rt_optim_config *c, rt_optim_kind kind);
rt_optim *rt_optim_new(const rt_optim_config *c, rt_error *err); /* NULL if invalid */
void rt_optim_free(rt_optim *o);
/* Add a parameter (name copied; data and grad borrowed, n floats each);
 * returns its index. Multipliers start at 1. */
int rt_optim_add(rt_optim *o, const char *name, float *data, float *grad, size_t n);
/* Per-parameter group settings: lr = base lr * lr_mult, wd = weight_decay * wd_mult. */
void rt_optim_set_mult(rt_optim *o, int index, double lr_mult, double wd_mult);
void rt_optim_set_lr(rt_optim *o, double lr);
double rt_optim_lr(const rt_optim *o);
void rt_optim_step(rt_optim *o); /* one update of every parameter */
/* Threads for step and clipping (borrowed; NULL = the calling thread). */
void rt_optim_set_pool(rt_optim *o, rt_pool *pool);
int rt_optim_count(const rt_optim *o);
int rt_optim_find(const rt_optim *o, const char *name); /* index or -1 */
uint64_t rt_optim_steps(const rt_optim *o, int index);  /* updates applied */
/* torch.nn.utils.clip_grad_norm_: returns the total norm; scales the
 * gradients by max_norm / (total + 1e-6) when that is below 1. */
double rt_clip_grad_norm(float *const *grads, const size_t *lens, int n, double max_norm);
double rt_optim_clip_grad_norm(rt_optim *o, double max_norm);
/* Add the state to a checkpoint writer (borrowed until it is written; do
 * not step or add parameters in between). */
void rt_optim_save(const rt_optim *o, rt_ckpt *c);
/* Restore state by parameter name; parameters without saved state start
 * fresh. Errors on incomplete or mis-sized state. */
int rt_optim_load(rt_optim *o, const rt_ckpt *c, rt_error *err);
/* The same for an exact resume: a parameter without its saved step, or
 * with steps but without the buffers its optimizer keeps, is an error. */
int rt_optim_load_exact(rt_optim *o, const rt_ckpt *c, rt_error *err);

/* runtime/lr.c: learning-rate and loss-weight schedules, pure functions of
 * t (a step or an epoch count, whichever the caller counts in). */
typedef enum rt_sched_kind {
    RT_SCHED_CONSTANT, /* base */
    RT_SCHED_STEP,     /* base * gamma^floor(t / step_size) */
    RT_SCHED_COSINE,   /* eta_min + (base - eta_min) (1 + cos(pi t / total)) / 2, then eta_min */
    RT_SCHED_POLY,     /* base * (1 - t / total)^power, then 0 */
} rt_sched_kind;

typedef struct rt_sched {
    rt_sched_kind kind;
    double base;          /* lr0 */
    double step_size;     /* STEP: decay period (> 0) */
    double gamma;         /* STEP: factor per period */
    double total;         /* COSINE, POLY: T (> 0) */
    double eta_min;       /* COSINE: floor */
    double power;         /* POLY */
    double warmup;        /* W: linear warm-up length, 0 = none; multiplies the schedule */
    double warmup_factor; /* warm-up starts at base * factor, reaches 1 at W */
} rt_sched;

/* Defaults as torch: gamma 0.1, step_size 1, total 1, eta_min 0, power 0.9
 * (nnU-Net), warm-up off with factor 1/3 (LinearLR's start_factor). */
void rt_sched_init(rt_sched *s, rt_sched_kind kind, double base);
int rt_sched_check(const rt_sched *s, rt_error *err);
double rt_sched_value(const rt_sched *s, double t);
/* CCT's sigmoid ramp-up: w_max * exp(-5 (1 - t/T)^2) for t < T, then w_max. */
double rt_ramp_sigmoid(double w_max, double t, double T);

/* ------------------------------------------------------------- metrics */

#define RT_MAX_CLASSES 16

/* Confusion matrix accumulated over a validation set: m[truth][pred];
 * and per class, the true objects (connected components, 6-/4-connected)
 * and how many of them the prediction touches (lesion-wise detection). */
typedef struct rt_confusion {
    int classes;
    int64_t m[RT_MAX_CLASSES][RT_MAX_CLASSES];
    int64_t objects[RT_MAX_CLASSES], detected[RT_MAX_CLASSES];
} rt_confusion;

void rt_confusion_init(rt_confusion *c, int classes);
/* Count n voxels; truth or pred outside [0, classes) are ignored. */
void rt_confusion_add(rt_confusion *c, const int32_t *pred, const int32_t *truth, int64_t n);
/* Count the true objects of every class > 0 in one case of nsp spatial
 * axes (size slowest first) and those the prediction of that class touches. */
void rt_confusion_add_objects(rt_confusion *c, const int32_t *pred, const int32_t *truth,
                              int nsp, const int64_t *size);
/* Two classes: background and everything else. */
void rt_confusion_foreground(const rt_confusion *c, rt_confusion *fg);
double rt_confusion_dice(const rt_confusion *c, int cls);
double rt_confusion_iou(const rt_confusion *c, int cls);
double rt_confusion_miou(const rt_confusion *c);

/* How a prediction output becomes a label map (a stage's `predict`). */
typedef enum rt_decode {
    RT_DECODE_THRESHOLD, /* one channel: class 1 where p > threshold */
    RT_DECODE_ARGMAX,    /* C channels: the largest one (softmax or logits) */
    RT_DECODE_NESTED,    /* C sigmoid channels of nested regions: class j + 1 for
                            the last channel j with p > threshold, else 0 */
} rt_decode;
/* The classes such a prediction of `channels` channels tells apart. */
int rt_decode_classes(rt_decode d, int channels);
/* Classes of out [n, channels, spatial] into cls [n, spatial]. */
void rt_decode_map(rt_decode d, float threshold, const float *out, int64_t n, int channels,
                   int64_t spatial, int32_t *cls);

/* A validation metric, as named in a schedule: dice(val), dice(val, "lesion"),
 * iou(...), mean_dice(val), miou(val). */
typedef enum rt_metric_kind {
    RT_METRIC_DICE,      /* of class cls, or (cls = -1) all foreground classes as one */
    RT_METRIC_IOU,       /* likewise */
    RT_METRIC_MEAN_DICE, /* mean of the foreground classes' Dice */
    RT_METRIC_MIOU,      /* mean IoU over every class, background included */
} rt_metric_kind;
typedef struct rt_metric {
    rt_metric_kind kind;
    int cls; /* RT_METRIC_DICE, RT_METRIC_IOU: the class, -1 = foreground */
} rt_metric;

/* Every metric of one validation pass over K classes. */
typedef struct rt_val_metrics {
    int classes;
    double dice[RT_MAX_CLASSES], iou[RT_MAX_CLASSES];
    double dice_fg, iou_fg;  /* every class but 0 as one object */
    double mean_dice, miou;
    double detection[RT_MAX_CLASSES]; /* share of true objects found (NaN: none) */
} rt_val_metrics;
void rt_val_metrics_of(const rt_confusion *c, rt_val_metrics *m);
double rt_val_metric(const rt_val_metrics *m, rt_metric which);
/* One class of one case (runtime/surface.c): Dice, IoU, and the surface
 * distances in mm (exact EDT with the spacing). HD95 is the larger of the
 * two directed 95th percentiles, ASD the mean of both directions'
 * distances. Both masks empty: 1, 1, 0, 0; one empty: 0, 0, NaN, NaN. */
typedef struct rt_mask_eval {
    double dice, iou, hd95, asd;
    int64_t pred_voxels, truth_voxels;
} rt_mask_eval;
/* pred, truth: 0/1 masks of size[...] voxels (slowest first, unused 1). */
void rt_mask_metrics(const uint8_t *pred, const uint8_t *truth, int nsp, const int64_t size[3],
                     const float spacing[3], rt_mask_eval *m);
/* Per class 1..classes-1, keep only its largest connected component (26
 * neighbours in 3D, 8 in 2D); the rest becomes 0. Ties: the first found. */
void rt_keep_largest(int32_t *labels, const int64_t size[3], int classes);

/* "dice_fg", "dice_lesion", "mean_dice", "miou", ... (names: the classes'). */
void rt_metric_name(rt_metric m, const char *const *class_names, char *buf, size_t n);

/* -------------------------------------------------------- atomic files */

/* A file written atomically (runtime/atomic_file.c): a temp file next to
 * the destination, created 0644 under the umask, that commit fsyncs and
 * renames over the destination (then fsyncs the folder). Every failing
 * call sets the error ("PATH: cannot write WHAT: STEP: reason") and
 * removes the temp file, leaving the destination untouched; so does
 * abort. Write through f, or, for a library that takes a file name, open
 * tmp by name and close it before the commit. */
typedef struct rt_atomic_file {
    const char *path; /* destination (borrowed for the write) */
    const char *what; /* what is written, for messages ("checkpoint"), or NULL */
    char *tmp;        /* the temp file's path (owned), NULL when there is none */
    FILE *f;          /* open on tmp for writing, NULL once closed */
    rt_error *err;    /* receives a failure */
} rt_atomic_file;
int rt_atomic_file_open(rt_atomic_file *a, const char *path, const char *what, rt_error *err);
int rt_atomic_file_write(rt_atomic_file *a, const void *p, size_t n);
int rt_atomic_file_commit(rt_atomic_file *a);
/* Remove the temp file (no-op when there is none). */
void rt_atomic_file_abort(rt_atomic_file *a);
/* Set the error from errno for the failed step, then abort; returns -1. */
int rt_atomic_file_fail(rt_atomic_file *a, const char *step);
/* Test hook: make the n-th I/O step (create, each write, flush, fsync,
 * close, rename) of later atomic writes fail with EIO (0 = never). */
void rt_atomic_file_debug_fail_at(int n);
/* A whole file from memory, atomically. */
int rt_file_write_atomic(const char *path, const void *data, size_t len, rt_error *err);
/* mkdir -p: missing parents 0755 (before the umask), the last folder
 * leaf_mode; 0, or -1 with errno. path must fit in 4096 bytes. */
int rt_make_dirs(const char *path, unsigned leaf_mode);

/* -------------------------------------------------------------- reports */

/* One epoch of a training run, as plotted and logged. */
typedef struct rt_epoch_row {
    int stage;              /* stage index */
    const char *stage_name;
    int epoch;              /* within the stage, from 1 */
    double loss;            /* mean training loss */
    double lr;              /* learning rate at the epoch's last step */
    int validated;          /* val holds this epoch's validation */
    rt_val_metrics val;
    const char *const *class_names; /* val.classes names (the stage's) */
    char monitor[48];       /* the metric the stage follows ("dice_fg") */
    double monitor_value;
    int best;               /* the stage's best epoch so far (the last such row
                               of a stage is its best network) */
    double seconds;         /* wall time of the epoch incl. validation (NaN: unknown) */
    double step_seconds;    /* mean wall time of one training step (NaN: unknown) */
} rt_epoch_row;

/* The run's charts as one SVG (runtime/report.c): training loss and
 * learning rate with a y scale per stage, every class's validation Dice
 * and IoU with the foreground and mean summaries; one panel per stage,
 * epoch ticks, the best epoch marked. standalone: with the XML namespace
 * (a .svg file); else for inlining in HTML. Appends to out. */
void rt_report_charts(seg_buf *out, const char *title, const rt_epoch_row *rows, int n,
                      int standalone);
/* curves.svg: rt_report_charts written atomically. */
int rt_report_curves(const char *path, const char *title, const rt_epoch_row *rows, int n,
                     rt_error *err);

/* Overlays (runtime/overlay.c): PNG slices of a case with the prediction
 * filled and the truth outlined, each class in its own colours. */
typedef enum rt_view {
    RT_VIEW_AXIAL,    /* fixed z: rows y, columns x */
    RT_VIEW_CORONAL,  /* fixed y: rows z (upwards), columns x */
    RT_VIEW_SAGITTAL, /* fixed x: rows z (upwards), columns y */
    RT_VIEW_IMAGE,    /* a 2-D case */
} rt_view;
typedef struct rt_overlay_focus {
    int64_t at[3];    /* voxel (z, y, x) the views cross at (2-D: z = 0) */
    int64_t errors;   /* voxels whose predicted class is not the true one */
    double dice_fg;   /* foreground (every class > 0) Dice; NaN when both are empty */
} rt_overlay_focus;
/* Where to cut: through the worst errors (the axial slice with the most,
 * then its row and column with the most), else the case centre. truth and
 * pred are class maps over the case's voxels in the same classes; truth
 * -1 = ignored. */
void rt_overlay_focus_of(const rt_case *c, const int32_t *truth, const int32_t *pred,
                         rt_overlay_focus *f);
/* The views of a case (axial, coronal, sagittal; or the 2-D image); returns the count. */
int rt_overlay_views(const rt_case *c, rt_view views[3]);
const char *rt_view_name(rt_view v);
/* The index of the slice view v shows (0 for a 2-D case). */
int64_t rt_overlay_slice(rt_view v, const rt_overlay_focus *f);
/* One view as an RGB PNG whose longest case extent is `target` pixels. */
int rt_overlay_write(const char *path, const rt_case *c, const int32_t *truth, const int32_t *pred,
                     rt_view v, const rt_overlay_focus *f, int target, rt_error *err);
/* The colour of class cls >= 1: its truth outline (truth = 1) or prediction fill. */
void rt_overlay_colour(int cls, int truth, uint8_t rgb[3]);

/* ---------------------------------------------------------- thread pool */

/* A persistent pthread pool (runtime/pool.c). rt_pool_run splits the
 * tasks [0, n) into one fixed contiguous chunk per thread (rt_pool_chunk),
 * so the partition depends only on n and the thread count. */
typedef struct rt_pool rt_pool;
/* Runs tasks [begin, end) on pool thread `thread` (0 = the caller). */
typedef void (*rt_pool_fn)(void *arg, int64_t begin, int64_t end, int thread);

/* threads <= 0: rt_pool_default_threads(); more than RT_THREADS_MAX: that. */
rt_pool *rt_pool_new(int threads);
void rt_pool_free(rt_pool *p);
int rt_pool_threads(const rt_pool *p); /* 1 for NULL */
/* Run fn over [0, n_tasks) on every thread and wait. p may be NULL
 * (serial); a call from inside a job runs serially on its thread. */
void rt_pool_run(rt_pool *p, int64_t n_tasks, rt_pool_fn fn, void *arg);
/* The same, but a thread that finishes its chunk early takes tasks left in
 * others' chunks, one at a time. Only for task functions whose every task
 * writes its own outputs and ignores `thread` (then the bits are the same
 * however the tasks fall); fn may be called with many one-task ranges. */
void rt_pool_run_balanced(rt_pool *p, int64_t n_tasks, rt_pool_fn fn, void *arg);
/* Chunk i of n_tasks over `threads`: [n*i/T, n*(i+1)/T). */
void rt_pool_chunk(int64_t n_tasks, int threads, int i, int64_t *begin, int64_t *end);
enum { RT_THREADS_MAX = 1024 }; /* most threads a pool, --threads or SEGC_THREADS may ask for */
/* The thread count, by one rule everywhere: flag_value when > 0 (a
 * --threads flag, already checked to be 1..RT_THREADS_MAX), else
 * $SEGC_THREADS when set and not empty, else the online CPU count (at
 * most RT_THREADS_MAX). *given (may be NULL) says whether the count was
 * asked for (flag or variable) rather than defaulted. A SEGC_THREADS that
 * is not a whole number from 1 to RT_THREADS_MAX is an error: -1, err set,
 * and *threads the CPU count all the same. */
int rt_threads_resolve(int flag_value, int *threads, int *given, rt_error *err);
/* rt_threads_resolve(0, ...) for code with nobody to report to: a bad
 * SEGC_THREADS gives the CPU count (the CLI rejects it before it starts). */
int rt_pool_default_threads(void);
/* The process-wide pool (created on first use, never freed). */
rt_pool *rt_pool_default(void);

/* Denormals (runtime/fpmode.c): flushed to zero (FTZ and DAZ) on every
 * pool thread unless $SEGC_DENORMALS is "keep"; a pool takes the setting
 * when it is made, and the caller takes the pool's mode for each job.
 * resolve reads the variable (-1 and err for a value other than "flush"
 * or "keep"); flushed gives the setting (reading it on first use); set
 * changes it for pools made from now on and for the calling thread;
 * thread_apply puts a mode on the calling thread and returns the old
 * control word for thread_restore. */
int rt_fp_denormals_resolve(rt_error *err);
int rt_fp_denormals_flushed(void);
void rt_fp_denormals_set(int flush);
unsigned rt_fp_thread_apply(int flush);
void rt_fp_thread_restore(unsigned saved);

/* ----------------------------------------------------------------- jit */

#ifndef SEGC_VERSION
#define SEGC_VERSION "0.1.0" /* part of every JIT cache key */
#endif

/* ORC LLJIT for the host through LLVM's C API, and the on-disk cache of
 * compiled kernel objects (runtime/jit.c). LLVM's types appear only as
 * their opaque structs, so this header needs no LLVM include. */
struct LLVMOpaqueModule;
struct LLVMOpaqueContext;
typedef struct rt_jit rt_jit;           /* one LLJIT + a target machine */
typedef struct rt_jit_code rt_jit_code; /* one loaded object: tracker + symbol */
typedef struct rt_jit_tsc rt_jit_tsc;   /* an ORC ThreadSafeContext */

rt_jit *rt_jit_new(rt_error *err); /* host CPU and features, opt level 3 */
void rt_jit_free(rt_jit *j);       /* frees all code it loaded */
int rt_jit_vector_width(const rt_jit *j); /* f32 lanes: 16 AVX-512, 8 AVX2, else 4 */
int rt_jit_host_vector_width(void);       /* what rt_jit_new will pick on this host */
/* "triple cpu features llvm-X.Y.Z segc-V": what a cached object depends on. */
const char *rt_jit_target(const rt_jit *j);
const char *rt_jit_cpu(const rt_jit *j);
/* LLVM's host feature string the JIT compiles for ("+avx2,+fma,-avx512f,..."). */
const char *rt_jit_features(const rt_jit *j);
/* The LLVM version linked in ("19.1.7"). */
void rt_llvm_version(char *buf, size_t n);
/* OpenBLAS's build description (openblas_get_config: version, core, threads). */
const char *rt_blas_config(void);
/* Optimise m (default<O3>) and compile it to an object file in memory:
 * *obj is seg-owned (seg_free). m stays the caller's. */
int rt_jit_emit(rt_jit *j, struct LLVMOpaqueModule *m, void **obj, size_t *len, rt_error *err);
/* The same from several threads at once: one emitter (its own target
 * machine) per thread; modules in their own LLVMContexts. */
typedef struct rt_jit_emitter rt_jit_emitter;
rt_jit_emitter *rt_jit_emitter_new(const rt_jit *j, rt_error *err);
void rt_jit_emitter_free(rt_jit_emitter *e);
int rt_jit_emit_on(rt_jit_emitter *e, struct LLVMOpaqueModule *m, void **obj, size_t *len,
                   rt_error *err);
/* Link an object (copied) under a fresh resource tracker and look up
 * `symbol`. A symbol already loaded is shared (refcounted) instead. */
int rt_jit_add_object(rt_jit *j, const char *symbol, const void *obj, size_t len,
                      rt_jit_code **out, rt_error *err);
/* The IR route: build m in rt_jit_tsc_context(tsc); m is optimised and
 * added as a ThreadSafeModule with its own tracker. Takes m in all cases;
 * the caller still frees tsc (the module keeps the context alive). */
rt_jit_tsc *rt_jit_tsc_new(void);
struct LLVMOpaqueContext *rt_jit_tsc_context(rt_jit_tsc *t);
void rt_jit_tsc_free(rt_jit_tsc *t);
int rt_jit_add_module(rt_jit *j, rt_jit_tsc *tsc, struct LLVMOpaqueModule *m,
                      const char *symbol, rt_jit_code **out, rt_error *err);
void *rt_jit_code_addr(const rt_jit_code *c);
/* Drop one reference; the last removes the code from the JIT. */
int rt_jit_release(rt_jit *j, rt_jit_code *c, rt_error *err);
/* Objects loaded now (each under its own resource tracker): what a long
 * REPL session watches to see that released code is really gone. */
int rt_jit_code_count(rt_jit *j);

/* SHA-256 and HMAC-SHA-256 (sha256.c): what authenticates JIT cache
 * entries. Incremental: init, update any number of times, final. */
enum { RT_SHA256_LEN = 32 }; /* digest bytes */
typedef struct rt_sha256 {
    uint32_t h[8];           /* chaining state */
    uint64_t bytes;          /* message bytes so far */
    unsigned char buf[64];   /* the block being filled */
    size_t fill;             /* bytes in buf */
} rt_sha256;
void rt_sha256_init(rt_sha256 *s);
void rt_sha256_update(rt_sha256 *s, const void *data, size_t n);
void rt_sha256_final(rt_sha256 *s, unsigned char out[RT_SHA256_LEN]);
void rt_sha256_once(const void *data, size_t n, unsigned char out[RT_SHA256_LEN]);
typedef struct rt_hmac {
    rt_sha256 inner, outer;  /* keyed with K ^ ipad and K ^ opad */
} rt_hmac;
void rt_hmac_init(rt_hmac *m, const void *key, size_t klen);
void rt_hmac_update(rt_hmac *m, const void *data, size_t n);
void rt_hmac_final(rt_hmac *m, unsigned char out[RT_SHA256_LEN]);
/* 1 if a[0..n) == b[0..n), in time independent of where they differ. */
int rt_digest_equal(const unsigned char *a, const unsigned char *b, size_t n);

/* Cache entries are keyed by text: a kernel description plus
 * rt_jit_target() (rt_jit_cache_text builds it, seg-owned). */
typedef struct rt_jit_key {
    uint64_t h[2]; /* 128-bit hash of the key text */
} rt_jit_key;
rt_jit_key rt_jit_key_of(const char *text);
char *rt_jit_cache_text(const rt_jit *j, const char *desc);
/* $SEGC_CACHE_DIR, else $XDG_CACHE_HOME/segc, else ~/.cache/segc (created). */
int rt_jit_cache_dir(char *buf, size_t n, rt_error *err);
int rt_jit_cache_path(const char *text, char *buf, size_t n, rt_error *err);
/* 1 = hit (*obj seg-owned), 0 = miss (a corrupt, planted or foreign
 * entry is deleted and counted), -1 = error or a folder that is not
 * trusted (jit_cache.c; warned once per process): compile in memory. */
int rt_jit_cache_load(const char *text, void **obj, size_t *len, rt_error *err);
/* Atomic write: temp file, fsync, rename; -1 on an untrusted folder. */
int rt_jit_cache_store(const char *text, const void *obj, size_t len, rt_error *err);

typedef struct rt_jit_cache_info {
    long hits, misses;  /* loads in this process */
    long corrupt;       /* entries rejected and deleted (also misses) */
    long stores;        /* entries written in this process */
    long entries;       /* files in the folder now */
    int64_t bytes;      /* their total size */
    char dir[4096];     /* the folder */
    char refused[600];  /* why the folder is not used (stats only), or "" */
} rt_jit_cache_info;
int rt_jit_cache_stats(rt_jit_cache_info *s, rt_error *err);
/* Delete every entry; *removed (may be NULL) says what was there. */
int rt_jit_cache_clear(rt_jit_cache_info *removed, rt_error *err);

/* ------------------------------------------------------ blocked layouts */

/* NCDHW{vl}c (runtime/ops/layout.c): channels in blocks of vl, the vl
 * channels of a block innermost, [N][C/vl][spatial][vl]; the last block is
 * zero-padded. Spatial is the product of the spatial dims. */
int64_t rt_blocked_channels(int64_t c, int vl); /* c rounded up to vl */
/* A value a kernel table stores blocked (rt_kernel_table.blocked: f32
 * [N][C][spatial...], C a multiple of vl), to or from its plain form. */
void rt_layout_value_unblock(const rt_tensor *blocked, float *plain, int vl);
void rt_layout_value_block(const float *plain, rt_tensor *blocked, int vl);
void rt_layout_block(const float *src, float *dst, int64_t n, int64_t c, int64_t spatial, int vl);
void rt_layout_unblock(const float *src, float *dst, int64_t n, int64_t c, int64_t spatial,
                       int vl);
/* rt_layout_block on pool p (NULL = this thread); same bits. */
/* Channels [c0, c0 + c) of a plain [n][c_all][spatial] tensor to blocked
 * [n][c/vl][spatial][vl] (vl 1: a plain gather of the slice). */
void rt_layout_block_slice_pool(rt_pool *p, const float *src, float *dst, int64_t n, int64_t c,
                                int64_t c_all, int64_t c0, int64_t spatial, int vl);
void rt_layout_block_pool(rt_pool *p, const float *src, float *dst, int64_t n, int64_t c,
                          int64_t spatial, int vl);
/* 8-lane transpositions in AVX2 (runtime/ops/transpose8.c) for the
 * layout copies: block does dst[q * 8 + l] = src[l * stride + q], unblock
 * dst[l * stride + q] = src[q * 8 + l], for l < 8 and q < m rounded down
 * to a multiple of 8; each returns how many q it did (0 without AVX2:
 * the caller does the rest). */
int rt_transpose8_available(void);
int64_t rt_transpose8_block(const float *src, int64_t stride, float *dst, int64_t m);
/* What unblocking applies to each value on the way out, in this order:
 * keep it where mask > 0 (else 0), add res, clamp below 0 when relu. The
 * pointers index like dst; NULL = not applied. */
typedef struct rt_unblock_epi {
    const float *mask, *res;
    int relu;
} rt_unblock_epi;
int64_t rt_transpose8_unblock(const float *src, float *dst, int64_t stride, int64_t m,
                              const rt_unblock_epi *epi);
/* out[l] = sum over q < m of blk[q * vl + l] (vl <= 16), in double, in a
 * fixed order (four interleaved partial sums per lane by q mod 4, added
 * pairwise); the same bits with or without AVX2 (which it uses for vl 8). */
void rt_lane_sums(const float *blk, int64_t m, int vl, double *out);
/* Conv weight [cout][cin][kvol] -> [cout/vl][cin/ib][kvol][ib][vl], zero
 * padded; ib = 1 packs input channels unblocked (plain NCDHW input). */
void rt_conv_weight_block(rt_pool *p, const float *w, float *dst, int64_t cout, int64_t cin,
                          int64_t kvol, int ib, int vl);
/* The weight of the data gradient of a stride-1 conv with weight w
 * [cout][cin][kvol]: a conv of dy with w transposed and flipped, i.e.
 * w'[cin][cout][kvol - 1 - k], packed like rt_conv_weight_block (cin
 * output channels, cout input channels). */
void rt_conv_weight_block_tflip(rt_pool *p, const float *w, float *dst, int64_t cout,
                                int64_t cin, int64_t kvol, int ib, int vl);
/* dw [cout][cin][kvol] = sum over p < parts (in order) of packed partial
 * weights src[p] (layout of rt_conv_weight_block; padding ignored). */
void rt_conv_weight_unblock_sum(rt_pool *p, const float *src, int parts, float *dw, int64_t cout,
                                int64_t cin, int64_t kvol, int ib, int vl);
/* (These three run on pool p, NULL = this thread; same bits.) */
/* Bias [cout] -> [cout rounded up to vl], zero padded; b may be NULL. */
void rt_conv_bias_block(const float *b, float *dst, int64_t cout, int vl);

/* ----------------------------------------------- JIT kernels in programs */

/* Generated convolution kernels run inside the interpreter (runtime/
 * jitconv.c). The compiler (compiler/jitprog.c) compiles them and hands
 * over plain data: an entry point and the numbers the driver needs to feed
 * it, so the runtime never sees the kernel IR or LLVM. */

/* The generated entry point: tasks [task_begin, task_end) of blocked y
 * (same signature as the compiler's cg_conv_fn). */
typedef void (*rt_conv_fn)(const float *x, const float *w, const float *bias, const float *res,
                           float *y, int64_t task_begin, int64_t task_end);

/* What a kernel's instruction computes (rt_conv_kernel.kind). */
enum {
    RT_CONV_FWD = 0,   /* OP_CONV (x, w, bias) -> y */
    RT_CONV_BWD_DATA,  /* OP_CONV_BWD_DATA (dy, w) -> dx: a forward kernel over dy
                          (cin = the conv's cout) with the weight packed by
                          rt_conv_weight_block_tflip; stride 1 */
    RT_CONV_BWD_WEIGHT, /* OP_CONV_BWD_WEIGHT (x, dy) -> dw: fn(x, dy, NULL, NULL,
                          partials) then rt_conv_weight_unblock_sum; in_vol/out_vol
                          are x's and dy's, x_floats/y_floats blocked x/dy,
                          w_floats all partials */
    RT_CONV_PHASED     /* the data gradient of a strided conv, or a transposed conv
                          (dy = its input, dx = its output): one stride-1 kernel per
                          output phase (rt_conv_phase), fn unused */
};

/* One output phase of RT_CONV_PHASED: the positions r + s*j of dx along
 * each axis take dy * a sub-kernel of w (the taps landing on them) as a
 * stride-1 conv; phases no tap lands on are zeros (or the bias). */
typedef struct rt_conv_phase {
    rt_conv_fn fn;        /* NULL = no tap lands on this phase */
    int64_t tasks;
    int r[3];             /* phase offsets (D, H, W) */
    int64_t out[3];       /* positions j per axis */
    int nk[3];            /* sub-kernel taps per axis */
    int t0[3], tstep[3];  /* sub-kernel tap u is the conv's tap t0 + u * tstep */
    int64_t w_floats;     /* packed sub-kernel, then its plain gathered copy */
    int64_t y_floats;     /* blocked result of the phase */
} rt_conv_phase;

/* One compiled conv instruction (f32). A grouped convolution runs its
 * kernel once per group, on that group's channel slices of the operands;
 * cin and cout are then one group's. */
typedef struct rt_conv_kernel {
    rt_conv_fn fn;           /* the code; owned by whoever built the table */
    int kind;                /* RT_CONV_*; cin, cout are the forward kernel's (for
                                RT_CONV_BWD_DATA: dy's and dx's channels) */
    int groups;              /* channel groups (0 or 1: none); the tensors have groups *
                                cin and groups * cout channels */
    int parts;               /* RT_CONV_BWD_WEIGHT: partial results summed */
    int64_t tasks;           /* parallel tasks of fn */
    int64_t n, cin, cout;    /* batch, logical channels */
    int64_t in_vol, out_vol; /* spatial voxels of x and of y */
    int64_t kvol;            /* kernel taps */
    int vl;                  /* output channel block (NCDHW{vl}c y) */
    int ib;                  /* input block: vl (blocked x) or 1 (x used as is) */
    int bias_out;            /* RT_CONV_BWD_WEIGHT: value of the bias gradient (the sum
                                of dy over all but channels) it also writes; -1 = none */
    int residual;            /* RT_CONV_FWD: a residual (plain, like y) is added as y is
                                copied out of the blocked layout */
    int relu_copy;           /* and then the ReLU (the kernel's epilogue has none) */
    int oc_group_blocks;     /* RT_CONV_FWD, RT_CONV_BWD_DATA: output blocks per task
                                group (the kernel's register tile rc) */
    int64_t group_tasks;     /* tasks per (sample, output group) */
    int64_t chunk_groups;    /* output groups per pass through the blocked y scratch
                                (y_floats holds that many for one sample); 0 = all
                                samples and groups in one pass */
    /* Operands stored blocked (NCDHW{vl}c) by the program (rt_kernel_table.
     * blocked; one group only): no layout copy, no workspace for them. */
    int x_blocked;           /* x (RT_CONV_BWD_DATA: dy) */
    int y_blocked;           /* RT_CONV_FWD, RT_CONV_BWD_DATA: the result: the kernel
                                writes it in place (the ReLU mask, blocked too, is
                                applied after) */
    int dy_blocked;          /* RT_CONV_BWD_WEIGHT: dy (the bias gradient then sums it
                                as it is) */
    int mask_blocked;        /* RT_CONV_BWD_DATA: the ReLU-gradient mask */
    int mask_in_kernel;      /* and the kernel applies it (its mask epilogue: the
                                mask goes in as the residual operand) */
    /* RT_CONV_PHASED: cin/in_vol are dy's, cout/out_vol dx's, kvol the conv's */
    int n_phases;
    const rt_conv_phase *phases;
    int s[3];                /* strides (D, H, W) */
    int64_t dx_sp[3], k_sp[3]; /* dx and kernel extents (D, H, W) */
    int mask;                /* the third operand is a ReLU mask (else a bias) */
    int64_t x_floats, w_floats, b_floats, y_floats; /* blocked operand sizes */
} rt_conv_kernel;

/* Fast kernels (runtime/ops/fast*.c): pool-parallel versions of the hot
 * data-movement ops (upsample, pools and their gradients, concat, slice),
 * batch norm (writing its running statistics like the reference) and its
 * gradients, softmax, log_softmax and global_avgpool for the JIT
 * executor. Each writes every element of out (which does not alias an
 * input), gives the same bits for any thread count, and agrees with the
 * op's reference kernel within 1e-5 relative. Returns 0, or -1 with err
 * set. */
typedef int (*rt_fast_fn)(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                          rt_pool *pool, rt_error *err);
/* The fast kernel for instruction i of p, or NULL (the reference kernel
 * stays: an op, dtype or attribute the fast kernels do not cover). */
rt_fast_fn rt_fast_kernel_for(const rt_program *p, int i);
/* A channel concat (axis 1) of plain f32 inputs whose channel counts are
 * multiples of vl (8 or 16), written in the blocked layout NCDHW{vl}c that
 * the convolution kernels read (each input goes to its own blocks: a
 * placement). The output's bytes are then only for kernels with
 * rt_conv_kernel.x_blocked. NULL for another vl. */
rt_fast_fn rt_concat_blocked_fn(int vl);

/* A generated kernel of a fused group (OP_FUSED; compiler/kir_eltwise.c):
 * fn(operand pointers, out, task_begin, task_end). Each task writes its
 * own part of out in a fixed order, so any thread count gives the same
 * bits. */
typedef void (*rt_eltwise_fn)(void *const *in, void *out, int64_t task_begin, int64_t task_end);
typedef struct rt_eltwise_kernel {
    rt_eltwise_fn fn; /* owned by whoever built the table */
    int64_t tasks;
} rt_eltwise_kernel;
/* Run k over all its tasks on p (NULL = this thread). */
void rt_eltwise_kernel_run(const rt_eltwise_kernel *k, rt_pool *p, rt_tensor *const *in, int n_in,
                           rt_tensor *out);

/* Per-instruction kernels of one program. */
typedef struct rt_kernel_table {
    int n_instrs;                         /* the program's instruction count */
    const rt_conv_kernel *const *kernel;  /* per instruction: NULL = reference kernel */
    const unsigned char *fused;           /* per instruction: 1 = done by an earlier
                                             kernel's epilogue, skipped */
    const rt_fast_fn *fast;               /* per instruction (NULL array = none):
                                             a fast kernel instead of the reference */
    const rt_eltwise_kernel *const *eltwise; /* per instruction (NULL array = none):
                                             a fused group's generated kernel */
    const unsigned char *blocked;         /* per instruction (NULL array = none): 1 = its
                                             result is stored blocked, NCDHW{vl}c, for
                                             the conv kernels that read it; never an
                                             output, so only a tool that inspects
                                             intermediate values sees the difference */
    int vl;                               /* their lanes */
} rt_kernel_table;

/* Blocked operands of the driver; grows, reused across calls. Zero-init. */
typedef struct rt_conv_scratch {
    float *x, *w, *b, *y;
    int64_t cap_x, cap_w, cap_b, cap_y; /* floats allocated */
} rt_conv_scratch;
void rt_conv_scratch_free(rt_conv_scratch *s);
/* Bytes of blocked operands k's driver needs, and a scratch that uses
 * ws (that many bytes, RT_MEM_ALIGN-aligned; not owned) for them. */
int64_t rt_conv_workspace_bytes(const rt_conv_kernel *k);
void rt_conv_scratch_in(rt_conv_scratch *s, const rt_conv_kernel *k, void *ws);

/* The driver: x to NCDHW{vl}c (unless ib = 1), pack w and bias (b may be
 * NULL: zeros) — every call, since weights change between runs — run the
 * kernel's tasks on p (NULL = this thread), and y back to NCDHW. y must
 * have the conv's output type. Bit-identical for any thread count. For
 * RT_CONV_BWD_DATA, b is the fused ReLU mask (OP_CONV_BWD_DATA's third
 * operand) or NULL: dx is kept where it is > 0, as the copy back runs.
 * db (RT_CONV_BWD_WEIGHT with bias_out, else NULL): the bias gradient,
 * summed while dy is copied into the blocked layout. res (k->residual,
 * else NULL): added to y, then the ReLU with k->relu_copy, as y is copied
 * out of the blocked layout. */
void rt_conv_kernel_run(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *x,
                        const rt_tensor *w, const rt_tensor *b, const rt_tensor *res,
                        rt_tensor *y, rt_tensor *db, rt_conv_scratch *s);

/* RT_CONV_PHASED (runtime/jitconv_phased.c): dy (or a transposed conv's
 * input), w, extra = the bias (OP_CONV_T) or the fused ReLU mask (an
 * OP_CONV_BWD_DATA's third operand), y = dx. Same bits for any thread
 * count; y may share memory with nothing it reads. */
void rt_conv_phased_run(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *dy,
                        const rt_tensor *w, const rt_tensor *extra, rt_tensor *y,
                        rt_conv_scratch *s);

/* From the next run on, instructions with a kernel in t run it (on a pool
 * of the interpreter's thread count) instead of rt_kernel_run; fused ones
 * are skipped. t must be built for the interpreter's program and outlive
 * its use; NULL returns to the reference kernels. */
void rt_interp_set_kernels(rt_interp *it, const rt_kernel_table *t);
/* The interpreter's thread pool (made on first use; NULL for 1 thread),
 * for work between runs on the same threads (the optimizer update). */
rt_pool *rt_interp_pool(rt_interp *it);

/* ------------------------------------------------------- sliding window */
/* runtime/sliding.c: a net applied to a whole volume (or image) in tiles
 * of its input size that overlap, each tile's probabilities weighted by a
 * Gaussian importance map (sigma = patch / 8, as nnU-Net) and blended;
 * axes shorter than the tile are padded with zeros. Validation during
 * training and `segc infer` both use it. */

/* What turns the prediction output into probabilities before tiles are
 * blended. */
typedef enum rt_activation {
    RT_ACT_NONE,    /* the output holds probabilities already (sigmoid, softmax) */
    RT_ACT_SOFTMAX, /* logits: softmax over the channels */
    RT_ACT_SIGMOID, /* logits: a sigmoid per channel */
} rt_activation;

typedef struct rt_sliding {
    int nsp;             /* spatial rank 1..3 */
    int64_t patch[3];    /* the net input's spatial size, slowest first; unused 1 */
    int channels;        /* the net input's channels */
    int batch;           /* tiles per run: the program's B (1..RT_MAX_BATCH) */
    double overlap;      /* share of a tile its neighbour overlaps, [0, 1); default 0.5 */
    int mirror;          /* 1: average each tile over its 2^nsp mirror images (TTA) */
    rt_activation act;   /* logits to probabilities */
    const char *input;   /* the program's image input (default "image") */
    const char *output;  /* the program's prediction output, f32 [B, C, tile...] */
    /* after every run of the program (may be NULL): tiles done of total */
    void (*progress)(void *user, int64_t done, int64_t total);
    void *user;
} rt_sliding;

/* Defaults: overlap 0.5, input "image", no mirroring, no activation. */
void rt_sliding_init(rt_sliding *s);
/* Tile origins along one axis of `size` voxels (nnU-Net's steps; one
 * centred, negative origin when size < patch) into origins (may be
 * NULL); returns how many. */
int64_t rt_sliding_steps(int64_t size, int64_t patch, double overlap, int64_t *origins);
/* Tiles of a whole volume of spatial size `size`. */
int64_t rt_sliding_tiles(const rt_sliding *s, const int64_t size[3]);
/* The importance map of a tile [patch...]: 1 in the centre (patch / 2). */
void rt_sliding_gaussian(int nsp, const int64_t patch[3], float *w);
/* Predict image [channels, size...] with the program in it: *prob
 * (seg_xcalloc'd, the caller frees) gets the blended probabilities
 * [C, size...] and *out_channels C. The same bits for any thread count. */
int rt_sliding_predict(const rt_sliding *s, rt_interp *it, const float *image,
                       const int64_t size[3], float **prob, int *out_channels, rt_error *err);

/* ------------------------------------------------- data parallelism (MPI) */
/* runtime/dist.c: `mpirun -np N segc train` as data parallelism. Every
 * rank holds the whole model and runs its share of each global batch;
 * after the backward pass the gradients of the trainable parameters (and
 * the buffers) are averaged across ranks, summed in rank order, so every
 * rank applies the same update. The only file that includes mpi.h. */
typedef struct rt_dist rt_dist;

#define RT_DIST_BUCKET_BYTES (16 << 20) /* gradient bytes per collective: few
                                           large messages, bounded buffers */

/* Joins the job when the process was started by mpirun (its environment
 * has OMPI_COMM_WORLD_SIZE, or PMIX_RANK / PMI_RANK); *d = NULL alone,
 * without a single MPI call. -1 with err when MPI_Init fails. */
int rt_dist_join(rt_dist **d, rt_error *err);
int rt_dist_rank(const rt_dist *d); /* 0 for NULL */
int rt_dist_size(const rt_dist *d); /* 1 for NULL */
/* Ranks on this machine (OMPI_COMM_WORLD_LOCAL_SIZE; 1 for NULL). */
int rt_dist_local_size(const rt_dist *d);
/* MPI_Finalize, when every rank ends together. */
void rt_dist_leave(rt_dist *d);
/* Ends every rank of the job with exit code `code` (MPI_Abort): for a
 * failure the other ranks cannot know about. */
void rt_dist_abort(rt_dist *d, int code);
/* The last error came out of a collective, so every rank has it. */
int rt_dist_error_shared(const rt_dist *d);

/* Every rank passes its hash of `what`; when they differ every rank fails
 * alike, naming the ranks that differ from rank 0. */
int rt_dist_agree(rt_dist *d, uint64_t hash, const char *what, rt_error *err);
/* A step's outcome on every rank: rc (0 or -1 with err) and its loss. A
 * failure anywhere becomes every rank's error, "rank R: <its message>",
 * the lowest failing rank's; otherwise *loss becomes the mean of the
 * ranks' losses (summed in rank order). */
int rt_dist_step_agree(rt_dist *d, int rc, double *loss, rt_error *err);
/* Sum n int64 counters over the ranks, in place (integers: exact). */
void rt_dist_sum_i64(rt_dist *d, int64_t *v, int n);

/* The tensors averaged after every backward pass, packed in order into
 * buckets of RT_DIST_BUCKET_BYTES. */
typedef struct rt_dist_grads rt_dist_grads;
rt_dist_grads *rt_dist_grads_new(rt_dist *d);
void rt_dist_grads_add(rt_dist_grads *g, float *data, size_t n); /* caller keeps data */
/* Average every added tensor over the ranks: each element is the sum of
 * the ranks' values in rank order, divided by the rank count. */
void rt_dist_grads_reduce(rt_dist_grads *g);
void rt_dist_grads_free(rt_dist_grads *g);
/* What one step moves for `floats` averaged scalars on `ranks` ranks:
 * the payload and the buckets; each rank sends and receives
 * 2 (ranks - 1) / ranks of the payload (rt_dist_grads_reduce). */
int64_t rt_dist_payload_bytes(int64_t floats);
int rt_dist_bucket_count(int64_t floats);

/* ------------------------------------------------------------- training */
/* runtime/train.c: runs one training stage of a schedule on interpreters
 * of its two programs, with the kernel tables the caller compiled (the
 * JIT's) or, where a table is NULL, the reference kernels. The caller
 * (the CLI) compiles the stage's programs and fills an rt_stage_spec;
 * parameters pass between stages through an rt_store by name. Progress is
 * reported through callbacks: the runtime prints nothing. */

/* Named tensors that outlive a stage: parameters, buffers, and which
 * stage last trained each. Owns copies. */
typedef struct rt_store rt_store;
rt_store *rt_store_new(void);
void rt_store_free(rt_store *s);
int rt_store_count(const rt_store *s);
const char *rt_store_name(const rt_store *s, int i);
rt_tensor *rt_store_get(const rt_store *s, const char *name);   /* or NULL */
const char *rt_store_trained_by(const rt_store *s, const char *name); /* or NULL */
/* Copy t in under name (replacing); trained_by may be NULL (keep). */
void rt_store_put(rt_store *s, const char *name, const rt_tensor *t, const char *trained_by);

#define RT_MAX_STREAMS 4
#define RT_MAX_BATCH 256 /* patches per step and stream */

typedef enum rt_label_kind {
    RT_LABEL_NONE,  /* unlabelled stream */
    RT_LABEL_MASK,  /* f32 [B, 1, spatial]: 1 where label > 0 */
    RT_LABEL_INDEX, /* i32 [B, spatial]: class indices */
} rt_label_kind;

typedef struct rt_stream_spec {
    const char *prefix;        /* input name prefix: "" primary, "unl." others */
    const rt_dataset *ds;      /* cases to sample patches from */
    rt_label_kind label;       /* how the label input is shaped */
} rt_stream_spec;

typedef struct rt_stage_spec {
    const char *name;
    int index;                     /* stage number in the schedule */
    const rt_program *train;       /* outputs "loss" and "grad:<param>" */
    const rt_program *eval;        /* inference graph (may be NULL: no validation) */
    const char *pred_output;       /* eval output holding the prediction */
    rt_decode decode;              /* how it becomes a label map */
    rt_activation pred_act;        /* logits to probabilities before tiles blend */
    double overlap;                /* sliding-window overlap of validation (0 = 0.5) */
    float threshold;               /* RT_DECODE_THRESHOLD, RT_DECODE_NESTED */
    int pred_classes;              /* K: the classes it tells apart (metrics are over these) */
    const char *const *class_names;/* K names */
    int truth_map[RT_MAX_CLASSES]; /* validation label class -> one of the K (-1: ignore) */
    rt_metric monitor;             /* what plateau() follows and the epoch line shows */
    rt_metric best_by;             /* what best() keeps the best network by */
    const char *const *trainable;  /* parameters the optimizer updates */
    int n_trainable;
    rt_stream_spec streams[RT_MAX_STREAMS];
    int n_streams;
    const rt_dataset *val;         /* validation cases (may be NULL) */
    int classes;                   /* label classes of the validation data (>= 2) */
    int nsp;                       /* spatial rank of the net input */
    int64_t patch[3];              /* net input spatial size */
    int channels;                  /* net input channels */
    int batch;                     /* B */
    int steps_per_epoch;
    float fg_fraction;             /* forced-foreground share of each batch */
    int augment;                   /* apply aug */
    rt_augment_opts aug;
    rt_optim_config optim;
    rt_sched lr;                   /* per step */
    int max_epochs;
    int plateau;                   /* stop on a plateau of the EMA of the metric */
    double plateau_ema;            /* ema = a * ema + (1 - a) * metric */
    double plateau_delta;          /* improvement that counts */
    int plateau_patience;          /* epochs without improvement */
    double clip_norm;              /* 0 = no clipping */
    uint64_t seed;
    int threads;
    /* JIT kernels for the train / eval programs (rt_interp_set_kernels);
     * NULL = reference kernels only */
    const rt_kernel_table *train_jit, *eval_jit;
    /* Data parallelism (runtime/dist.c): the job this process is a rank
     * of, or NULL alone. With ranks, batch is this rank's share of
     * global_batch, the schedule's batch (0 = batch: one process). */
    rt_dist *dist;
    int global_batch;
} rt_stage_spec;

typedef struct rt_epoch_report {
    int epoch;             /* from 1 */
    int epochs;            /* the stage's maximum */
    double loss;           /* mean training loss */
    double lr;             /* learning rate at the epoch's last step */
    int validated;         /* val holds a validation of this epoch */
    rt_val_metrics val;    /* every metric over the prediction's classes */
    double monitor;        /* s->monitor's value (NaN without validation) */
    double ema;            /* EMA of monitor */
    double seconds;        /* wall time of the epoch incl. validation */
    double step_seconds;   /* mean wall time of one training step */
    int best;              /* this epoch is the best so far */
    int stop;              /* the stop rule fired */
    double best_ema;       /* plateau state, for checkpoints (see rt_resume) */
    int bad_epochs;
    double best_metric;
    uint64_t step;         /* steps done in the stage */
    int steps_done;        /* the interrupt hook: steps of this epoch done */
    double loss_sum;       /* the interrupt hook: the sum of their losses */
} rt_epoch_report;

typedef struct rt_train_hooks {
    void *user;
    /* after every step (for a progress bar); may be NULL */
    void (*step)(void *user, const rt_stage_spec *s, int epoch, int step, double loss);
    /* after every epoch; the hook may write files (checkpoints); returning
     * non-zero stops with that error (err must be set) */
    int (*epoch)(void *user, const rt_stage_spec *s, const rt_epoch_report *r,
                 rt_interp *train, rt_optim *optim, rt_error *err);
    /* after every step, after `step`; may be NULL. r describes the epoch
     * in progress (epoch, step, steps_done, loss_sum) and the stage's
     * state as of the last finished epoch (ema, best_ema, bad_epochs,
     * best_metric): with the parameters and optimizer state, all a
     * resume from this step needs. 0 goes on; 1 ends the stage there (a
     * signal asked: the hook saves what it wants, nothing is published,
     * rt_train_stage returns RT_TRAIN_STOPPED); -1 stops with that error
     * (err must be set). */
    int (*interrupt)(void *user, const rt_stage_spec *s, const rt_epoch_report *r,
                     rt_interp *train, rt_optim *optim, rt_error *err);
} rt_train_hooks;

/* Resume point inside a stage (all zero = start fresh). */
typedef struct rt_resume {
    int epoch;            /* epochs already done */
    int steps_done;       /* steps of the next epoch already done (an interrupted run) */
    double loss_sum;      /* the sum of their losses (the epoch's mean loss goes on from it) */
    double ema, best_ema; /* plateau state */
    int bad_epochs;
    double best_metric;   /* best_by's value at the best epoch so far */
    const rt_ckpt *ckpt;  /* optimizer state (may be NULL): every slot's must be there */
    const char *path;     /* ckpt's file, for messages */
    rt_store *best;       /* best parameters so far (may be NULL) */
} rt_resume;

/* Train one stage. Parameters come from the store where names and types
 * match (inherited), else from their initialisers; the best parameters
 * (by s->best_by on validation, or the lowest loss without it) go back
 * into the store, marked trained_by for the trainable ones. */
enum { RT_TRAIN_STOPPED = 1 }; /* the interrupt hook ended the stage */
int rt_train_stage(const rt_stage_spec *s, rt_store *store, const rt_resume *resume,
                   const rt_train_hooks *hooks, rt_error *err);
/* A stage's training step kept alive between runs (the REPL's :train):
 * the training program on an interpreter with the spec's kernels, the
 * optimizer with its state, the step counter (sampling, augmentation and
 * the lr schedule continue from it). No epochs, no validation. s must
 * outlive the trainer and may change between steps where it is read per
 * step (lr schedule). */
typedef struct rt_trainer rt_trainer;
rt_trainer *rt_trainer_new(const rt_stage_spec *s, const rt_store *store, rt_error *err);
/* Parameters and buffers from the store where names and types match. */
void rt_trainer_load(rt_trainer *t, const rt_store *store);
/* One step: sample, augment, forward, backward, update; *loss is its loss. */
int rt_trainer_step(rt_trainer *t, double *loss, rt_error *err);
uint64_t rt_trainer_steps(const rt_trainer *t); /* steps done */
/* Continue from step `steps` (a trainer rebuilt for the same stage). */
void rt_trainer_set_steps(rt_trainer *t, uint64_t steps);
/* Every parameter and buffer into the store, the trainable ones marked
 * trained by the stage. */
void rt_trainer_save(rt_trainer *t, rt_store *store);
void rt_trainer_free(rt_trainer *t);

/* Validation Dice etc. of the eval program with the store's parameters. */
int rt_validate(const rt_stage_spec *s, rt_interp *eval, rt_confusion *conf, rt_error *err);
/* Classes of validation case ci (s->val) into map (the case's voxels),
 * by sliding-window inference with the eval program (rt_sliding_predict
 * with the stage's tile batch, overlap and activation). */
int rt_predict_case(const rt_stage_spec *s, rt_interp *eval, int ci, int32_t *map, rt_error *err);
/* The same before decoding: the blended probabilities [C, size...]
 * (*prob seg_xcalloc'd) and C. */
int rt_predict_case_probs(const rt_stage_spec *s, rt_interp *eval, int ci, float **prob,
                          int *channels, rt_error *err);
/* The `where` of the first instruction whose f32 result holds a NaN or
 * Inf (after a run), or NULL. */
const char *rt_interp_first_nonfinite(rt_interp *it);
/* Load every param/buffer of p whose name and type the store holds into
 * it (inheritance by name); returns how many were loaded. */
int rt_store_to_interp(const rt_store *s, rt_interp *it, const rt_program *p);
/* Copy every param/buffer value of it into the store (no trained_by). */
void rt_store_from_interp(rt_store *s, rt_interp *it, const rt_program *p);

#endif
