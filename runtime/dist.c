/* dist.c — data-parallel training over MPI (OpenMPI): the one file that
 * includes mpi.h.
 *
 * A process joins the job only when mpirun started it (OMPI_COMM_WORLD_SIZE,
 * PMIX_RANK or PMI_RANK in its environment); alone it makes no MPI call,
 * so a plain `segc train` neither needs nor touches an MPI runtime.
 *
 * The gradient average. Every rank must end a step with the same bits
 * in every gradient, or the replicas drift apart; and the sum should not
 * depend on the order MPI_Allreduce happens to pick (it depends on the
 * message sizes, the rank count and the MPI build). So the reduction is
 * ours, made of two collectives that only move bytes:
 *
 *   1. MPI_Alltoall: each bucket is cut into N equal chunks (zero padded);
 *      rank j receives chunk j of every rank (a reduce-scatter without
 *      the reduce);
 *   2. rank j sums its chunk over ranks 0, 1, ..., N-1 in that order and
 *      divides by N;
 *   3. MPI_Allgather: every rank receives every summed chunk.
 *
 * Each rank sends and receives 2 (N - 1) / N of the payload, what a ring
 * all-reduce moves, and every element is the same left-to-right sum in
 * rank order on every rank. Buckets of RT_DIST_BUCKET_BYTES keep the
 * messages large and the buffers bounded; only the tensors the trainer
 * adds (trainable gradients, buffers) are sent, so frozen parameters
 * move nothing.
 *
 * Failures. Before the gradients, every rank's outcome of the step (ok,
 * or its error message, and its loss) is gathered (rt_dist_step_agree),
 * so a NaN or an error on any rank stops every rank at the same step with
 * the same message. A rank that dies is mpirun's to notice: it ends the
 * others (the CLI says where they were).
 */
#include "runtime.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

struct rt_dist {
    int rank, size;
    int local_size;   /* ranks on this machine */
    int shared_error; /* the last error came from a collective */
};

enum { STATUS_MSG = 240 }; /* bytes of a rank's error message in a step record */

/* One rank's outcome of a step, gathered by rt_dist_step_agree. */
typedef struct step_record {
    double loss;
    int32_t rc;
    char msg[STATUS_MSG];
} step_record;

struct rt_dist_grads {
    rt_dist *d;
    float **data;     /* the added tensors, in order */
    size_t *n;
    int count, cap;
    size_t total;     /* floats over every tensor */
    float *send, *recv; /* one bucket, padded to a multiple of the rank count */
};

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

static int under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int rt_dist_join(rt_dist **d, rt_error *err)
{
    *d = NULL;
    if (!under_mpirun())
        return 0;
    int ok = 0;
    MPI_Initialized(&ok);
    if (!ok && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        rt_error_set(err, "MPI_Init failed: cannot join the mpirun job");
        return -1;
    }
    rt_dist *x = seg_xcalloc(1, sizeof *x);
    MPI_Comm_rank(MPI_COMM_WORLD, &x->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &x->size);
    x->local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    *d = x;
    return 0;
}

int rt_dist_rank(const rt_dist *d) { return d ? d->rank : 0; }
int rt_dist_size(const rt_dist *d) { return d ? d->size : 1; }
int rt_dist_local_size(const rt_dist *d) { return d && d->local_size > 0 ? d->local_size : 1; }
int rt_dist_error_shared(const rt_dist *d) { return d && d->shared_error; }

void rt_dist_leave(rt_dist *d)
{
    if (!d)
        return;
    MPI_Finalize();
    seg_free(d);
}

void rt_dist_abort(rt_dist *d, int code)
{
    if (d)
        MPI_Abort(MPI_COMM_WORLD, code);
}

/* ---------------------------------------------------------- agreement */

int rt_dist_agree(rt_dist *d, uint64_t hash, const char *what, rt_error *err)
{
    if (!d)
        return 0;
    uint64_t *all = seg_xcalloc((size_t)d->size, sizeof *all);
    MPI_Allgather(&hash, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    seg_buf differ = {0};
    int first = 0; /* the first rank that differs */
    for (int r = d->size - 1; r >= 1; r--)
        first = all[r] != all[0] ? r : first;
    for (int r = 1; r < d->size; r++)
        if (all[r] != all[0])
            seg_buf_printf(&differ, "%s%d", differ.len ? ", " : "", r);
    int rc = 0;
    if (differ.len) {
        rt_error_set(err, "%s differs between ranks (rank%s %s against rank 0: hash %016llx, "
                     "rank 0 %016llx); every rank must run the same segc binary on the same "
                     "program, --set values and seed", what, strchr(differ.data, ',') ? "s" : "",
                     differ.data, (unsigned long long)all[first],
                     (unsigned long long)all[0]);
        d->shared_error = 1;
        rc = -1;
    }
    seg_buf_free(&differ);
    seg_free(all);
    return rc;
}

int rt_dist_step_agree(rt_dist *d, int rc, double *loss, rt_error *err)
{
    if (!d)
        return rc;
    step_record mine = {.loss = *loss, .rc = rc};
    if (rc) /* cut to the record's size: the start says what and where */
        memcpy(mine.msg, err->msg, sizeof mine.msg - 1);
    step_record *all = seg_xcalloc((size_t)d->size, sizeof *all);
    MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE,
                  MPI_COMM_WORLD);
    int bad = -1;
    double sum = 0;
    for (int r = 0; r < d->size; r++) {
        if (all[r].rc && bad < 0)
            bad = r;
        sum += all[r].loss;
    }
    if (bad >= 0) {
        all[bad].msg[STATUS_MSG - 1] = 0;
        rt_error_set(err, "rank %d of %d: %s", bad, d->size, all[bad].msg);
        d->shared_error = 1;
    } else {
        *loss = sum / d->size;
    }
    seg_free(all);
    return bad >= 0 ? -1 : 0;
}

void rt_dist_sum_i64(rt_dist *d, int64_t *v, int n)
{
    if (d && n > 0)
        MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
}

/* ---------------------------------------------------------- gradients */

static size_t bucket_floats(void) { return RT_DIST_BUCKET_BYTES / sizeof(float); }

int64_t rt_dist_payload_bytes(int64_t floats) { return floats * (int64_t)sizeof(float); }

int rt_dist_bucket_count(int64_t floats)
{
    int64_t cap = (int64_t)bucket_floats();
    return (int)((floats + cap - 1) / cap);
}

rt_dist_grads *rt_dist_grads_new(rt_dist *d)
{
    rt_dist_grads *g = seg_xcalloc(1, sizeof *g);
    g->d = d;
    return g;
}

void rt_dist_grads_add(rt_dist_grads *g, float *data, size_t n)
{
    if (g->count == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->data = seg_xrealloc(g->data, (size_t)g->cap * sizeof *g->data);
        g->n = seg_xrealloc(g->n, (size_t)g->cap * sizeof *g->n);
    }
    g->data[g->count] = data;
    g->n[g->count++] = n;
    g->total += n;
}

/* Copy floats [off, off + len) of the tensors' concatenation to or from
 * buf (to_buf: tensors -> buf). */
static void bucket_copy(rt_dist_grads *g, size_t off, size_t len, float *buf, int to_buf)
{
    size_t at = 0;
    for (int i = 0; i < g->count && len > 0; i++) {
        size_t n = g->n[i];
        if (off < at + n) {
            size_t from = off - at, take = n - from < len ? n - from : len;
            if (to_buf)
                memcpy(buf, g->data[i] + from, take * sizeof *buf);
            else
                memcpy(g->data[i] + from, buf, take * sizeof *buf);
            buf += take, off += take, len -= take;
        }
        at += n;
    }
}

/* One bucket of len floats at off: alltoall, sum in rank order, allgather. */
static void bucket_reduce(rt_dist_grads *g, size_t off, size_t len)
{
    int n = g->d->size;
    size_t chunk = (len + (size_t)n - 1) / (size_t)n;
    memset(g->send, 0, chunk * (size_t)n * sizeof *g->send);
    bucket_copy(g, off, len, g->send, 1);
    MPI_Alltoall(g->send, (int)chunk, MPI_FLOAT, g->recv, (int)chunk, MPI_FLOAT, MPI_COMM_WORLD);
    float *sum = g->send; /* the sent bucket is no longer needed */
    for (size_t i = 0; i < chunk; i++) {
        float s = g->recv[i];
        for (int r = 1; r < n; r++)
            s += g->recv[(size_t)r * chunk + i];
        sum[i] = s / (float)n;
    }
    /* in place: every rank's own part sits at recv + rank * chunk */
    memcpy(g->recv + (size_t)g->d->rank * chunk, sum, chunk * sizeof *sum);
    MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, g->recv, (int)chunk, MPI_FLOAT,
                  MPI_COMM_WORLD);
    bucket_copy(g, off, len, g->recv, 0);
}

void rt_dist_grads_reduce(rt_dist_grads *g)
{
    if (!g->d || g->total == 0)
        return;
    size_t cap = bucket_floats(), n = (size_t)g->d->size;
    size_t first = g->total < cap ? g->total : cap;
    size_t padded = (first + n - 1) / n * n;
    if (!g->send) {
        g->send = seg_xcalloc(padded, sizeof *g->send);
        g->recv = seg_xcalloc(padded, sizeof *g->recv);
    }
    for (size_t off = 0; off < g->total; off += cap)
        bucket_reduce(g, off, g->total - off < cap ? g->total - off : cap);
}

void rt_dist_grads_free(rt_dist_grads *g)
{
    if (!g)
        return;
    seg_free(g->data);
    seg_free(g->n);
    seg_free(g->send);
    seg_free(g->recv);
    seg_free(g);
}
