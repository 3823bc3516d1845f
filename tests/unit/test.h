/* test.h — the C unit-test harness.
 *
 * TEST(name) { ... } defines and registers a test (a constructor adds it
 * to a global list, so test files need no central table). Names are unique
 * across files: the runner fails a name registered twice. The CHECK macros
 * print the expression text and both values on failure and mark the test
 * failed; the test goes on, so one run shows every broken check.
 */
#ifndef SEGC_TEST_H
#define SEGC_TEST_H

#include <math.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Directory for scratch files of the current run (created by the runner). */
const char *test_tmpdir(void);

#define TEST(name)                                                          \
    static void test_##name(void);                                          \
    __attribute__((constructor)) static void test_reg_##name(void)          \
    {                                                                       \
        test_register(#name, __FILE__, test_##name);                        \
    }                                                                       \
    static void test_##name(void)

#define CHECK(e)                                                            \
    do {                                                                    \
        if (!(e))                                                           \
            test_fail_at(__FILE__, __LINE__, "CHECK(%s)", #e);              \
    } while (0)

#define CHECK_INT(a, b)                                                     \
    do {                                                                    \
        long long va_ = (long long)(a), vb_ = (long long)(b);               \
        if (va_ != vb_)                                                     \
            test_fail_at(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, va_, vb_); \
    } while (0)

#define CHECK_STR(a, b)                                                     \
    do {                                                                    \
        const char *sa_ = (a), *sb_ = (b);                                  \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                          \
            test_fail_at(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
                         sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");       \
    } while (0)

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_NEAR(a, b, tol)                                               \
    do {                                                                    \
        double va_ = (double)(a), vb_ = (double)(b);                        \
        double sc_ = fabs(vb_) > 1 ? fabs(vb_) : 1;                         \
        if (!(fabs(va_ - vb_) <= (tol) * sc_))                              \
            test_fail_at(__FILE__, __LINE__, "%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b, va_, vb_, (double)(tol)); \
    } while (0)

#endif
