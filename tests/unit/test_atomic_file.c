/* test_atomic_file.c — rt_atomic_file: a failure at any I/O step leaves
 * no temp file and the destination as it was; new files are 0644 under
 * the umask; abort and name-based writing (as a library that wants a
 * file name would do) work. Scratch files live in a fresh folder under
 * test_tmpdir().
 */
#include "runtime/runtime.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh folder dir[512] under test_tmpdir() and path[600] = dir/name. */
static void scratch(char *dir, char *path, const char *name)
{
    snprintf(dir, 512, "%s/atomic-XXXXXX", test_tmpdir());
    if (!mkdtemp(dir))
        test_fail_at(__FILE__, __LINE__, "mkdtemp %s failed", dir);
    snprintf(path, 600, "%s/%s", dir, name);
}

/* Files in dir (names not starting with '.'). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* The whole file as a NUL-terminated string (at most n - 1 bytes), or "". */
static const char *slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = 0;
    if (f)
        fclose(f);
    return buf;
}

static void remove_all(const char *dir)
{
    DIR *d = opendir(dir);
    char p[700];
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

TEST(atomic_file_failure_keeps_destination)
{
    long live = seg_alloc_live();
    char dir[512], path[600], got[64];
    scratch(dir, path, "out.txt");
    rt_error err = {{0}};
    CHECK_INT(rt_file_write_atomic(path, "old", 3, &err), 0);
    int failures = 0;
    for (int k = 1; k < 20; k++) { /* fail each I/O step in turn */
        rt_atomic_file_debug_fail_at(k);
        err.msg[0] = '\0';
        if (rt_file_write_atomic(path, "new", 3, &err) == 0)
            break;
        failures++;
        CHECK(strstr(err.msg, "out.txt: cannot write: ") != NULL);
        CHECK_STR(slurp(path, got, sizeof got), "old");
        CHECK_INT(count_files(dir), 1); /* no temp file left behind */
    }
    rt_atomic_file_debug_fail_at(0);
    CHECK_INT(failures, 6); /* create, write, flush, fsync, close, rename */
    CHECK_STR(slurp(path, got, sizeof got), "new");

    /* A failure in the caller's own code: the same after abort. */
    rt_atomic_file a;
    CHECK_INT(rt_atomic_file_open(&a, path, "text", &err), 0);
    CHECK(a.tmp && strncmp(a.tmp, path, strlen(path)) == 0 && strstr(a.tmp, ".tmp.") != NULL);
    CHECK_INT(rt_atomic_file_write(&a, "half", 4), 0);
    CHECK_INT(count_files(dir), 2);
    errno = EIO;
    CHECK_INT(rt_atomic_file_fail(&a, "encode"), -1);
    CHECK(strstr(err.msg, "out.txt: cannot write text: encode: ") != NULL);
    CHECK(a.tmp == NULL && a.f == NULL);
    rt_atomic_file_abort(&a); /* a second abort is harmless */
    CHECK_STR(slurp(path, got, sizeof got), "new");
    CHECK_INT(count_files(dir), 1);

    /* A folder that does not exist: a clear error, nothing created. */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/missing/x.txt", dir);
    CHECK_INT(rt_file_write_atomic(bad, "x", 1, &err), -1);
    CHECK(strstr(err.msg, bad) != NULL && strstr(err.msg, "No such file") != NULL);
    remove_all(dir);
    CHECK_INT(seg_alloc_live(), live);
}

static int mode_under(const char *path, mode_t mask)
{
    mode_t old = umask(mask);
    rt_error err = {{0}};
    int rc = rt_file_write_atomic(path, "m", 1, &err);
    umask(old);
    struct stat st;
    if (rc || stat(path, &st) != 0)
        return -1;
    return (int)(st.st_mode & 07777);
}

TEST(atomic_file_mode_follows_umask)
{
    char dir[512], path[600];
    scratch(dir, path, "m.bin");
    CHECK_INT(mode_under(path, 022), 0644);
    CHECK_INT(mode_under(path, 077), 0600); /* replaced by a new file each time */
    CHECK_INT(mode_under(path, 027), 0640);
    CHECK_INT(mode_under(path, 022), 0644);
    remove_all(dir);
}

/* A writer that wants a file name opens a.tmp itself; the commit's fsync
 * and rename cover what it wrote. */
TEST(atomic_file_written_by_name)
{
    long live = seg_alloc_live();
    char dir[512], path[600], got[64];
    scratch(dir, path, "named.dat");
    rt_error err = {{0}};
    rt_atomic_file a;
    CHECK_INT(rt_atomic_file_open(&a, path, NULL, &err), 0);
    FILE *f = fopen(a.tmp, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("by name", f);
        fclose(f);
    }
    CHECK_INT(rt_atomic_file_commit(&a), 0);
    CHECK(a.tmp == NULL && a.f == NULL);
    CHECK_STR(slurp(path, got, sizeof got), "by name");
    CHECK_INT(count_files(dir), 1);
    remove_all(dir);
    CHECK_INT(seg_alloc_live(), live);
}
