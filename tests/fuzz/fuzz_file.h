/* fuzz_file.h — what the libFuzzer targets share: the readers under test
 * take a path, so each input is written to a file in a scratch folder
 * made once per process, under a name the reader accepts, and read back.
 * A rejected input is the expected outcome; a crash, a sanitizer report,
 * a leak or a hang is a bug. Built by `make fuzz` (clang, libFuzzer,
 * ASan + UBSan); each target also runs a corpus as plain inputs for the
 * regression test (tests/cli/fuzz_corpus.sh).
 */
#ifndef SEGC_FUZZ_FILE_H
#define SEGC_FUZZ_FILE_H

#include "runtime/runtime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The scratch folder, made on first use and removed at exit. */
static char fuzz_dir[256];

static inline void fuzz_dir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir);
}

static inline const char *fuzz_scratch(void)
{
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/segc-fuzz.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir))
            abort();
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir;
}

/* data[0..n) into scratch/NAME; the path into buf. */
static inline void fuzz_write(const char *name, const uint8_t *data, size_t n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", fuzz_scratch(), name);
    FILE *f = fopen(buf, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

#endif
