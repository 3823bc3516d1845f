/* main.c — runs every registered unit test (or those whose name contains
 * argv[1]) and prints one line per test, then "unit: N passed, N failed".
 * Registration never drops a test: the table grows as constructors add to
 * it, and a name registered by two files counts as a failure (both still
 * run, but a filter or a FAIL line could not tell them apart).
 */
#include "test.h"

#include "runtime/runtime.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_case {
    const char *name;
    const char *file;
    test_fn fn;
} test_case;

static test_case *cases; /* every registered test, grown by test_register */
static int n_cases, cap_cases;
static int current_failed;
static const char *tmpdir = "/tmp";

void test_register(const char *name, const char *file, test_fn fn)
{
    /* runs before main, from constructors: seg_xrealloc aborts rather than
     * fail, so no test is lost to an allocation either */
    if (n_cases == cap_cases) {
        cap_cases = cap_cases ? 2 * cap_cases : 256;
        cases = seg_xrealloc(cases, (size_t)cap_cases * sizeof cases[0]);
    }
    cases[n_cases++] = (test_case){name, file, fn};
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    current_failed = 1;
}

const char *test_tmpdir(void) { return tmpdir; }

static int by_file_then_name(const void *a, const void *b)
{
    const test_case *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

static int by_name_then_file(const void *a, const void *b)
{
    const test_case *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->file, y->file);
}

/* One FAIL line per extra registration of a name (in two files: TEST's
 * functions are static, so the linker does not catch it). */
static int report_duplicates(const char *filter)
{
    qsort(cases, (size_t)n_cases, sizeof cases[0], by_name_then_file);
    int dups = 0;
    for (int i = 1; i < n_cases; i++) {
        if (strcmp(cases[i - 1].name, cases[i].name) != 0)
            continue;
        if (filter && !strstr(cases[i].name, filter))
            continue;
        printf("FAIL unit/%s registered twice: %s and %s\n", cases[i].name,
               cases[i - 1].file, cases[i].file);
        dups++;
    }
    return dups;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    if (getenv("SEGC_TEST_TMP"))
        tmpdir = getenv("SEGC_TEST_TMP");
    rt_fp_denormals_set(rt_fp_denormals_flushed()); /* as segc runs */
    int passed = 0, failed = report_duplicates(filter);
    qsort(cases, (size_t)n_cases, sizeof cases[0], by_file_then_name);
    for (int i = 0; i < n_cases; i++) {
        if (filter && !strstr(cases[i].name, filter))
            continue;
        current_failed = 0;
        cases[i].fn();
        fflush(stdout);
        printf("%s unit/%s\n", current_failed ? "FAIL" : "ok  ", cases[i].name);
        if (current_failed)
            failed++;
        else
            passed++;
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    seg_free(cases);
    return failed ? 1 : 0;
}
