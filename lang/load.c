/* load.c — seg_load: read a program (a file and everything it imports),
 * gather its declarations, and check all of it.
 *
 * Files: at most 16 MB, text only (a NUL byte is an error located at
 * it). Each is registered with the diag engine, parsed, and its imports
 * followed depth first:
 *     import "std/nn"     <stdlib>/nn.seg, then each SEG_PATH folder
 *     import "x.seg"      relative to the importing file's folder,
 *     import "sub/x"      then each SEG_PATH folder (".seg" is implied)
 * where <stdlib> is $SEG_STDLIB when set, else share/segc/stdlib beside
 * the running binary's bin/ folder when it exists (an installed segc, see
 * `make install`), else the build-time SEG_STDLIB_DIR (the source tree's).
 * A file reached twice is loaded once (by real path); a
 * file reached while it is still loading is an import cycle, reported at
 * the import with the chain.
 *
 * All declarations share one namespace. They are registered in the
 * order files finish loading (imports before importers), so when a
 * user's file redefines a stdlib name the error points at the user's
 * file, with a note at the first definition.
 *
 * seg_load_session loads a REPL session: its definitions, each a text
 * of its own (with the line it started on), in one namespace; an empty
 * session is a valid program, and nets make instances (seg_program.repl).
 *
 * seg_load_sources loads the same way from files in memory (a
 * checkpoint's record of them): imports resolve by their text among those
 * files, and the disk is never read. Every loaded file's name and text
 * are kept (seg_program_sources) so a run can record them.
 *
 * Checks: every constant is evaluated, every net with full defaults is
 * elaborated once (symbolic dimensions = 1), every schedule is checked
 * (schedule.c), and blocks that no elaboration reached get a static name
 * check.
 */

#include "sema_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SEG_STDLIB_DIR
#define SEG_STDLIB_DIR "stdlib"
#endif

/* PREFIX/share/segc/stdlib for a binary at PREFIX/bin/segc, when that
 * folder exists; "" otherwise. Found once per process. */
static char installed_stdlib[PATH_MAX];
static pthread_once_t installed_once = PTHREAD_ONCE_INIT;

static void find_installed_stdlib(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = 0;
    for (int up = 0; up < 2; up++) { /* PREFIX/bin/segc -> PREFIX */
        char *slash = strrchr(exe, '/');
        if (!slash)
            return;
        *slash = 0;
    }
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/share/segc/stdlib", exe);
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && strlen(dir) < sizeof installed_stdlib)
        snprintf(installed_stdlib, sizeof installed_stdlib, "%s", dir);
}

const char *seg_stdlib_dir(void)
{
    const char *env = getenv("SEG_STDLIB");
    if (env && env[0])
        return env;
    pthread_once(&installed_once, find_installed_stdlib);
    return installed_stdlib[0] ? installed_stdlib : SEG_STDLIB_DIR;
}

/* The files being loaded, outermost first (for cycle detection). */
typedef struct load_stack {
    const char *canon[64];   /* real paths */
    const char *shown[64];   /* paths as displayed */
    seg_span via[64];        /* the import that led to each (none for the first) */
    int n;
} load_stack;

typedef struct loader {
    seg_program *p;
    load_stack stack;
    int *order;              /* file numbers in the order they finished */
    int n_order, cap_order;
    const seg_source *mem;   /* seg_load_sources: the files, never the disk; else NULL */
    int n_mem;
} loader;

static void load_file(loader *L, const char *path, const char *canon, seg_span at,
                      const char *name);

/* --------------------------------------------------------------- files */

static int read_error(seg_diag *d, seg_span at, const char *path, const char *why)
{
    seg_diag_error(d, at, "cannot read '%s': %s", path, why);
    return -1;
}

/* The whole file into a heap buffer (NUL-terminated). */
static int read_text(seg_diag *d, const char *path, seg_span at, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f)
        return read_error(d, at, path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return read_error(d, at, path, "not a regular file");
    }
    if (sb.st_size > SEMA_MAX_FILE) {
        fclose(f);
        seg_diag_error(d, at, "'%s' is too large (%lld bytes; the limit is %d MB)", path,
                       (long long)sb.st_size, SEMA_MAX_FILE >> 20);
        return -1;
    }
    *text = seg_xrealloc(NULL, (size_t)sb.st_size + 1);
    *len = fread(*text, 1, (size_t)sb.st_size, f);
    (*text)[*len] = 0;
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        seg_free(*text);
        return read_error(d, at, path, "read error");
    }
    return 0;
}

/* A NUL byte means this is not a text file: report where it is. */
static int check_text(seg_diag *d, int file_id, const char *text, size_t len)
{
    const char *nul = memchr(text, 0, len);
    if (!nul)
        return 0;
    seg_span at = {file_id, 1, 1, 1, 1};
    for (const char *c = text; c < nul; c++) {
        at.col = *c == '\n' ? 1 : at.col + 1;
        at.line += *c == '\n';
    }
    at.end_line = at.line;
    at.end_col = at.col;
    seg_diag_error(d, at, "this file contains a NUL byte; it is not a text file");
    return -1;
}

static void add_file(seg_program *p, ast_file *f, const char *canon)
{
    if (p->n_files == p->cap_files) {
        p->cap_files = p->cap_files ? 2 * p->cap_files : 8;
        p->files = seg_xrealloc(p->files, (size_t)p->cap_files * sizeof *p->files);
    }
    *sema_map_put(&p->file_index, canon, p->n_files) = p->n_files;
    p->files[p->n_files++] = f;
}

static void finish_order(loader *L, int file)
{
    if (L->n_order == L->cap_order) {
        L->cap_order = L->cap_order ? 2 * L->cap_order : 8;
        L->order = seg_xrealloc(L->order, (size_t)L->cap_order * sizeof *L->order);
    }
    L->order[L->n_order++] = file;
}

/* ------------------------------------------------------------- imports */

static int readable(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* dir/name into buf when that file exists; also noted in tried. */
static int try_path(const char *dir, const char *name, seg_buf *buf, seg_buf *tried)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = 0;
    seg_buf_printf(buf, "%s%s%s", dir, dir[0] ? "/" : "", name);
    seg_buf_printf(tried, "%s%s", tried->len ? ", " : "", buf->data);
    return readable(buf->data);
}

static int try_seg_path(const char *name, seg_buf *buf, seg_buf *tried)
{
    const char *env = getenv("SEG_PATH");
    if (!env)
        return 0;
    char *copy = seg_xstrdup(env), *save = NULL;
    int found = 0;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save))
        found = dir[0] && try_path(dir, name, buf, tried);
    seg_free(copy);
    return found;
}

/* Where `import spec` in importer points; 0 when found (path in buf). */
static int resolve_import(const char *importer, const char *spec, seg_buf *buf, seg_buf *tried)
{
    size_t n = strlen(spec);
    char *name = seg_xrealloc(NULL, n + 5);
    snprintf(name, n + 5, "%s%s", spec, n >= 4 && !strcmp(spec + n - 4, ".seg") ? "" : ".seg");
    int found;
    if (strncmp(name, "std/", 4) == 0) {
        found = try_path(seg_stdlib_dir(), name + 4, buf, tried) ||
                try_seg_path(name + 4, buf, tried);
    } else if (name[0] == '/') {
        found = try_path("", name, buf, tried);
    } else {
        const char *slash = strrchr(importer, '/');
        char *dir = seg_xstrdup(importer);
        dir[slash ? (size_t)(slash - importer) : 0] = 0;
        found = try_path(slash ? dir : "", name, buf, tried) || try_seg_path(name, buf, tried);
        seg_free(dir);
    }
    seg_free(name);
    return found ? 0 : -1;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int import_cycle(loader *L, const char *canon, const char *shown, seg_span at)
{
    int first = -1;
    for (int i = 0; i < L->stack.n && first < 0; i++)
        if (strcmp(L->stack.canon[i], canon) == 0)
            first = i;
    if (first < 0)
        return 0;
    seg_buf chain = {0};
    for (int i = first; i < L->stack.n; i++)
        seg_buf_printf(&chain, "%s -> ", base_name(L->stack.shown[i]));
    seg_buf_printf(&chain, "%s", base_name(shown));
    /* report where the cycle is entered from its first file */
    if (first + 1 < L->stack.n)
        at = L->stack.via[first + 1];
    seg_diag_error(L->p->diag, at, "import cycle: %s", chain.data);
    seg_buf_free(&chain);
    return 1;
}

/* "std/nn" and "std/nn.seg" name the same file. */
static int same_spec(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    na -= na >= 4 && !strcmp(a + na - 4, ".seg") ? 4 : 0;
    nb -= nb >= 4 && !strcmp(b + nb - 4, ".seg") ? 4 : 0;
    return na == nb && !strncmp(a, b, na);
}

/* An import of a program loaded from memory: by its text, among the files. */
static void follow_mem_import(loader *L, const ast_decl *imp, seg_span at)
{
    for (int i = 1; i < L->n_mem; i++) {
        if (!same_spec(L->mem[i].name, imp->name))
            continue;
        if (!import_cycle(L, L->mem[i].name, L->mem[i].name, at) &&
            !sema_map_get(&L->p->file_index, L->mem[i].name))
            load_file(L, L->mem[i].name, L->mem[i].name, at, L->mem[i].name);
        return;
    }
    seg_diag_error(L->p->diag, at, "cannot find import '%s' among the recorded files", imp->name);
}

static void follow_import(loader *L, const char *importer, const ast_decl *imp)
{
    seg_span at = imp->name_span.file ? imp->name_span : imp->span;
    if (L->mem) {
        follow_mem_import(L, imp, at);
        return;
    }
    seg_buf path = {0}, tried = {0};
    char canon[PATH_MAX];
    if (resolve_import(importer, imp->name, &path, &tried) != 0) {
        seg_diag_error(L->p->diag, at, "cannot find import '%s'", imp->name);
        seg_diag_note(L->p->diag, at, "looked for %s", tried.data);
    } else if (!realpath(path.data, canon)) {
        read_error(L->p->diag, at, path.data, strerror(errno));
    } else if (!import_cycle(L, canon, path.data, at) &&
               !sema_map_get(&L->p->file_index, canon)) {
        load_file(L, path.data, canon, at, imp->name);
    }
    seg_buf_free(&path);
    seg_buf_free(&tried);
}

static void load_imports(loader *L, const ast_file *f, const char *shown, const char *canon,
                         seg_span via)
{
    if (L->stack.n == 64) {
        seg_diag_error(L->p->diag, (seg_span){0}, "imports are nested more than 64 deep");
        return;
    }
    L->stack.canon[L->stack.n] = canon;
    L->stack.via[L->stack.n] = via;
    L->stack.shown[L->stack.n++] = shown;
    for (const ast_decl *d = f->decls; d; d = d->next)
        if (d->kind == AST_IMPORT)
            follow_import(L, shown, d);
    L->stack.n--;
}

/* The text of a file: from disk, or from the files given to seg_load_sources. */
static int file_text(loader *L, const char *path, seg_span at, char **text, size_t *len)
{
    for (int i = 0; L->mem && i < L->n_mem; i++)
        if (!strcmp(L->mem[i].name, path)) {
            *len = strlen(L->mem[i].text);
            *text = seg_xrealloc(NULL, *len + 1);
            memcpy(*text, L->mem[i].text, *len + 1);
            return 0;
        }
    if (L->mem)
        return read_error(L->p->diag, at, path, "not among the recorded files");
    return read_text(L->p->diag, path, at, text, len);
}

/* Keep a file's name and text, for seg_program_sources. */
static void add_source(seg_program *p, const char *name, const char *text, size_t len)
{
    if (p->n_sources == p->cap_sources) {
        p->cap_sources = p->cap_sources ? 2 * p->cap_sources : 8;
        p->sources = seg_xrealloc(p->sources, (size_t)p->cap_sources * sizeof *p->sources);
    }
    char *copy = seg_arena_alloc(p->arena, len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    p->sources[p->n_sources++] = (seg_source){seg_arena_strdup(p->arena, name), copy};
}

static void load_file(loader *L, const char *path, const char *canon, seg_span at,
                      const char *name)
{
    seg_program *p = L->p;
    char *text;
    size_t len;
    if (file_text(L, path, at, &text, &len))
        return;
    add_source(p, name, text, len);
    const char *shown = seg_arena_strdup(p->arena, path);
    const char *canon_copy = seg_arena_strdup(p->arena, canon);
    int id = seg_diag_add_file(p->diag, shown, text, len);
    if (check_text(p->diag, id, text, len)) {
        seg_free(text);
        return;
    }
    int errors = seg_diag_error_count(p->diag);
    ast_file *f = seg_parse(p->diag, id, shown, text, len);
    int parsed = seg_diag_error_count(p->diag) == errors;
    seg_free(text);
    if (p->n_files == 0)
        p->main_file = id;
    int number = p->n_files;
    add_file(p, f, canon_copy);
    if (parsed) /* a file with syntax errors may have mangled imports */
        load_imports(L, f, shown, canon_copy, at);
    finish_order(L, number);
}

/* ------------------------------------------------------------- globals */

const sema_global *sema_global_find(const seg_program *p, const char *name)
{
    int64_t *i = sema_map_get(&p->global_index, name);
    return i ? &p->globals[*i] : NULL;
}

sema_global *sema_global_find_mut(seg_program *p, const char *name)
{
    int64_t *i = sema_map_get(&p->global_index, name);
    return i ? &p->globals[*i] : NULL;
}

static int reserved_name(seg_diag *d, const ast_decl *x)
{
    static const char *const dtypes[] = {"f32", "i32", "u8"};
    int dt = 0;
    for (int i = 0; i < 3; i++)
        dt |= strcmp(x->name, dtypes[i]) == 0;
    if (!dt && !sema_builtin_find(x->name))
        return 0;
    seg_diag_error(d, x->name_span, "'%s' is a built-in %s and cannot be redefined", x->name,
                   dt ? "type" : "op");
    return 1;
}

static void push_name(seg_program *p, const ast_decl *x)
{
    const char ***list = x->kind == AST_NET ? &p->net_names : &p->sched_names;
    int *n = x->kind == AST_NET ? &p->n_nets : &p->n_scheds;
    const char **grown = seg_arena_alloc(p->arena, (size_t)(*n + 1) * sizeof **list);
    if (*n)
        memcpy(grown, *list, (size_t)*n * sizeof **list);
    grown[(*n)++] = x->name;
    *list = grown;
}

static void add_global(seg_program *p, const ast_decl *x)
{
    const sema_global *old = sema_global_find(p, x->name);
    if (old) {
        seg_diag_error(p->diag, x->name_span, "'%s' is already defined", x->name);
        seg_diag_note(p->diag, old->decl->name_span, "previous definition here");
        return;
    }
    if (reserved_name(p->diag, x))
        return;
    if (p->n_globals == p->cap_globals) {
        p->cap_globals = p->cap_globals ? 2 * p->cap_globals : 64;
        p->globals = seg_xrealloc(p->globals, (size_t)p->cap_globals * sizeof *p->globals);
    }
    p->globals[p->n_globals] = (sema_global){.decl = x};
    *sema_map_put(&p->global_index, x->name, 0) = p->n_globals++;
    if (x->kind == AST_NET || x->kind == AST_SCHEDULE)
        push_name(p, x);
}

static void check_params(seg_diag *d, const ast_decl *x)
{
    for (const ast_param *a = x->params; a; a = a->next)
        for (const ast_param *b = a->next; b; b = b->next)
            if (strcmp(a->name, b->name) == 0) {
                seg_diag_error(d, b->span, "duplicate parameter '%s'", b->name);
                seg_diag_note(d, a->span, "the first '%s' is here", a->name);
            }
}

static void check_empty(seg_program *p)
{
    if (p->repl || p->files[0]->decls)
        return;
    seg_span at = {p->main_file, 1, 1, 1, 1};
    seg_diag_error(p->diag, at, "the file is empty: it declares no net, block or schedule");
}

static void register_globals(seg_program *p, const loader *L)
{
    check_empty(p);
    for (int i = 0; i < L->n_order; i++)
        for (const ast_decl *x = p->files[L->order[i]]->decls; x; x = x->next)
            if (x->kind != AST_IMPORT) {
                check_params(p->diag, x);
                add_global(p, x);
            }
}

/* -------------------------------------------------------------- checks */

static void check_program(seg_program *p)
{
    sema_seen seen;
    sema_state st;
    sema_seen_init(&seen);
    sema_state_init(&st, p, p->diag, &seen, NULL, 0, p->arena);
    for (int i = 0; i < p->n_globals; i++)
        if (p->globals[i].decl->kind == AST_CONST)
            sema_const_value(&st, &p->globals[i], p->globals[i].decl->name_span);
    for (int i = 0; i < p->n_globals; i++)
        if (p->globals[i].decl->kind == AST_NET)
            sema_check_net(p, &seen, p->globals[i].decl);
    sema_schedules_check(p, &seen);
    for (int i = 0; i < p->n_globals; i++)
        if (p->globals[i].decl->kind == AST_BLOCK && !p->globals[i].called)
            sema_check_block_names(&st, p->globals[i].decl);
    sema_state_free(&st);
    sema_seen_free(&seen);
}

/* -------------------------------------------------------------- public */

static seg_program *program_new(seg_diag *d)
{
    seg_program *p = seg_xcalloc(1, sizeof *p);
    p->diag = d;
    p->arena = seg_arena_new();
    sema_map_init(&p->file_index, 1);
    sema_map_init(&p->global_index, 0);
    return p;
}

/* Declarations and checks once the files are read; NULL after errors. */
static seg_program *load_finish(loader *L, int before)
{
    seg_program *p = L->p;
    seg_diag *d = p->diag;
    if (p->n_files > 0 && seg_diag_error_count(d) == before) {
        register_globals(p, L);
        check_program(p);
    }
    seg_free(L->order);
    if (seg_diag_error_count(d) > before || (p->n_files == 0 && !p->repl)) {
        seg_program_free(p);
        return NULL;
    }
    return p;
}

seg_program *seg_load(const char *path, seg_diag *d)
{
    seg_program *p = program_new(d);
    loader L = {.p = p};
    int before = seg_diag_error_count(d);
    char canon[PATH_MAX];
    if (!realpath(path, canon))
        read_error(d, (seg_span){0}, path, strerror(errno));
    else
        load_file(&L, path, canon, (seg_span){0}, path);
    return load_finish(&L, before);
}

seg_program *seg_load_sources(const seg_source *src, int n, seg_diag *d)
{
    SEG_ASSERT(n >= 1);
    loader L = {.p = program_new(d), .mem = src, .n_mem = n};
    int before = seg_diag_error_count(d);
    load_file(&L, src[0].name, src[0].name, (seg_span){0}, src[0].name);
    return load_finish(&L, before);
}

/* One definition of a session: parsed as a file of its own, named by
 * where it came from (imports resolve from that file's folder). */
static void load_chunk(loader *L, const seg_chunk *c, int index)
{
    seg_program *p = L->p;
    size_t len = strlen(c->text);
    char key[32];
    snprintf(key, sizeof key, "<chunk %d>", index); /* never a real path */
    add_source(p, c->path, c->text, len);
    const char *shown = seg_arena_strdup(p->arena, c->path);
    const char *canon = seg_arena_strdup(p->arena, key);
    int id = seg_diag_add_file_at(p->diag, shown, c->text, len, c->first_line);
    if (check_text(p->diag, id, c->text, len))
        return;
    int errors = seg_diag_error_count(p->diag);
    ast_file *f = seg_parse(p->diag, id, shown, c->text, len);
    if (p->n_files == 0)
        p->main_file = id;
    int number = p->n_files;
    add_file(p, f, canon);
    if (seg_diag_error_count(p->diag) == errors)
        load_imports(L, f, shown, canon, (seg_span){0});
    finish_order(L, number);
}

seg_program *seg_load_session(const seg_chunk *chunks, int n, seg_diag *d)
{
    loader L = {.p = program_new(d)};
    L.p->repl = 1;
    int before = seg_diag_error_count(d);
    for (int i = 0; i < n; i++)
        load_chunk(&L, &chunks[i], i);
    return load_finish(&L, before);
}

int seg_program_sources(const seg_program *p, const seg_source **src)
{
    *src = p->sources;
    return p->n_sources;
}

void seg_program_free(seg_program *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_files; i++)
        ast_file_free(p->files[i]);
    seg_free(p->files);
    seg_free(p->globals);
    sema_map_free(&p->file_index);
    sema_map_free(&p->global_index);
    sema_schedules_free(p);
    seg_free(p->sources);
    seg_arena_free(p->arena);
    seg_free(p);
}

int seg_program_nets(const seg_program *p, const char ***names)
{
    *names = p->net_names;
    return p->n_nets;
}

int seg_program_schedules(const seg_program *p, const char ***names)
{
    *names = p->sched_names;
    return p->n_scheds;
}
