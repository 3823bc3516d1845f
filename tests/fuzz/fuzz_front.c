/* fuzz_front.c — a deterministic mutation fuzzer for the front end.
 *
 * Takes .seg seed files, applies random byte-level and token-level edits
 * (flip, insert, delete, duplicate a span, splice two seeds) and runs every
 * mutant through the whole front end: parse, then load and check (imports
 * resolve against the stdlib as usual), and parse it once more as one
 * input at the REPL prompt (the grammar's other start). Built with ASan + UBSan by
 * `make fuzz`; a crash, sanitizer report or hang is a bug, a diagnostic is
 * the expected outcome. Usage: fuzz_front ITERATIONS SEED FILE...
 */
#include "lang/lang.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    seg_buf b = {0};
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[k] = 0;
        seg_buf_printf(&b, "%s", chunk);
    }
    fclose(f);
    *n = b.len;
    return b.data;
}

/* One random edit of buf[0..*n) in place (cap bytes available). */
static void mutate(char *buf, size_t *n, size_t cap, const char *other, size_t on)
{
    static const char *const toks[] = {"{", "}", "(", ")", "[", "]", ",", "=", "..", ".",
                                       "for", "in", "net", "block", "input", "output",
                                       "scope", "stage", "\"", "#", "\n", "0", "1e9", "-"};
    size_t at = *n ? rnd() % *n : 0;
    switch (rnd() % 5) {
    case 0: if (*n) buf[at] = (char)(rnd() & 0xff); break;
    case 1: if (*n) { memmove(buf + at, buf + at + 1, *n - at - 1); (*n)--; } break;
    case 2: {
        const char *t = toks[rnd() % (sizeof toks / sizeof toks[0])];
        size_t tl = strlen(t);
        if (*n + tl < cap) { memmove(buf + at + tl, buf + at, *n - at); memcpy(buf + at, t, tl); *n += tl; }
        break;
    }
    case 3: {
        size_t len = *n - at < 64 ? *n - at : 64;
        if (*n + len < cap) { memmove(buf + at + len, buf + at, *n - at); *n += len; }
        break;
    }
    default:
        if (on) {
            size_t from = rnd() % on, len = on - from < 200 ? on - from : 200;
            if (at + len < cap) { memcpy(buf + at, other + from, len); if (at + len > *n) *n = at + len; }
        }
    }
}

static void run_one(const char *text, size_t n, const char *dir, int i)
{
    char path[512];
    snprintf(path, sizeof path, "%s/m%d.seg", dir, i % 8);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(text, 1, n, f);
    fclose(f);
    seg_diag *d = seg_diag_new(NULL);
    seg_program *p = seg_load(path, d);
    seg_program_free(p);
    /* the same text as one REPL input (the grammar's other start) */
    int id = seg_diag_add_file_at(d, "<repl>", text, n, 1 + i % 1000);
    int more = 0;
    seg_input_free(seg_input_parse(d, id, text, n, 1, &more));
    seg_diag_free(d);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: fuzz_front ITERATIONS SEED FILE...\n");
        return 1;
    }
    long iters = atol(argv[1]);
    rng_state = (uint64_t)atoll(argv[2]) * 2654435761u + 1;
    int n_seeds = argc - 3;
    char **seeds = calloc((size_t)n_seeds, sizeof *seeds);
    size_t *lens = calloc((size_t)n_seeds, sizeof *lens);
    for (int i = 0; i < n_seeds; i++)
        seeds[i] = read_all(argv[3 + i], &lens[i]);
    char dir[] = "/tmp/segc-fuzz.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    for (long it = 0; it < iters; it++) {
        int s = (int)(rnd() % (uint64_t)n_seeds), o = (int)(rnd() % (uint64_t)n_seeds);
        if (!seeds[s])
            continue;
        size_t n = lens[s] < cap ? lens[s] : cap - 1;
        memcpy(buf, seeds[s], n);
        for (int k = 1 + (int)(rnd() % 4); k > 0; k--)
            mutate(buf, &n, cap, seeds[o], seeds[o] ? lens[o] : 0);
        run_one(buf, n, dir, (int)it);
    }
    for (int i = 0; i < 8; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/m%d.seg", dir, i);
        unlink(path);
    }
    rmdir(dir);
    printf("fuzz_front: %ld mutants, no crash\n", iters);
    for (int i = 0; i < n_seeds; i++)
        seg_free(seeds[i]);
    free(seeds);
    free(lens);
    free(buf);
    return 0;
}
