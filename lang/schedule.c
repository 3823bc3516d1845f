/* schedule.c — checking `schedule` declarations into seg_schedule records.
 *
 * A schedule body is generic items `KEYWORD [NAME =] args` and stages. One
 * table names every keyword and where it may appear; one table names
 * every schedule call (data sources, optimizers, stop rules, ...) with a
 * parameter spec in the builtins' syntax, so arguments are bound and
 * checked by bind.c like any call. Settings are evaluated at compile time
 * (constants are visible); data stream names evaluate to stream values.
 *
 * Schedule-level items are read first, then each stage in order
 * (stage.c), so `trained(STAGE)` can only see earlier stages. Everything
 * is allocated in the program's arena; the result stays in the program.
 */
#include "sema_internal.h"

#include <string.h>

/* -------------------------------------------------------- schedule calls */

typedef struct sched_fn {
    const char *kind;   /* "source", "optimizer", ... (messages say "unknown KIND") */
    const char *name;
    const char *spec;   /* as in builtins.c */
} sched_fn;

#define FILE_SPEC "images = none; labels = none, list = none, classes = 2, names = none, " \
                  "label = \"mask\", distance = false"
#define ADAM_SPEC "; lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, clip = 0.0, weight_decay = "

static const sched_fn sched_fns[] = {
    {"data source", "synthetic",
     "kind; cases = none, size = none, spacing = none, seed = none, organ_cnr = none, "
     "lesion_cnr = none, lesion_sign = none, lesions_min = none, lesions_max = none, "
     "lesion_radius_min = none, lesion_radius_max = none, organ_radius_min = none, "
     "organ_radius_max = none, irregularity = none, texture = none, texture_scale = none, "
     "noise = none, blur = none, hu = none, hu_scale = none, hu_offset = none, "
     "lesion_irregularity = none, lesions = \"default\", labels = true, label = \"mask\", "
     "distance = false"},
    {"data source", "nifti", FILE_SPEC},
    {"data source", "png", FILE_SPEC},
    {"preprocessing step", "clip", "lo, hi"},
    {"preprocessing step", "minmax", ""},
    {"preprocessing step", "zscore", ""},
    {"preprocessing step", "resample", "spacing"},
    {"augmentation", "flip", "; p = 0.5"},
    {"augmentation", "rot90", "; p = 0.25"},
    {"augmentation", "scale", "; p = 0.15, lo = 0.75, hi = 1.25"},
    {"augmentation", "shift", "; p = 0.15, amount = 0.1"},
    {"augmentation", "noise", "; p = 0.1, max = 0.1"},
    {"optimizer", "adam", ADAM_SPEC "0.0"},
    {"optimizer", "adamw", ADAM_SPEC "0.01"},
    {"optimizer", "sgd", "; lr = 0.01, momentum = 0.0, weight_decay = 0.0, nesterov = false, clip = 0.0"},
    {"learning-rate schedule", "constant", "; warmup = 0"},
    {"learning-rate schedule", "poly", "power = 0.9; warmup = 0"},
    {"learning-rate schedule", "cosine", "; min = 0.0, warmup = 0"},
    {"learning-rate schedule", "step", "every; gamma = 0.1, warmup = 0"},
    {"stop rule", "epochs", "n"},
    {"stop rule", "steps", "n"},
    {"stop rule", "plateau", "metric; patience = 5, delta = 0.0, ema = 0.0, mode = \"max\""},
    {"metric", "dice", "data, class = none"},
    {"metric", "iou", "data, class = none"},
    {"metric", "mean_dice", "data"},
    {"metric", "miou", "data"},
    {"checkpoint rule", "best", "metric"},
    {"checkpoint rule", "last", ""},
    {"checkpoint rule", "every", "n"},
};

enum { N_SCHED_FNS = (int)(sizeof sched_fns / sizeof sched_fns[0]) };

static const sched_fn *sched_fn_find(const char *name)
{
    for (int i = 0; i < N_SCHED_FNS; i++)
        if (strcmp(sched_fns[i].name, name) == 0)
            return &sched_fns[i];
    return NULL;
}

static int is_kind(const seg_scall *c, const char *kind)
{
    const sched_fn *f = sched_fn_find(c->name);
    return f && strcmp(f->kind, kind) == 0;
}

/* ------------------------------------------------------------- helpers */

void *sema_arena_push(seg_arena *a, const void *array, int *count, size_t size,
                      const void *elem)
{
    char *grown = seg_arena_alloc(a, (size_t)(*count + 1) * size);
    if (*count)
        memcpy(grown, array, (size_t)*count * size);
    memcpy(grown + (size_t)*count * size, elem, size);
    (*count)++;
    return grown;
}

static int sv_list(sema_sched_ctx *c, const sema_list *l, seg_span at, seg_sv *out)
{
    seg_sv *items = seg_arena_alloc(c->p->arena, (size_t)(l->n + 1) * sizeof *items);
    for (int i = 0; i < l->n; i++)
        if (sema_to_sv(c, l->items[i], at, &items[i]))
            return -1;
    out->kind = SEG_SV_LIST;
    out->items = items;
    out->n_items = l->n;
    return 0;
}

int sema_to_sv(sema_sched_ctx *c, sema_value v, seg_span at, seg_sv *out)
{
    memset(out, 0, sizeof *out);
    switch (v.kind) {
    case VAL_NONE: return 0;
    case VAL_INT: out->kind = SEG_SV_INT; out->i = v.i; out->f = (double)v.i; return 0;
    case VAL_FLOAT: out->kind = SEG_SV_FLOAT; out->f = v.f; return 0;
    case VAL_BOOL: out->kind = SEG_SV_BOOL; out->i = v.i; return 0;
    case VAL_STRING: out->kind = SEG_SV_STRING; out->s = v.s; return 0;
    case VAL_LIST: return sv_list(c, v.list, at, out);
    case VAL_SCALL: out->kind = SEG_SV_CALL; out->call = v.call; return 0;
    case VAL_STREAM:
        out->kind = SEG_SV_STREAM;
        out->i = v.stream->index;
        out->s = v.stream->name;
        return 0;
    case VAL_ERROR: return -1;
    default:
        sema_error(&c->st, at, "a schedule setting must be a number, a bool, a string, a list "
                   "or a call, got %s", sema_value_desc(&c->st, v));
        return -1;
    }
}

/* ---------------------------------------------------- evaluating calls */

static sema_value sched_arg(sema_sched_ctx *c, const ast_expr *e);

/* Parameters named `data` take a stream, `metric` a metric call; the rest
 * plain values. */
static int check_param(sema_sched_ctx *c, const char *fn, const char *param,
                       const seg_sv *v, seg_span at)
{
    int is_data = strcmp(param, "data") == 0, is_metric = strcmp(param, "metric") == 0;
    if (is_data && v->kind != SEG_SV_STREAM) {
        sema_error(&c->st, at, "%s(): '%s' must name a data stream", fn, param);
        return -1;
    }
    if (is_metric && (v->kind != SEG_SV_CALL || !is_kind(v->call, "metric"))) {
        sema_error(&c->st, at, "%s(): '%s' must be a metric such as dice(val)", fn, param);
        return -1;
    }
    int counts = !strcmp(param, "n") || !strcmp(param, "every") || !strcmp(param, "patience");
    if (counts && (v->kind != SEG_SV_INT || v->i < (strcmp(param, "patience") ? 1 : 0))) {
        sema_error(&c->st, at, "%s(): '%s' must be a positive int", fn, param);
        return -1;
    }
    if (!is_data && !is_metric && (v->kind == SEG_SV_STREAM || v->kind == SEG_SV_CALL)) {
        sema_error(&c->st, at, "%s(): '%s' must be a plain value", fn, param);
        return -1;
    }
    return 0;
}

static int want_string(sema_sched_ctx *c, const seg_scall *k, const char *param,
                       const char *const *allowed)
{
    const seg_sv *v = seg_scall_arg(k, param);
    int i = 0;
    for (; v->kind == SEG_SV_STRING && allowed[i]; i++)
        if (strcmp(v->s, allowed[i]) == 0)
            return 0;
    seg_buf list = {0};
    for (i = 0; allowed[i]; i++)
        seg_buf_printf(&list, "%s\"%s\"", i ? (allowed[i + 1] ? ", " : " or ") : "", allowed[i]);
    sema_error(&c->st, k->span, "%s(): '%s' must be %s", k->name, param, list.data);
    seg_buf_free(&list);
    return -1;
}

/* Checks beyond the spec for the calls that need them. */
static int check_call(sema_sched_ctx *c, const seg_scall *k)
{
    static const char *const kinds[] = {"lesions3d", "lesions2d", NULL};
    static const char *const labels[] = {"mask", "index", NULL};
    static const char *const lesions[] = {"default", "small", NULL};
    static const char *const modes[] = {"max", "min", NULL};
    if (strcmp(k->name, "synthetic") == 0)
        return want_string(c, k, "kind", kinds) | want_string(c, k, "label", labels) |
                       want_string(c, k, "lesions", lesions)
                   ? -1 : sema_synthetic_check(c, k);
    if (strcmp(k->name, "nifti") == 0 || strcmp(k->name, "png") == 0) {
        const seg_sv *img = seg_scall_arg(k, "images"), *list = seg_scall_arg(k, "list");
        if ((img->kind == SEG_SV_STRING) == (list->kind == SEG_SV_STRING)) {
            sema_error(&c->st, k->span, "%s(): give either 'images' (a glob) or 'list' (a file "
                       "of image/label pairs)", k->name);
            return -1;
        }
        return want_string(c, k, "label", labels) | sema_scall_rules(c, k);
    }
    if (strcmp(k->name, "plateau") == 0)
        return want_string(c, k, "mode", modes) | sema_scall_rules(c, k);
    return sema_scall_rules(c, k);
}

static seg_scall *scall_new(sema_sched_ctx *c, const sema_spec *sp, const sema_args *a,
                            const char *name, seg_span at)
{
    seg_arena *ar = c->p->arena;
    seg_scall *k = seg_arena_alloc(ar, sizeof *k);
    const char **keys = seg_arena_alloc(ar, (size_t)(sp->n + 1) * sizeof *keys);
    seg_sv *args = seg_arena_alloc(ar, (size_t)(sp->n + 1) * sizeof *args);
    int *given = seg_arena_alloc(ar, (size_t)(sp->n + 1) * sizeof *given);
    seg_span *spans = seg_arena_alloc(ar, (size_t)(sp->n + 1) * sizeof *spans);
    int bad = 0;
    for (int i = 0; i < sp->n; i++) {
        keys[i] = seg_arena_strdup(ar, sp->names[i]);
        spans[i] = a->given[i] ? a->span[i] : at;
        sema_value v = a->given[i] ? a->v[i] : sp->def[i];
        if (v.kind == VAL_STRING && !a->given[i])
            v.s = seg_arena_strdup(ar, v.s);
        given[i] = a->given[i];
        bad |= sema_to_sv(c, v, a->span[i], &args[i]) != 0;
        bad |= !bad && check_param(c, name, keys[i], &args[i], a->span[i]) != 0;
    }
    *k = (seg_scall){name, at, sp->n, keys, args, given, spans};
    return bad ? NULL : k;
}

static sema_value eval_scall(sema_sched_ctx *c, const ast_expr *e, const sched_fn *fn)
{
    sema_spec sp;
    sema_args a;
    int n = e->n_args, i = 0;
    sema_value *v = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *v);
    const char **kw = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *kw);
    seg_span *spans = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *spans);
    seg_span *kw_spans = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *kw_spans);
    for (const ast_expr *x = e->args; x; x = x->next, i++) {
        v[i] = sched_arg(c, x);
        kw[i] = x->kw;
        spans[i] = x->span;
        kw_spans[i] = x->kw ? x->kw_span : x->span;
    }
    sema_spec_parse(fn->spec, &sp);
    sema_binder b = {fn->name, sp.f, sp.n, 0, 0};
    if (sema_bind_values(&c->st, &b, n, v, kw, kw_spans, spans, e->span, &a))
        return sema_val_error();
    seg_scall *k = scall_new(c, &sp, &a, fn->name, e->span);
    if (!k || check_call(c, k))
        return sema_val_error();
    return (sema_value){.kind = VAL_SCALL, .call = k};
}

static sema_value sched_arg(sema_sched_ctx *c, const ast_expr *e)
{
    const sched_fn *fn = e->kind == AST_CALL ? sched_fn_find(e->sval) : NULL;
    return fn ? eval_scall(c, e, fn) : sema_eval(&c->st, e);
}

static void unknown_call(sema_sched_ctx *c, const ast_expr *e, const char *kind)
{
    const sched_fn *other = e->kind == AST_CALL ? sched_fn_find(e->sval) : NULL;
    if (other) {
        sema_error(&c->st, e->span, "%s() is a %s, not a %s", e->sval, other->kind, kind);
        return;
    }
    if (e->kind != AST_CALL) {
        sema_error(&c->st, e->span, "expected %s %s call here", strchr("aeiou", kind[0]) ? "an" : "a",
                   kind);
        return;
    }
    if (!sema_error(&c->st, e->span, "unknown %s '%s'", kind, e->sval))
        return;
    sema_suggest s;
    sema_suggest_init(&s, e->sval);
    for (int i = 0; i < N_SCHED_FNS; i++)
        if (strcmp(sched_fns[i].kind, kind) == 0)
            sema_suggest_add(&s, sched_fns[i].name);
    sema_suggest_note(&c->st, &s, e->span);
}

const seg_scall *sema_sched_call(sema_sched_ctx *c, const ast_expr *e, const char *kind)
{
    const sched_fn *fn = e->kind == AST_CALL ? sched_fn_find(e->sval) : NULL;
    if (!fn || strcmp(fn->kind, kind) != 0) {
        unknown_call(c, e, kind);
        return NULL;
    }
    sema_value v = eval_scall(c, e, fn);
    return v.kind == VAL_SCALL ? v.call : NULL;
}

/* ------------------------------------------------------ public accessors */

const seg_sv *seg_scall_arg(const seg_scall *c, const char *key)
{
    for (int i = 0; c && i < c->n; i++)
        if (strcmp(c->keys[i], key) == 0)
            return &c->args[i];
    return NULL;
}

double seg_scall_num(const seg_scall *c, const char *key, double def)
{
    const seg_sv *v = seg_scall_arg(c, key);
    return v && (v->kind == SEG_SV_INT || v->kind == SEG_SV_FLOAT) ? v->f : def;
}

int64_t seg_scall_int(const seg_scall *c, const char *key, int64_t def)
{
    const seg_sv *v = seg_scall_arg(c, key);
    return v && (v->kind == SEG_SV_INT || v->kind == SEG_SV_BOOL) ? v->i : def;
}

const char *seg_scall_str(const seg_scall *c, const char *key, const char *def)
{
    const seg_sv *v = seg_scall_arg(c, key);
    return v && v->kind == SEG_SV_STRING ? v->s : def;
}

const seg_schedule *seg_program_schedule(const seg_program *p, const char *name)
{
    for (int i = 0; p && i < p->n_scheds; i++)
        if (p->scheds[i] && strcmp(p->scheds[i]->name, name) == 0)
            return p->scheds[i];
    return NULL;
}

/* -------------------------------------------------- schedule-level items */

/* Data stream names evaluate to streams (for metrics and `data a, b`). */
static sema_value stream_lookup(sema_state *st, const ast_expr *e, int *found)
{
    sema_sched_ctx *c = st->hook_data;
    *found = 0;
    if (e->kind != AST_NAME)
        return sema_val_error();
    for (int i = 0; i < c->s->n_data; i++)
        if (strcmp(c->s->data[i].name, e->sval) == 0) {
            sema_stream *s = seg_arena_alloc(c->p->arena, sizeof *s);
            *s = (sema_stream){c->s->data[i].name, i};
            *found = 1;
            return (sema_value){.kind = VAL_STREAM, .stream = s};
        }
    return sema_val_error();
}

static void stream_suggest(sema_state *st, sema_suggest *s, int calls)
{
    sema_sched_ctx *c = st->hook_data;
    for (int i = 0; !calls && i < c->s->n_data; i++)
        sema_suggest_add(s, c->s->data[i].name);
}

static int one_arg(sema_sched_ctx *c, const ast_stmt *it)
{
    if (it->n_args == 1)
        return 0;
    sema_error(&c->st, it->span, "'%s' takes one value, got %d", it->keyword, it->n_args);
    return -1;
}

static void item_data_source(sema_sched_ctx *c, const ast_stmt *it)
{
    seg_schedule *s = c->s;
    if (!it->name) {
        sema_error(&c->st, it->span, "a data item needs a name: data train = synthetic(...)");
        return;
    }
    for (int i = 0; i < s->n_data; i++)
        if (strcmp(s->data[i].name, it->name) == 0) {
            if (sema_error(&c->st, it->name_span, "data '%s' is already defined", it->name))
                sema_note(&c->st, s->data[i].span, "previous definition here");
            return;
        }
    if (one_arg(c, it))
        return;
    /* registered even when the source is wrong, so later uses do not cascade */
    seg_sched_data d = {it->name, it->name_span, sema_sched_call(c, it->args, "data source")};
    s->data = sema_arena_push(c->p->arena, s->data, &s->n_data, sizeof d, &d);
}

static void item_calls(sema_sched_ctx *c, const ast_stmt *it, const char *kind,
                       const seg_scall *const **list, int *n)
{
    for (const ast_expr *e = it->args; e; e = e->next) {
        const seg_scall *k = sema_sched_call(c, e, kind);
        if (k)
            *list = sema_arena_push(c->p->arena, *list, n, sizeof k, &k);
    }
}

/* A positive int item (batch, seed): returns -1 after reporting. */
int sema_item_int(sema_sched_ctx *c, const ast_stmt *it, int64_t min, int64_t *out)
{
    if (one_arg(c, it))
        return -1;
    sema_value v = sema_eval(&c->st, it->args);
    if (v.kind == VAL_INT && v.i >= min && v.i <= INT32_MAX) {
        *out = v.i;
        return 0;
    }
    if (v.kind != VAL_ERROR)
        sema_error(&c->st, it->args->span, "'%s' must be an int of at least %lld, got %s",
                   it->keyword, (long long)min, sema_value_str(&c->st, v));
    return -1;
}

static void item_patch(sema_sched_ctx *c, const ast_stmt *it)
{
    sema_value v = one_arg(c, it) ? sema_val_error() : sema_eval(&c->st, it->args);
    int n = v.kind == VAL_LIST ? v.list->n : 1, bad = n < 1 || n > 3;
    int64_t *dims = seg_arena_alloc(c->p->arena, 3 * sizeof *dims);
    for (int i = 0; i < n && !bad; i++) {
        sema_value d = v.kind == VAL_LIST ? v.list->items[i] : v;
        bad = d.kind != VAL_INT || d.i < 1;
        dims[i] = bad ? 0 : d.i;
    }
    if (bad && v.kind != VAL_ERROR)
        sema_error(&c->st, it->args->span, "'patch' must be a positive int or a list of 1 to 3 "
                   "of them");
    if (bad)
        return;
    c->s->patch = dims;
    c->s->n_patch = n;
    c->s->patch_span = it->span;
}

/* oversample F: the share of each batch's patches centred on a labelled
 * voxel, 0 to 1. -1 after reporting. */
int sema_item_share(sema_sched_ctx *c, const ast_stmt *it, double *out)
{
    if (one_arg(c, it))
        return -1;
    sema_value v = sema_eval(&c->st, it->args);
    if (sema_val_is_number(v) && sema_val_number(v) >= 0 && sema_val_number(v) <= 1) {
        *out = sema_val_number(v);
        return 0;
    }
    if (v.kind != VAL_ERROR)
        sema_error(&c->st, it->args->span, "'%s' must be a number from 0 to 1, got %s",
                   it->keyword, sema_value_str(&c->st, v));
    return -1;
}

static void schedule_item(sema_sched_ctx *c, const ast_stmt *it)
{
    int64_t v;
    double f;
    const char *kw = it->keyword;
    if (strcmp(kw, "data") == 0)
        item_data_source(c, it);
    else if (strcmp(kw, "preprocess") == 0)
        item_calls(c, it, "preprocessing step", &c->s->preprocess, &c->s->n_preprocess);
    else if (strcmp(kw, "augment") == 0)
        item_calls(c, it, "augmentation", &c->s->augment, &c->s->n_augment);
    else if (strcmp(kw, "batch") == 0 && !sema_item_int(c, it, 1, &v))
        c->s->batch = (int)v;
    else if (strcmp(kw, "seed") == 0 && !sema_item_int(c, it, 0, &v))
        c->s->seed = v;
    else if (strcmp(kw, "patch") == 0)
        item_patch(c, it);
    else if (strcmp(kw, "oversample") == 0 && !sema_item_share(c, it, &f))
        c->s->oversample = f;
    else if (strcmp(kw, "steps_per_epoch") == 0 && !sema_item_int(c, it, 1, &v))
        c->s->steps_per_epoch = (int)v;
}

/* --------------------------------------------------------- keywords */

typedef struct item_kw {
    const char *name;
    int where;   /* 1 schedule, 2 stage, 3 both */
    int repeat;  /* may appear more than once */
} item_kw;

static const item_kw item_kws[] = {
    {"data", 3, 1},      {"preprocess", 1, 1}, {"augment", 1, 1},   {"batch", 3, 0},
    {"patch", 1, 0},     {"seed", 1, 0},       {"model", 2, 1},     {"loss", 2, 0},
    {"optimizer", 2, 0}, {"lr", 2, 0},         {"freeze", 2, 1},    {"train", 2, 1},
    {"until", 2, 0},     {"checkpoint", 2, 0}, {"weight", 2, 1},    {"validate", 2, 0},
    {"predict", 2, 0},   {"oversample", 3, 0}, {"steps_per_epoch", 3, 0},
};

enum { N_ITEM_KWS = (int)(sizeof item_kws / sizeof item_kws[0]) };

int sema_item_check(sema_sched_ctx *c, const ast_stmt *it, int level, const ast_stmt **first)
{
    int k = -1;
    for (int i = 0; i < N_ITEM_KWS && k < 0; i++)
        if (strcmp(item_kws[i].name, it->keyword) == 0)
            k = i;
    if (k < 0) {
        if (sema_error(&c->st, it->span, "unknown keyword '%s'", it->keyword)) {
            sema_suggest s;
            sema_suggest_init(&s, it->keyword);
            for (int i = 0; i < N_ITEM_KWS; i++)
                if (item_kws[i].where & level)
                    sema_suggest_add(&s, item_kws[i].name);
            sema_suggest_note(&c->st, &s, it->span);
        }
        return 0;
    }
    if (!(item_kws[k].where & level)) {
        sema_error(&c->st, it->span, "'%s' belongs %s", it->keyword,
                   level == 1 ? "in a stage" : "at the schedule level, outside stages");
        return 0;
    }
    if (first[k] && !item_kws[k].repeat) {
        if (sema_error(&c->st, it->span, "'%s' is given twice", it->keyword))
            sema_note(&c->st, first[k]->span, "the first '%s' is here", it->keyword);
        return 0;
    }
    if (!first[k])
        first[k] = it;
    return 1;
}

/* ------------------------------------------------------------ driver */

static void check_stages(sema_sched_ctx *c, const ast_decl *d, const char *name,
                         seg_span name_at)
{
    int n = 0;
    for (const ast_stmt *it = d->body; it; it = it->next)
        n += it->kind == AST_STAGE;
    seg_stage *stages = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *stages);
    c->s->stages = stages;
    c->s->n_stages = 0;
    for (const ast_stmt *it = d->body; it; it = it->next) {
        const ast_decl *tmpl = NULL;
        sema_args targs;
        if (it->kind != AST_STAGE || (it->value && sema_stage_template(c, it, &tmpl, &targs)))
            continue;
        sema_stage_items(c, it, tmpl, tmpl ? &targs : NULL);
    }
    if (n == 0)
        sema_error(&c->st, name_at, "schedule '%s' has no stage", name);
}

/* The schedule's parameters in its frame (defaults may use earlier ones),
 * into c->env and, as literals, into s->args. */
static void bind_schedule_params(sema_sched_ctx *c, const sema_sched_req *r)
{
    int i = 0;
    seg_setting *args = seg_arena_alloc(c->p->arena, (size_t)(r->n + 1) * sizeof *args);
    for (const ast_param *q = r->decl->params; q; q = q->next, i++) {
        sema_value v = r->vals[i];
        if (v.kind == VAL_NONE && q->def)
            v = sema_eval(&c->st, q->def);
        else if (v.kind == VAL_NONE) {
            sema_error(&c->st, r->span, "schedule '%s' needs a value for '%s' (--set %s=... or "
                       "schedule NAME = %s(%s = ...))", r->name, q->name, q->name, r->decl->name,
                       q->name);
            v = sema_val_error();
        }
        sema_slot *sl = sema_slot_set(&c->st, q->name, v, q->span);
        sl->param = sl->read = 1;
        sema_env_add(c->p->arena, &c->env, q->name, v);
        seg_buf b = {0};
        sema_literal_print(&c->st, v, &b);
        args[i] = (seg_setting){q->name, seg_arena_strdup(c->p->arena, b.data ? b.data : "")};
        seg_buf_free(&b);
    }
    c->s->args = args;
    c->s->n_args = r->n;
    if (r->n == 0)
        return;
    seg_buf b = {0};
    seg_buf_printf(&b, "in schedule '%s' with ", r->name);
    for (int k = 0; k < r->n; k++)
        seg_buf_printf(&b, "%s%s = %s", k ? ", " : "", args[k].key, args[k].value);
    sema_context_push(&c->st, (sema_context){.at = r->span,
                                             .text = seg_arena_strdup(c->p->arena, b.data)});
    seg_buf_free(&b);
}

seg_schedule *sema_schedule_check(seg_program *p, sema_seen *seen, const sema_sched_req *r)
{
    sema_sched_ctx c = {.p = p, .seen = seen};
    const ast_stmt *first[N_ITEM_KWS] = {0};
    const ast_decl *d = r->decl;
    seg_schedule *s = seg_arena_alloc(p->arena, sizeof *s);
    s->name = r->name;
    s->span = r->span;
    s->batch = 2;
    s->oversample = 0.33;
    s->seed = -1;
    c.s = s;
    sema_state_init(&c.st, p, p->diag, seen, NULL, 0, p->arena);
    sema_frame_push(&c.st, &c.frame, FRAME_LOSS, d);
    c.st.lookup_hook = stream_lookup;
    c.st.suggest_hook = stream_suggest;
    c.st.hook_data = &c;
    bind_schedule_params(&c, r);
    for (const ast_stmt *it = d->body; it; it = it->next)
        if (it->kind == AST_ITEM && sema_item_check(&c, it, 1, first))
            schedule_item(&c, it);
    if (s->n_data == 0 && c.st.errors == 0)
        sema_error(&c.st, r->span, "schedule '%s' has no data; add data train = "
                   "synthetic(...)", r->name);
    c.item_errors = c.st.errors;
    check_stages(&c, d, r->name, r->span);
    sema_frame_pop(&c.st, &c.frame);
    int bad = c.st.errors;
    sema_state_free(&c.st);
    return bad ? NULL : s;
}

/* Every schedule at load: a parametrised one with its defaults (one whose
 * parameter lacks a default is checked when instantiated, like a net). */
void sema_schedules_check(seg_program *p, sema_seen *seen)
{
    p->scheds = seg_arena_alloc(p->arena, (size_t)(p->n_scheds + 1) * sizeof *p->scheds);
    int k = 0;
    for (int i = 0; i < p->n_globals; i++) {
        const ast_decl *d = p->globals[i].decl;
        if (d->kind != AST_SCHEDULE)
            continue;
        sema_sched_req r;
        int complete = 1;
        for (const ast_param *q = d->params; q; q = q->next)
            complete &= q->def != NULL;
        p->scheds[k++] = complete && !sema_sched_request(p, seen, d, NULL, 0, &r)
                             ? sema_schedule_check(p, seen, &r) : NULL;
    }
}

void sema_schedules_free(seg_program *p)
{
    (void)p; /* everything lives in the program's arena */
}
