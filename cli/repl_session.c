/* repl_session.c — what a `segc repl` session holds: its definitions and
 * the program they make, its values, and its parameters.
 *
 * Definitions are kept as text, one per declaration, in the order they
 * were first made: a redefinition replaces the text in place. Every change
 * loads the whole list again as one program (seg_load_session), with a
 * fresh diag engine: if that fails nothing changes and the errors are
 * shown, so a bad definition never breaks the session; if it succeeds
 * the old program goes, and whatever depended on the old definition
 * (constants, model instances, a stage's compiled programs) is rebuilt
 * from the new one. Loading a file adds its declarations one by one.
 *
 * Values are named tensors (or records of them, a net's outputs), owned
 * by the session. A name is either a definition or a value, never both:
 * the input that binds one removes the other (repl_eval.c).
 *
 * The host (repl_host) is how lang/ sees values while it evaluates an
 * input: lookup by name, and load("file") reading an image into a hidden
 * value that lives until the input is done.
 */
#include "repl.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------- definitions */

repl_def repl_def_make(seg_item_kind kind, const char *name, const char *path, const char *text,
                       int first_line)
{
    return (repl_def){kind, seg_xstrdup(name), seg_xstrdup(path), seg_xstrdup(text), first_line};
}

void repl_def_free(repl_def *d)
{
    seg_free(d->name);
    seg_free(d->path);
    seg_free(d->text);
    memset(d, 0, sizeof *d);
}

static int def_index(const repl_def *defs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0)
            return i;
    return -1;
}

const repl_def *repl_def_find(const repl *r, const char *name)
{
    int i = def_index(r->defs, r->n_defs, name);
    return i < 0 ? NULL : &r->defs[i];
}

static const char *kind_word(seg_item_kind k)
{
    static const char *const w[] = {"import", "constant", "block", "net", "schedule", "value",
                                    "stage template"};
    return w[k];
}

/* Load defs[0..n) as the session's program; NULL after printing errors. */
static seg_program *load_defs(const repl_def *defs, int n, seg_diag **d)
{
    seg_chunk *c = seg_xcalloc((size_t)(n ? n : 1), sizeof *c);
    for (int i = 0; i < n; i++)
        c[i] = (seg_chunk){defs[i].path, defs[i].text, defs[i].first_line};
    *d = seg_diag_new(stderr);
    seg_program *p = seg_load_session(c, n, *d);
    seg_free(c);
    if (!p) {
        seg_diag_free(*d);
        *d = NULL;
    }
    return p;
}

/* The list with defs replacing or joining it (shallow copies). */
static repl_def *merged(const repl *r, const repl_def *defs, int n, int *n_out, int *replaced)
{
    repl_def *m = seg_xcalloc((size_t)(r->n_defs + n + 1), sizeof *m);
    if (r->n_defs)
        memcpy(m, r->defs, (size_t)r->n_defs * sizeof *m);
    int k = r->n_defs;
    for (int i = 0; i < n; i++) {
        int at = def_index(m, k, defs[i].name);
        replaced[i] = at >= 0;
        m[at >= 0 ? at : k++] = defs[i];
    }
    *n_out = k;
    return m;
}

static void announce(const repl_def *d, int replaced)
{
    if (d->kind == SEG_ITEM_IMPORT)
        printf("imported \"%s\"\n", d->name + strlen("import "));
    else if (d->kind != SEG_ITEM_CONST)
        printf("%s %s %s\n", replaced ? "redefined" : "defined", kind_word(d->kind), d->name);
}

/* Two definitions of one name in one input (or file). */
static int duplicate(repl *r, const repl_def *defs, int n)
{
    for (int i = 0; i < n; i++)
        if (def_index(defs, i, defs[i].name) >= 0) {
            repl_error(r, "'%s' is defined twice (%s:%d)", defs[i].name, defs[i].path,
                       defs[i].first_line);
            return 1;
        }
    return 0;
}

int repl_define(repl *r, repl_def *defs, int n, int quiet)
{
    if (duplicate(r, defs, n)) {
        for (int i = 0; i < n; i++)
            repl_def_free(&defs[i]);
        return -1;
    }
    int *replaced = seg_xcalloc((size_t)(n + 1), sizeof *replaced);
    int total;
    repl_def *m = merged(r, defs, n, &total, replaced);
    seg_diag *d;
    fflush(stdout);
    seg_program *p = load_defs(m, total, &d);
    if (!p) {
        r->input_failed = 1;
        seg_free(m);
        for (int i = 0; i < n; i++)
            repl_def_free(&defs[i]);
        seg_free(replaced);
        return -1;
    }
    for (int i = 0; i < n; i++) /* the old texts the new ones replace */
        if (replaced[i])
            repl_def_free(&r->defs[def_index(r->defs, r->n_defs, defs[i].name)]);
    seg_free(r->defs);
    r->defs = m;
    r->n_defs = r->cap_defs = total;
    seg_program_free(r->prog);
    seg_diag_free(r->diag);
    r->prog = p;
    r->diag = d;
    r->gen++;
    for (int i = 0; i < n && !quiet; i++)
        announce(&defs[i], replaced[i]);
    seg_free(replaced);
    return 0;
}

int repl_undefine(repl *r, const char *name)
{
    int i = def_index(r->defs, r->n_defs, name);
    if (i < 0)
        return 0;
    repl_def *m = seg_xcalloc((size_t)(r->n_defs + 1), sizeof *m);
    memcpy(m, r->defs, (size_t)i * sizeof *m); /* r->defs holds name: never NULL */
    if (i + 1 < r->n_defs)
        memcpy(m + i, r->defs + i + 1, (size_t)(r->n_defs - i - 1) * sizeof *m);
    seg_diag *d;
    seg_program *p = load_defs(m, r->n_defs - 1, &d);
    if (!p) {
        r->input_failed = 1;
        seg_free(m);
        return -1;
    }
    repl_def_free(&r->defs[i]);
    seg_free(r->defs);
    r->defs = m;
    r->n_defs--;
    seg_program_free(r->prog);
    seg_diag_free(r->diag);
    r->prog = p;
    r->diag = d;
    r->gen++;
    return 1;
}

/* A declaration's text as a definition: padded so its columns stay true. */
static repl_def def_of_item(const seg_item *it, const char *path, const char *text)
{
    seg_buf b = {0};
    seg_buf_printf(&b, "%*s%.*s", it->col - 1, "", (int)(it->end - it->begin), text + it->begin);
    char key[600];
    snprintf(key, sizeof key, "%s%s", it->kind == SEG_ITEM_IMPORT ? "import " : "", it->name);
    repl_def d = repl_def_make(it->kind, key, path, b.data, it->line);
    seg_buf_free(&b);
    return d;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    seg_buf b = {0};
    char chunk[8192];
    size_t n;
    seg_buf_printf(&b, "%s", "");
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        seg_buf_printf(&b, "%.*s", (int)n, chunk);
    fclose(f);
    *len = b.len;
    return b.data;
}

int repl_load_file(repl *r, const char *path)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        repl_error(r, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    int rc = repl_load_text(r, path, text, len);
    seg_free(text);
    return rc;
}

int repl_load_text(repl *r, const char *path, const char *text, size_t len)
{
    seg_diag *d = seg_diag_new(stderr);
    int id = seg_diag_add_file(d, path, text, len);
    seg_input *in = seg_input_parse(d, id, text, len, 0, NULL);
    int rc = -1;
    r->input_failed |= !in;
    if (in) {
        const seg_item *items;
        int n = seg_input_items(in, &items), counts[SEG_ITEM_STAGE + 1] = {0};
        repl_def *defs = seg_xcalloc((size_t)(n + 1), sizeof *defs);
        for (int i = 0; i < n; i++) {
            defs[i] = def_of_item(&items[i], path, text);
            counts[items[i].kind]++;
        }
        rc = repl_define(r, defs, n, 1);
        if (rc == 0)
            printf("loaded %s: %d net%s, %d block%s, %d constant%s, %d schedule%s\n", path,
                   counts[SEG_ITEM_NET], counts[SEG_ITEM_NET] == 1 ? "" : "s",
                   counts[SEG_ITEM_BLOCK], counts[SEG_ITEM_BLOCK] == 1 ? "" : "s",
                   counts[SEG_ITEM_CONST], counts[SEG_ITEM_CONST] == 1 ? "" : "s",
                   counts[SEG_ITEM_SCHEDULE], counts[SEG_ITEM_SCHEDULE] == 1 ? "" : "s");
        seg_free(defs);
    }
    seg_input_free(in);
    seg_diag_free(d);
    return rc;
}

/* ---------------------------------------------------------------- values */

repl_var *repl_var_find(const repl *r, const char *name)
{
    for (int i = 0; i < r->n_vars; i++)
        if (strcmp(r->vars[i].name, name) == 0)
            return &r->vars[i];
    return NULL;
}

static void var_free(repl_var *v)
{
    seg_free(v->name);
    rt_tensor_free(v->t);
    for (int i = 0; i < v->n_fields; i++)
        seg_free(v->fields[i]);
    seg_free(v->fields);
}

static void var_remove(repl *r, repl_var *v)
{
    var_free(v);
    *v = r->vars[--r->n_vars];
}

void repl_var_drop(repl *r, const char *name)
{
    repl_var *v = repl_var_find(r, name);
    if (!v)
        return;
    for (int i = 0; i < v->n_fields; i++) { /* a record's fields go with it */
        char full[600];
        snprintf(full, sizeof full, "%s.%s", name, v->fields[i]);
        repl_var *f = repl_var_find(r, full);
        if (f)
            var_remove(r, f);
    }
    var_remove(r, repl_var_find(r, name));
}

static repl_var *var_new(repl *r, const char *name)
{
    repl_var_drop(r, name);
    if (r->n_vars == r->cap_vars) {
        r->cap_vars = r->cap_vars ? 2 * r->cap_vars : 16;
        r->vars = seg_xrealloc(r->vars, (size_t)r->cap_vars * sizeof *r->vars);
    }
    repl_var *v = &r->vars[r->n_vars++];
    memset(v, 0, sizeof *v);
    v->name = seg_xstrdup(name);
    return v;
}

void repl_var_set(repl *r, const char *name, rt_tensor *t, int hidden)
{
    repl_var *v = var_new(r, name);
    v->t = t;
    v->hidden = hidden;
}

void repl_var_set_record(repl *r, const char *name, const char *const *fields, int n)
{
    repl_var *v = var_new(r, name);
    v->fields = seg_xcalloc((size_t)(n + 1), sizeof *v->fields);
    for (int i = 0; i < n; i++)
        v->fields[i] = seg_xstrdup(fields[i]);
    v->n_fields = n;
}

void repl_vars_drop_hidden(repl *r)
{
    for (int i = r->n_vars - 1; i >= 0; i--)
        if (r->vars[i].hidden)
            var_remove(r, &r->vars[i]);
}

rt_tensor *repl_tensor_copy(const rt_tensor *t)
{
    rt_tensor *c = rt_tensor_new(&t->type);
    memcpy(c->data, t->data, (size_t)rt_type_numel(&t->type) * rt_dtype_size(t->type.dtype));
    return c;
}

/* ------------------------------------------------------------------ host */

static int host_lookup(void *user, const char *name, rt_type *type, const char *const **fields,
                       int *n_fields)
{
    repl_var *v = repl_var_find(user, name);
    if (!v)
        return 0;
    if (v->t) {
        *type = v->t->type;
        return 1;
    }
    *fields = (const char *const *)v->fields;
    *n_fields = v->n_fields;
    return 2;
}

/* An image as [1, C, spatial...]: NIfTI [1, C, z, y, x], PNG [1, C, h, w]. */
static int host_load(void *user, const char *path, char *name, size_t name_len, rt_type *type,
                     char *err, size_t err_len)
{
    repl *r = user;
    rt_case c;
    rt_error e = {{0}};
    if (rt_case_read_image(&c, path, NULL, &e)) {
        snprintf(err, err_len, "%s", e.msg);
        return -1;
    }
    rt_type t = {.dtype = RT_F32, .rank = 2 + c.nsp};
    t.dim[0] = 1;
    t.dim[1] = c.channels;
    for (int i = 0; i < c.nsp; i++)
        t.dim[2 + i] = c.size[i];
    rt_tensor *x = rt_tensor_new(&t);
    memcpy(x->data, c.image, (size_t)rt_type_numel(&t) * sizeof(float));
    rt_case_free(&c);
    snprintf(name, name_len, "%%load%d", ++r->n_loads);
    repl_var_set(r, name, x, 1);
    *type = t;
    return 0;
}

static void host_names(void *user, void (*add)(void *ctx, const char *name), void *ctx)
{
    repl *r = user;
    for (int i = 0; i < r->n_vars; i++)
        if (!r->vars[i].hidden)
            add(ctx, r->vars[i].name);
}

seg_repl_host repl_host(repl *r)
{
    return (seg_repl_host){r, host_lookup, host_load, host_names};
}

/* ----------------------------------------------------------------- inputs */

int repl_input_begin(repl *r, const char *text, size_t len)
{
    seg_diag_reset(r->diag);
    if (r->input_diag != r->diag) { /* else a command's second expression joins the first */
        r->input_diag = r->diag;
        r->input_mark = seg_diag_file_count(r->diag);
    }
    return seg_diag_add_file_at(r->diag, "<repl>", text, len, r->input_line);
}

void repl_input_done(repl *r)
{
    if (r->input_diag && r->input_diag == r->diag) /* a reload made a new engine */
        seg_diag_truncate(r->diag, r->input_mark);
    r->input_diag = NULL;
}

/* --------------------------------------------------------------- session */

static void defs_free(repl *r)
{
    for (int i = 0; i < r->n_defs; i++)
        repl_def_free(&r->defs[i]);
    seg_free(r->defs);
    r->defs = NULL;
    r->n_defs = r->cap_defs = 0;
}

static void vars_free(repl *r)
{
    for (int i = 0; i < r->n_vars; i++)
        var_free(&r->vars[i]);
    seg_free(r->vars);
    r->vars = NULL;
    r->n_vars = r->cap_vars = 0;
}

static int load_startup(repl *r)
{
    int rc = repl_define(r, NULL, 0, 1); /* the empty session */
    SEG_ASSERT(rc == 0);
    for (int i = 0; i < r->n_files; i++)
        rc |= repl_load_file(r, r->files[i]);
    return rc;
}

void repl_session_init(repl *r)
{
    r->params = rt_store_new();
    rt_error err = {{0}};
    if (r->jit && !(r->jit_engine = rt_jit_new(&err))) {
        fprintf(stderr, "segc repl: warning: %s; running on the reference interpreter\n",
                err.msg);
        r->jit = 0;
    }
    r->line = 1;
    if (load_startup(r))
        r->n_errors++; /* a script's exit status says so; the session goes on */
}

static void session_clear(repl *r)
{
    repl_stage_free(r);
    repl_progs_clear(r);
    vars_free(r);
    defs_free(r);
    rt_store_free(r->params);
    r->params = rt_store_new();
    r->param_gen++;
    seg_program_free(r->prog);
    seg_diag_free(r->diag);
    r->prog = NULL;
    r->diag = NULL;
    r->input_diag = NULL;
}

int repl_session_reset(repl *r)
{
    session_clear(r);
    return load_startup(r);
}

void repl_session_free(repl *r)
{
    session_clear(r);
    rt_store_free(r->params);
    r->params = NULL;
    rt_jit_free(r->jit_engine);
    r->jit_engine = NULL;
}

int64_t repl_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}
