/* runtime.h — the public face of segc's runtime, the bottom layer.
 *
 * Everything above (compiler/, lang/, the CLI) includes this header and no
 * other runtime header. It holds:
 *   - base utilities: the allocation funnel, arenas, assertions, spans;
 *   - tensor types and the flat attribute record every op uses;
 *   - the op table (generated from ops.def);
 *   - rt_program, the executable form of a graph, and the reference
 *     interpreter that runs it;
 *   - volume I/O (NIfTI).
 * The runtime never includes anything from compiler/ or lang/.
 */
#ifndef SEGC_RUNTIME_H
#define SEGC_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- base */

#define SEG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SEG_NORETURN _Noreturn

/* Internal bugs, never user errors: abort with file and line. */
SEG_NORETURN void seg_panic(const char *file, int line, const char *fmt, ...) SEG_PRINTF(3, 4);
#define SEG_ASSERT(x) ((x) ? (void)0 : seg_panic(__FILE__, __LINE__, "assertion failed: %s", #x))
#define SEG_UNREACHABLE() seg_panic(__FILE__, __LINE__, "unreachable")

/* The one allocation funnel: every heap allocation in segc goes through
 * here, so tests can count allocations. Out of memory aborts with a message
 * (there is no sensible recovery at the sizes segc allocates). */
void *seg_xrealloc(void *p, size_t n);
void *seg_xcalloc(size_t count, size_t size);
char *seg_xstrdup(const char *s);
void seg_free(void *p);
/* Number of live allocations made through the funnel (for leak tests). */
long seg_alloc_live(void);

/* An arena: many small allocations freed together. Used per compilation
 * (AST, IR) and per program. */
typedef struct seg_arena seg_arena;
seg_arena *seg_arena_new(void);
void seg_arena_free(seg_arena *a);
void *seg_arena_alloc(seg_arena *a, size_t n); /* zeroed, 16-byte aligned */
char *seg_arena_strdup(seg_arena *a, const char *s);
char *seg_arena_printf(seg_arena *a, const char *fmt, ...) SEG_PRINTF(2, 3);

/* A growable byte buffer (owner-based, freed with seg_buf_free). */
typedef struct seg_buf {
    char *data;  /* NUL-terminated contents */
    size_t len;  /* bytes used, excluding the NUL */
    size_t cap;  /* bytes allocated */
} seg_buf;
void seg_buf_printf(seg_buf *b, const char *fmt, ...) SEG_PRINTF(2, 3);
void seg_buf_free(seg_buf *b);

/* A location in .seg source. file is an index into the diagnostic
 * engine's file table (lang/diag); 0 is "no location". */
typedef struct seg_span {
    int file;          /* file id, 0 = none */
    int line, col;     /* 1-based start */
    int end_line, end_col; /* 1-based, inclusive end */
} seg_span;

/* Runtime errors carry a message naming the op, tensor or file. */
typedef struct rt_error {
    char msg[512]; /* empty when no error */
} rt_error;
void rt_error_set(rt_error *e, const char *fmt, ...) SEG_PRINTF(2, 3);

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
} rt_attrs;

void rt_attrs_init(rt_attrs *a); /* neutral defaults: stride/dilation 1, groups 1, ... */

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
} rt_program;

void rt_program_free(rt_program *p);

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
rt_tensor *rt_interp_output(rt_interp *it, const char *name);
rt_tensor *rt_interp_value_at(rt_interp *it, int index);

/* Initialise one parameter tensor from its rt_init, with a stream derived
 * from its name, so a seed gives the same weights in any order. */
void rt_param_init(rt_tensor *t, const rt_init *init, const char *name, uint64_t seed);

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

#endif
