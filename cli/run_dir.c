/* run_dir.c — a training run's claim on its folder, so that two runs
 * never write one folder and a finished run is never overwritten by
 * accident.
 *
 * The claim is an exclusive flock() on RUN/.lock, taken before anything
 * is written and held until the process ends (the kernel drops it even
 * after kill -9, so a stale lock cannot exist; the file stays, with the
 * pid of the last holder for the message a second run prints). Then:
 *   - a new run (--out, or the default folder) refuses a folder that
 *     already holds a run: one of schedule.seg, metrics.csv or
 *     ckpt/last.safetensors is there;
 *   - --overwrite first removes segc's files of the old run (the ones
 *     cli_train.c, train_report.c and cli_report.c write; nothing else);
 *   - every mode removes the temp files that atomic writes interrupted by
 *     a crash left behind ("NAME.tmp.XXXXXX", runtime/atomic_file.c:
 *     keep the two in step): nobody else can be writing them now.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_LEAF ".lock"

enum { TEMP_SUFFIX = 6 }; /* random characters after ".tmp." (atomic_file.c) */

/* The sub-folders a run writes into ("" = the folder itself). */
static const char *const run_subdirs[] = {"", "ckpt", "overlays"};

static void leaf_path(char *buf, size_t n, const char *dir, const char *sub, const char *leaf)
{
    snprintf(buf, n, "%s%s%s/%s", dir, *sub ? "/" : "", sub, leaf);
}

/* The lock, or CLI_USAGE naming the holder when another run has it. */
static int lock_take(const char *dir, cli_run_lock *lock)
{
    char path[4200], pid[32] = "?";
    leaf_path(path, sizeof path, dir, "", LOCK_LEAF);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        cli_error(errno == ENOENT ? "%s: no such run folder%s" : "%s: cannot lock the run "
                  "folder: %s", dir, errno == ENOENT ? "" : strerror(errno));
        return CLI_RUNTIME;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        ssize_t n = busy ? read(fd, pid, sizeof pid - 1) : -1;
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        if (busy)
            cli_error("%s: another segc train (pid %s) is writing this run folder; wait for it "
                      "to end, or train into another --out", dir, *pid ? pid : "?");
        else
            cli_error("%s: cannot lock the run folder: %s", dir, strerror(errno));
        close(fd);
        return busy ? CLI_USAGE : CLI_RUNTIME;
    }
    char me[32];
    int len = snprintf(me, sizeof me, "%ld\n", (long)getpid());
    int noted = ftruncate(fd, 0) == 0 && pwrite(fd, me, (size_t)len, 0) == len;
    (void)noted; /* the pid is only for the other run's message */
    lock->fd = fd;
    return CLI_OK;
}

/* The first file that shows dir holds a run, or NULL. */
static const char *run_mark(const char *dir)
{
    static const char *const marks[] = {"schedule.seg", "metrics.csv", "ckpt/last.safetensors"};
    char path[4200];
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        leaf_path(path, sizeof path, dir, "", marks[i]);
        if (access(path, F_OK) == 0)
            return marks[i];
    }
    return NULL;
}

/* "NAME.tmp.XXXXXX" with six of [0-9a-z]: an interrupted atomic write. */
static int is_temp(const char *name)
{
    size_t n = strlen(name), k = sizeof ".tmp." - 1;
    if (n <= k + TEMP_SUFFIX || strncmp(name + n - TEMP_SUFFIX - k, ".tmp.", k))
        return 0;
    for (const char *c = name + n - TEMP_SUFFIX; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z')))
            return 0;
    return 1;
}

/* segc's files of an old run: what --overwrite removes. */
static int is_run_file(const char *sub, const char *name)
{
    static const char *const top[] = {"schedule.seg", "metrics.csv", "curves.svg", "plan.csv",
                                      "report.html"};
    size_t n = strlen(name);
    if (!*sub) {
        for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
            if (!strcmp(name, top[i]))
                return 1;
        return 0;
    }
    if (!strcmp(sub, "ckpt"))
        return n > 12 && !strcmp(name + n - 12, ".safetensors");
    return !strcmp(name, "overlays.csv") || (n > 4 && !strcmp(name + n - 4, ".png"));
}

/* Remove temp files (and, for an overwrite, the old run's files) from
 * the folder and its sub-folders; returns how many temp files went. */
static int sweep(const char *dir, int overwrite)
{
    int temps = 0;
    char path[4200];
    for (size_t s = 0; s < sizeof run_subdirs / sizeof run_subdirs[0]; s++) {
        const char *sub = run_subdirs[s];
        snprintf(path, sizeof path, "%s%s%s", dir, *sub ? "/" : "", sub);
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            int temp = is_temp(e->d_name);
            if (!temp && !(overwrite && is_run_file(sub, e->d_name)))
                continue;
            leaf_path(path, sizeof path, dir, sub, e->d_name);
            temps += unlink(path) == 0 && temp;
        }
        if (d)
            closedir(d);
    }
    return temps;
}

int cli_run_dir_claim(const char *dir, int mode, cli_run_lock *lock)
{
    lock->fd = -1;
    if (mode != CLI_RUN_RESUME && rt_make_dirs(dir, 0777)) { /* runs/NAME or any new path */
        cli_error("%s: cannot create folder: %s", dir, strerror(errno));
        return CLI_RUNTIME;
    }
    int rc = lock_take(dir, lock);
    if (rc != CLI_OK)
        return rc;
    const char *mark = mode == CLI_RUN_NEW ? run_mark(dir) : NULL;
    if (mark) {
        cli_error("%s already holds a run (%s): use --resume %s to continue it, or --overwrite "
                  "to replace it", dir, mark, dir);
        cli_run_dir_release(lock);
        return CLI_USAGE;
    }
    int temps = sweep(dir, mode == CLI_RUN_OVERWRITE);
    if (temps)
        printf("run folder: removed %d temp file%s an interrupted write left\n", temps,
               temps == 1 ? "" : "s");
    return CLI_OK;
}

void cli_run_dir_release(cli_run_lock *lock)
{
    if (lock->fd >= 0)
        close(lock->fd); /* drops the flock */
    lock->fd = -1;
}
