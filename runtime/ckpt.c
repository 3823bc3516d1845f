/* ckpt.c — safetensors checkpoints: writing atomically, reading strictly.
 *
 * The format: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"key": "value", ...},
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
 * padded with spaces so that the data starts at a multiple of 8, then the
 * raw little-endian tensor bytes. Offsets count from the start of the data.
 * We lay tensors out contiguously in the order they were added.
 *
 * Writing goes through rt_atomic_file (atomic_file.c): a temp file next
 * to the target, flushed, fsynced and renamed over it, then the folder
 * fsynced; a crash leaves either the old file or the new one, never a mix.
 *
 * Reading loads the whole file and trusts nothing: the header length must
 * be plausible, the JSON is parsed by a small strict parser for exactly
 * this subset (objects, arrays of non-negative integers, strings; no
 * floats, booleans or nulls), dtypes must be known, shape x dtype size must
 * equal the offsets' span, and the tensors must tile the data exactly (in
 * bounds, no overlaps, no holes, no trailing bytes — the safetensors rule
 * that forbids polyglot files). Names must be unique. Every error names the
 * file. Only little-endian hosts are supported (checked at compile time).
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

enum {
    HEADER_MAX = 100 * 1000 * 1000, /* header length limit: safetensors' own 100 MB */
};

/* A tensor entry plus its byte range in the data section. */
typedef struct ck_tensor {
    rt_ckpt_entry e;
    uint64_t begin, end; /* data_offsets: [begin, end) */
} ck_tensor;

typedef struct ck_meta {
    const char *key, *value;
} ck_meta;

struct rt_ckpt {
    seg_arena *arena;  /* names, metadata strings, the path */
    ck_tensor *t;      /* entries in file (or insertion) order */
    int n, cap;
    ck_meta *meta;
    int n_meta, cap_meta;
    const ck_tensor **by_name; /* reader: entries sorted by name, for lookup */
    void *data;        /* reader: the data section (owned) */
    const char *path;  /* reader: for later error messages */
};

/* ----------------------------------------------------------- dtypes */

static const char *const dtype_names[RT_CKPT_DTYPE_COUNT] = {"F32", "I32", "U8", "U64", "I64"};
static const char *const dtype_lower[RT_CKPT_DTYPE_COUNT] = {"f32", "i32", "u8", "u64", "i64"};
static const size_t dtype_sizes[RT_CKPT_DTYPE_COUNT] = {4, 4, 1, 8, 8};

const char *rt_ckpt_dtype_name(rt_ckpt_dtype t)
{
    SEG_ASSERT(t >= 0 && t < RT_CKPT_DTYPE_COUNT);
    return dtype_names[t];
}

size_t rt_ckpt_dtype_size(rt_ckpt_dtype t)
{
    SEG_ASSERT(t >= 0 && t < RT_CKPT_DTYPE_COUNT);
    return dtype_sizes[t];
}

rt_ckpt_dtype rt_ckpt_dtype_of(rt_dtype t)
{
    switch (t) {
    case RT_F32: return RT_CKPT_F32;
    case RT_I32: return RT_CKPT_I32;
    case RT_U8: return RT_CKPT_U8;
    default: SEG_UNREACHABLE();
    }
}

/* "f32[64, 32, 3, 3, 3]", the way rt_type_str spells types. */
static char *entry_type_str(const rt_ckpt_entry *e, char *buf, size_t n)
{
    size_t at = (size_t)snprintf(buf, n, "%s[", dtype_lower[e->dtype]);
    for (int i = 0; i < e->rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)e->dim[i]);
    if (at < n)
        snprintf(buf + at, n - at, "]");
    return buf;
}

/* numel * size into *bytes; 0 on overflow. */
static int entry_bytes(rt_ckpt_dtype dt, int rank, const int64_t *dim, uint64_t *bytes)
{
    uint64_t b = dtype_sizes[dt];
    for (int i = 0; i < rank; i++)
        if (dim[i] < 0 || __builtin_mul_overflow(b, (uint64_t)dim[i], &b))
            return 0;
    *bytes = b;
    return 1;
}

/* Append n bytes to a seg_buf, keeping it NUL-terminated. */
static void buf_append(seg_buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = seg_xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_puts(seg_buf *b, const char *s) { buf_append(b, s, strlen(s)); }

/* --------------------------------------------------------- the object */

rt_ckpt *rt_ckpt_new(void)
{
    rt_ckpt *c = seg_xcalloc(1, sizeof *c);
    c->arena = seg_arena_new();
    return c;
}

void rt_ckpt_free(rt_ckpt *c)
{
    if (!c)
        return;
    seg_arena_free(c->arena);
    seg_free(c->t);
    seg_free(c->meta);
    seg_free(c->by_name);
    seg_free(c->data);
    seg_free(c);
}

static ck_tensor *push_tensor(rt_ckpt *c, const char *name)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->t = seg_xrealloc(c->t, (size_t)c->cap * sizeof *c->t);
    }
    seg_free(c->by_name); /* entries may move: lookups fall back to a scan */
    c->by_name = NULL;
    ck_tensor *t = &c->t[c->n++];
    memset(t, 0, sizeof *t);
    t->e.name = seg_arena_strdup(c->arena, name);
    return t;
}

void rt_ckpt_add(rt_ckpt *c, const char *name, rt_ckpt_dtype dtype, int rank,
                 const int64_t *dim, const void *data)
{
    SEG_ASSERT(dtype >= 0 && dtype < RT_CKPT_DTYPE_COUNT);
    SEG_ASSERT(rank >= 0 && rank <= RT_MAX_RANK);
    ck_tensor *t = push_tensor(c, name);
    t->e.dtype = dtype;
    t->e.rank = rank;
    for (int i = 0; i < rank; i++)
        t->e.dim[i] = dim[i];
    SEG_ASSERT(entry_bytes(dtype, rank, dim, &t->e.nbytes));
    t->e.data = data;
}

void rt_ckpt_add_tensor(rt_ckpt *c, const char *name, const rt_tensor *t)
{
    rt_ckpt_add(c, name, rt_ckpt_dtype_of(t->type.dtype), t->type.rank, t->type.dim, t->data);
}

static int meta_index(const rt_ckpt *c, const char *key)
{
    for (int i = 0; i < c->n_meta; i++)
        if (strcmp(c->meta[i].key, key) == 0)
            return i;
    return -1;
}

void rt_ckpt_set_meta(rt_ckpt *c, const char *key, const char *value)
{
    int i = meta_index(c, key);
    if (i < 0) {
        if (c->n_meta == c->cap_meta) {
            c->cap_meta = c->cap_meta ? 2 * c->cap_meta : 8;
            c->meta = seg_xrealloc(c->meta, (size_t)c->cap_meta * sizeof *c->meta);
        }
        i = c->n_meta++;
        c->meta[i].key = seg_arena_strdup(c->arena, key);
    }
    c->meta[i].value = seg_arena_strdup(c->arena, value);
}

int rt_ckpt_count(const rt_ckpt *c) { return c->n; }

const rt_ckpt_entry *rt_ckpt_at(const rt_ckpt *c, int i)
{
    SEG_ASSERT(i >= 0 && i < c->n);
    return &c->t[i].e;
}

const char *rt_ckpt_meta(const rt_ckpt *c, const char *key)
{
    int i = meta_index(c, key);
    return i < 0 ? NULL : c->meta[i].value;
}

int rt_ckpt_meta_count(const rt_ckpt *c) { return c->n_meta; }

const char *rt_ckpt_meta_key(const rt_ckpt *c, int i)
{
    SEG_ASSERT(i >= 0 && i < c->n_meta);
    return c->meta[i].key;
}

/* Pointers to the entries, sorted by cmp (caller frees). Pointers rather
 * than indices so that the comparators need no shared context. */
static const ck_tensor **sorted(const rt_ckpt *c, int (*cmp)(const void *, const void *))
{
    const ck_tensor **v = seg_xcalloc((size_t)c->n + 1, sizeof *v);
    for (int i = 0; i < c->n; i++)
        v[i] = &c->t[i];
    qsort(v, (size_t)c->n, sizeof *v, cmp);
    return v;
}

static int by_name_cmp(const void *a, const void *b)
{
    const ck_tensor *x = *(const ck_tensor *const *)a, *y = *(const ck_tensor *const *)b;
    return strcmp(x->e.name, y->e.name);
}

/* The first duplicated name in a by-name sort, or NULL. */
static const char *find_duplicate(const rt_ckpt *c, const ck_tensor **v)
{
    for (int i = 1; i < c->n; i++)
        if (strcmp(v[i - 1]->e.name, v[i]->e.name) == 0)
            return v[i]->e.name;
    return NULL;
}

const rt_ckpt_entry *rt_ckpt_find(const rt_ckpt *c, const char *name)
{
    if (!c->by_name) { /* a writer: few lookups, scan */
        for (int i = 0; i < c->n; i++)
            if (strcmp(c->t[i].e.name, name) == 0)
                return &c->t[i].e;
        return NULL;
    }
    int lo = 0, hi = c->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const ck_tensor *t = c->by_name[mid];
        int cmp = strcmp(name, t->e.name);
        if (cmp == 0)
            return &t->e;
        if (cmp < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

int rt_ckpt_load(const rt_ckpt *c, const char *name, rt_tensor *t, rt_error *err)
{
    const char *file = c->path ? c->path : "checkpoint";
    const rt_ckpt_entry *e = rt_ckpt_find(c, name);
    if (!e) {
        rt_error_set(err, "%s: no tensor '%s'", file, name);
        return -1;
    }
    int same = e->dtype == rt_ckpt_dtype_of(t->type.dtype) && e->rank == t->type.rank;
    for (int i = 0; same && i < e->rank; i++)
        same = e->dim[i] == t->type.dim[i];
    if (!same) {
        char a[128], b[128];
        rt_error_set(err, "%s: tensor '%s' is %s, expected %s", file, name,
                     entry_type_str(e, a, sizeof a), rt_type_str(&t->type, b, sizeof b));
        return -1;
    }
    memcpy(t->data, e->data, (size_t)e->nbytes);
    return 0;
}

/* ------------------------------------------------------- JSON output */

static void json_string(seg_buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            seg_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            seg_buf_printf(b, "\\u%04x", *p);
        else
            buf_append(b, (const char *)p, 1);
    }
    buf_puts(b, "\"");
}

static void json_meta(seg_buf *b, const rt_ckpt *c)
{
    json_string(b, "__metadata__");
    buf_puts(b, ":{");
    for (int i = 0; i < c->n_meta; i++) {
        buf_puts(b, i ? "," : "");
        json_string(b, c->meta[i].key);
        buf_puts(b, ":");
        json_string(b, c->meta[i].value);
    }
    buf_puts(b, "}");
}

/* The padded header; tensors are laid out in order from offset 0. */
static void json_header(seg_buf *b, const rt_ckpt *c)
{
    buf_puts(b, "{");
    if (c->n_meta)
        json_meta(b, c);
    uint64_t at = 0;
    for (int i = 0; i < c->n; i++) {
        const rt_ckpt_entry *e = &c->t[i].e;
        buf_puts(b, i || c->n_meta ? "," : "");
        json_string(b, e->name);
        seg_buf_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", dtype_names[e->dtype]);
        for (int d = 0; d < e->rank; d++)
            seg_buf_printf(b, "%s%lld", d ? "," : "", (long long)e->dim[d]);
        seg_buf_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
                       (unsigned long long)(at + e->nbytes));
        at += e->nbytes;
    }
    buf_puts(b, "}");
    while (b->len % 8)
        buf_puts(b, " ");
}

/* ------------------------------------------------------------ writing */

static int write_contents(rt_atomic_file *a, const rt_ckpt *c)
{
    seg_buf h = {0};
    json_header(&h, c);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    int rc = rt_atomic_file_write(a, len8, 8);
    if (rc == 0)
        rc = rt_atomic_file_write(a, h.data, h.len);
    seg_buf_free(&h);
    for (int i = 0; rc == 0 && i < c->n; i++)
        rc = rt_atomic_file_write(a, c->t[i].e.data, (size_t)c->t[i].e.nbytes);
    return rc;
}

static int check_writable(const rt_ckpt *c, const char *path, rt_error *err)
{
    const ck_tensor **idx = sorted(c, by_name_cmp);
    const char *dup = find_duplicate(c, idx);
    if (dup)
        rt_error_set(err, "%s: cannot write checkpoint: tensor name '%s' used twice", path, dup);
    seg_free(idx);
    return dup ? -1 : 0;
}

int rt_ckpt_write(const rt_ckpt *c, const char *path, rt_error *err)
{
    rt_atomic_file a;
    if (check_writable(c, path, err) || rt_atomic_file_open(&a, path, "checkpoint", err) ||
        write_contents(&a, c))
        return -1; /* a failed write has removed the temp file */
    return rt_atomic_file_commit(&a);
}

/* ------------------------------------------------------- JSON parsing */

/* The strict parser's cursor over the header text. */
typedef struct jp {
    const char *s;    /* header bytes (not NUL-terminated) */
    size_t n, at;     /* length, position */
    const char *path; /* for messages */
    rt_error *err;
    rt_ckpt *c;       /* receives entries and metadata */
    int seen_meta;    /* __metadata__ already parsed */
} jp;

SEG_PRINTF(2, 3) static int jp_fail(jp *p, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt_error_set(p->err, "%s: bad header JSON at byte %zu: %s", p->path, p->at + 8, msg);
    return -1;
}

static int jp_peek(jp *p) { return p->at < p->n ? (unsigned char)p->s[p->at] : -1; }

static void jp_ws(jp *p)
{
    for (int ch; (ch = jp_peek(p)) == ' ' || ch == '\t' || ch == '\r' || ch == '\n';)
        p->at++;
}

/* Skip white space, then require ch. */
static int jp_expect(jp *p, char ch)
{
    jp_ws(p);
    if (jp_peek(p) != (unsigned char)ch) {
        if (p->at >= p->n)
            return jp_fail(p, "expected '%c', found the end of the header", ch);
        return jp_fail(p, "expected '%c'", ch);
    }
    p->at++;
    return 0;
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0. */
static int utf8_len(const unsigned char *s, size_t n)
{
    int len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4 || (size_t)len > n)
        return 0;
    for (int i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    uint32_t cp = s[0] & (0x7f >> len);
    for (int i = 1; i < len; i++)
        cp = cp << 6 | (s[i] & 0x3f);
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void put_utf8(seg_buf *b, uint32_t cp)
{
    char u[4];
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};
    for (int i = n - 1; i > 0; i--, cp >>= 6)
        u[i] = (char)(0x80 | (cp & 0x3f));
    u[0] = (char)(lead[n] | cp);
    buf_append(b, u, (size_t)n);
}

static int jp_hex4(jp *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++, p->at++) {
        int ch = jp_peek(p);
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return jp_fail(p, "bad \\u escape");
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* \uXXXX, with surrogate pairs; p->at is just past the 'u'. */
static int jp_unicode(jp *p, seg_buf *b)
{
    uint32_t cp, lo;
    if (jp_hex4(p, &cp))
        return -1;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return jp_fail(p, "lone low surrogate in \\u escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->at + 2 > p->n || p->s[p->at] != '\\' || p->s[p->at + 1] != 'u')
            return jp_fail(p, "high surrogate without its low half");
        p->at += 2;
        if (jp_hex4(p, &lo))
            return -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return jp_fail(p, "high surrogate without its low half");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0)
        return jp_fail(p, "NUL character in a string");
    put_utf8(b, cp);
    return 0;
}

static int jp_escape(jp *p, seg_buf *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int ch = jp_peek(p);
    p->at++;
    if (ch == 'u')
        return jp_unicode(p, b);
    const char *k = ch > 0 ? strchr(from, ch) : NULL;
    if (!k) {
        p->at--;
        return jp_fail(p, "bad escape in a string");
    }
    buf_append(b, &to[k - from], 1);
    return 0;
}

/* One character (or escape) of a string body into b. */
static int jp_char(jp *p, seg_buf *b)
{
    const unsigned char *u = (const unsigned char *)p->s + p->at;
    if (*u == '\\') {
        p->at++;
        return jp_escape(p, b);
    }
    if (*u < 0x20)
        return jp_fail(p, "control character in a string");
    int len = *u < 0x80 ? 1 : utf8_len(u, p->n - p->at);
    if (len == 0)
        return jp_fail(p, "invalid UTF-8 in a string");
    buf_append(b, (const char *)u, (size_t)len);
    p->at += (size_t)len;
    return 0;
}

/* A string, decoded into the checkpoint's arena. */
static int jp_string(jp *p, const char **out)
{
    if (jp_expect(p, '"'))
        return -1;
    seg_buf b = {0};
    buf_puts(&b, "");
    while (p->at < p->n && p->s[p->at] != '"')
        if (jp_char(p, &b)) {
            seg_buf_free(&b);
            return -1;
        }
    int rc = p->at < p->n ? 0 : jp_fail(p, "unterminated string");
    if (rc == 0) {
        p->at++;
        *out = seg_arena_strdup(p->c->arena, b.data);
    }
    seg_buf_free(&b);
    return rc;
}

/* A non-negative integer (no sign, fraction, exponent or leading zero). */
static int jp_uint(jp *p, uint64_t *out)
{
    jp_ws(p);
    int ch = jp_peek(p);
    if (ch < '0' || ch > '9')
        return jp_fail(p, "expected a non-negative integer");
    uint64_t v = 0;
    size_t start = p->at;
    for (; (ch = jp_peek(p)) >= '0' && ch <= '9'; p->at++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(ch - '0'), &v)
            || v > (uint64_t)INT64_MAX) {
            p->at = start;
            return jp_fail(p, "integer too large");
        }
    if (p->s[start] == '0' && p->at - start > 1) {
        p->at = start;
        return jp_fail(p, "leading zero in an integer");
    }
    if (ch == '.' || ch == 'e' || ch == 'E')
        return jp_fail(p, "expected an integer, found a fraction or exponent");
    *out = v;
    return 0;
}

/* [u, u, ...] with at most max items; the count into *n. */
static int jp_uint_array(jp *p, uint64_t *v, int max, int *n, const char *what)
{
    *n = 0;
    if (jp_expect(p, '['))
        return -1;
    jp_ws(p);
    if (jp_peek(p) == ']') {
        p->at++;
        return 0;
    }
    for (;;) {
        if (*n == max)
            return jp_fail(p, "%s has more than %d entries", what, max);
        if (jp_uint(p, &v[(*n)++]))
            return -1;
        jp_ws(p);
        if (jp_peek(p) == ']') {
            p->at++;
            return 0;
        }
        if (jp_expect(p, ','))
            return -1;
    }
}

/* After an object member: ',' (returns 1, more follow) or '}' (returns 0). */
static int jp_next(jp *p)
{
    jp_ws(p);
    if (jp_peek(p) == ',') {
        p->at++;
        return 1;
    }
    return jp_expect(p, '}') ? -1 : 0;
}

/* '{' followed by either '}' (returns 0: empty) or more (returns 1). */
static int jp_open(jp *p)
{
    if (jp_expect(p, '{'))
        return -1;
    jp_ws(p);
    if (jp_peek(p) == '}') {
        p->at++;
        return 0;
    }
    return 1;
}

static int jp_metadata(jp *p)
{
    if (p->seen_meta++)
        return jp_fail(p, "__metadata__ given twice");
    int more = jp_open(p);
    while (more > 0) {
        const char *key, *value;
        if (jp_string(p, &key) || jp_expect(p, ':') || jp_string(p, &value))
            return -1;
        if (meta_index(p->c, key) >= 0)
            return jp_fail(p, "metadata key '%s' given twice", key);
        rt_ckpt_set_meta(p->c, key, value);
        more = jp_next(p);
    }
    return more;
}

static int jp_dtype(jp *p, ck_tensor *t)
{
    const char *s;
    if (jp_string(p, &s))
        return -1;
    for (int d = 0; d < RT_CKPT_DTYPE_COUNT; d++)
        if (strcmp(s, dtype_names[d]) == 0) {
            t->e.dtype = (rt_ckpt_dtype)d;
            return 0;
        }
    return jp_fail(p, "tensor '%s': unsupported dtype '%s' (segc reads F32, I32, U8, U64, I64)",
                   t->e.name, s);
}

static int jp_shape(jp *p, ck_tensor *t)
{
    uint64_t v[RT_MAX_RANK];
    if (jp_uint_array(p, v, RT_MAX_RANK, &t->e.rank, "shape"))
        return -1;
    for (int i = 0; i < t->e.rank; i++)
        t->e.dim[i] = (int64_t)v[i];
    return 0;
}

static int jp_offsets(jp *p, ck_tensor *t)
{
    uint64_t v[2];
    int n;
    if (jp_uint_array(p, v, 2, &n, "data_offsets"))
        return -1;
    if (n != 2)
        return jp_fail(p, "tensor '%s': data_offsets needs 2 entries, has %d", t->e.name, n);
    t->begin = v[0];
    t->end = v[1];
    return 0;
}

/* One tensor field by key; bit in *seen guards repeats. */
static int jp_field(jp *p, ck_tensor *t, const char *key, unsigned *seen)
{
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    int k = 0;
    while (k < 3 && strcmp(key, keys[k]) != 0)
        k++;
    if (k == 3)
        return jp_fail(p, "tensor '%s': unknown field '%s'", t->e.name, key);
    if (*seen & 1u << k)
        return jp_fail(p, "tensor '%s': field '%s' given twice", t->e.name, key);
    *seen |= 1u << k;
    return k == 0 ? jp_dtype(p, t) : k == 1 ? jp_shape(p, t) : jp_offsets(p, t);
}

static int jp_tensor(jp *p, const char *name)
{
    if (name[0] == '\0')
        return jp_fail(p, "empty tensor name");
    ck_tensor *t = push_tensor(p->c, name);
    unsigned seen = 0;
    int more = jp_open(p);
    while (more > 0) {
        const char *key;
        if (jp_string(p, &key) || jp_expect(p, ':') || jp_field(p, t, key, &seen))
            return -1;
        more = jp_next(p);
    }
    if (more < 0)
        return -1;
    if (seen != 7)
        return jp_fail(p, "tensor '%s': missing field '%s'", name,
                       !(seen & 1) ? "dtype" : !(seen & 2) ? "shape" : "data_offsets");
    return 0;
}

/* The whole header: one object, then only white space (the padding). */
static int jp_header(jp *p)
{
    int more = jp_open(p);
    while (more > 0) {
        const char *key;
        if (jp_string(p, &key) || jp_expect(p, ':'))
            return -1;
        if ((strcmp(key, "__metadata__") == 0 ? jp_metadata(p) : jp_tensor(p, key)) < 0)
            return -1;
        more = jp_next(p);
    }
    if (more < 0)
        return -1;
    jp_ws(p);
    if (p->at != p->n)
        return jp_fail(p, "unexpected text after the header object");
    return 0;
}

/* ---------------------------------------------------------- validating */

/* Each tensor: span == shape x size, inside the data. */
static int check_spans(rt_ckpt *c, uint64_t data_size, rt_error *err)
{
    for (int i = 0; i < c->n; i++) {
        ck_tensor *t = &c->t[i];
        char ty[128];
        if (t->end < t->begin) {
            rt_error_set(err, "%s: tensor '%s' has data_offsets [%llu, %llu] that run backwards",
                         c->path, t->e.name, (unsigned long long)t->begin,
                         (unsigned long long)t->end);
            return -1;
        }
        if (!entry_bytes(t->e.dtype, t->e.rank, t->e.dim, &t->e.nbytes)
            || t->e.nbytes != t->end - t->begin) {
            rt_error_set(err, "%s: tensor '%s' is %s but its data_offsets span %llu bytes",
                         c->path, t->e.name, entry_type_str(&t->e, ty, sizeof ty),
                         (unsigned long long)(t->end - t->begin));
            return -1;
        }
        if (t->end > data_size) {
            rt_error_set(err,
                         "%s: truncated: tensor '%s' ends at byte %llu but the data holds %llu",
                         c->path, t->e.name, (unsigned long long)t->end,
                         (unsigned long long)data_size);
            return -1;
        }
        t->e.data = (const unsigned char *)c->data + t->begin;
    }
    return 0;
}

static int by_offset_cmp(const void *a, const void *b)
{
    const ck_tensor *x = *(const ck_tensor *const *)a, *y = *(const ck_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x < y ? -1 : x > y; /* file order: deterministic messages */
}

/* The tensors tile [0, data_size): no overlap, no hole, nothing after. */
static int check_tiling(const rt_ckpt *c, uint64_t data_size, rt_error *err)
{
    const ck_tensor **idx = sorted(c, by_offset_cmp);
    uint64_t at = 0;
    int rc = 0;
    for (int i = 0; i < c->n && rc == 0; i++) {
        const ck_tensor *t = idx[i], *prev = i ? idx[i - 1] : NULL;
        if (t->begin < at)
            rt_error_set(err, "%s: tensors '%s' and '%s' overlap", c->path, prev->e.name,
                         t->e.name);
        else if (t->begin > at)
            rt_error_set(err, "%s: %llu unused bytes before tensor '%s'", c->path,
                         (unsigned long long)(t->begin - at), t->e.name);
        rc = t->begin == at ? 0 : -1;
        at = t->end;
    }
    if (rc == 0 && at != data_size) {
        rt_error_set(err, "%s: %llu unused bytes after the last tensor", c->path,
                     (unsigned long long)(data_size - at));
        rc = -1;
    }
    seg_free(idx);
    return rc;
}

static int check_names(rt_ckpt *c, rt_error *err)
{
    c->by_name = sorted(c, by_name_cmp);
    const char *dup = find_duplicate(c, c->by_name);
    if (dup)
        rt_error_set(err, "%s: tensor name '%s' appears twice", c->path, dup);
    return dup ? -1 : 0;
}

/* ------------------------------------------------------------- reading */

/* Read the 8-byte length and the header text; data_size gets the rest. */
static int read_header(FILE *f, const char *path, uint64_t size, char **hdr, uint64_t *hlen,
                       rt_error *err)
{
    unsigned char len8[8];
    if (size < 8 || fread(len8, 1, 8, f) != 8) {
        rt_error_set(err, "%s: truncated: %llu bytes, too short for a safetensors header", path,
                     (unsigned long long)size);
        return -1;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    if (n > HEADER_MAX) {
        rt_error_set(err, "%s: not a safetensors file: header length %llu is over the 100 MB limit",
                     path, (unsigned long long)n);
        return -1;
    }
    if (n < 2 || n > size - 8) {
        rt_error_set(err,
                     "%s: truncated: header length is %llu but the file holds %llu bytes after it",
                     path, (unsigned long long)n, (unsigned long long)(size - 8));
        return -1;
    }
    *hdr = seg_xrealloc(NULL, (size_t)n);
    *hlen = n;
    if (fread(*hdr, 1, (size_t)n, f) != n) {
        rt_error_set(err, "%s: read error: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int read_data(FILE *f, rt_ckpt *c, uint64_t n, rt_error *err)
{
    c->data = seg_xrealloc(NULL, (size_t)n);
    if (n && fread(c->data, 1, (size_t)n, f) != n) {
        rt_error_set(err, "%s: read error: %s", c->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int parse_and_check(rt_ckpt *c, const char *hdr, uint64_t hlen, uint64_t data_size,
                           rt_error *err)
{
    jp p = {.s = hdr, .n = (size_t)hlen, .path = c->path, .err = err, .c = c};
    if (jp_header(&p) || check_spans(c, data_size, err) || check_names(c, err))
        return -1;
    return check_tiling(c, data_size, err);
}

static int read_file(FILE *f, rt_ckpt *c, rt_error *err)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rt_error_set(err, "%s: not a regular file", c->path);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size, hlen = 0;
    char *hdr = NULL;
    int rc = read_header(f, c->path, size, &hdr, &hlen, err);
    if (rc == 0)
        rc = read_data(f, c, size - 8 - hlen, err);
    if (rc == 0)
        rc = parse_and_check(c, hdr, hlen, size - 8 - hlen, err);
    seg_free(hdr);
    return rc;
}

rt_ckpt *rt_ckpt_read(const char *path, rt_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_error_set(err, "%s: cannot open checkpoint: %s", path, strerror(errno));
        return NULL;
    }
    rt_ckpt *c = rt_ckpt_new();
    c->path = seg_arena_strdup(c->arena, path);
    int rc = read_file(f, c, err);
    fclose(f);
    if (rc != 0) {
        rt_ckpt_free(c);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------ net comparison */

/* Collects mismatch lines: all into report, the first few into err. */
typedef struct ck_report {
    seg_buf *out;   /* caller's, may be NULL */
    seg_buf short_; /* what goes into err */
    int count;
    int shown;      /* lines that fit in err */
} ck_report;

SEG_PRINTF(2, 3) static void report_line(ck_report *r, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->count++;
    if (r->out)
        seg_buf_printf(r->out, "%s\n", line);
    if (r->short_.len + strlen(line) + 40 < sizeof(((rt_error *)0)->msg)) {
        seg_buf_printf(&r->short_, "\n  %s", line);
        r->shown++;
    }
}

static int entry_matches(const rt_ckpt_entry *e, const rt_type *t)
{
    if (t->dtype >= RT_DTYPE_COUNT || e->dtype != rt_ckpt_dtype_of(t->dtype) || e->rank != t->rank)
        return 0;
    for (int i = 0; i < e->rank; i++)
        if (e->dim[i] != t->dim[i])
            return 0;
    return 1;
}

static void check_wanted(const rt_ckpt *c, const rt_ckpt_want *want, int n, unsigned flags,
                         ck_report *r)
{
    for (int i = 0; i < n; i++) {
        const rt_ckpt_entry *e = rt_ckpt_find(c, want[i].name);
        char a[128], b[128];
        if (!e && !(flags & RT_CKPT_ALLOW_MISSING))
            report_line(r, "%s: missing from the checkpoint (net %s)", want[i].name,
                        rt_type_str(&want[i].type, b, sizeof b));
        else if (e && !entry_matches(e, &want[i].type))
            report_line(r, "%s: checkpoint %s, net %s", want[i].name,
                        entry_type_str(e, a, sizeof a),
                        rt_type_str(&want[i].type, b, sizeof b));
    }
}

static void check_unexpected(const rt_ckpt *c, const rt_ckpt_want *want, int n,
                             const char *ignore_prefix, ck_report *r)
{
    for (int i = 0; i < c->n; i++) {
        const char *name = c->t[i].e.name;
        if (ignore_prefix && strncmp(name, ignore_prefix, strlen(ignore_prefix)) == 0)
            continue;
        int known = 0;
        for (int j = 0; j < n && !known; j++)
            known = strcmp(want[j].name, name) == 0;
        char a[128];
        if (!known)
            report_line(r, "%s: in the checkpoint (%s) but not in the net", name,
                        entry_type_str(&c->t[i].e, a, sizeof a));
    }
}

int rt_ckpt_check(const rt_ckpt *c, const rt_ckpt_want *want, int n, const char *ignore_prefix,
                  unsigned flags, seg_buf *report, rt_error *err)
{
    ck_report r = {.out = report};
    check_wanted(c, want, n, flags, &r);
    if (!(flags & RT_CKPT_ALLOW_UNEXPECTED))
        check_unexpected(c, want, n, ignore_prefix, &r);
    if (r.count) {
        const char *file = c->path ? c->path : "checkpoint";
        char more[48] = "";
        if (r.shown < r.count)
            snprintf(more, sizeof more, "\n  ... and %d more", r.count - r.shown);
        rt_error_set(err, "%s: %d mismatch%s with the net:%s%s", file, r.count,
                     r.count == 1 ? "" : "es", r.short_.data, more);
    }
    seg_buf_free(&r.short_);
    return r.count;
}
