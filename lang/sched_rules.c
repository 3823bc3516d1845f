/* sched_rules.c — every schedule setting that can be checked without
 * files is checked here, at compile time, at the argument that is wrong:
 * `sgd(lr = 0.0)` is an error of `segc check`, not a failure of `segc
 * train` after the data has loaded.
 *
 * One table gives each call parameter's type and range (the runtime's own
 * requirements: the optimizers need lr > 0, Adam's betas are in [0, 1),
 * a learning-rate warm-up is a whole number of steps, ...); a parameter
 * the table does not name is left to the call's own checks in
 * schedule.c (data streams, metrics, strings from a fixed set).
 * synthetic() is checked by the phantom generator's option parser and
 * checks (rt_synth_opts_*), so its limits are stated once, in the
 * runtime, and hold at compile time too.
 */
#include "sema_internal.h"

#include <math.h>
#include <string.h>

typedef enum rule_type {
    R_NUM,   /* a number */
    R_INT,   /* an int */
    R_BOOL,  /* true or false */
    R_NUMS,  /* a number or a list of 1 to 3 numbers (a spacing) */
    R_STR,   /* a string */
    R_STRS,  /* a list of strings */
} rule_type;

enum { LO_OPEN = 1, HI_OPEN = 2, NO_HI = 4 }; /* bounds: (lo, ...), (..., hi), no upper */

typedef struct rule {
    const char *fn;     /* the call, or "*" for every call with the parameter */
    const char *param;
    rule_type type;
    double lo, hi;
    unsigned bounds;    /* LO_OPEN | HI_OPEN | NO_HI */
} rule;

#define POSITIVE 0, 0, LO_OPEN | NO_HI
#define NON_NEGATIVE 0, 0, NO_HI
#define SHARE 0, 1, 0          /* [0, 1] */
#define BETA 0, 1, HI_OPEN     /* [0, 1) */

static const rule rules[] = {
    /* optimizers (runtime/optim.c) */
    {"*", "lr", R_NUM, POSITIVE},
    {"*", "beta1", R_NUM, BETA},
    {"*", "beta2", R_NUM, BETA},
    {"*", "eps", R_NUM, POSITIVE},
    {"*", "clip", R_NUM, NON_NEGATIVE},
    {"*", "weight_decay", R_NUM, NON_NEGATIVE},
    {"sgd", "momentum", R_NUM, NON_NEGATIVE},
    {"sgd", "nesterov", R_BOOL, 0, 0, 0},
    /* learning-rate schedules (runtime/lr.c) */
    {"*", "warmup", R_INT, NON_NEGATIVE},
    {"poly", "power", R_NUM, NON_NEGATIVE},
    {"cosine", "min", R_NUM, NON_NEGATIVE},
    {"step", "every", R_INT, 1, 0, NO_HI},
    {"step", "gamma", R_NUM, POSITIVE},
    /* stop rules */
    {"plateau", "delta", R_NUM, NON_NEGATIVE},
    {"plateau", "ema", R_NUM, BETA},
    /* augmentation (runtime/data/augment.c) */
    {"*", "p", R_NUM, SHARE},
    {"scale", "lo", R_NUM, POSITIVE},
    {"scale", "hi", R_NUM, POSITIVE},
    {"shift", "amount", R_NUM, 0, 1, HI_OPEN},
    {"noise", "max", R_NUM, NON_NEGATIVE},
    /* preprocessing */
    {"clip", "lo", R_NUM, 0, 0, 0},
    {"clip", "hi", R_NUM, 0, 0, 0},
    {"resample", "spacing", R_NUMS, POSITIVE},
    /* file data sources */
    {"nifti", "classes", R_INT, 2, 256, 0},
    {"png", "classes", R_INT, 2, 256, 0},
    {"nifti", "images", R_STR, 0, 0, 0},
    {"png", "images", R_STR, 0, 0, 0},
    {"nifti", "labels", R_STR, 0, 0, 0},
    {"png", "labels", R_STR, 0, 0, 0},
    {"nifti", "list", R_STR, 0, 0, 0},
    {"png", "list", R_STR, 0, 0, 0},
    {"nifti", "names", R_STRS, 0, 0, 0},
    {"png", "names", R_STRS, 0, 0, 0},
};
enum { N_RULES = (int)(sizeof rules / sizeof rules[0]) };

/* "a number > 0", "an int >= 1", "a number in [0, 1)", "a number". */
static void describe(const rule *r, char *buf, size_t n)
{
    const char *what = r->type == R_INT ? "an int" : "a number";
    if (r->type == R_NUMS)
        what = "a number or a list of numbers, each";
    if (r->lo == 0 && r->hi == 0 && r->bounds == 0)
        snprintf(buf, n, "%s", what);
    else if (r->bounds & NO_HI)
        snprintf(buf, n, "%s %s %g", what, r->bounds & LO_OPEN ? ">" : ">=", r->lo);
    else
        snprintf(buf, n, "%s in %c%g, %g%c", what, r->bounds & LO_OPEN ? '(' : '[', r->lo, r->hi,
                 r->bounds & HI_OPEN ? ')' : ']');
}

static int in_range(const rule *r, double x)
{
    if (!isfinite(x))
        return 0;
    if (r->lo == 0 && r->hi == 0 && r->bounds == 0)
        return 1;
    int lo_ok = r->bounds & LO_OPEN ? x > r->lo : x >= r->lo;
    int hi_ok = r->bounds & NO_HI ? 1 : r->bounds & HI_OPEN ? x < r->hi : x <= r->hi;
    return lo_ok && hi_ok;
}

static int is_num(const seg_sv *v) { return v->kind == SEG_SV_INT || v->kind == SEG_SV_FLOAT; }

/* The setting as written back, for messages. */
static void sv_text(const seg_sv *v, char *buf, size_t n)
{
    switch (v->kind) {
    case SEG_SV_INT: snprintf(buf, n, "%lld", (long long)v->i); return;
    case SEG_SV_FLOAT: snprintf(buf, n, "%g", v->f); return;
    case SEG_SV_BOOL: snprintf(buf, n, "%s", v->i ? "true" : "false"); return;
    case SEG_SV_STRING: snprintf(buf, n, "\"%s\"", v->s); return;
    case SEG_SV_LIST: snprintf(buf, n, "a list of %d", v->n_items); return;
    default: snprintf(buf, n, "%s", "a call"); return;
    }
}

static int value_ok(const rule *r, const seg_sv *v)
{
    switch (r->type) {
    case R_NUM: return is_num(v) && in_range(r, v->f);
    case R_INT: return v->kind == SEG_SV_INT && in_range(r, v->f);
    case R_BOOL: return v->kind == SEG_SV_BOOL;
    case R_STR: return v->kind == SEG_SV_STRING;
    case R_NUMS:
        if (is_num(v))
            return in_range(r, v->f);
        if (v->kind != SEG_SV_LIST || v->n_items < 1 || v->n_items > 3)
            return 0;
        for (int i = 0; i < v->n_items; i++)
            if (!is_num(&v->items[i]) || !in_range(r, v->items[i].f))
                return 0;
        return 1;
    case R_STRS:
        if (v->kind != SEG_SV_LIST)
            return 0;
        for (int i = 0; i < v->n_items; i++)
            if (v->items[i].kind != SEG_SV_STRING)
                return 0;
        return 1;
    }
    return 0;
}

static int check_rule(sema_sched_ctx *c, const seg_scall *k, int i, const rule *r)
{
    const seg_sv *v = &k->args[i];
    if (v->kind == SEG_SV_NONE || value_ok(r, v))
        return 0;
    char want[96], got[64];
    describe(r, want, sizeof want);
    if (r->type == R_BOOL)
        snprintf(want, sizeof want, "true or false");
    else if (r->type == R_STR)
        snprintf(want, sizeof want, "a string");
    else if (r->type == R_STRS)
        snprintf(want, sizeof want, "a list of strings");
    sv_text(v, got, sizeof got);
    sema_error(&c->st, k->spans[i], "%s(): '%s' must be %s, got %s", k->name, k->keys[i], want,
               got);
    return -1;
}

/* Relations between arguments of one call. */
static int check_pairs(sema_sched_ctx *c, const seg_scall *k)
{
    const seg_sv *lo = seg_scall_arg(k, "lo"), *hi = seg_scall_arg(k, "hi");
    if ((!strcmp(k->name, "clip") || !strcmp(k->name, "scale")) && lo && hi && is_num(lo) &&
        is_num(hi) && !(lo->f < hi->f || (lo->f == hi->f && !strcmp(k->name, "scale")))) {
        sema_error(&c->st, k->span, "%s(): 'lo' (%g) must be %s 'hi' (%g)", k->name, lo->f,
                   strcmp(k->name, "clip") ? "at most" : "below", hi->f);
        return -1;
    }
    const seg_sv *nest = seg_scall_arg(k, "nesterov"), *mom = seg_scall_arg(k, "momentum");
    if (nest && mom && nest->kind == SEG_SV_BOOL && nest->i && is_num(mom) && !(mom->f > 0)) {
        sema_error(&c->st, k->spans[nest - k->args], "sgd(): nesterov = true "
                   "needs momentum > 0");
        return -1;
    }
    const seg_sv *names = seg_scall_arg(k, "names"), *classes = seg_scall_arg(k, "classes");
    if (names && classes && names->kind == SEG_SV_LIST && classes->kind == SEG_SV_INT &&
        names->n_items != classes->i) {
        sema_error(&c->st, k->spans[names - k->args], "%s(): 'names' has %d names for %lld "
                   "classes", k->name, names->n_items, (long long)classes->i);
        return -1;
    }
    return 0;
}

int sema_scall_rules(sema_sched_ctx *c, const seg_scall *k)
{
    int rc = 0;
    for (int i = 0; i < k->n; i++)
        for (int r = 0; r < N_RULES; r++)
            if ((!strcmp(rules[r].fn, "*") || !strcmp(rules[r].fn, k->name)) &&
                !strcmp(rules[r].param, k->keys[i])) {
                rc |= check_rule(c, k, i, &rules[r]);
                break;
            }
    return rc ? -1 : check_pairs(c, k);
}

/* ----------------------------------------------------------- synthetic */

/* Keys of synthetic() that are not generator options. */
static int synth_meta_key(const char *k)
{
    static const char *const keys[] = {"kind", "labels", "label", "distance", "lesions"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k, keys[i]))
            return 1;
    return 0;
}

int seg_sv_numbers(const seg_sv *v, double *out, int max)
{
    if (v->kind == SEG_SV_INT || v->kind == SEG_SV_FLOAT || v->kind == SEG_SV_BOOL) {
        if (max < 1)
            return -1;
        out[0] = v->kind == SEG_SV_FLOAT ? v->f : (double)v->i;
        return 1;
    }
    if (v->kind != SEG_SV_LIST || v->n_items > max)
        return -1;
    for (int i = 0; i < v->n_items; i++)
        if (seg_sv_numbers(&v->items[i], out + i, 1) != 1)
            return -1;
    return v->n_items;
}

static int scall_index(const seg_scall *k, const char *key)
{
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->keys[i], key))
            return i;
    return -1;
}

int seg_synthetic_opts(const seg_scall *k, rt_synth_opts *o, int *bad, rt_error *err)
{
    *bad = scall_index(k, "kind");
    if (rt_synth_opts_init(o, seg_scall_str(k, "kind", ""), err))
        return -1;
    *bad = scall_index(k, "lesions");
    if (rt_synth_opts_set_lesions(o, seg_scall_str(k, "lesions", "default"), err))
        return -1;
    for (int i = 0; i < k->n; i++) {
        double v[8];
        if (!k->given[i] || synth_meta_key(k->keys[i]))
            continue;
        *bad = i;
        int n = seg_sv_numbers(&k->args[i], v, 8);
        if (n < 0) {
            rt_error_set(err, "synthetic(): '%s' must be a number or a list of numbers",
                         k->keys[i]);
            return -1;
        }
        if (rt_synth_opts_set(o, k->keys[i], v, n, err))
            return -1;
    }
    *bad = -1;
    return rt_synth_opts_check(o, err);
}

int sema_synthetic_check(sema_sched_ctx *c, const seg_scall *k)
{
    rt_synth_opts o;
    rt_error err = {{0}};
    int bad;
    if (!seg_synthetic_opts(k, &o, &bad, &err))
        return 0;
    const char *key = bad >= 0 ? k->keys[bad] : "";
    if (!strcmp(key, "kind") || !strcmp(key, "lesions"))
        return 0; /* reported by the string checks */
    sema_error(&c->st, bad >= 0 ? k->spans[bad] : k->span, "%s", err.msg);
    return -1;
}
