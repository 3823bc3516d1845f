/* validate.c — what a stage validates, decided at compile time.
 *
 * A stage says which output is its prediction and how that becomes a
 * label map with `predict` (threshold(mask[, 0.5]), argmax(logits),
 * nested(mask[, 0.5]); names = [...] names the classes). Without it the
 * stage's one image-shaped sigmoid (one channel) or softmax output is the
 * prediction; anything else must be said. Its metrics are schedule calls
 * (dice, iou, mean_dice, miou) in `validate`, plateau() and best(); they
 * must all name the same labelled data stream, and a class they name must
 * be one the prediction tells apart. The result goes into seg_stage.val,
 * so the trainer only reads it.
 */
#include "sema_internal.h"

#include <string.h>

/* --------------------------------------------------------- data classes */

/* Synthetic phantoms: organ and lesion, or lesions alone in small mode
 * (the generator's own answer; a bad mode is reported by schedule.c). */
static int synth_classes(const seg_scall *src, const char *const **names, seg_arena *arena)
{
    rt_synth_opts o;
    rt_error err;
    if (rt_synth_opts_init(&o, seg_scall_str(src, "kind", ""), &err) ||
        rt_synth_opts_set_lesions(&o, seg_scall_str(src, "lesions", "default"), &err))
        rt_synth_opts_init(&o, "lesions3d", &err);
    int k = rt_synth_classes(&o);
    const char **n = seg_arena_alloc(arena, (size_t)(k + 1) * sizeof *n);
    for (int i = 0; i < k; i++)
        n[i] = rt_synth_class_name(&o, i);
    *names = n;
    return k;
}

int seg_data_classes(const seg_scall *src, const char *const **names, seg_arena *arena)
{
    if (strcmp(src->name, "synthetic") == 0)
        return synth_classes(src, names, arena);
    int k = (int)seg_scall_int(src, "classes", 2);
    const seg_sv *given = seg_scall_arg(src, "names");
    const char **n = seg_arena_alloc(arena, (size_t)(k + 1) * sizeof *n);
    for (int i = 0; i < k; i++)
        n[i] = given && given->kind == SEG_SV_LIST && i < given->n_items &&
                       given->items[i].kind == SEG_SV_STRING
                   ? given->items[i].s
               : i == 0 ? "background"
                        : seg_arena_printf(arena, "class%d", i);
    *names = n;
    return k;
}

void seg_stage_truth_map(const seg_stage_val *v, int *map)
{
    for (int t = 0; t < v->data_classes; t++)
        map[t] = v->classes == v->data_classes ? t : t > 0;
}

/* ------------------------------------------------------- the predict item */

static const char *const decoders[] = {"threshold", "argmax", "nested", NULL};

static int decoder_index(const char *name)
{
    for (int i = 0; decoders[i]; i++)
        if (strcmp(decoders[i], name) == 0)
            return i;
    return -1;
}

/* "mask", "student.mask": the output a predict call names. */
static const char *output_ref(sema_sched_ctx *c, const ast_expr *e)
{
    if (e && e->kind == AST_NAME && !e->kw)
        return e->sval;
    if (e && e->kind == AST_MEMBER && e->lhs->kind == AST_NAME && !e->kw)
        return seg_arena_printf(c->p->arena, "%s.%s", e->lhs->sval, e->sval);
    return NULL;
}

void sema_predict_item(sema_sched_ctx *c, const ast_stmt *it)
{
    const ast_expr *e = it->args;
    if (it->n_args != 1 || e->kind != AST_CALL || decoder_index(e->sval) < 0) {
        sema_error(&c->st, it->n_args == 1 ? e->span : it->span, "'predict' takes one of "
                   "threshold(OUTPUT), argmax(OUTPUT) or nested(OUTPUT), e.g. predict "
                   "argmax(logits)");
        return;
    }
    if (!output_ref(c, e->args)) {
        sema_error(&c->st, e->args ? e->args->span : e->span, "%s(): the first argument names "
                   "the model output to predict with, e.g. %s(mask)", e->sval, e->sval);
        return;
    }
    c->impl->predict = it;
}

/* --------------------------------------------------------- metric calls */

typedef struct val_calls {
    const seg_scall *list[64];
    int n;
    const seg_scall *plateau; /* plateau()'s metric */
    const seg_scall *best;    /* best()'s metric */
} val_calls;

static void metric_calls(const seg_stage *sg, val_calls *vc)
{
    memset(vc, 0, sizeof *vc);
    for (int i = 0; i < sg->n_validate && vc->n < 62; i++)
        vc->list[vc->n++] = sg->validate[i];
    for (int i = 0; i < sg->n_until; i++)
        if (strcmp(sg->until[i]->name, "plateau") == 0) {
            vc->plateau = seg_scall_arg(sg->until[i], "metric")->call;
            vc->list[vc->n++] = vc->plateau;
        }
    const seg_sv *m = sg->checkpoint && strcmp(sg->checkpoint->name, "best") == 0
                          ? seg_scall_arg(sg->checkpoint, "metric") : NULL;
    if (m && m->kind == SEG_SV_CALL && vc->n < 64) {
        vc->best = m->call;
        vc->list[vc->n++] = vc->best;
    }
}

/* The stream every metric names (they must agree); "val" when none does. */
static int val_stream(sema_sched_ctx *c, const val_calls *vc)
{
    int k = -1;
    const seg_scall *first = NULL;
    for (int i = 0; i < vc->n; i++) {
        const seg_sv *d = seg_scall_arg(vc->list[i], "data");
        if (k >= 0 && d->i != k) {
            if (sema_error(&c->st, vc->list[i]->span, "a stage validates one data stream: "
                           "'%s' here, '%s' in %s()", d->s, c->s->data[k].name, first->name))
                sema_note(&c->st, first->span, "'%s' is named here", c->s->data[k].name);
            return -2;
        }
        k = (int)d->i, first = first ? first : vc->list[i];
    }
    for (int i = 0; k < 0 && i < c->s->n_data; i++)
        if (strcmp(c->s->data[i].name, "val") == 0)
            k = i;
    return k;
}

/* ------------------------------------------------------------ the output */

static int image_shaped(const ir_graph *g, ir_id img, ir_id id)
{
    const rt_type *a = &g->nodes[img].type, *t = &g->nodes[id].type;
    if (t->rank != a->rank || t->dtype != RT_F32 || t->dim[0] != a->dim[0])
        return 0;
    for (int i = 2; i < a->rank; i++)
        if (t->dim[i] != a->dim[i])
            return 0;
    return 1;
}

/* Outputs of the first stream (later streams' carry their prefix). */
static int primary_output(const sema_sched_ctx *c, const char *name)
{
    if (strcmp(name, "loss") == 0)
        return 0;
    const seg_stage *sg = c->stage;
    for (int k = 1; k < sg->n_streams; k++) {
        const char *s = c->s->data[sg->streams[k]].name;
        size_t n = strlen(s);
        if (strncmp(name, s, n) == 0 && name[n] == '.')
            return 0;
    }
    return 1;
}

/* The stage's one image-shaped sigmoid or softmax output, or -1. */
static int default_output(sema_sched_ctx *c, const ir_graph *g, ir_id img, seg_span at)
{
    int found = -1, n = 0;
    seg_buf list = {0};
    for (int i = 0; i < g->n_outputs; i++) {
        const ir_node *o = &g->nodes[g->outputs[i].id];
        if (!primary_output(c, g->outputs[i].name) || !image_shaped(g, img, g->outputs[i].id))
            continue;
        seg_buf_printf(&list, "%s'%s' (%s, %lld channel%s)", n ? ", " : "", g->outputs[i].name,
                       rt_op_table[o->op].name, (long long)o->type.dim[1],
                       o->type.dim[1] == 1 ? "" : "s");
        found = n++ ? found : i;
    }
    rt_op op = found >= 0 ? g->nodes[g->outputs[found].id].op : OP_INPUT;
    int ok = n == 1 && (op == OP_SOFTMAX ||
                        (op == OP_SIGMOID && g->nodes[g->outputs[found].id].type.dim[1] == 1));
    if (!ok && sema_error(&c->st, at, n == 0 ? "stage '%s' validates, but no model output is "
                          "shaped like the image" : "stage '%s' validates: say which output is "
                          "the prediction and how it becomes labels", c->stage->name)) {
        if (n)
            sema_note(&c->st, at, "image-shaped outputs: %s; add e.g. `predict threshold(OUT)` "
                      "(one sigmoid channel), `predict argmax(OUT)` (softmax or logits) or "
                      "`predict nested(OUT)` (sigmoid channels of nested regions)", list.data);
        else
            sema_note(&c->st, at, "the prediction must be [B, C, spatial...] like the input");
    }
    seg_buf_free(&list);
    return ok ? found : -1;
}

/* The output a predict item names, or -1 after reporting. */
static int named_output(sema_sched_ctx *c, const ir_graph *g, ir_id img, const ast_expr *e)
{
    const char *want = output_ref(c, e->args);
    for (int i = 0; i < g->n_outputs; i++) {
        if (strcmp(g->outputs[i].name, want) != 0 || !primary_output(c, want))
            continue;
        if (image_shaped(g, img, g->outputs[i].id))
            return i;
        char t[160];
        sema_error(&c->st, e->args->span, "the prediction must be shaped like the image "
                   "[B, C, spatial...]; '%s' is %s", want,
                   rt_type_str(&g->nodes[g->outputs[i].id].type, t, sizeof t));
        return -1;
    }
    if (sema_error(&c->st, e->args->span, "stage '%s' has no output '%s'", c->stage->name,
                   want)) {
        sema_suggest s;
        sema_suggest_init(&s, want);
        for (int i = 0; i < g->n_outputs; i++)
            if (primary_output(c, g->outputs[i].name))
                sema_suggest_add(&s, g->outputs[i].name);
        sema_suggest_note(&c->st, &s, e->args->span);
    }
    return -1;
}

/* Keyword arguments of the predict call: threshold (also positional) and names. */
static int predict_options(sema_sched_ctx *c, const ast_expr *call, seg_stage_val *v,
                           const sema_list **names)
{
    int pos = 0;
    for (const ast_expr *a = call->args->next; a; a = a->next) {
        const char *kw = a->kw ? a->kw : pos++ == 0 ? "threshold" : "";
        sema_value x = sema_eval(&c->st, a);
        if (strcmp(kw, "threshold") == 0 && v->decode != RT_DECODE_ARGMAX &&
            sema_val_is_number(x) && sema_val_number(x) > 0 && sema_val_number(x) < 1)
            v->threshold = sema_val_number(x);
        else if (strcmp(kw, "names") == 0 && x.kind == VAL_LIST)
            *names = x.list;
        else if (x.kind != VAL_ERROR) {
            sema_error(&c->st, a->span, "%s(): %s", call->sval,
                       strcmp(kw, "names") == 0 ? "'names' must be a list of strings"
                       : strcmp(kw, "threshold") == 0 && v->decode != RT_DECODE_ARGMAX
                           ? "the threshold must be a number between 0 and 1"
                           : "takes the output, then threshold (not for argmax) and names");
            return -1;
        }
    }
    return 0;
}

/* The decoder fits the output's channels. */
static int channels_fit(sema_sched_ctx *c, const seg_stage_val *v, int channels, seg_span at)
{
    const char *why = v->decode == RT_DECODE_THRESHOLD && channels != 1 ? "threshold() takes a "
                      "one-channel output; use argmax() or nested() for several"
                      : v->decode == RT_DECODE_ARGMAX && channels < 2 ? "argmax() needs two or "
                      "more channels; use threshold() for one" : NULL;
    if (why)
        sema_error(&c->st, at, "'%s' has %d channel%s: %s", v->output, channels,
                   channels == 1 ? "" : "s", why);
    return why ? -1 : 0;
}

/* K class names: predict's names, else the data's (K == D), else
 * background and foreground (K == 2). */
static int class_names(sema_sched_ctx *c, seg_stage_val *v, const sema_list *given,
                       const char *const *data_names, seg_span at)
{
    static const char *const binary[] = {"background", "foreground"};
    const char **n = seg_arena_alloc(c->p->arena, (size_t)(v->classes + 1) * sizeof *n);
    const char *data = c->s->data[v->stream].name;
    if (given && given->n != v->classes) {
        sema_error(&c->st, at, "names: %d given, the prediction tells %d classes apart",
                   given->n, v->classes);
        return -1;
    }
    if (!given && v->classes != v->data_classes && v->classes != 2) {
        sema_error(&c->st, at, "'%s' tells %d classes apart, but data '%s' has %d", v->output,
                   v->classes, data, v->data_classes);
        return -1;
    }
    for (int i = 0; i < v->classes; i++) {
        if (given && given->items[i].kind != VAL_STRING) {
            sema_error(&c->st, at, "names: class %d is not a string", i);
            return -1;
        }
        n[i] = given ? given->items[i].s : v->classes == v->data_classes ? data_names[i] : binary[i];
    }
    v->class_names = n;
    return 0;
}

/* A metric call as an rt_metric, its class checked against the names. */
static int metric_of(sema_sched_ctx *c, const seg_stage_val *v, const seg_scall *k, rt_metric *m)
{
    const seg_sv *cls = seg_scall_arg(k, "class");
    m->kind = !strcmp(k->name, "dice") ? RT_METRIC_DICE : !strcmp(k->name, "iou") ? RT_METRIC_IOU
              : !strcmp(k->name, "mean_dice") ? RT_METRIC_MEAN_DICE : RT_METRIC_MIOU;
    m->cls = -1;
    if (!cls || cls->kind == SEG_SV_NONE)
        return 0;
    for (int i = 0; i < v->classes && cls->kind == SEG_SV_STRING; i++)
        m->cls = strcmp(v->class_names[i], cls->s) == 0 ? i : m->cls;
    if (cls->kind == SEG_SV_INT && cls->i >= 0 && cls->i < v->classes)
        m->cls = (int)cls->i;
    if (m->cls >= 0)
        return 0;
    seg_buf have = {0};
    for (int i = 0; i < v->classes; i++)
        seg_buf_printf(&have, "%s%d '%s'", i ? ", " : "", i, v->class_names[i]);
    if (sema_error(&c->st, k->span, "%s(): the prediction has no class %s%s%s; it has %s",
                   k->name, cls->kind == SEG_SV_STRING ? "'" : "",
                   cls->kind == SEG_SV_STRING ? cls->s : "given here",
                   cls->kind == SEG_SV_STRING ? "'" : "", have.data) &&
        cls->kind == SEG_SV_STRING) {
        sema_suggest s;
        sema_suggest_init(&s, cls->s);
        for (int i = 0; i < v->classes; i++)
            sema_suggest_add(&s, v->class_names[i]);
        sema_suggest_note(&c->st, &s, k->span);
    }
    seg_buf_free(&have);
    return -1;
}

static int resolve_metrics(sema_sched_ctx *c, seg_stage_val *v, const val_calls *vc)
{
    int bad = 0;
    for (int i = 0; i < vc->n; i++) {
        rt_metric m;
        bad |= metric_of(c, v, vc->list[i], &m) != 0;
    }
    if (bad)
        return -1;
    v->monitor = (rt_metric){RT_METRIC_DICE, -1};
    const seg_scall *follow = vc->plateau ? vc->plateau : vc->best ? vc->best
                              : vc->n ? vc->list[0] : NULL; /* the first `validate` metric */
    if (follow)
        metric_of(c, v, follow, &v->monitor);
    v->best_by = v->monitor;
    if (vc->best)
        metric_of(c, v, vc->best, &v->best_by);
    return 0;
}

/* The prediction: output, decoder, threshold, classes and their names. */
static int resolve_prediction(sema_sched_ctx *c, const ir_graph *g, seg_stage_val *v,
                              seg_span stage_at)
{
    const ast_stmt *it = c->impl->predict;
    ir_id img = ir_find_input(g, "image");
    if (img < 0) {
        sema_error(&c->st, stage_at, "stage '%s' validates, but its model has no input "
                   "'image'", c->stage->name);
        return -1;
    }
    int o = it ? named_output(c, g, img, it->args) : default_output(c, g, img, stage_at);
    if (o < 0)
        return -1;
    const ir_node *n = &g->nodes[g->outputs[o].id];
    v->output = seg_arena_strdup(c->p->arena, g->outputs[o].name); /* g is freed */
    v->decode = it ? (rt_decode)decoder_index(it->args->sval)
                   : n->op == OP_SOFTMAX ? RT_DECODE_ARGMAX : RT_DECODE_THRESHOLD;
    v->threshold = 0.5;
    const sema_list *names = NULL;
    seg_span at = it ? it->args->span : stage_at;
    if ((it && predict_options(c, it->args, v, &names)) ||
        channels_fit(c, v, (int)n->type.dim[1], at))
        return -1;
    v->classes = rt_decode_classes(v->decode, (int)n->type.dim[1]);
    const char *const *data_names;
    v->data_classes = seg_data_classes(c->s->data[v->stream].source, &data_names, c->p->arena);
    if (v->classes > RT_MAX_CLASSES) {
        sema_error(&c->st, at, "'%s' tells %d classes apart; segc handles at most %d",
                   v->output, v->classes, RT_MAX_CLASSES);
        return -1;
    }
    return class_names(c, v, names, data_names, at);
}

void sema_stage_validation(sema_sched_ctx *c, const ir_graph *g, seg_span stage_at)
{
    seg_stage *sg = c->stage;
    seg_stage_val *v = &sg->val;
    val_calls vc;
    metric_calls(sg, &vc);
    memset(v, 0, sizeof *v);
    v->stream = val_stream(c, &vc);
    if (v->stream == -2)
        return;
    if (v->stream < 0) {
        if (c->impl->predict)
            sema_error(&c->st, c->impl->predict->span, "'predict' without validation data: "
                       "name a labelled data stream in a metric, e.g. validate dice(val)");
        return;
    }
    const seg_sched_data *d = &c->s->data[v->stream];
    if (d->source && !seg_scall_int(d->source, "labels", 1)) {
        sema_error(&c->st, vc.n ? vc.list[0]->span : stage_at, "stage '%s' validates on data "
                   "'%s', which has no labels", sg->name, d->name);
        v->stream = -1;
        return;
    }
    if (!d->source || resolve_prediction(c, g, v, stage_at) || resolve_metrics(c, v, &vc))
        v->stream = -1;
}
