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
 * here, so tests can count allocations. Out of memory aborts with a message
 * (there is no sensible recovery at the sizes segc allocates). */
void *seg_xrealloc(void *p, size_t n);
void *seg_xcalloc(size_t count, size_t size);
char *seg_xstrdup(const char *s);
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
