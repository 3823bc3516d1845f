/* atomic_file.c — writing a file so that a reader sees either the old
 * file or the new one, never half of either: checkpoints, NIfTI volumes,
 * PNG overlays, reports and JIT cache entries all go through here.
 *
 * rt_atomic_file_open creates "PATH.tmp.XXXXXX" in the destination's
 * folder (the same file system, so the rename is atomic) with
 * open(O_CREAT | O_EXCL, 0644). The kernel applies the umask, so the final
 * file is 0644 filtered by the umask without our reading it: umask(2)
 * can only be read by setting it, which races with other threads that
 * create files (JIT workers store cache entries in parallel). The caller
 * writes through a->f, or, for a library that wants a file name, opens
 * a->tmp itself and closes it again before committing.
 * rt_atomic_file_commit flushes, fsyncs (the fsync of our descriptor
 * covers writes made through any other one to the same file), closes and
 * renames the temp file over PATH, then fsyncs the folder so that the
 * rename itself survives a crash. Every failure before the rename, and
 * rt_atomic_file_abort, removes the temp file and leaves PATH as it was.
 *
 * runtime/jit_cache.c and cli/run_dir.c recognise temp files left by a
 * crash by the ".tmp." infix and the six characters after it: keep the
 * three in step.
 */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    ATOMIC_MODE = 0644, /* mode of new files before the umask */
    ATOMIC_TRIES = 100, /* temp names tried before giving up (names taken by others) */
    ATOMIC_SUFFIX = 6,  /* random characters in a temp name */
};

/* ------------------------------------------------- failure injection */

static int fail_at;  /* rt_atomic_file_debug_fail_at: the step to fail, 0 = none */
static int io_count; /* I/O steps taken by the current write */

void rt_atomic_file_debug_fail_at(int n) { fail_at = n; }

/* Called before each I/O step; nonzero means "pretend it failed". */
static int injected_failure(void)
{
    if (fail_at && ++io_count == fail_at) {
        errno = EIO;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ helpers */

/* "PATH: cannot write WHAT: STEP: strerror(errno)"; returns -1. */
static int atomic_error(rt_atomic_file *a, const char *step)
{
    int e = errno;
    rt_error_set(a->err, "%s: cannot write%s%s: %s: %s", a->path, a->what ? " " : "",
                 a->what ? a->what : "", step, strerror(e ? e : EIO));
    return -1;
}

/* Characters for a temp name, different between calls, threads,
 * processes and runs (O_EXCL settles any collision anyway). */
static void temp_suffix(char out[ATOMIC_SUFFIX + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    static atomic_uint_fast64_t calls;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 42) ^
                 (atomic_fetch_add(&calls, 1) + 1) * 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u; /* splitmix64's finaliser */
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    for (int i = 0; i < ATOMIC_SUFFIX; i++, x /= 36)
        out[i] = digits[x % 36];
    out[ATOMIC_SUFFIX] = 0;
}

/* Create a fresh temp file next to a->path; its descriptor, or -1. */
static int temp_create(rt_atomic_file *a)
{
    size_t n = strlen(a->path) + sizeof ".tmp." + ATOMIC_SUFFIX;
    a->tmp = seg_xrealloc(NULL, n);
    int fd = -1;
    if (injected_failure())
        return -1;
    for (int i = 0; fd < 0 && i < ATOMIC_TRIES; i++) {
        char sfx[ATOMIC_SUFFIX + 1];
        temp_suffix(sfx);
        snprintf(a->tmp, n, "%s.tmp.%s", a->path, sfx);
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, ATOMIC_MODE);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    return fd;
}

/* fsync the folder holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    seg_buf dir = {0};
    if (!slash)
        seg_buf_printf(&dir, ".");
    else
        seg_buf_printf(&dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    seg_buf_free(&dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    if (rc != 0 && errno == EINVAL) /* file systems that cannot sync folders */
        rc = 0;
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------- API */

int rt_atomic_file_open(rt_atomic_file *a, const char *path, const char *what, rt_error *err)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    a->what = what;
    a->err = err;
    io_count = 0;
    int fd = temp_create(a);
    if (fd < 0) {
        atomic_error(a, "create temp file");
        seg_free(a->tmp);
        a->tmp = NULL;
        return -1;
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        close(fd);
        return rt_atomic_file_fail(a, "fdopen");
    }
    return 0;
}

int rt_atomic_file_write(rt_atomic_file *a, const void *p, size_t n)
{
    SEG_ASSERT(a->f);
    if (injected_failure() || (n && fwrite(p, 1, n, a->f) != n))
        return rt_atomic_file_fail(a, "write");
    return 0;
}

void rt_atomic_file_abort(rt_atomic_file *a)
{
    if (a->f)
        fclose(a->f);
    a->f = NULL;
    if (a->tmp)
        unlink(a->tmp);
    seg_free(a->tmp);
    a->tmp = NULL;
}

int rt_atomic_file_fail(rt_atomic_file *a, const char *step)
{
    atomic_error(a, step);
    rt_atomic_file_abort(a);
    return -1;
}

int rt_atomic_file_commit(rt_atomic_file *a)
{
    SEG_ASSERT(a->f && a->tmp);
    if (injected_failure() || fflush(a->f) != 0)
        return rt_atomic_file_fail(a, "flush");
    if (injected_failure() || fsync(fileno(a->f)) != 0)
        return rt_atomic_file_fail(a, "fsync");
    int close_bad = fclose(a->f) != 0;
    a->f = NULL;
    if (close_bad || injected_failure())
        return rt_atomic_file_fail(a, "close");
    if (injected_failure() || rename(a->tmp, a->path) != 0)
        return rt_atomic_file_fail(a, "rename");
    seg_free(a->tmp);
    a->tmp = NULL;
    if (sync_dir(a->path) != 0)
        return atomic_error(a, "fsync of the folder (the new file is in place)");
    return 0;
}

int rt_file_write_atomic(const char *path, const void *data, size_t len, rt_error *err)
{
    rt_atomic_file a;
    if (rt_atomic_file_open(&a, path, NULL, err) || rt_atomic_file_write(&a, data, len))
        return -1;
    return rt_atomic_file_commit(&a);
}

int rt_make_dirs(const char *path, unsigned leaf_mode)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        int bad = mkdir(p, 0755) != 0 && errno != EEXIST;
        *s = '/';
        if (bad)
            return -1;
    }
    return mkdir(p, (mode_t)leaf_mode) != 0 && errno != EEXIST ? -1 : 0;
}
