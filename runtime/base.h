/* base.h — what every layer of segc shares, and nothing else: the
 * allocation funnel, arenas, growable buffers, assertions, source spans
 * and error values. runtime/runtime.h includes it; lang/ includes it alone
 * (the front end needs spans and arenas, not tensors or kernels). It
 * includes only the C library.
 */
#ifndef SEGC_BASE_H
#define SEGC_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SEG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SEG_NORETURN _Noreturn

/* Internal bugs, never user errors: abort with file and line. */
SEG_NORETURN void seg_panic(const char *file, int line, const char *fmt, ...) SEG_PRINTF(3, 4);
#define SEG_ASSERT(x) ((x) ? (void)0 : seg_panic(__FILE__, __LINE__, "assertion failed: %s", #x))
#define SEG_UNREACHABLE() seg_panic(__FILE__, __LINE__, "unreachable")

/* The one allocation funnel: every heap allocation in segc goes through
 * here, so tests can count allocations and inject failures.
 *
 * Two kinds of allocation, two ways to fail:
 *   - seg_xrealloc, seg_xcalloc, seg_xstrdup (bookkeeping: nodes, names,
 *     lists) never return NULL. A failure calls seg_out_of_memory, which
 *     runs the handler main installed (segc's prints the size and exits
 *     70); without one it prints and aborts, since library code never
 *     exits.
 *   - seg_try_alloc, seg_try_calloc (buffers whose size comes from the
 *     data: tensors, arenas, volumes, files read whole) return NULL, so the
 *     caller can say what did not fit and release what it holds.
 * Sizes that overflow size_t count as failures, never as wrap-around. */
void *seg_xrealloc(void *p, size_t n);
void *seg_xcalloc(size_t count, size_t size);
char *seg_xstrdup(const char *s);
void *seg_try_alloc(size_t n);                 /* uninitialised, or NULL */
void *seg_try_calloc(size_t count, size_t size); /* zeroed, or NULL */
/* Called with the size asked for; must not return (exit or abort). */
typedef void (*seg_oom_handler)(size_t bytes);
void seg_set_oom_handler(seg_oom_handler h);
SEG_NORETURN void seg_out_of_memory(size_t bytes);
/* Failure injection (tests, and segc's SEGC_TEST_FAIL_ALLOC): the hook runs
 * before every allocation with its number (1, 2, ... in this process) and
 * size; nonzero makes that allocation fail as if the system had refused. */
typedef int (*seg_alloc_hook)(long n, size_t bytes);
void seg_set_alloc_hook(seg_alloc_hook h);
/* Allocations made through the funnel so far (what the hook numbers). */
long seg_alloc_count(void);
/* Seconds on the monotonic clock (for timings only). */
double seg_seconds(void);
void seg_free(void *p);
/* Number of live allocations made through the funnel (for leak tests). */
long seg_alloc_live(void);

/* An arena: many small allocations freed together. Used per compilation
 * (AST, IR) and per program. */
typedef struct seg_arena seg_arena;
seg_arena *seg_arena_new(void);
void seg_arena_free(seg_arena *a);
void *seg_arena_alloc(seg_arena *a, size_t n); /* zeroed, 16-byte aligned */
char *seg_arena_strdup(seg_arena *a, const char *s);
char *seg_arena_printf(seg_arena *a, const char *fmt, ...) SEG_PRINTF(2, 3);

/* A growable byte buffer (owner-based, freed with seg_buf_free). */
typedef struct seg_buf {
    char *data;  /* NUL-terminated contents */
    size_t len;  /* bytes used, excluding the NUL */
    size_t cap;  /* bytes allocated */
} seg_buf;
void seg_buf_printf(seg_buf *b, const char *fmt, ...) SEG_PRINTF(2, 3);
void seg_buf_free(seg_buf *b);

/* A location in .seg source. file is an index into the diagnostic
 * engine's file table (lang/diag); 0 is "no location". */
typedef struct seg_span {
    int file;          /* file id, 0 = none */
    int line, col;     /* 1-based start */
    int end_line, end_col; /* 1-based, inclusive end */
} seg_span;

/* Runtime errors carry a message naming the op, tensor or file. */
typedef struct rt_error {
    char msg[512]; /* empty when no error */
} rt_error;
void rt_error_set(rt_error *e, const char *fmt, ...) SEG_PRINTF(2, 3);

#endif
