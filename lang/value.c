/* value.c — compile-time values: constructors, kind names, printing, and
 * the indexed families that `e[i] = ...` creates.
 *
 * Values are small tagged unions passed by value; anything larger (lists,
 * families, types) lives in the evaluator's arena and is never freed on
 * its own. Families keep their keys sorted so a lookup is a binary search
 * and printing lists entries in order.
 */
#include "sema_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sema_value sema_val_none(void) { return (sema_value){.kind = VAL_NONE}; }
sema_value sema_val_error(void) { return (sema_value){.kind = VAL_ERROR}; }
sema_value sema_val_int(int64_t i) { return (sema_value){.kind = VAL_INT, .i = i}; }
sema_value sema_val_float(double f) { return (sema_value){.kind = VAL_FLOAT, .f = f}; }
sema_value sema_val_bool(int b) { return (sema_value){.kind = VAL_BOOL, .i = b != 0}; }
sema_value sema_val_string(const char *s) { return (sema_value){.kind = VAL_STRING, .s = s}; }
sema_value sema_val_tensor(ir_id t) { return (sema_value){.kind = VAL_TENSOR, .t = t}; }

int sema_val_is_number(sema_value v) { return v.kind == VAL_INT || v.kind == VAL_FLOAT; }

double sema_val_number(sema_value v)
{
    return v.kind == VAL_INT ? (double)v.i : v.f;
}

const char *sema_kind_name(sema_kind k)
{
    static const char *const names[] = {
        [VAL_NONE] = "nothing", [VAL_ERROR] = "error",   [VAL_INT] = "int",
        [VAL_FLOAT] = "float",  [VAL_BOOL] = "bool",     [VAL_STRING] = "string",
        [VAL_LIST] = "list",    [VAL_RANGE] = "range",   [VAL_TYPE] = "type",
        [VAL_TENSOR] = "tensor", [VAL_FAMILY] = "indexed family", [VAL_NET] = "net",
        [VAL_STREAM] = "data stream", [VAL_SCALL] = "call", [VAL_NETINST] = "net instance",
    };
    return names[k];
}

/* ------------------------------------------------------------- lists */

sema_value sema_list_new(sema_state *st, int n)
{
    sema_list *l = seg_arena_alloc(st->arena, sizeof *l);
    l->n = n;
    l->items = seg_arena_alloc(st->arena, (size_t)(n > 0 ? n : 1) * sizeof *l->items);
    return (sema_value){.kind = VAL_LIST, .list = l};
}

/* ---------------------------------------------------------- families */

sema_value sema_family_new(sema_state *st)
{
    sema_family *f = seg_arena_alloc(st->arena, sizeof *f);
    return (sema_value){.kind = VAL_FAMILY, .fam = f};
}

/* Index of key, or -(insertion point) - 1. */
static int family_search(const sema_family *f, int64_t key)
{
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (f->keys[mid] == key)
            return mid;
        if (f->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

sema_value *sema_family_get(sema_family *f, int64_t key)
{
    int i = family_search(f, key);
    return i >= 0 ? &f->vals[i] : NULL;
}

static void family_grow(sema_state *st, sema_family *f)
{
    int cap = f->cap ? 2 * f->cap : 8;
    int64_t *keys = seg_arena_alloc(st->arena, (size_t)cap * sizeof *keys);
    sema_value *vals = seg_arena_alloc(st->arena, (size_t)cap * sizeof *vals);
    if (f->n) {
        memcpy(keys, f->keys, (size_t)f->n * sizeof *keys);
        memcpy(vals, f->vals, (size_t)f->n * sizeof *vals);
    }
    f->keys = keys;
    f->vals = vals;
    f->cap = cap;
}

/* The slot of key, created (as NONE) when missing. */
sema_value *sema_family_put(sema_state *st, sema_family *f, int64_t key)
{
    int i = family_search(f, key);
    if (i >= 0)
        return &f->vals[i];
    i = -i - 1;
    if (f->n == f->cap)
        family_grow(st, f);
    memmove(&f->keys[i + 1], &f->keys[i], (size_t)(f->n - i) * sizeof *f->keys);
    memmove(&f->vals[i + 1], &f->vals[i], (size_t)(f->n - i) * sizeof *f->vals);
    f->keys[i] = key;
    f->vals[i] = sema_val_none();
    f->n++;
    return &f->vals[i];
}

/* ---------------------------------------------------------- printing */

static void print_float(double f, seg_buf *b)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.17g", f);
    /* shortest form that reads back the same */
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    if (isfinite(f) && !strpbrk(tmp, ".eE"))
        strcat(tmp, ".0");
    seg_buf_printf(b, "%s", tmp);
}

static void print_list(const sema_state *st, const sema_list *l, seg_buf *b)
{
    seg_buf_printf(b, "[");
    for (int i = 0; i < l->n; i++) {
        if (i)
            seg_buf_printf(b, ", ");
        sema_value_print(st, l->items[i], b);
    }
    seg_buf_printf(b, "]");
}

static void print_family(const sema_state *st, const sema_family *f, seg_buf *b)
{
    seg_buf_printf(b, "{");
    for (int i = 0; i < f->n; i++) {
        seg_buf_printf(b, "%s%lld: ", i ? ", " : "", (long long)f->keys[i]);
        sema_value_print(st, f->vals[i], b);
    }
    seg_buf_printf(b, "}");
}

static void print_type(const rt_type *t, seg_buf *b)
{
    char tmp[200];
    if (t->rank < 0)
        seg_buf_printf(b, "%s", rt_dtype_name(t->dtype));
    else
        seg_buf_printf(b, "%s", rt_type_str(t, tmp, sizeof tmp));
}

/* unet(levels = 3): the parameters the instance was given. */
static void print_instance(const sema_state *st, const sema_netinst *ni, seg_buf *b)
{
    seg_buf_printf(b, "%s(", ni->net->name);
    int k = 0;
    for (int i = 0; i < ni->args->n; i++) {
        if (!ni->args->given[i])
            continue;
        seg_buf_printf(b, "%s%s = ", k++ ? ", " : "", ni->args->names[i]);
        if (sema_value_source(st, ni->args->v[i], b))
            sema_value_print(st, ni->args->v[i], b);
    }
    seg_buf_printf(b, ")");
}

void sema_value_print(const sema_state *st, sema_value v, seg_buf *b)
{
    switch (v.kind) {
    case VAL_INT: seg_buf_printf(b, "%lld", (long long)v.i); break;
    case VAL_FLOAT: print_float(v.f, b); break;
    case VAL_BOOL: seg_buf_printf(b, "%s", v.i ? "true" : "false"); break;
    case VAL_STRING: seg_buf_printf(b, "%s", v.s); break;
    case VAL_LIST: print_list(st, v.list, b); break;
    case VAL_RANGE: seg_buf_printf(b, "%lld..%lld", (long long)v.r.lo, (long long)v.r.hi); break;
    case VAL_TYPE: print_type(v.type, b); break;
    case VAL_TENSOR:
        seg_buf_printf(b, "tensor ");
        print_type(sema_type_of(st, v.t), b);
        break;
    case VAL_FAMILY: print_family(st, v.fam, b); break;
    case VAL_NET: seg_buf_printf(b, "net %s", v.net->net); break;
    case VAL_STREAM: seg_buf_printf(b, "data %s", v.stream->name); break;
    case VAL_SCALL: seg_buf_printf(b, "%s(...)", v.call->name); break;
    case VAL_NETINST: print_instance(st, v.inst, b); break;
    case VAL_NONE: seg_buf_printf(b, "nothing"); break;
    case VAL_ERROR: seg_buf_printf(b, "<error>"); break;
    }
}

static void source_string(const char *s, seg_buf *b)
{
    seg_buf_printf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            seg_buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            seg_buf_printf(b, "\\n");
        else if (*s == '\t')
            seg_buf_printf(b, "\\t");
        else
            seg_buf_printf(b, "%c", *s);
    }
    seg_buf_printf(b, "\"");
}

int sema_value_source(const sema_state *st, sema_value v, seg_buf *b)
{
    switch (v.kind) {
    case VAL_INT: case VAL_FLOAT: case VAL_BOOL: case VAL_RANGE: case VAL_TYPE:
        if (v.kind == VAL_FLOAT && !isfinite(v.f))
            return -1;
        sema_value_print(st, v, b);
        return 0;
    case VAL_STRING: source_string(v.s, b); return 0;
    case VAL_NETINST: print_instance(st, v.inst, b); return v.inst->prefix ? -1 : 0;
    case VAL_LIST:
        seg_buf_printf(b, "[");
        for (int i = 0; i < v.list->n; i++) {
            seg_buf_printf(b, "%s", i ? ", " : "");
            if (sema_value_source(st, v.list->items[i], b))
                return -1;
        }
        seg_buf_printf(b, "]");
        return 0;
    default: return -1;
    }
}

/* A value as an arena string (str(), messages). */
const char *sema_value_str(sema_state *st, sema_value v)
{
    seg_buf b = {0};
    sema_value_print(st, v, &b);
    const char *s = seg_arena_strdup(st->arena, b.data ? b.data : "");
    seg_buf_free(&b);
    return s;
}

/* Describe a value's kind for messages: "tensor f32[2, 3]", "int". */
const char *sema_value_desc(sema_state *st, sema_value v)
{
    if (v.kind == VAL_TENSOR || v.kind == VAL_TYPE)
        return sema_value_str(st, v);
    return sema_kind_name(v.kind);
}
