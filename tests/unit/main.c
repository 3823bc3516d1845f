/* main.c — runs every registered unit test (or those whose name contains
 * argv[1]) and prints one line per test, then "unit: N passed, N failed".
 */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_case {
    const char *name;
    const char *file;
    test_fn fn;
} test_case;

static test_case cases[1024]; /* plenty: the suite has a few hundred */
static int n_cases;
static int current_failed;
static const char *tmpdir = "/tmp";

void test_register(const char *name, const char *file, test_fn fn)
{
    if (n_cases < (int)(sizeof cases / sizeof cases[0]))
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

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    if (getenv("SEGC_TEST_TMP"))
        tmpdir = getenv("SEGC_TEST_TMP");
    qsort(cases, (size_t)n_cases, sizeof cases[0], by_file_then_name);
    int passed = 0, failed = 0;
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
    return failed ? 1 : 0;
}
