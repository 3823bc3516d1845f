/* jit_cache.c — the on-disk cache of compiled kernel objects, and its
 * trust boundary: an entry's object code is linked into the process and
 * run, so nothing in the folder is believed that its owner could not
 * have written.
 *
 * Folder: $SEGC_CACHE_DIR, else $XDG_CACHE_HOME/segc, else ~/.cache/segc
 * (created 0700). It is used only if it is a folder owned by the
 * effective user and not writable by group or others; otherwise segc
 * says so once per process and compiles in memory (loads miss, nothing
 * is stored). An entry must be a regular file owned by the effective
 * user (opened without following symlinks); one that is not is deleted,
 * reported once and rebuilt.
 *
 * Entries are authenticated, not just checksummed: the folder holds
 * "key", 32 random bytes created 0600 (written to a temp file and
 * linked into place, so a reader never sees half a key and two first
 * users agree on one), and every entry carries the HMAC-SHA-256
 * (sha256.c) of its header fields, key text and object under that key.
 * A well-formed entry written by anyone without the key — another user,
 * or the same program with another folder's key — fails the MAC and is
 * never linked. A key that is not ours, is readable by others or has the
 * wrong size refuses the folder like a writable one.
 *
 * An entry is one file named by rt_jit_key_of(text):
 *     header { magic "SEGCJIT2", key hash, text length, object length, MAC }
 *     then the text, then the object.
 * Entries are written atomically (rt_file_write_atomic: temp file in the
 * folder, fsync, rename). A load checks every field, compares the stored
 * text with the wanted one byte by byte (so a hash collision is only a
 * miss) and verifies the MAC; an entry that fails any check is deleted
 * and counted as corrupt, and the caller rebuilds it.
 */
#include "runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "SEGCJIT2" /* 2: entries carry an HMAC, not a checksum */
#define CACHE_SUFFIX ".kobj"
#define CACHE_KEY "key" /* the folder's HMAC key */

enum {
    KEY_LEN = 32,          /* HMAC key bytes */
    ENTRY_MAX = 1 << 28,   /* bytes: a kernel object is at most a few MB; larger is not ours */
    PATH_MAX_CACHE = 4400, /* folder + entry name */
};

typedef struct cache_header {
    char magic[8];                   /* CACHE_MAGIC */
    uint64_t key[2];                 /* rt_jit_key of the text */
    uint64_t text_len;               /* bytes of key text after the header */
    uint64_t obj_len;                /* bytes of object after the text */
    unsigned char mac[RT_SHA256_LEN]; /* HMAC of the fields above, text, object */
} cache_header;

/* The folder, checked, and its key: what a load or a store needs. */
typedef struct cache_ctx {
    char dir[4096];
    unsigned char key[KEY_LEN];
} cache_ctx;

static atomic_long stat_hits, stat_misses, stat_corrupt, stat_stores;
static atomic_int warned_folder, warned_entry; /* each said once per process */

/* "segc: warning: jit cache: ..." once per process for each kind. */
static void warn_once(atomic_int *flag, const char *msg)
{
    if (atomic_exchange(flag, 1) == 0)
        fprintf(stderr, "segc: warning: jit cache: %s\n", msg);
}

/* ------------------------------------------------------------- folder */

int rt_jit_cache_dir(char *buf, size_t n, rt_error *err)
{
    const char *d = getenv("SEGC_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"),
               *h = getenv("HOME");
    int w;
    if (d && *d)
        w = snprintf(buf, n, "%s", d);
    else if (x && *x)
        w = snprintf(buf, n, "%s/segc", x);
    else if (h && *h)
        w = snprintf(buf, n, "%s/.cache/segc", h);
    else {
        rt_error_set(err, "jit cache: set SEGC_CACHE_DIR (no HOME)");
        return -1;
    }
    if (w < 0 || (size_t)w >= n) {
        rt_error_set(err, "jit cache: folder name too long");
        return -1;
    }
    if (rt_make_dirs(buf, 0700)) { /* the last folder private */
        rt_error_set(err, "jit cache: cannot create %s: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}

/* 0 if the folder is ours and only we can write to it. */
static int folder_trusted(const char *dir, rt_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        rt_error_set(err, "cannot use %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        rt_error_set(err, "%s is not a folder", dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        rt_error_set(err, "%s belongs to uid %ld, not to you (uid %ld): not using it, "
                     "compiling in memory", dir, (long)st.st_uid, (long)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        rt_error_set(err, "%s is writable by %s (mode %04o): not using it, compiling in "
                     "memory (chmod go-w it, or point SEGC_CACHE_DIR elsewhere)", dir,
                     st.st_mode & S_IWOTH ? "others" : "its group", (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- key */

static int random_bytes(unsigned char *p, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    for (ssize_t r; fd >= 0 && got < n; got += (size_t)r)
        if ((r = read(fd, p + got, n - got)) <= 0)
            break;
    if (fd >= 0)
        close(fd);
    return got == n ? 0 : -1;
}

/* A new key, complete in a temp file before it is linked into place:
 * link() fails if another process got there first, and then its key is
 * the one everybody reads. */
static int key_create(const char *path, rt_error *err)
{
    char tmp[PATH_MAX_CACHE + 32];
    unsigned char k[KEY_LEN];
    static atomic_long serial; /* JIT workers of one process may race here too */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%ld", path, (long)getpid(),
             atomic_fetch_add(&serial, 1));
    if (random_bytes(k, sizeof k)) {
        rt_error_set(err, "cannot read /dev/urandom for %s", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, k, sizeof k) == (ssize_t)sizeof k && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && (link(tmp, path) == 0 || errno == EEXIST);
    int e = errno;
    unlink(tmp);
    if (!ok)
        rt_error_set(err, "cannot create %s: %s", path, strerror(e));
    return ok ? 0 : -1;
}

/* Read the folder's key (creating it the first time): ours, private, whole. */
static int key_read(const char *dir, unsigned char key[KEY_LEN], rt_error *err)
{
    char path[PATH_MAX_CACHE];
    snprintf(path, sizeof path, "%s/" CACHE_KEY, dir);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (key_create(path, err))
            return -1;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    struct stat st;
    const char *why = fd < 0 ? strerror(errno)
                      : fstat(fd, &st) != 0 ? strerror(errno)
                      : !S_ISREG(st.st_mode) ? "not a regular file"
                      : st.st_uid != geteuid() ? "it belongs to another user"
                      : st.st_mode & 077 ? "others can read or write it"
                      : st.st_size != KEY_LEN ? "wrong size"
                      : read(fd, key, KEY_LEN) != KEY_LEN ? "cannot read it" : NULL;
    if (fd >= 0)
        close(fd);
    if (why)
        rt_error_set(err, "refusing the key %s (%s): compiling in memory (segc cache clear "
                     "makes a new one)", path, why);
    return why ? -1 : 0;
}

/* The folder and key for a load or a store; -1 (and one warning per
 * process) when the folder cannot be trusted. */
static int cache_open(cache_ctx *c, rt_error *err)
{
    if (rt_jit_cache_dir(c->dir, sizeof c->dir, err))
        return -1;
    rt_error why = {{0}};
    if (folder_trusted(c->dir, &why) || key_read(c->dir, c->key, &why)) {
        warn_once(&warned_folder, why.msg);
        rt_error_set(err, "jit cache: %s", why.msg);
        return -1;
    }
    return 0;
}

int rt_jit_cache_path(const char *text, char *buf, size_t n, rt_error *err)
{
    char dir[4096];
    if (rt_jit_cache_dir(dir, sizeof dir, err))
        return -1;
    rt_jit_key k = rt_jit_key_of(text);
    int w = snprintf(buf, n, "%s/%016llx%016llx" CACHE_SUFFIX, dir,
                     (unsigned long long)k.h[0], (unsigned long long)k.h[1]);
    if (w < 0 || (size_t)w >= n) {
        rt_error_set(err, "jit cache: path too long");
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- entries */

/* The MAC of an entry: header fields before the MAC, text, object. */
static void entry_mac(const unsigned char key[KEY_LEN], const cache_header *h, const void *text,
                      const void *obj, unsigned char out[RT_SHA256_LEN])
{
    rt_hmac m;
    rt_hmac_init(&m, key, KEY_LEN);
    rt_hmac_update(&m, h, offsetof(cache_header, mac));
    rt_hmac_update(&m, text, (size_t)h->text_len);
    rt_hmac_update(&m, obj, (size_t)h->obj_len);
    rt_hmac_final(&m, out);
}

/* Read an entry into a seg-owned buffer: 0 read, 1 absent, 2 present but
 * not a regular file of ours (reported once, to be deleted). */
static int entry_read(const char *path, unsigned char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : 2; /* ELOOP: a symlink */
    struct stat st = {0};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > ENTRY_MAX) {
        close(fd); /* not read into memory: a damaged or foreign entry, deleted */
        return 2;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        char msg[PATH_MAX_CACHE + 128];
        snprintf(msg, sizeof msg, "%s is not a file of yours (uid %ld): not linked, rebuilt",
                 path, (long)st.st_uid);
        warn_once(&warned_entry, msg);
        close(fd);
        return 2;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0; /* +1: see a file that grew */
    unsigned char *d = seg_xrealloc(NULL, cap);
    for (ssize_t got; n < cap && (got = read(fd, d + n, cap - n)) > 0;)
        n += (size_t)got;
    close(fd);
    *data = d;
    *len = n;
    return 0;
}

/* 0 if the entry in d[0..n) is intact, ours and belongs to text. */
static int entry_check(const cache_ctx *c, const unsigned char *d, size_t n, const char *text)
{
    cache_header h;
    size_t tl = strlen(text);
    if (n < sizeof h)
        return -1;
    memcpy(&h, d, sizeof h);
    rt_jit_key k = rt_jit_key_of(text);
    if (memcmp(h.magic, CACHE_MAGIC, 8) || h.key[0] != k.h[0] || h.key[1] != k.h[1] ||
        h.text_len != tl || h.obj_len == 0 || n - sizeof h < h.text_len ||
        n - sizeof h - h.text_len != h.obj_len)
        return -1;
    if (memcmp(d + sizeof h, text, tl))
        return -1;
    unsigned char mac[RT_SHA256_LEN];
    entry_mac(c->key, &h, d + sizeof h, d + sizeof h + tl, mac);
    return rt_digest_equal(mac, h.mac, sizeof mac) ? 0 : -1;
}

int rt_jit_cache_load(const char *text, void **obj, size_t *len, rt_error *err)
{
    cache_ctx c;
    char path[PATH_MAX_CACHE];
    *obj = NULL;
    *len = 0;
    if (cache_open(&c, err) || rt_jit_cache_path(text, path, sizeof path, err))
        return -1;
    unsigned char *d = NULL;
    size_t n = 0;
    int r = entry_read(path, &d, &n);
    if (r == 1) {
        atomic_fetch_add(&stat_misses, 1);
        return 0;
    }
    if (r == 2 || entry_check(&c, d, n, text)) {
        seg_free(d);
        unlink(path); /* corrupt, planted or foreign: never linked, rebuilt by the caller */
        atomic_fetch_add(&stat_corrupt, 1);
        atomic_fetch_add(&stat_misses, 1);
        return 0;
    }
    size_t off = sizeof(cache_header) + strlen(text);
    *len = n - off;
    *obj = seg_xrealloc(NULL, *len);
    memcpy(*obj, d + off, *len);
    seg_free(d);
    atomic_fetch_add(&stat_hits, 1);
    return 1;
}

int rt_jit_cache_store(const char *text, const void *obj, size_t len, rt_error *err)
{
    cache_ctx c;
    char path[PATH_MAX_CACHE];
    if (cache_open(&c, err) || rt_jit_cache_path(text, path, sizeof path, err))
        return -1;
    size_t tl = strlen(text), n = sizeof(cache_header) + tl + len;
    unsigned char *d = seg_xrealloc(NULL, n);
    cache_header h = {.text_len = tl, .obj_len = len};
    memcpy(h.magic, CACHE_MAGIC, 8);
    rt_jit_key k = rt_jit_key_of(text);
    h.key[0] = k.h[0];
    h.key[1] = k.h[1];
    entry_mac(c.key, &h, text, obj, h.mac);
    memcpy(d, &h, sizeof h);
    memcpy(d + sizeof h, text, tl);
    memcpy(d + sizeof h + tl, obj, len);
    int rc = rt_file_write_atomic(path, d, n, err);
    seg_free(d);
    if (rc == 0)
        atomic_fetch_add(&stat_stores, 1);
    return rc;
}

/* ------------------------------------------------------- stats, clear */

/* Entries and temp files left by a crashed writer (rt_atomic_file names
 * them ENTRY.tmp.XXXXXX). */
static int is_entry(const char *name)
{
    size_t n = strlen(name), s = strlen(CACHE_SUFFIX);
    return (n > s && strcmp(name + n - s, CACHE_SUFFIX) == 0) ||
           strstr(name, CACHE_SUFFIX ".tmp.") != NULL;
}

/* The key and a key temp file left by a crash: removed by clear, not counted. */
static int is_key(const char *name)
{
    return !strcmp(name, CACHE_KEY) || !strncmp(name, CACHE_KEY ".tmp.", strlen(CACHE_KEY) + 5);
}

/* Walk the cache folder: count entries and bytes, deleting them (and the
 * key) if clear. */
static int cache_walk(rt_jit_cache_info *s, int clear, rt_error *err)
{
    if (rt_jit_cache_dir(s->dir, sizeof s->dir, err))
        return -1;
    DIR *dir = opendir(s->dir);
    if (!dir) {
        rt_error_set(err, "jit cache: cannot open %s: %s", s->dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        int entry = is_entry(e->d_name);
        if (!entry && !(clear && is_key(e->d_name)))
            continue;
        char path[PATH_MAX_CACHE];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        s->entries += entry;
        s->bytes += entry ? st.st_size : 0;
        if (clear && unlink(path) != 0 && errno != ENOENT) {
            rt_error_set(err, "jit cache: cannot remove %s: %s", path, strerror(errno));
            rc = -1;
        }
    }
    closedir(dir);
    return rc;
}

int rt_jit_cache_stats(rt_jit_cache_info *s, rt_error *err)
{
    memset(s, 0, sizeof *s);
    s->hits = atomic_load(&stat_hits);
    s->misses = atomic_load(&stat_misses);
    s->corrupt = atomic_load(&stat_corrupt);
    s->stores = atomic_load(&stat_stores);
    int rc = cache_walk(s, 0, err);
    rt_error why = {{0}};
    if (rc == 0 && folder_trusted(s->dir, &why))
        snprintf(s->refused, sizeof s->refused, "%s", why.msg);
    return rc;
}

int rt_jit_cache_clear(rt_jit_cache_info *removed, rt_error *err)
{
    rt_jit_cache_info s;
    memset(&s, 0, sizeof s);
    int rc = cache_walk(&s, 1, err);
    if (removed)
        *removed = s;
    return rc;
}
