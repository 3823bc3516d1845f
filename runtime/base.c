/* base.c — the runtime's foundations: the allocation funnel, arenas,
 * growable buffers, error records, and small helpers on dtypes, types and
 * tensors. Everything else in segc allocates through funnel_realloc (by
 * way of seg_xrealloc, seg_xcalloc, seg_try_alloc, seg_try_calloc), so
 * tests can count live allocations and make any one of them fail.
 *
 * Sizes: every tensor type segc builds passes rt_type_size, which
 * multiplies the dimensions with overflow checks and refuses more than
 * RT_MAX_TENSOR_BYTES; sums of a few sizes (an arena, a step's memory)
 * then cannot overflow int64 either.
 */
#include "runtime.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_long alloc_live;  /* allocations made and not yet freed */
static atomic_long alloc_count; /* allocations asked for, for the injection hook */
static seg_oom_handler oom_handler; /* main's; NULL = print and abort */
static seg_alloc_hook alloc_hook;   /* tests' failure injection; NULL = none */

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

void seg_set_oom_handler(seg_oom_handler h) { oom_handler = h; }

void seg_set_alloc_hook(seg_alloc_hook h) { alloc_hook = h; }

long seg_alloc_count(void) { return atomic_load(&alloc_count); }

void seg_out_of_memory(size_t bytes)
{
    if (oom_handler)
        oom_handler(bytes);
    fprintf(stderr, "segc: out of memory (asked for %zu bytes)\n", bytes);
    abort();
}

/* realloc, unless the injection hook says this one fails; NULL on failure. */
static void *funnel_realloc(void *p, size_t n)
{
    long k = atomic_fetch_add(&alloc_count, 1) + 1;
    if (alloc_hook && alloc_hook(k, n))
        return NULL;
    void *q = realloc(p, n ? n : 1);
    if (q && !p)
        atomic_fetch_add(&alloc_live, 1);
    return q;
}

void *seg_xrealloc(void *p, size_t n)
{
    void *q = funnel_realloc(p, n);
    if (!q)
        seg_out_of_memory(n);
    return q;
}

void *seg_xcalloc(size_t count, size_t size)
{
    void *p = seg_try_calloc(count, size);
    if (!p)
        seg_out_of_memory(size && count > SIZE_MAX / size ? SIZE_MAX : count * size);
    return p;
}

void *seg_try_alloc(size_t n) { return funnel_realloc(NULL, n); }

void *seg_try_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = funnel_realloc(NULL, count * size);
    if (p)
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

int rt_size_mul(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > RT_MAX_TENSOR_BYTES)
        return -1;
    *out = r;
    return 0;
}

int rt_size_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r))
        return -1;
    *out = r;
    return 0;
}

int rt_type_size(const rt_type *t, int64_t *numel, int64_t *bytes)
{
    int64_t n = 1, b;
    if (t->rank < 0 || t->rank > RT_MAX_RANK || (unsigned)t->dtype >= RT_DTYPE_COUNT)
        return -1;
    for (int i = 0; i < t->rank; i++)
        if (t->dim[i] < 0 || rt_size_mul(n, t->dim[i], &n))
            return -1;
    if (rt_size_mul(n, (int64_t)rt_dtype_size(t->dtype), &b))
        return -1;
    if (numel)
        *numel = n;
    if (bytes)
        *bytes = b;
    return 0;
}

int64_t rt_type_numel(const rt_type *t)
{
    /* Shapes are checked where they are built (rt_type_size); a type that
     * got here unchecked is a bug, not an overflow to wrap around. */
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        if (__builtin_mul_overflow(n, t->dim[i], &n))
            seg_panic(__FILE__, __LINE__, "element count overflows: a shape was not checked");
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
    rt_tensor *x = rt_tensor_try_new(t);
    if (!x)
        seg_out_of_memory((size_t)rt_type_numel(t) * rt_dtype_size(t->dtype));
    return x;
}

rt_tensor *rt_tensor_try_new(const rt_type *t)
{
    int64_t bytes;
    SEG_ASSERT(rt_type_size(t, NULL, &bytes) == 0); /* shapes are checked where built */
    void *data = seg_try_calloc((size_t)bytes, 1);
    if (!data)
        return NULL;
    rt_tensor *x = seg_xcalloc(1, sizeof *x);
    x->type = *t;
    x->data = data;
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
