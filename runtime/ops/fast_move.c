/* fast_move.c — concat, slice and slice_bwd for the fast kernels: the
 * reference's copies (movement.c, slice_bwd.c) cut into pieces of at most
 * MOVE_CHUNK elements that the pool copies in parallel. No arithmetic, so
 * the results are the reference's bit for bit.
 *
 * concat: the output is `outer` runs of one block per input; a task copies
 * one MOVE_CHUNK-element range of the output from whichever blocks it
 * spans. slice: axes whose elements stay adjacent in both tensors are
 * merged, the innermost merged axis is the row; a task copies one chunk of
 * one row (memcpy when the row is contiguous in the input, else strided).
 * slice_bwd: dx is zeroed by chunks, then dy's rows are stored through the
 * same row layout in the other direction.
 */
#include "runtime/ops/fast.h"

#include <string.h>

#define MOVE_CHUNK ((int64_t)16384) /* floats per task: 64 KB */

static int64_t chunks_of(int64_t n) { return (n + MOVE_CHUNK - 1) / MOVE_CHUNK; }

/* ---------------------------------------------------------------- concat */

typedef struct concat_job {
    int n_in;
    const float *const *src; /* input data */
    const int64_t *block;    /* floats per input block */
    int64_t run;             /* floats per run: the sum of the blocks */
    int64_t total;           /* output floats */
    float *dst;
} concat_job;

/* Copy output floats [b, e) from the input blocks they come from. */
static void concat_range(const concat_job *j, int64_t b, int64_t e)
{
    while (b < e) {
        int64_t r = b / j->run, off = b % j->run;
        int k = 0;
        while (off >= j->block[k]) /* the run's block at off; empty ones skipped */
            off -= j->block[k++];
        int64_t n = j->block[k] - off < e - b ? j->block[k] - off : e - b;
        memcpy(j->dst + b, j->src[k] + r * j->block[k] + off, (size_t)n * sizeof(float));
        b += n;
    }
}

static void concat_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const concat_job *j = arg;
    for (int64_t t = b; t < e; t++) {
        int64_t end = (t + 1) * MOVE_CHUNK;
        concat_range(j, t * MOVE_CHUNK, end < j->total ? end : j->total);
    }
}

int rt_fast_concat(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                   rt_error *err)
{
    (void)err;
    const rt_type *ot = &out->type;
    int axis = ins->attrs.axis < 0 ? ins->attrs.axis + ot->rank : ins->attrs.axis;
    int64_t inner = 1;
    for (int i = axis + 1; i < ot->rank; i++)
        inner *= ot->dim[i];
    const float **src = seg_xcalloc((size_t)ins->n_in, sizeof *src);
    int64_t *block = seg_xcalloc((size_t)ins->n_in, sizeof *block);
    concat_job j = {ins->n_in, src, block, ot->dim[axis] * inner, rt_type_numel(ot), rt_f32(out)};
    for (int k = 0; k < ins->n_in; k++) {
        src[k] = rt_f32(in[k]);
        block[k] = in[k]->type.dim[axis] * inner;
    }
    if (j.run > 0)
        rt_pool_run(pool, chunks_of(j.total), concat_task, &j);
    seg_free(src);
    seg_free(block);
    return 0;
}

/* ----------------------------------------------------------------- slice */

/* The strided side (x, dx) seen from the contiguous side (y, dy). */
typedef struct slice_job {
    int rank;                  /* merged axes, >= 1 */
    int64_t dim[RT_MAX_RANK];  /* merged shape of the contiguous side */
    int64_t st[RT_MAX_RANK];   /* element strides on the strided side */
    int64_t rows, row_chunks;  /* rows (all axes but the last), chunks per row */
    float *strided;            /* at the first sliced element */
    float *contig;
    int to_contig;             /* slice: strided -> contig; slice_bwd: the reverse */
} slice_job;

/* Merge the slice geometry of `big` (strided side) read at the shape of
 * `small`: drop size-1 axes, join axes that stay adjacent. */
static void slice_layout(const rt_attrs *a, const rt_type *big, const rt_type *small, slice_job *j)
{
    int64_t cs[RT_MAX_RANK], base = 0;
    ops_strides_contig(big, cs);
    j->rank = 0;
    for (int i = 0; i < small->rank; i++) {
        base += a->begin[i] * cs[i];
        if (small->dim[i] == 1)
            continue;
        int64_t s = cs[i] * a->step[i];
        if (j->rank > 0 && j->st[j->rank - 1] == s * small->dim[i]) {
            j->dim[j->rank - 1] *= small->dim[i];
            j->st[j->rank - 1] = s;
            continue;
        }
        j->dim[j->rank] = small->dim[i];
        j->st[j->rank++] = s;
    }
    if (j->rank == 0)
        j->dim[j->rank] = 1, j->st[j->rank++] = 1;
    j->rows = rt_type_numel(small) / j->dim[j->rank - 1];
    j->row_chunks = chunks_of(j->dim[j->rank - 1]);
    j->strided += base;
}

/* Offset on the strided side of the start of row r. */
static int64_t slice_row_offset(const slice_job *j, int64_t r)
{
    int64_t off = 0;
    for (int i = j->rank - 2; i >= 0; i--) {
        off += r % j->dim[i] * j->st[i];
        r /= j->dim[i];
    }
    return off;
}

static void slice_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const slice_job *j = arg;
    int64_t len = j->dim[j->rank - 1], step = j->st[j->rank - 1];
    for (int64_t t = b; t < e; t++) {
        int64_t r = t / j->row_chunks, x0 = t % j->row_chunks * MOVE_CHUNK;
        int64_t n = len - x0 < MOVE_CHUNK ? len - x0 : MOVE_CHUNK;
        float *s = j->strided + slice_row_offset(j, r) + x0 * step, *c = j->contig + r * len + x0;
        if (step == 1 && j->to_contig)
            memcpy(c, s, (size_t)n * sizeof(float));
        else if (step == 1)
            memcpy(s, c, (size_t)n * sizeof(float));
        else if (j->to_contig)
            for (int64_t i = 0; i < n; i++)
                c[i] = s[i * step];
        else
            for (int64_t i = 0; i < n; i++)
                s[i * step] = c[i];
    }
}

int rt_fast_slice(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                  rt_error *err)
{
    (void)err;
    slice_job j = {.strided = rt_f32(in[0]), .contig = rt_f32(out), .to_contig = 1};
    if (rt_type_numel(&out->type) == 0)
        return 0;
    slice_layout(&ins->attrs, &in[0]->type, &out->type, &j);
    rt_pool_run(pool, j.rows * j.row_chunks, slice_task, &j);
    return 0;
}

typedef struct zero_job {
    float *d;
    int64_t n;
} zero_job;

static void zero_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const zero_job *z = arg;
    int64_t end = e * MOVE_CHUNK < z->n ? e * MOVE_CHUNK : z->n;
    memset(z->d + b * MOVE_CHUNK, 0, (size_t)(end - b * MOVE_CHUNK) * sizeof(float));
}

int rt_fast_slice_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                      rt_pool *pool, rt_error *err)
{
    (void)err;
    int64_t n = rt_type_numel(&out->type);
    zero_job z = {rt_f32(out), n};
    rt_pool_run(pool, chunks_of(n), zero_task, &z);
    if (rt_type_numel(&in[0]->type) == 0)
        return 0;
    slice_job j = {.strided = rt_f32(out), .contig = rt_f32(in[0]), .to_contig = 0};
    slice_layout(&ins->attrs, &out->type, &in[0]->type, &j);
    rt_pool_run(pool, j.rows * j.row_chunks, slice_task, &j);
    return 0;
}
