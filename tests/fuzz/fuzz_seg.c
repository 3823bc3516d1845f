/* fuzz_seg.c — libFuzzer target for the Seg front end: the input is a
 * .seg file, loaded and checked as `segc check` does (imports resolve
 * against the standard library), then parsed once more as one REPL input
 * (the grammar's other start). A diagnostic is the expected outcome; a
 * crash, a sanitizer report, a leak or a hang is a bug. fuzz_front.c is
 * the older deterministic mutator over the repository's .seg files; this
 * target lets libFuzzer steer by coverage.
 */
#include "fuzz_file.h"
#include "lang/lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[400];
    fuzz_write("input.seg", data, n, path, sizeof path);
    seg_diag *d = seg_diag_new(NULL);
    seg_program_free(seg_load(path, d));
    /* the parser takes text without NULs the way the REPL hands it over */
    char *text = seg_xcalloc(n + 1, 1);
    memcpy(text, data, n);
    int id = seg_diag_add_file_at(d, "<repl>", text, n, 1);
    int more = 0;
    seg_input_free(seg_input_parse(d, id, text, n, 1, &more));
    seg_diag_free(d);
    seg_free(text);
    return 0;
}
