/* repl_cmd.c — the REPL's :commands, one table (name, arguments, help)
 * that drives dispatch, :help, completion and `segc help repl`.
 *
 * A command's argument is the rest of its line. Where it takes an
 * expression (:type, :shape, :time, :stats, :show, :ir, :kir), that is
 * any Seg expression, evaluated like one typed at the prompt. Failures
 * print "<repl>:LINE: error: ..." (or a located Seg diagnostic) and the
 * session goes on.
 */
#include "repl.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void openblas_set_num_threads(int); /* from OpenBLAS; we include no BLAS header */

typedef struct repl_cmd {
    const char *name;   /* without the colon */
    const char *args;   /* argument placeholder for help */
    int (*fn)(repl *r, const char *args);
    const char *help;   /* one line */
} repl_cmd;

/* --------------------------------------------------------------- helpers */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static int need_arg(repl *r, const char *cmd, const char *args, const char *what)
{
    if (*args)
        return 0;
    repl_error(r, ":%s needs %s", cmd, what);
    return -1;
}

/* Is s one name (letters, digits, _ and dots)? */
static int is_name(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.')
            return 0;
    return 1;
}

/* ------------------------------------------------------- :type, :shape */

static void print_graph_types(const seg_result *res, int shape_only)
{
    const ir_graph *g = res->graph;
    for (int i = 0; i < g->n_outputs; i++) {
        const rt_type *t = &g->nodes[g->outputs[i].id].type;
        char b[128];
        if (res->kind == SEG_RESULT_RECORD)
            printf("%s: ", g->outputs[i].name);
        if (shape_only) {
            printf("[");
            for (int k = 0; k < t->rank; k++)
                printf("%s%lld", k ? ", " : "", (long long)t->dim[k]);
            printf("]\n");
        } else {
            printf("%s\n", rt_type_str(t, b, sizeof b));
        }
    }
}

static int type_or_shape(repl *r, const char *args, int shape_only)
{
    if (need_arg(r, shape_only ? "shape" : "type", args, "an expression"))
        return -1;
    char *desc = is_name(args) && !repl_var_find(r, args) ? seg_program_describe(r->prog, args)
                                                           : NULL;
    if (desc && !shape_only) {
        printf("%s\n", desc);
        seg_free(desc);
        return 0;
    }
    seg_free(desc);
    repl_value v;
    int rc = repl_eval_expr(r, args, 0, &v);
    if (rc == 0 && v.res.kind == SEG_RESULT_VALUE && shape_only) {
        repl_error(r, "%s is %s, not a tensor", args, v.res.kind_name);
        rc = -1;
    } else if (rc == 0 && v.res.kind == SEG_RESULT_VALUE) {
        int inst = !strcmp(v.res.kind_name, "net instance");
        printf("%s%s%s\n", v.res.kind_name, inst ? " " : "", inst ? v.res.text : "");
    } else if (rc == 0) {
        print_graph_types(&v.res, shape_only);
    }
    repl_value_free(&v);
    return rc;
}

static int cmd_type(repl *r, const char *args) { return type_or_shape(r, args, 0); }
static int cmd_shape(repl *r, const char *args) { return type_or_shape(r, args, 1); }

/* ------------------------------------------------------------ :ir, :kir */

/* SCHED.STAGE: its index in *k, or NULL when args does not name one. */
static const seg_schedule *find_stage(repl *r, const char *args, int *k)
{
    const char *dot = strchr(args, '.');
    if (!dot || strchr(dot + 1, '.'))
        return NULL;
    char sched[256];
    snprintf(sched, sizeof sched, "%.*s", (int)(dot - args), args);
    const seg_schedule *s = seg_program_schedule(r->prog, sched);
    for (int i = 0; s && i < s->n_stages; i++)
        if (strcmp(s->stages[i].name, dot + 1) == 0) {
            *k = i;
            return s;
        }
    return NULL;
}

/* The graph :ir and :kir show: a net with its defaults (B = 1), a stage's
 * training graph, or an expression's. NULL after printing why. */
static ir_graph *graph_of(repl *r, const char *args, seg_result *res)
{
    int k;
    memset(res, 0, sizeof *res);
    const repl_def *d = is_name(args) ? repl_def_find(r, args) : NULL;
    const seg_schedule *s = is_name(args) ? find_stage(r, args, &k) : NULL;
    if (d && d->kind == SEG_ITEM_NET) {
        seg_setting b = {"B", "1"};
        seg_diag_reset(r->diag);
        return seg_elaborate_net(r->prog, args, &b, 1, 0, r->diag);
    }
    if (s) {
        seg_diag_reset(r->diag);
        return seg_stage_graph(r->prog, s, k, 1, r->diag);
    }
    repl_value v;
    if (repl_eval_expr(r, args, 0, &v))
        return repl_value_free(&v), NULL;
    if (v.res.kind == SEG_RESULT_VALUE) {
        repl_error(r, "%s is %s; :ir shows nets, stages (SCHEDULE.STAGE) and tensor "
                   "expressions", args, v.res.kind_name);
        repl_value_free(&v);
        return NULL;
    }
    *res = v.res; /* the graph stays with res */
    memset(&v.res, 0, sizeof v.res);
    repl_value_free(&v);
    return res->graph;
}

static void graph_done(ir_graph *g, seg_result *res)
{
    if (res->graph)
        seg_result_free(res);
    else if (g)
        ir_graph_free(g);
}

static int cmd_ir(repl *r, const char *args)
{
    seg_result res;
    if (need_arg(r, "ir", args, "a net, SCHEDULE.STAGE or an expression"))
        return -1;
    ir_graph *g = graph_of(r, args, &res);
    if (g)
        ir_print(g, stdout);
    graph_done(g, &res);
    return g ? 0 : -1;
}

static int cmd_kir(repl *r, const char *args)
{
    seg_result res;
    if (need_arg(r, "kir", args, "a net or an expression"))
        return -1;
    int k;
    if (find_stage(r, args, &k)) {
        repl_error(r, ":kir shows forward programs; for a stage's use `segc kir FILE --stage`");
        return -1;
    }
    ir_graph *g = graph_of(r, args, &res);
    int built, rc = -1;
    repl_prog *p = g ? repl_compile(r, g, &built) : NULL;
    if (p && p->pr.kernels)
        rc = cli_kir_print(r->jit_engine, "forward", p->pr.prog, p->pr.kernels) ? -1 : 0;
    else if (p)
        repl_error(r, "the JIT is off (--no-jit): every op runs on the reference interpreter");
    graph_done(g, &res);
    return rc;
}

/* ------------------------------------------------------------- :params */

static int cmd_params(repl *r, const char *args)
{
    const char *glob = *args ? args : "*";
    int64_t total = 0, trainable = 0;
    int shown = 0;
    for (int i = 0; i < rt_store_count(r->params); i++) {
        const char *n = rt_store_name(r->params, i);
        if (fnmatch(glob, n, 0) != 0 && strncmp(n, glob, strlen(glob)) != 0)
            continue;
        const rt_tensor *t = rt_store_get(r->params, n);
        const char *by = rt_store_trained_by(r->params, n);
        int frozen = repl_stage_frozen(r, n);
        char ty[128], c[32];
        int64_t count = rt_type_numel(&t->type);
        printf("%-44s %-22s %12s%s%s%s%s\n", n, rt_type_str(&t->type, ty, sizeof ty),
               repl_grouped(count, c, sizeof c), frozen == 1 ? "  frozen" : frozen == 0 ? "  trainable" : "",
               by ? "  trained by " : "", by ? by : "", "");
        total += count;
        trainable += frozen == 0 ? count : 0;
        shown++;
    }
    char a[32], b[32];
    printf("%d tensor%s, %s values", shown, shown == 1 ? "" : "s", repl_grouped(total, a, sizeof a));
    if (r->st.stage && shown)
        printf(" (%s trainable in %s.%s)", repl_grouped(trainable, b, sizeof b), r->st.sched,
               r->st.stage);
    printf("\n");
    return 0;
}

/* --------------------------------------------------------------- :time */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs until about a second has passed: at least 3, at most 50. */
static int cmd_time(repl *r, const char *args)
{
    if (need_arg(r, "time", args, "an expression"))
        return -1;
    double t0 = seg_seconds();
    repl_value v;
    int rc = repl_eval_expr(r, args, 1, &v);
    double first = 1e3 * (seg_seconds() - t0);
    if (rc == 0 && (v.res.kind == SEG_RESULT_VALUE || !v.prog)) {
        repl_error(r, ":time measures tensor computations; %s needs none", args);
        rc = -1;
    }
    double ms[50];
    int n = 0;
    for (double spent = 0; rc == 0 && n < 50 && (n < 3 || spent < 1000); n++) {
        rc = repl_run(r, v.prog, &ms[n]);
        spent += ms[n];
    }
    if (rc == 0) {
        qsort(ms, (size_t)n, sizeof *ms, cmp_double);
        double med = ms[n / 2], gflop = (double)v.prog->pr.fwd_flops / 1e9;
        printf("%s: median %.3f ms of %d runs (min %.3f ms), %.3f GFLOP, %.2f GFLOP/s; "
               "first call %.1f ms (%s)\n", args, med, n, ms[0], gflop, gflop / (med / 1e3),
               first, v.built ? "compiled now" : "compiled before");
    }
    repl_value_free(&v);
    return rc;
}

/* -------------------------------------------------------- :stats, :show */

static int cmd_stats(repl *r, const char *args)
{
    if (need_arg(r, "stats", args, "an expression"))
        return -1;
    repl_value v;
    int rc = repl_eval_expr(r, args, 1, &v);
    if (rc == 0 && v.t)
        repl_print_stats(args, v.t);
    else if (rc == 0)
        printf("%s: %s %s\n", args, v.res.kind_name ? v.res.kind_name : "record",
               v.res.text ? v.res.text : "");
    repl_value_free(&v);
    return rc;
}

/* Take trailing "key=N" words and a FILE.png off the end of s. */
static int show_options(repl *r, char *s, repl_show_opts *o)
{
    for (;;) {
        size_t n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1]))
            s[--n] = 0;
        char *w = strrchr(s, ' ');
        w = w ? w + 1 : s;
        if (w == s)
            return 0;
        long long v = 0;
        char key[16];
        if (sscanf(w, "%15[a-z]=%lld", key, &v) == 2 && !strchr(w, ')')) {
            if (!strcmp(key, "axis"))
                o->axis = (int)v;
            else if (!strcmp(key, "slice"))
                o->slice = v;
            else if (!strcmp(key, "channel"))
                o->channel = (int)v;
            else {
                repl_error(r, ":show takes axis=, slice= and channel=, not %s=", key);
                return -1;
            }
        } else if (strlen(w) > 4 && !strcmp(w + strlen(w) - 4, ".png")) {
            o->path = w;
        } else {
            return 0;
        }
        w[-1] = 0;
    }
}

/* " on " outside brackets and strings: the image of an overlay. */
static char *split_on(char *s)
{
    int depth = 0, str = 0;
    for (char *p = s; *p; p++) {
        if (*p == '"' && (p == s || p[-1] != '\\'))
            str = !str;
        else if (!str && strchr("([{", *p))
            depth++;
        else if (!str && strchr(")]}", *p))
            depth--;
        else if (!str && !depth && !strncmp(p, " on ", 4)) {
            *p = 0;
            return p + 4;
        }
    }
    return NULL;
}

static int cmd_show(repl *r, const char *args)
{
    if (need_arg(r, "show", args, "an expression (and optionally on IMAGE, axis=, slice=, "
                 "channel=, FILE.png)"))
        return -1;
    char *s = seg_xstrdup(args);
    repl_show_opts o = {0, -1, 0, NULL};
    int rc = show_options(r, s, &o);
    char *path = seg_xstrdup(o.path ? o.path : "show.png");
    o.path = path;
    char *on = rc == 0 ? split_on(s) : NULL;
    repl_value v, img;
    memset(&v, 0, sizeof v);
    memset(&img, 0, sizeof img);
    rc = rc ? rc : repl_eval_expr(r, s, 1, &v);
    if (rc == 0 && on)
        rc = repl_eval_expr(r, on, 1, &img);
    if (rc == 0 && (!v.t || (on && !img.t))) {
        repl_error(r, ":show draws tensors");
        rc = -1;
    }
    if (rc == 0)
        rc = repl_show_write(r, v.t, on ? img.t : NULL, &o);
    repl_value_free(&v);
    repl_value_free(&img);
    seg_free(path);
    seg_free(s);
    return rc;
}

/* --------------------------------------------------- :load, :save */

/* "unet(levels=3, base=16)" from the segc.net and segc.net_args keys. */
static void print_model_hint(const rt_ckpt *c)
{
    const char *net = rt_ckpt_meta(c, "segc.net"), *args = rt_ckpt_meta(c, "segc.net_args");
    const char *out = rt_ckpt_meta(c, "segc.output");
    if (!net)
        return;
    const char *dot = out ? strrchr(out, '.') : NULL;
    printf("model: %s(%s) of %s.%s", net, args ? args : "", rt_ckpt_meta(c, "segc.schedule"),
           rt_ckpt_meta(c, "segc.stage"));
    if (dot)
        printf("; bind it as %.*s = %s(%s) and apply %.*s(x)\n", (int)(dot - out), out, net,
               args ? args : "", (int)(dot - out), out);
    else
        printf("; apply it as %s(%s)(x)\n", net, args ? args : "");
}

/* The checkpoint's recorded program, when the session lacks its net. */
static void define_recorded(repl *r, const rt_ckpt *c)
{
    const char *net = rt_ckpt_meta(c, "segc.net");
    const char *name = rt_ckpt_meta(c, "segc.source.0.name");
    const char *text = rt_ckpt_meta(c, "segc.source.0.text");
    if (net && name && text && !repl_def_find(r, net))
        repl_load_text(r, name, text, strlen(text));
}

static int load_ckpt(repl *r, const char *arg)
{
    rt_ckpt *c;
    char *path;
    if (cli_ckpt_open(arg, &c, &path) != CLI_OK)
        return -1;
    int64_t values = 0;
    int n = cli_store_load_ckpt(r->params, c, &values);
    r->param_gen++;
    char g[32];
    printf("loaded %d tensors (%s values) from %s\n", n, repl_grouped(values, g, sizeof g), path);
    define_recorded(r, c);
    print_model_hint(c);
    rt_ckpt_free(c);
    seg_free(path);
    return 0;
}

static int cmd_load(repl *r, const char *args)
{
    if (need_arg(r, "load", args, "FILE.seg, a .safetensors checkpoint or a run folder"))
        return -1;
    size_t n = strlen(args);
    if (n > 4 && !strcmp(args + n - 4, ".seg"))
        return repl_load_file(r, args);
    if (cli_is_checkpoint(args) && access(args, R_OK) != 0) {
        repl_error(r, "cannot read '%s': %s", args, strerror(errno));
        return -1;
    }
    if (cli_is_checkpoint(args))
        return load_ckpt(r, args);
    repl_error(r, ":load takes FILE.seg, a .safetensors checkpoint or a run folder, not '%s'",
               args);
    return -1;
}

static int cmd_save(repl *r, const char *args)
{
    size_t n = strlen(args);
    if (n < 13 || strcmp(args + n - 12, ".safetensors") != 0) {
        repl_error(r, ":save needs a FILE.safetensors");
        return -1;
    }
    rt_ckpt *c = rt_ckpt_new();
    for (int i = 0; i < rt_store_count(r->params); i++) {
        const char *name = rt_store_name(r->params, i), *by = rt_store_trained_by(r->params, name);
        rt_ckpt_add_tensor(c, name, rt_store_get(r->params, name));
        char key[600];
        snprintf(key, sizeof key, "trained_by.%s", name);
        if (by)
            rt_ckpt_set_meta(c, key, by);
    }
    rt_ckpt_set_meta(c, "saved_by", "segc repl");
    rt_error err = {{0}};
    int rc = rt_ckpt_write(c, args, &err);
    if (rc)
        repl_error(r, "%s", err.msg);
    else
        printf("saved %d tensors to %s\n", rt_store_count(r->params), args);
    rt_ckpt_free(c);
    return rc;
}

/* ------------------------------------------------------ session commands */

static int cmd_threads(repl *r, const char *args)
{
    if (*args) {
        char *end;
        long n = strtol(args, &end, 10);
        if (*end || n < 1 || n > RT_THREADS_MAX) {
            repl_error(r, ":threads needs a count from 1 to %d", RT_THREADS_MAX);
            return -1;
        }
        r->threads = (int)n;
        openblas_set_num_threads(r->threads);
        for (int i = 0; i < r->n_progs; i++) { /* their pools have the old size */
            rt_interp_free(r->progs[i].it);
            r->progs[i].it = NULL;
        }
        repl_stage_drop_programs(r); /* the trainer's pool too */
    }
    printf("threads: %d\n", r->threads);
    return 0;
}

static int cmd_reset(repl *r, const char *args)
{
    (void)args;
    int rc = repl_session_reset(r);
    printf("session reset\n");
    return rc;
}

static int cmd_quit(repl *r, const char *args)
{
    (void)args;
    r->quit = 1;
    return 0;
}

static double mb(int64_t b) { return (double)b / (1024.0 * 1024.0); }

static int cmd_memory(repl *r, const char *args)
{
    (void)args;
    int64_t vb = 0, pb = 0, ab = 0;
    int nv = 0;
    for (int i = 0; i < r->n_vars; i++)
        if (r->vars[i].t) {
            vb += rt_type_numel(&r->vars[i].t->type) * (int64_t)rt_dtype_size(r->vars[i].t->type.dtype);
            nv++;
        }
    for (int i = 0; i < rt_store_count(r->params); i++)
        pb += rt_type_numel(&rt_store_get(r->params, rt_store_name(r->params, i))->type) * 4;
    for (int i = 0; i < r->n_progs; i++)
        ab += r->progs[i].pr.prog->plan ? r->progs[i].pr.prog->plan->arena_bytes : 0;
    printf("resident %.1f MB: %d tensors %.1f MB, %d parameters %.1f MB, %d compiled programs "
           "(arenas %.1f MB), %d JIT code objects, %d definitions\n", mb(repl_rss()), nv, mb(vb),
           rt_store_count(r->params), mb(pb), r->n_progs, mb(ab),
           r->jit_engine ? rt_jit_code_count(r->jit_engine) : 0, r->n_defs);
    return 0;
}

static int cmd_help(repl *r, const char *args);

static const repl_cmd commands[] = {
    {"help", "[:CMD]", cmd_help, "this list, or one command's help"},
    {"type", "EXPR", cmd_type, "the type of EXPR without computing it (a name: its declaration)"},
    {"shape", "EXPR", cmd_shape, "the shape of a tensor expression"},
    {"ir", "NET|SCHED.STAGE|EXPR", cmd_ir, "the graph IR of a net (defaults, B = 1), a stage or an expression"},
    {"kir", "NET|EXPR", cmd_kir, "the JIT kernels of a net's forward or an expression"},
    {"params", "[GLOB]", cmd_params, "parameters: name, shape, count, frozen or trainable"},
    {"time", "EXPR", cmd_time, "median time of EXPR over several runs, GFLOP/s"},
    {"show", "EXPR [on IMAGE] [axis=A] [slice=S] [channel=C] [FILE.png]", cmd_show,
     "a slice as a PNG (colour map; a label map on IMAGE as an overlay)"},
    {"stats", "EXPR", cmd_stats, "statistics: mean, std, percentiles, per channel, class counts"},
    {"train", "SCHED.STAGE [steps=N]", repl_cmd_train,
     "training steps of a stage on the session's parameters (Ctrl-C stops)"},
    {"plan", "[SCHED.STAGE]", repl_cmd_plan, "what a training step of the stage costs; what freezing removes"},
    {"set", "[SCHED.STAGE] KEY = VALUE", repl_cmd_set,
     "change the stage for the next :train: lr, steps, seed, or an item (loss, freeze, ...)"},
    {"load", "FILE.seg|CKPT", cmd_load, "definitions from a file, or parameters from a checkpoint"},
    {"save", "FILE.safetensors", cmd_save, "the session's parameters, named as training names them"},
    {"threads", "[N]", cmd_threads, "the thread count for what runs next"},
    {"memory", "", cmd_memory, "resident size and what the session holds"},
    {"reset", "", cmd_reset, "forget every definition, value and parameter; reload the files"},
    {"quit", "", cmd_quit, "leave (also :q and Ctrl-D)"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* "  :name args   help", the help on a line of its own after a long left. */
static void help_line(FILE *out, const repl_cmd *c)
{
    char left[96];
    snprintf(left, sizeof left, ":%s %s", c->name, c->args);
    if (strlen(left) > 30)
        fprintf(out, "  %s\n  %-30s %s\n", left, "", c->help);
    else
        fprintf(out, "  %-30s %s\n", left, c->help);
}

static int cmd_help(repl *r, const char *args)
{
    const char *want = args[0] == ':' ? args + 1 : args;
    int shown = 0;
    for (int i = 0; i < N_COMMANDS; i++)
        if (!*want || !strcmp(commands[i].name, want)) {
            help_line(stdout, &commands[i]);
            shown++;
        }
    if (!shown) {
        repl_error(r, "no command ':%s' (:help lists them)", want);
        return -1;
    }
    if (!*want)
        printf("Anything else is Seg: a declaration (net, block, schedule, import, NAME = "
               "value) or an expression;\na net is applied as unet(levels = 3)(x), an image "
               "read with load(\"scan.nii.gz\").\nLines between :{ and :} are one input "
               "(a pasted program).\n");
    return 0;
}

void repl_help_commands(FILE *out)
{
    for (int i = 0; i < N_COMMANDS; i++)
        help_line(out, &commands[i]);
}

const char *repl_command_name(int i) { return i < N_COMMANDS ? commands[i].name : NULL; }

void repl_command(repl *r, const char *line)
{
    const char *p = line + 1, *end = p;
    while (*end && !isspace((unsigned char)*end))
        end++;
    size_t n = (size_t)(end - p);
    const char *args = skip_ws(end);
    char *trimmed = seg_xstrdup(args);
    size_t t = strlen(trimmed);
    while (t && isspace((unsigned char)trimmed[t - 1]))
        trimmed[--t] = 0;
    const repl_cmd *c = NULL;
    if (n == 1 && *p == 'q')
        c = &commands[N_COMMANDS - 1];
    for (int i = 0; i < N_COMMANDS && !c; i++)
        if (strlen(commands[i].name) == n && !strncmp(commands[i].name, p, n))
            c = &commands[i];
    r->cmd_line = line;
    if (c)
        c->fn(r, trimmed);
    else
        repl_error(r, "unknown command ':%.*s' (:help lists them)", (int)n, p);
    r->cmd_line = NULL;
    seg_free(trimmed);
    repl_input_done(r);
    repl_vars_drop_hidden(r);
}
