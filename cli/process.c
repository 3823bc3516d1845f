/* process.c — what the segc process does when something outside the
 * program happens: memory runs out, a test asks for an allocation to
 * fail, a signal asks the run to stop.
 *
 * Out of memory. Library code cannot exit, so the allocation funnel
 * (runtime/base.c) calls the handler installed here: it prints the size
 * asked for, and the note a command left (train: where the last checkpoint
 * is), then ends the process with exit 70. It uses write(2) and _exit(2):
 * nothing that could allocate, and no atexit handlers (LeakSanitizer would
 * report everything still live as a leak).
 *
 * Failure injection, for tests (SEGC_TEST_FAIL_ALLOC):
 *   N            the N-th allocation through the funnel fails;
 *   every:LOG    every allocation fails once, in a child: at allocation n
 *                the process forks, the child fails n and runs on to its
 *                exit, the parent waits and appends one line to LOG
 *                ("n BYTES STATUS first-line-of-stderr"), then goes on as
 *                if nothing had happened; so one run tries every n;
 *   every/K:LOG  the same for every K-th allocation.
 * A child that does not exit within SWEEP_TIMEOUT seconds is killed (a
 * hang is a failure like any other). Run swept commands with --threads 1,
 * --no-jit and OPENBLAS_NUM_THREADS=1: a child has only the thread that
 * forked it.
 *
 * Exit under an address-space limit (ulimit -v). OpenBLAS starts its
 * worker threads before main, and each allocates its 128 MB buffer first
 * thing, retrying forever when that fails; exit() then runs OpenBLAS's
 * destructor, which joins those workers: the process would hang for good
 * after printing its error. So under such a limit main ends with _exit
 * once stdio is flushed (nothing else runs at exit that matters: files
 * are written atomically and closed by then). A run cannot use those
 * workers either; rt_budget_check refuses it first with the figures.
 *
 * Signals. cli_stop_install makes SIGINT and SIGTERM set a flag the
 * trainer reads after each step (cli_stop_requested); a second signal
 * ends the process at once with the usual status.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    SWEEP_TIMEOUT = 120, /* seconds a child may take to exit */
    NOTE_MAX = 1024,     /* bytes of the note printed on the way out */
};

static char exit_note[NOTE_MAX]; /* printed after an out-of-memory message */

void cli_exit_note(const char *note)
{
    snprintf(exit_note, sizeof exit_note, "%s", note ? note : "");
}

/* ---------------------------------------------------------- out of memory */

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0 && errno != EINTR)
            return;
        if (w > 0)
            s += w, n -= (size_t)w;
    }
}

static void oom_exit(size_t bytes)
{
    char msg[128];
    int n = bytes ? snprintf(msg, sizeof msg, "segc: error: out of memory (asked for %zu bytes)\n",
                             bytes)
                  : snprintf(msg, sizeof msg, "segc: error: out of memory\n");
    fflush(stdout); /* what the run printed so far; its buffer exists already */
    write_all(2, msg, (size_t)n);
    if (exit_note[0])
        write_all(2, exit_note, strlen(exit_note));
    _exit(CLI_RUNTIME);
}

/* ------------------------------------------------------ failure injection */

static long fail_at;        /* SEGC_TEST_FAIL_ALLOC=N: the allocation to fail */
static long sweep_every;    /* every/K: K (0 = no sweep) */
static const char *sweep_log;
static int sweep_child;     /* in a child of the sweep: no more forks */
static pthread_mutex_t sweep_lock = PTHREAD_MUTEX_INITIALIZER;

static int inject_one(long n, size_t bytes)
{
    (void)bytes;
    return n == fail_at;
}

/* In the child: output to nowhere and stderr to LOG.err, a deadline. */
static void sweep_child_setup(void)
{
    sweep_child = 1;
    char path[4200];
    snprintf(path, sizeof path, "%s.err", sweep_log);
    int err = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (err >= 0)
        dup2(err, 2);
    if (null >= 0)
        dup2(null, 1);
    alarm(SWEEP_TIMEOUT);
}

/* The child's status and the first line it wrote to stderr, as one line. */
static void sweep_record(long n, size_t bytes, int status)
{
    char path[4200], first[300] = "";
    snprintf(path, sizeof path, "%s.err", sweep_log);
    FILE *e = fopen(path, "r");
    if (e) {
        if (!fgets(first, sizeof first, e))
            first[0] = 0;
        fclose(e);
    }
    first[strcspn(first, "\n")] = 0;
    FILE *log = fopen(sweep_log, "a");
    if (!log)
        return;
    if (WIFEXITED(status))
        fprintf(log, "%ld %zu exit=%d %s\n", n, bytes, WEXITSTATUS(status), first);
    else
        fprintf(log, "%ld %zu signal=%d %s\n", n, bytes, WTERMSIG(status), first);
    fclose(log);
}

static int inject_sweep(long n, size_t bytes)
{
    if (sweep_child || n % sweep_every != 0)
        return 0;
    pthread_mutex_lock(&sweep_lock);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        sweep_child_setup();
        return 1; /* the child: this allocation fails */
    }
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid > 0)
        sweep_record(n, bytes, status);
    pthread_mutex_unlock(&sweep_lock);
    return 0;
}

/* SEGC_TEST_FAIL_ALLOC, as described at the top; a bad value is ignored. */
static void inject_from_env(void)
{
    const char *v = getenv("SEGC_TEST_FAIL_ALLOC");
    if (!v || !*v)
        return;
    if (strncmp(v, "every", 5) == 0) {
        const char *colon = strchr(v, ':');
        long k = v[5] == '/' ? strtol(v + 6, NULL, 10) : 1;
        if (!colon || !colon[1] || k < 1)
            return;
        sweep_every = k;
        sweep_log = colon + 1;
        seg_set_alloc_hook(inject_sweep);
        return;
    }
    fail_at = strtol(v, NULL, 10);
    if (fail_at > 0)
        seg_set_alloc_hook(inject_one);
}

void cli_process_init(void)
{
    seg_set_oom_handler(oom_exit);
    inject_from_env();
}

/* ------------------------------------------------------------------- exit */

static int address_limited(void)
{
    int which[2] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; i++) {
        struct rlimit r;
        if (getrlimit(which[i], &r) == 0 && r.rlim_cur != RLIM_INFINITY)
            return 1;
    }
    return 0;
}

int cli_process_exit(int rc)
{
    if (!address_limited())
        return rc;
    fflush(NULL);
    _exit(rc);
}

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t stop_signal; /* the first SIGINT/SIGTERM, 0 = none */

static void on_stop(int sig)
{
    if (stop_signal) { /* asked twice: stop now */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

void cli_stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_stop_requested(void) { return stop_signal; }
