/* replay.c — runs a libFuzzer target's LLVMFuzzerTestOneInput on files,
 * without libFuzzer: `make test` builds each target with it (gcc, the
 * normal or the DEBUG=1 sanitizer build) and tests/cli/fuzz_corpus.sh
 * feeds it the seed corpus and every input a fuzzer once crashed on
 * (tests/fuzz/crashes/TARGET/). Usage: fuzz_replay_TARGET FILE...; exit 0
 * when every file ran through (a crash ends the process).
 */
#include "runtime/runtime.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static int replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *data = NULL, chunk[4096];
    size_t n = 0, k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        data = seg_xrealloc(data, n + k);
        memcpy(data + n, chunk, k);
        n += k;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, n);
    seg_free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++)
        bad |= replay(argv[i]) != 0;
    printf("replay: %d inputs\n", argc - 1);
    return bad;
}
