/* fuzz_jit_cache.c — libFuzzer target for the JIT cache-entry loader
 * (rt_jit_cache_load, runtime/jit.c): the input is planted as the entry of
 * a fixed key text in a scratch SEGC_CACHE_DIR and loaded. Only the file
 * parsing is under test (header, lengths, text, checksum); the object a
 * loaded entry holds is never linked here. The loader must either refuse
 * the entry (and delete it) or hand back exactly the payload after the
 * header and text.
 */
#include "fuzz_file.h"

#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

/* The key text the corpus entries were written for (make_corpus.c). */
static const char fuzz_text[] = "fuzz: a cache entry\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char dir[400], path[4200];
    snprintf(dir, sizeof dir, "%s/cache", fuzz_scratch());
    setenv("SEGC_CACHE_DIR", dir, 1);
    rt_error err = {{0}};
    if (rt_jit_cache_path(fuzz_text, path, sizeof path, &err))
        abort();
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        abort();
    void *obj = NULL;
    size_t len = 0;
    int rc = rt_jit_cache_load(fuzz_text, &obj, &len, &err);
    if (rc == 1 && (len > n || memcmp(obj, data + (n - len), len) != 0))
        abort(); /* a loaded object is the tail of the entry, byte for byte */
    if (rc != 1 && access(path, F_OK) == 0)
        abort(); /* a refused entry is deleted */
    seg_free(obj);
    unlink(path);
    return 0;
}
