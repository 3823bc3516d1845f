/* base.c — the runtime's foundations: the allocation funnel, arenas,
 * growable buffers, error records, and small helpers on dtypes, types and
 * tensors. Everything else in segc allocates through seg_xrealloc so that
 * tests can count live allocations.
 */
#include "runtime.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_long alloc_live; /* allocations made and not yet freed */

void seg_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "segc: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *seg_xrealloc(void *p, size_t n)
{
    if (n == 0)
        n = 1;
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "segc: out of memory (asked for %zu bytes)\n", n);
        abort();
    }
    if (!p)
        atomic_fetch_add(&alloc_live, 1);
    return q;
}

void *seg_xcalloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        seg_panic(__FILE__, __LINE__, "allocation size overflow");
    void *p = seg_xrealloc(NULL, count * size);
    memset(p, 0, count * size > 0 ? count * size : 1);
    return p;
}

double seg_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *seg_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = seg_xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

void seg_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&alloc_live, 1);
    free(p);
}

long seg_alloc_live(void) { return atomic_load(&alloc_live); }

/* ----------------------------------------------------------- arenas */

/* Chunks are chained; big requests get a chunk of their own so the
 * waste stays below one default chunk per arena. */
typedef struct arena_chunk {
    struct arena_chunk *prev;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_chunk;

struct seg_arena {
    arena_chunk *top;
};

enum { ARENA_CHUNK = 64 * 1024 };

seg_arena *seg_arena_new(void) { return seg_xcalloc(1, sizeof(seg_arena)); }

void seg_arena_free(seg_arena *a)
{
    if (!a)
        return;
    for (arena_chunk *c = a->top, *prev; c; c = prev) {
        prev = c->prev;
        seg_free(c);
    }
    seg_free(a);
}

void *seg_arena_alloc(seg_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_chunk *c = a->top;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        arena_chunk *fresh = seg_xrealloc(NULL, sizeof(arena_chunk) + cap);
        fresh->used = 0;
        fresh->cap = cap;
        if (c && n > ARENA_CHUNK) { /* keep filling the current chunk */
            fresh->prev = c->prev;
            c->prev = fresh;
            fresh->used = n;
            memset(fresh->data, 0, n);
            return fresh->data;
        }
        fresh->prev = c;
        a->top = c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *seg_arena_strdup(seg_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = seg_arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

char *seg_arena_printf(seg_arena *a, const char *fmt, ...)
{
    /* Measure into a small buffer first: most strings fit, and gcc warns
     * about vsnprintf(NULL, 0, ...) at some optimisation levels. */
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    char *p = seg_arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof small) {
        memcpy(p, small, (size_t)n + 1);
        return p;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ----------------------------------------------------------- buffers */

void seg_buf_printf(seg_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        b->data = seg_xrealloc(b->data, cap);
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void seg_buf_free(seg_buf *b)
{
    seg_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void rt_error_set(rt_error *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* ----------------------------------------------------- dtypes, types */

const char *rt_dtype_name(rt_dtype t)
{
    static const char *const names[RT_DTYPE_COUNT] = {"f32", "i32", "u8"};
    SEG_ASSERT(t >= 0 && t < RT_DTYPE_COUNT);
    return names[t];
}

size_t rt_dtype_size(rt_dtype t)
{
    static const size_t sizes[RT_DTYPE_COUNT] = {4, 4, 1};
    SEG_ASSERT(t >= 0 && t < RT_DTYPE_COUNT);
    return sizes[t];
}

int64_t rt_type_numel(const rt_type *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dim[i];
    return n;
}

int rt_type_equal(const rt_type *a, const rt_type *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i])
            return 0;
    return 1;
}

char *rt_type_str(const rt_type *t, char *buf, size_t n)
{
    size_t at = (size_t)snprintf(buf, n, "%s[", rt_dtype_name(t->dtype));
    for (int i = 0; i < t->rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)t->dim[i]);
    if (at < n)
        snprintf(buf + at, n - at, "]");
    return buf;
}

rt_tensor *rt_tensor_new(const rt_type *t)
{
    rt_tensor *x = seg_xcalloc(1, sizeof *x);
    x->type = *t;
    x->data = seg_xcalloc((size_t)rt_type_numel(t), rt_dtype_size(t->dtype));
    x->owns_data = 1;
    return x;
}

void rt_tensor_free(rt_tensor *t)
{
    if (!t)
        return;
    if (t->owns_data)
        seg_free(t->data);
    seg_free(t);
}

/* ---------------------------------------------------------- op table */

const rt_op_info rt_op_table[OP_COUNT] = {
#define RT_OP(e, name, mn, mx, fl) [e] = {name, mn, mx, fl},
#include "ops.def"
#undef RT_OP
};

void rt_attrs_init(rt_attrs *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < 3; i++) {
        a->kernel[i] = 1;
        a->stride[i] = 1;
        a->dilation[i] = 1;
    }
    for (int i = 0; i < RT_MAX_RANK; i++) {
        a->step[i] = 1;
        a->perm[i] = i;
    }
    a->groups = 1;
    a->axis = 1;
    a->eps = 1e-5f;
    a->momentum = 0.1f;
    a->alpha = 0.01f;
}
