/* repl.c — the front end's side of `segc repl` (lang.h, "REPL"): parsing
 * one input into its items, evaluating an expression against the session
 * program and the session's values, describing a global for :type, and
 * editing a stage's item in a schedule's text for :set.
 *
 * An input is parsed in REPL mode (parser.y's second start symbol): its
 * declarations, or one expression. Items carry byte offsets computed from
 * their spans, so the REPL keeps each declaration's own text as a session
 * definition.
 *
 * Evaluation runs sema in a FRAME_REPL frame over a fresh graph. Names the
 * frame does not define go to the REPL host first (lookup_hook): a session
 * tensor becomes a graph input of its name, a record (a net's outputs)
 * one input per field; everything else resolves in the program as usual.
 * load("file") is the REPL's own call (call_hook): the host reads the
 * image into a session tensor and the graph gets it as an input. The value
 * decides what the input was: a tensor (or a record of them) is work for
 * the REPL to compile and run; anything else is a compile-time value,
 * shown, or kept as a definition (by its source text, or by its value
 * when it was computed from session tensors: `n = shape(x)[2]`).
 */
#include "sema_internal.h"
#include "parse_internal.h"

#include <string.h>

/* -------------------------------------------------------------- inputs */

struct seg_input {
    ast_file *file;
    seg_item *items;
    int n_items;
};

/* Byte offset of (line, col) in text whose first line is first_line. */
static size_t offset_of(const char *text, size_t len, int first_line, int line, int col)
{
    size_t i = 0;
    for (int l = first_line; l < line && i < len; i++)
        l += text[i] == '\n';
    return i + (size_t)(col > 0 ? col - 1 : 0) > len ? len : i + (size_t)(col > 0 ? col - 1 : 0);
}

static seg_item item_of(seg_item_kind kind, const char *name, seg_span at, const char *text,
                        size_t len, int first_line)
{
    seg_item it = {kind, name, 0, 0, at.line, at.col};
    it.begin = offset_of(text, len, first_line, at.line, at.col);
    it.end = offset_of(text, len, first_line, at.end_line, at.end_col + 1);
    if (it.end < it.begin)
        it.end = it.begin;
    return it;
}

static seg_item_kind decl_item_kind(ast_decl_kind k)
{
    switch (k) {
    case AST_IMPORT: return SEG_ITEM_IMPORT;
    case AST_CONST: return SEG_ITEM_CONST;
    case AST_BLOCK: return SEG_ITEM_BLOCK;
    case AST_NET: return SEG_ITEM_NET;
    case AST_SCHEDULE: return SEG_ITEM_SCHEDULE;
    case AST_STAGE_DEF: return SEG_ITEM_STAGE;
    }
    SEG_UNREACHABLE();
}

seg_input *seg_input_parse(seg_diag *d, int file_id, const char *text, size_t len, int repl,
                           int *incomplete)
{
    seg_parse_status st;
    const char *path = seg_diag_file_path(d, file_id);
    int first = seg_diag_file_first_line(d, file_id);
    ast_file *f = seg_parse_ex(d, file_id, path, text, len, repl, &st);
    if (incomplete)
        *incomplete = st.incomplete;
    if (st.n_errors) {
        ast_file_free(f);
        return NULL;
    }
    seg_input *in = seg_xcalloc(1, sizeof *in);
    in->file = f;
    int n = f->expr ? 1 : 0;
    for (const ast_decl *x = f->decls; x; x = x->next)
        n++;
    in->items = seg_xcalloc((size_t)(n ? n : 1), sizeof *in->items);
    for (const ast_decl *x = f->decls; x; x = x->next)
        in->items[in->n_items++] = item_of(decl_item_kind(x->kind), x->name, x->span, text,
                                           len, first);
    if (f->expr)
        in->items[in->n_items++] = item_of(SEG_ITEM_EXPR, NULL, f->expr->span, text, len, first);
    return in;
}

int seg_input_items(const seg_input *in, const seg_item **items)
{
    *items = in->items;
    return in->n_items;
}

void seg_input_free(seg_input *in)
{
    if (!in)
        return;
    ast_file_free(in->file);
    seg_free(in->items);
    seg_free(in);
}

/* ------------------------------------------------------------ evaluation */

typedef struct repl_env {
    const seg_repl_host *h;
    seg_result *r;
    const char *self;    /* a CONST item: the name it defines */
    sema_map inputs;     /* session name -> its graph input (own keys) */
} repl_env;

/* The graph input of session tensor `name`, made on first use. */
static ir_id session_input(sema_state *st, repl_env *env, const char *name, const rt_type *t,
                           seg_span at)
{
    int64_t *id = sema_map_get(&env->inputs, name);
    if (id)
        return (ir_id)*id;
    ir_id x = ir_add_input(st->g, name, t, at);
    *sema_map_put(&env->inputs, name, 0) = x;
    return x;
}

/* A record (y = unet(head = "softmax")(x)): one input per field. */
static sema_value session_record(sema_state *st, repl_env *env, const ast_expr *e,
                                 const char *const *fields, int n)
{
    sema_netval *nv = seg_arena_alloc(st->arena, sizeof *nv);
    nv->net = e->sval;
    nv->n_out = n;
    nv->out_names = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *nv->out_names);
    nv->out_ids = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *nv->out_ids);
    for (int i = 0; i < n; i++) {
        const char *full = seg_arena_printf(st->arena, "%s.%s", e->sval, fields[i]);
        rt_type t;
        const char *const *f2;
        int n2;
        if (env->h->lookup(env->h->user, full, &t, &f2, &n2) != 1) {
            sema_error(st, e->span, "the session has no tensor '%s'", full);
            return sema_val_error();
        }
        nv->out_names[i] = seg_arena_strdup(st->arena, fields[i]);
        nv->out_ids[i] = session_input(st, env, full, &t, e->span);
    }
    return (sema_value){.kind = VAL_NET, .net = nv};
}

static sema_value repl_lookup(sema_state *st, const ast_expr *e, int *found)
{
    repl_env *env = st->hook_data;
    *found = 0;
    if (e->kind != AST_NAME || !st->frame || st->frame->kind != FRAME_REPL)
        return sema_val_error();
    if (env->self && strcmp(e->sval, env->self) == 0)
        env->r->reads_self = 1;
    rt_type t;
    const char *const *fields = NULL;
    int nf = 0;
    int k = env->h->lookup(env->h->user, e->sval, &t, &fields, &nf);
    if (k == 0)
        return sema_val_error();
    *found = 1;
    env->r->reads_session = 1;
    if (k == 1)
        return sema_val_tensor(session_input(st, env, e->sval, &t, e->span));
    return session_record(st, env, e, fields, nf);
}

static void suggest_add(void *ctx, const char *name) { sema_suggest_add(ctx, name); }

static void repl_suggest(sema_state *st, sema_suggest *s, int calls)
{
    repl_env *env = st->hook_data;
    if (calls)
        sema_suggest_add(s, "load");
    else if (env->h->names)
        env->h->names(env->h->user, suggest_add, s);
}

/* load("scan.nii.gz"): a file read by the REPL into a session tensor. */
static sema_value repl_call(sema_state *st, const ast_expr *call, int *found)
{
    repl_env *env = st->hook_data;
    *found = 0;
    if (strcmp(call->sval, "load") != 0 || !st->frame || st->frame->kind != FRAME_REPL)
        return sema_val_error();
    *found = 1;
    static const sema_formal formals[] = {{"path", 1, 1}};
    sema_binder b = {"load", formals, 1, 0, 0};
    sema_args a;
    if (sema_bind(st, &b, call->args, call->span, &a))
        return sema_val_error();
    if (a.v[0].kind != VAL_STRING) {
        sema_error(st, a.span[0], "load(): 'path' must be a string, the name of a .nii, "
                   ".nii.gz or .png file");
        return sema_val_error();
    }
    char name[64], err[512];
    rt_type t;
    if (!env->h->load || env->h->load(env->h->user, a.v[0].s, name, sizeof name, &t, err,
                                      sizeof err)) {
        sema_error(st, a.span[0], "load(): %s", env->h->load ? err : "no session to load into");
        return sema_val_error();
    }
    env->r->reads_session = 1;
    return sema_val_tensor(session_input(st, env, name, &t, call->span));
}

/* The expression item `item` stands for. */
static const ast_expr *item_expr(const seg_input *in, int item, const char **self)
{
    *self = NULL;
    if (in->items[item].kind == SEG_ITEM_EXPR)
        return in->file->expr;
    int k = 0;
    for (const ast_decl *x = in->file->decls; x; x = x->next, k++)
        if (k == item) {
            SEG_ASSERT(x->kind == AST_CONST);
            *self = x->name;
            return x->value;
        }
    SEG_UNREACHABLE();
}

/* A graph output per field of a record value. */
static void record_outputs(ir_graph *g, const sema_netval *nv)
{
    for (int i = 0; i < nv->n_out; i++)
        ir_add_output(g, nv->out_names[i], nv->out_ids[i]);
}

static void classify(sema_state *st, sema_value v, seg_result *r)
{
    seg_buf b = {0};
    if (v.kind == VAL_TENSOR) {
        ir_add_output(st->g, "value", v.t);
        r->kind = SEG_RESULT_TENSOR;
        return;
    }
    if (v.kind == VAL_NET) {
        record_outputs(st->g, v.net);
        r->kind = SEG_RESULT_RECORD;
        return;
    }
    r->kind = SEG_RESULT_VALUE;
    r->literal = sema_value_source(st, v, &b) == 0;
    if (!r->literal) {
        b.len = 0;
        if (b.data)
            b.data[0] = 0;
        sema_value_print(st, v, &b);
    }
    r->text = seg_arena_strdup(r->arena, b.data ? b.data : "");
    r->kind_name = sema_kind_name(v.kind);
    seg_buf_free(&b);
}

int seg_repl_eval(seg_program *p, const seg_input *in, int item, const seg_repl_host *h,
                  seg_result *r)
{
    memset(r, 0, sizeof *r);
    r->arena = seg_arena_new();
    SEG_ASSERT(item >= 0 && item < in->n_items);
    repl_env env = {h, r, NULL, {0}};
    const ast_expr *e = item_expr(in, item, &env.self);
    sema_map_init(&env.inputs, 1);
    ir_graph *g = ir_graph_new("repl");
    g->file_names = seg_diag_file_names(p->diag, &g->n_file_names);
    sema_seen seen;
    sema_state st;
    sema_frame f;
    sema_seen_init(&seen);
    sema_state_init(&st, p, p->diag, &seen, g, 0, NULL);
    st.lookup_hook = repl_lookup;
    st.suggest_hook = repl_suggest;
    st.call_hook = repl_call;
    st.hook_data = &env;
    sema_frame_push(&st, &f, FRAME_REPL, NULL);
    sema_value v = sema_eval(&st, e);
    sema_frame_pop(&st, &f);
    if (st.errors || v.kind == VAL_ERROR)
        r->kind = SEG_RESULT_ERROR;
    else
        classify(&st, v, r);
    sema_state_free(&st);
    sema_seen_free(&seen);
    sema_map_free(&env.inputs);
    if (r->kind == SEG_RESULT_TENSOR || r->kind == SEG_RESULT_RECORD)
        r->graph = g;
    else
        ir_graph_free(g);
    return r->kind == SEG_RESULT_ERROR ? -1 : 0;
}

void seg_result_free(seg_result *r)
{
    if (r->graph)
        ir_graph_free(r->graph);
    seg_arena_free(r->arena);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- names */

int seg_program_names(const seg_program *p, const char ***names)
{
    const char **list = seg_arena_alloc(p->arena, (size_t)(p->n_globals + 1) * sizeof *list);
    for (int i = 0; i < p->n_globals; i++)
        list[i] = p->globals[i].decl->name;
    *names = list;
    return p->n_globals;
}

const char *seg_builtin_name_at(int i) { return sema_builtin_name(i); }

/* -------------------------------------------------------------- :type */

static void describe_params(const ast_decl *d, seg_buf *b)
{
    seg_buf_printf(b, "(");
    for (const ast_param *q = d->params; q; q = q->next) {
        seg_buf_printf(b, "%s%s", q == d->params ? "" : ", ", q->name);
        if (q->def) {
            seg_buf_printf(b, " = ");
            sema_expr_str(q->def, b);
        }
    }
    seg_buf_printf(b, ")");
}

/* A net's inputs and outputs as declared (top-level statements). */
static void describe_io(const ast_decl *d, seg_buf *b)
{
    for (const ast_stmt *s = d->body; s; s = s->next)
        if (s->kind == AST_INPUT) {
            seg_buf_printf(b, "\n  input %s : ", s->name);
            sema_expr_str(s->value, b);
        }
    int outs = 0;
    for (const ast_stmt *s = d->body; s; s = s->next)
        outs += s->kind == AST_OUTPUT;
    if (outs)
        seg_buf_printf(b, "\n  outputs:");
    for (const ast_stmt *s = d->body; s; s = s->next)
        if (s->kind == AST_OUTPUT)
            seg_buf_printf(b, " %s", s->name);
    if (!outs)
        seg_buf_printf(b, "\n  outputs inside if/for (see :type NAME(...)(x))");
}

static void describe_schedule(const seg_program *p, const ast_decl *d, seg_buf *b)
{
    const seg_schedule *s = seg_program_schedule(p, d->name);
    seg_buf_printf(b, "schedule %s", d->name);
    for (int i = 0; s && i < s->n_stages; i++)
        seg_buf_printf(b, "%s%s", i ? ", " : " (stages ", s->stages[i].name);
    if (s && s->n_stages)
        seg_buf_printf(b, ")");
}

char *seg_program_describe(seg_program *p, const char *name)
{
    const sema_global *gl = sema_global_find(p, name);
    if (!gl)
        return NULL;
    const ast_decl *d = gl->decl;
    seg_buf b = {0};
    switch (d->kind) {
    case AST_NET: case AST_BLOCK:
        seg_buf_printf(&b, "%s %s", d->kind == AST_NET ? "net" : "block", d->name);
        describe_params(d, &b);
        if (d->kind == AST_NET)
            describe_io(d, &b);
        break;
    case AST_SCHEDULE: describe_schedule(p, d, &b); break;
    case AST_STAGE_DEF:
        seg_buf_printf(&b, "stage template %s", d->name);
        describe_params(d, &b);
        break;
    case AST_CONST:
        seg_buf_printf(&b, "%s: %s = ", d->name,
                       gl->state == 2 ? sema_kind_name(gl->value.kind) : "constant");
        if (gl->state == 2)
            sema_value_print(NULL, gl->value, &b);
        else
            sema_expr_str(d->value, &b);
        break;
    case AST_IMPORT: seg_buf_printf(&b, "import \"%s\"", d->name); break;
    }
    return b.data;
}

/* --------------------------------------------------------------- :set */

typedef struct edit_place {
    size_t begin, end;     /* the item's text, or the insertion point (begin == end) */
    int found;             /* an item with the keyword exists */
    const char *indent;    /* for an inserted line */
} edit_place;

static const ast_stmt *find_stage(const ast_file *f, const char *stage)
{
    for (const ast_decl *d = f->decls; d; d = d->next)
        if (d->kind == AST_SCHEDULE)
            for (const ast_stmt *s = d->body; s; s = s->next)
                if (s->kind == AST_STAGE && strcmp(s->name, stage) == 0)
                    return s;
    return NULL;
}

/* Where the edit goes: the item's span, or just before the stage's '}'. */
static void edit_place_of(const char *text, const ast_stmt *stage, const char *keyword,
                          edit_place *pl)
{
    size_t len = strlen(text);
    memset(pl, 0, sizeof *pl);
    for (const ast_stmt *it = stage->body; it; it = it->next)
        if (it->kind == AST_ITEM && strcmp(it->keyword, keyword) == 0) {
            pl->begin = offset_of(text, len, 1, it->span.line, it->span.col);
            pl->end = offset_of(text, len, 1, it->span.end_line, it->span.end_col + 1);
            pl->found = 1;
            return;
        }
    size_t close = offset_of(text, len, 1, stage->span.end_line, stage->span.end_col);
    size_t bol = close;
    while (bol > 0 && text[bol - 1] != '\n')
        bol--;
    int blank = 1;
    for (size_t i = bol; i < close; i++)
        blank &= text[i] == ' ' || text[i] == '\t';
    pl->begin = pl->end = blank ? bol : close;
    pl->indent = blank ? "" : " ";
}

/* Remove the item's whole line when nothing else is on it. */
static void widen_to_line(const char *text, edit_place *pl)
{
    size_t b = pl->begin, e = pl->end;
    while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t'))
        b--;
    while (text[e] == ' ' || text[e] == '\t')
        e++;
    if ((b == 0 || text[b - 1] == '\n') && (text[e] == '\n' || text[e] == 0)) {
        pl->begin = b;
        pl->end = text[e] ? e + 1 : e;
    }
}

char *seg_schedule_edit(const char *text, const char *stage, const char *keyword,
                        const char *args, char *err, size_t err_len)
{
    seg_diag *d = seg_diag_new(NULL);
    size_t len = strlen(text);
    int id = seg_diag_add_file(d, "<schedule>", text, len);
    ast_file *f = seg_parse(d, id, "<schedule>", text, len);
    const ast_stmt *st = seg_diag_error_count(d) ? NULL : find_stage(f, stage);
    char *out = NULL;
    if (!st) {
        snprintf(err, err_len, "%s", seg_diag_error_count(d) ? "the schedule does not parse"
                                                             : "no such stage");
    } else {
        edit_place pl;
        edit_place_of(text, st, keyword, &pl);
        seg_buf b = {0};
        if (!args && pl.found)
            widen_to_line(text, &pl);
        seg_buf_printf(&b, "%.*s", (int)pl.begin, text);
        if (args && pl.found)
            seg_buf_printf(&b, "%s %s", keyword, args);
        else if (args && pl.indent[0])
            seg_buf_printf(&b, " %s %s ", keyword, args);
        else if (args)
            seg_buf_printf(&b, "        %s %s\n", keyword, args);
        seg_buf_printf(&b, "%s", text + pl.end);
        out = b.data;
    }
    ast_file_free(f);
    seg_diag_free(d);
    return out;
}
