/* cli_dist.c — what `segc train` does differently under mpirun
 * (runtime/dist.c does the collectives):
 *
 *   - the schedule as this rank compiles it: every stage's batch is this
 *     rank's share of the schedule's batch, which stays the global batch;
 *   - the checks that every rank runs the same thing, as hashes compared
 *     at the start: the segc binary (its bytes), the program (its files'
 *     texts, schedule, --set values, seed) and, per stage, the compiled
 *     training program (values and instructions);
 *   - ranks other than 0 print nothing to stdout (rank 0 speaks for the
 *     job and is the only one that writes the run folder);
 *   - when mpirun ends this rank because another one died, a SIGTERM
 *     handler says which stage and step this rank had reached and exits 70
 *     (the one exit outside main: the process is being ended anyway, and
 *     the run folder's files are written atomically, so the last
 *     checkpoint stays whole).
 */
#include "cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ hashing */

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t fnv_str(const char *s, uint64_t h)
{
    return fnv(s ? s : "", s ? strlen(s) + 1 : 1, h);
}

static const uint64_t fnv_basis = 0xcbf29ce484222325ULL;

uint64_t cli_dist_binary_hash(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    uint64_t h = fnv_basis;
    char buf[1 << 16];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
        h = fnv(buf, (size_t)n, h);
    if (fd >= 0)
        close(fd);
    return h;
}

uint64_t cli_dist_program_hash(const seg_program *p, const seg_schedule *s, uint64_t seed)
{
    const seg_source *src;
    int n = seg_program_sources(p, &src);
    uint64_t h = fnv_basis;
    for (int i = 0; i < n; i++) /* texts, not paths: ranks may start in other folders */
        h = fnv_str(src[i].text, h);
    h = fnv_str(s->name, h);
    seg_buf args = {0};
    cli_schedule_args(s, "", "\n", &args);
    h = fnv_str(args.data, h);
    seg_buf_free(&args);
    return fnv(&seed, sizeof seed, h);
}

uint64_t cli_dist_stage_hash(const rt_stage_spec *sp)
{
    const rt_program *p = sp->train;
    uint64_t h = fnv_basis;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        int32_t head[3] = {(int32_t)v->kind, (int32_t)v->type.dtype, (int32_t)v->type.rank};
        h = fnv(head, sizeof head, h);
        h = fnv(v->type.dim, sizeof v->type.dim[0] * (size_t)v->type.rank, h);
        h = fnv_str(v->name, h);
    }
    for (int i = 0; i < p->n_instrs; i++) {
        const rt_instr *in = &p->instrs[i];
        int32_t head[3] = {(int32_t)in->op, in->n_in, in->out};
        h = fnv(head, sizeof head, h);
        h = fnv(in->in, sizeof *in->in * (size_t)in->n_in, h);
    }
    int32_t sizes[4] = {sp->batch, sp->global_batch, sp->steps_per_epoch, sp->max_epochs};
    return fnv(sizes, sizeof sizes, h);
}

/* ----------------------------------------------------------- schedule */

seg_schedule *cli_dist_schedule(const seg_schedule *s, const rt_dist *d, rt_error *err)
{
    int ranks = rt_dist_size(d);
    seg_schedule *copy = seg_xcalloc(1, sizeof *copy);
    seg_stage *stages = seg_xcalloc((size_t)s->n_stages + 1, sizeof *stages);
    *copy = *s;
    copy->stages = stages;
    for (int k = 0; k < s->n_stages; k++) {
        stages[k] = s->stages[k];
        if (stages[k].batch % ranks) {
            rt_error_set(err, "stage '%s': batch %d does not split over %d ranks; make the "
                         "batch a multiple of the rank count", stages[k].name, stages[k].batch,
                         ranks);
            cli_dist_schedule_free(copy);
            return NULL;
        }
        stages[k].batch /= ranks;
    }
    return copy;
}

void cli_dist_schedule_free(seg_schedule *s)
{
    if (!s)
        return;
    seg_free((void *)s->stages);
    seg_free(s);
}

/* -------------------------------------------------- output and signals */

/* Where this rank is, for the SIGTERM handler: two buffers so the handler
 * never reads one being written. */
static char where_buf[2][240];
static volatile sig_atomic_t where_cur = -1;
static int where_rank;

void cli_dist_where(const char *stage, int epoch, int step, int steps_per_epoch)
{
    int next = where_cur == 0;
    long global = (long)(epoch - 1) * steps_per_epoch + step;
    snprintf(where_buf[next], sizeof where_buf[next],
             "segc: rank %d: ended by mpirun in stage '%s' after step %ld (epoch %d, step %d); "
             "another rank stopped (mpirun names it); the run folder keeps its last "
             "checkpoint\n", where_rank, stage, global, epoch, step);
    where_cur = next;
}

static void on_term(int sig)
{
    (void)sig;
    int cur = where_cur;
    if (cur >= 0) {
        ssize_t w = write(2, where_buf[cur], strlen(where_buf[cur]));
        (void)w;
    }
    _exit(CLI_RUNTIME);
}

void cli_dist_setup(const rt_dist *d)
{
    if (!d)
        return;
    where_rank = rt_dist_rank(d);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    if (rt_dist_rank(d) > 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "segc: rank %d: cannot silence stdout\n", rt_dist_rank(d));
}

/* ---------------------------------------------------------- a training job */

/* Without --threads or SEGC_THREADS, the ranks on one machine share its
 * CPUs instead of each taking all of them. */
static int rank_threads(const rt_dist *d, const cli_opts *o)
{
    if (o->threads_given || rt_dist_local_size(d) <= 1)
        return o->threads;
    int t = o->threads / rt_dist_local_size(d);
    return t > 0 ? t : 1;
}

int cli_dist_begin(const cli_opts *o, const seg_program *p, const seg_schedule *s,
                   uint64_t seed, cli_dist_job *job, rt_error *err)
{
    rt_dist *d = job->dist;
    job->threads = o->threads;
    job->local = NULL;
    if (!d)
        return 0;
    job->threads = rank_threads(d, o);
    if (rt_dist_agree(d, cli_dist_binary_hash(), "the segc binary", err) ||
        rt_dist_agree(d, cli_dist_program_hash(p, s, seed),
                      "the program (its files, --schedule, --set and --seed)", err))
        return -1;
    job->local = cli_dist_schedule(s, d, err);
    if (!job->local)
        return -1;
    printf("data parallel: %d ranks, %d thread%s each, every stage's batch split evenly\n",
           rt_dist_size(d), job->threads, job->threads == 1 ? "" : "s");
    return 0;
}

int cli_dist_end(cli_dist_job *job, int code)
{
    where_cur = -1; /* training is over: a SIGTERM now (mpirun ending the others after a
                       failure every rank has reported) says nothing more */
    cli_dist_schedule_free(job->local);
    job->local = NULL;
    if (code != CLI_OK && rt_dist_size(job->dist) > 1 && !rt_dist_error_shared(job->dist))
        rt_dist_abort(job->dist, code); /* the others would wait for this rank forever */
    rt_dist_leave(job->dist);
    job->dist = NULL;
    return code;
}
