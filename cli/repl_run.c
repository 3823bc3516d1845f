/* repl_run.c — compiled statement programs: a cache keyed by the graph,
 * and running a program on the session's tensors and parameters.
 *
 * Key. Two inputs that make the same graph (same ops, attributes, types,
 * parameter names and initialisers, inputs by name) run the same program,
 * wherever they were typed: the key is ir_print's listing with each line's
 * source location cut off. So `y = unet(levels = 3)(x)` typed again, or
 * with another tensor of x's type, reuses the compiled program and its
 * interpreter, and runs as fast as `segc run`.
 *
 * Building goes through compiler/pipeline.c (PIPELINE_INFER, the JIT
 * unless --no-jit) on the session's one rt_jit, whose kernels also come
 * from the disk cache, so a new session compiles nothing it compiled
 * before. The cache holds at most REPL_MAX_PROGS programs whose planned
 * arenas add up to at most REPL_ARENA_BUDGET; the least recently used
 * go first, and with them their interpreters and their references to JIT
 * code (an object whose last user goes is removed from the JIT).
 *
 * Parameters. The session's rt_store holds every parameter by name. An
 * interpreter is loaded from it when the store changed since (a
 * generation count); a parameter the store lacks, or holds with another
 * shape, keeps the interpreter's own initialisation (seeded by name) and
 * is stored, with a note saying so.
 */
#include "repl.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- key */

/* The listing without "  # file:line" at the end of each line. */
static char *graph_key(const ir_graph *g)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print(g, f);
    fclose(f);
    seg_buf b = {0};
    seg_buf_printf(&b, "%s", "");
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *hash = strstr(line, "  # ");
        seg_buf_printf(&b, "%.*s\n", hash ? (int)(hash - line) : (int)strlen(line), line);
    }
    free(buf); /* open_memstream's own allocation */
    return b.data;
}

/* --------------------------------------------------------------- cache */

static void prog_free(repl_prog *p)
{
    rt_interp_free(p->it);
    pipeline_result_free(&p->pr);
    seg_free(p->key);
    memset(p, 0, sizeof *p);
}

static int64_t prog_bytes(const repl_prog *p)
{
    return p->pr.prog && p->pr.prog->plan ? p->pr.prog->plan->arena_bytes : 0;
}

static void evict(repl *r, int i)
{
    prog_free(&r->progs[i]);
    r->progs[i] = r->progs[--r->n_progs];
}

static int lru(const repl *r)
{
    int k = 0;
    for (int i = 1; i < r->n_progs; i++)
        if (r->progs[i].used < r->progs[k].used)
            k = i;
    return k;
}

/* Room for a program of `bytes` arena: the oldest go. */
static void make_room(repl *r, int64_t bytes)
{
    int64_t total = bytes;
    for (int i = 0; i < r->n_progs; i++)
        total += prog_bytes(&r->progs[i]);
    while (r->n_progs > 0 && (r->n_progs == REPL_MAX_PROGS || total > REPL_ARENA_BUDGET)) {
        int k = lru(r);
        total -= prog_bytes(&r->progs[k]);
        evict(r, k);
    }
}

void repl_progs_clear(repl *r)
{
    while (r->n_progs > 0)
        evict(r, r->n_progs - 1);
}

repl_prog *repl_compile(repl *r, const ir_graph *g, int *built)
{
    char *key = graph_key(g);
    *built = 0;
    for (int i = 0; i < r->n_progs; i++)
        if (strcmp(r->progs[i].key, key) == 0) {
            seg_free(key);
            r->progs[i].used = ++r->tick;
            return &r->progs[i];
        }
    rt_budget budget = {.threads = r->threads, .what = "this input"};
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = r->jit, .compile = 1,
                        .host = r->jit_engine, .budget = &budget};
    pipeline_result pr;
    rt_error err = {{0}};
    double t0 = seg_seconds();
    if (pipeline_build(g, &po, &pr, &err) != PIPELINE_OK) {
        repl_error(r, "%s", err.msg);
        seg_free(key);
        return NULL;
    }
    make_room(r, pr.prog->plan ? pr.prog->plan->arena_bytes : 0);
    repl_prog *p = &r->progs[r->n_progs++];
    *p = (repl_prog){key, pr, NULL, 0, ++r->tick, 1e3 * (seg_seconds() - t0)};
    *built = 1;
    return p;
}

/* ---------------------------------------------------------- parameters */

static void put_param(repl *r, const rt_value *v, rt_tensor *t, int *fresh, int64_t *scalars)
{
    const rt_tensor *old = rt_store_get(r->params, v->name);
    char a[128], b[128];
    if (old)
        printf("note: parameter %s was %s, now %s: initialised again\n", v->name,
               rt_type_str(&old->type, a, sizeof a), rt_type_str(&v->type, b, sizeof b));
    rt_store_put(r->params, v->name, t, NULL);
    (*fresh)++;
    *scalars += rt_type_numel(&v->type);
}

/* Load p's interpreter from the store; store what the store lacks. */
static void sync_params(repl *r, repl_prog *p)
{
    const rt_program *prog = p->pr.prog;
    int fresh = 0;
    int64_t scalars = 0;
    for (int i = 0; i < prog->n_values; i++) {
        const rt_value *v = &prog->values[i];
        if (v->kind != RT_VAL_PARAM && v->kind != RT_VAL_BUFFER)
            continue;
        rt_tensor *dst = rt_interp_value_at(p->it, i);
        const rt_tensor *src = rt_store_get(r->params, v->name);
        if (src && rt_type_equal(&src->type, &dst->type))
            memcpy(dst->data, src->data,
                   (size_t)rt_type_numel(&dst->type) * rt_dtype_size(dst->type.dtype));
        else
            put_param(r, v, dst, &fresh, &scalars);
    }
    if (fresh) {
        r->param_gen++;
        char g[32];
        printf("note: %d new parameter tensor%s (%s values), initialised with seed %llu\n",
               fresh, fresh == 1 ? "" : "s", repl_grouped(scalars, g, sizeof g),
               (unsigned long long)r->seed);
    }
    p->param_gen = r->param_gen;
}

/* ------------------------------------------------------------------ run */

static int bind_inputs(repl *r, repl_prog *p)
{
    const rt_program *prog = p->pr.prog;
    rt_error err = {{0}};
    for (int i = 0; i < prog->n_values; i++) {
        const rt_value *v = &prog->values[i];
        if (v->kind != RT_VAL_INPUT)
            continue;
        repl_var *var = repl_var_find(r, v->name);
        if (!var || !var->t) {
            repl_error(r, "the session has no tensor '%s'", v->name);
            return -1;
        }
        if (rt_interp_set_input(p->it, v->name, var->t, &err)) {
            repl_error(r, "%s", err.msg);
            return -1;
        }
    }
    return 0;
}

int repl_run(repl *r, repl_prog *p, double *ms)
{
    if (!p->it) {
        p->it = rt_interp_new(p->pr.prog, r->seed, r->threads);
        if (p->pr.kernels)
            rt_interp_set_kernels(p->it, jit_program_table(p->pr.kernels));
        p->param_gen = r->param_gen - 1; /* never loaded */
    }
    if (p->param_gen != r->param_gen)
        sync_params(r, p);
    if (bind_inputs(r, p))
        return -1;
    rt_error err = {{0}};
    double t0 = seg_seconds();
    int rc = rt_interp_run(p->it, 0, &err);
    if (ms)
        *ms = 1e3 * (seg_seconds() - t0);
    if (rc)
        repl_error(r, "%s", err.msg);
    return rc ? -1 : 0;
}

rt_tensor *repl_output(repl_prog *p, const char *name)
{
    return p->it ? rt_interp_output(p->it, name) : NULL;
}
