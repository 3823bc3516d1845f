/* cli_jit.c — `segc kir` (what the JIT makes of a program) and `segc
 * cache` (the on-disk object cache of runtime/jit.c).
 *
 * kir. The program (a net's inference forward, or with --stage a training
 * stage's train and eval programs) is compiled by compiler/pipeline.c as
 * `segc run` and `segc train` compile it, and this command prints what the
 * JIT builder chose and built (jit_program_choice): each kernel with the
 * kir text that keys the cache, and for an instruction left on a
 * reference kernel the builder's own reason. Output per instruction:
 *     #3 unet.seg:12:9: conv -> JIT kernel conv_fwd_<hash> (direct, ...)
 *         kernel conv_fwd ... (kir_print, first use of a kernel only)
 *     #5 unet.seg:14:7: maxpool -> fast runtime kernel
 *     #9 unet.seg:20:7: conv -> interpreter: grouped convolution
 * --emit-llvm DIR writes each distinct kernel's module as DIR/<name>.ll
 * before optimisation and DIR/<name>.opt.ll after the JIT's own pipeline
 * (cg_kernel_write_ll).
 *
 * cache. `stats` counts segc's entries in the cache folder; `clear`
 * deletes them (other files are left alone). Hits and misses are counted
 * per process only, so `segc run` reports them ("N from the cache"), not
 * this command.
 */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- kir */

typedef struct kir_state {
    rt_jit *jit;
    const char *emit_dir;  /* --emit-llvm DIR or NULL */
    char **texts;          /* kir text of each distinct kernel seen */
    int *first;            /* the instruction that showed it first */
    int n_texts;
    int emitted;           /* .ll files written */
} kir_state;

static const char *kir_where(const rt_instr *ins) { return ins->where ? ins->where : "?"; }

/* Name of a kernel: its kind and a hash of its kir text. */
static void kir_name(const char *kind, const char *text, char *buf, size_t n)
{
    snprintf(buf, n, "%s_%016llx", kind, (unsigned long long)rt_jit_key_of(text).h[0]);
}

/* DIR/name.ll (as generated) and DIR/name.opt.ll (after the JIT's passes). */
static int kir_emit(kir_state *st, const kir_kernel *kk, const char *name)
{
    rt_error err = {{0}};
    if (cg_kernel_write_ll(st->jit, kk, st->emit_dir, name, &err)) {
        cli_error("kernel %s: %s", name, err.msg);
        return CLI_RUNTIME;
    }
    st->emitted += 2;
    return CLI_OK;
}

/* The kir text, indented, and with --emit-llvm the kernel's modules. */
static int kir_show(kir_state *st, const kir_kernel *kk, const char *text, const char *name)
{
    for (const char *s = text, *e; *s; s = e) {
        e = strchr(s, '\n');
        e = e ? e + 1 : s + strlen(s);
        printf("    %.*s", (int)(e - s), s);
    }
    return st->emit_dir ? kir_emit(st, kk, name) : CLI_OK;
}

/* The instruction that first showed kernel text, or -1 when the text is
 * new (then it is recorded for instruction i). */
static int kir_intern(kir_state *st, const char *text, int i)
{
    for (int k = 0; k < st->n_texts; k++)
        if (!strcmp(st->texts[k], text))
            return st->first[k];
    st->texts = seg_xrealloc(st->texts, (size_t)(st->n_texts + 1) * sizeof *st->texts);
    st->first = seg_xrealloc(st->first, (size_t)(st->n_texts + 1) * sizeof *st->first);
    st->texts[st->n_texts] = seg_xstrdup(text);
    st->first[st->n_texts++] = i;
    return -1;
}

/* "conv_fwd", "conv_bwd_w" or "eltwise": a kernel's kind in its name. */
static const char *kir_kind_name(const kir_kernel *kk)
{
    switch (kk->kind) {
    case KIR_CONV_FWD:
        return "conv_fwd";
    case KIR_CONV_BWD_W:
        return "conv_bwd_w";
    case KIR_ELTWISE:
        return "eltwise";
    }
    SEG_UNREACHABLE();
}

/* " NAME" for distinct kernel k; *seen = the instruction that showed it
 * first, or -1 when i is that instruction. */
static void kir_kernel_ref(kir_state *st, const jit_program *jp, int k, int i, int *seen)
{
    const char *text;
    const kir_kernel *kk = jit_program_kernel(jp, k, &text);
    char name[64];
    kir_name(kir_kind_name(kk), text, name, sizeof name);
    *seen = kir_intern(st, text, i);
    printf(" %s", name);
}

/* The kernel IR text of k, shown after the line that used it first. */
static int kir_kernel_body(kir_state *st, const jit_program *jp, int k)
{
    const char *text;
    const kir_kernel *kk = jit_program_kernel(jp, k, &text);
    char name[64];
    kir_name(kir_kind_name(kk), text, name, sizeof name);
    return kir_show(st, kk, text, name);
}

/* What a conv kernel's driver does around it. */
static void kir_conv_detail(const kir_kernel *kk, const jit_choice *c, int fwd)
{
    const kir_conv *cv = &kk->conv;
    if (kk->kind == KIR_CONV_BWD_W)
        printf(" (weight gradient: direct reduction over %d fixed parts, not im2col+sgemm%s)",
               cv->parts, c->conv->bias_out < 0 ? ""
                          : c->conv->dy_blocked ? "; bias gradient summed from dy's stored blocks"
                                                : "; bias gradient summed as dy is copied in");
    else
        printf(" (%s, x %s, register tile %d x %d, %d input block%s per pass)",
               fwd ? "direct convolution" : "data gradient as a forward convolution over dy",
               cv->ib == 1 ? "plain NCDHW" : "blocked", cv->rc, cv->rw, cv->ic_chunk,
               cv->ic_chunk == 1 ? "" : "s");
    if (c->conv->residual)
        printf(", residual%s added as y is copied out", c->conv->relu_copy ? " and ReLU" : "");
    if (c->conv->groups > 1)
        printf(", run once per group on %d groups", c->conv->groups);
}

/* The layout of a conv kernel's operands between instructions: stored
 * blocked (no copy), or plain and the reason the copy remains. */
static void kir_layouts(const jit_program *jp, const rt_program *p, int i, const rt_conv_kernel *k)
{
    const rt_instr *ins = &p->instrs[i];
    const char *name[3] = {"x", NULL, NULL};
    int val[3] = {ins->in[0], -1, -1};
    if (k->kind == RT_CONV_BWD_WEIGHT) {
        name[1] = "dy";
        val[1] = ins->in[1];
    } else {
        name[0] = k->kind == RT_CONV_BWD_DATA ? "dy" : "x";
        name[1] = k->kind == RT_CONV_BWD_DATA ? "dx" : "y";
        val[1] = ins->out;
        if (k->kind == RT_CONV_BWD_DATA && ins->n_in - (k->residual != 0) > 2) {
            name[2] = "ReLU mask";
            val[2] = ins->in[2];
        }
    }
    for (int o = 0; o < 3 && name[o]; o++) {
        char note[300];
        jit_program_layout_note(jp, p, val[o], note, sizeof note);
        printf("    %s %s\n", name[o], note);
    }
}

/* One instruction with a single kernel (a conv, a gradient or a group). */
static int kir_kernel_line(kir_state *st, const jit_program *jp, const rt_program *p, int i,
                           const jit_choice *c)
{
    const rt_instr *ins = &p->instrs[i];
    const kir_kernel *kk = jit_program_kernel(jp, c->kernel, NULL);
    int seen;
    printf("#%d %s -> JIT kernel", i, kir_where(ins));
    kir_kernel_ref(st, jp, c->kernel, i, &seen);
    if (kk->kind == KIR_ELTWISE) {
        const rt_fused *f = ins->attrs.fused;
        printf(" (fused group:");
        for (int k = 0; k < f->n_nodes; k++)
            printf(" %s", rt_op_table[f->nodes[k].op].name);
        printf(c->blocked_out ? "; its full-size operands stored blocked)" : ")");
    } else
        kir_conv_detail(kk, c, ins->op == OP_CONV);
    if (seen >= 0)
        printf(", as #%d", seen);
    printf("\n");
    if (kk->kind != KIR_ELTWISE)
        kir_layouts(jp, p, i, c->conv);
    return seen < 0 ? kir_kernel_body(st, jp, c->kernel) : CLI_OK;
}

/* A strided data gradient or a transposed conv: a kernel per phase. */
static int kir_phased_line(kir_state *st, const jit_program *jp, const rt_program *p, int i,
                           const jit_choice *c)
{
    printf("#%d %s -> JIT kernels, one per output phase (%d phases%s):", i,
           kir_where(&p->instrs[i]), c->phases,
           c->conv->groups > 1 ? ", run once per group" : "");
    int rc = CLI_OK, *fresh = seg_xcalloc((size_t)c->phases, sizeof *fresh);
    for (int h = 0; h < c->phases; h++) {
        int seen = 0;
        if (c->phase_kernel[h] < 0)
            printf(" (no taps)");
        else
            kir_kernel_ref(st, jp, c->phase_kernel[h], i, &seen);
        fresh[h] = c->phase_kernel[h] >= 0 && seen < 0;
    }
    printf("\n");
    for (int h = 0; h < c->phases && rc == CLI_OK; h++)
        if (fresh[h])
            rc = kir_kernel_body(st, jp, c->phase_kernel[h]);
    seg_free(fresh);
    return rc;
}

/* Every instruction of p with what jitprog.c chose for it. */
static int kir_program(kir_state *st, const char *what, const rt_program *p,
                       const jit_program *jp)
{
    const jit_program_stats *s = jit_program_stats_of(jp);
    printf("program %s: %d of %d convolutions on JIT kernels (%d distinct), %d ReLU%s fused, "
           "%d instructions\n", what, s->kernels, s->convs, s->distinct, s->fused_relus,
           s->fused_relus == 1 ? "" : "s", p->n_instrs);
    int rc = CLI_OK;
    for (int i = 0; i < p->n_instrs && rc == CLI_OK; i++) {
        jit_choice c;
        jit_program_choice(jp, i, &c);
        const char *where = kir_where(&p->instrs[i]);
        if (c.phases)
            rc = kir_phased_line(st, jp, p, i, &c);
        else if (c.kernel >= 0)
            rc = kir_kernel_line(st, jp, p, i, &c);
        else if (c.by >= 0)
            printf("#%d %s -> summed by #%d's weight-gradient kernel\n", i, where, c.by);
        else if (c.fast && c.blocked_out)
            printf("#%d %s -> fast runtime kernel, written in the blocked layout for the "
                   "convolutions that read it (no layout copy there)\n", i, where);
        else if (c.fast)
            printf("#%d %s -> fast runtime kernel\n", i, where);
        else
            printf("#%d %s -> interpreter: %s\n", i, where, c.why ? c.why : "?");
    }
    return rc;
}

/* --stage: the stage's train and eval programs. */
static int kir_stage(kir_state *st, const cli_opts *o)
{
    seg_diag *d = seg_diag_new(stderr);
    seg_program *prog = seg_load(o->files[0], d);
    const seg_schedule *s = NULL;
    cli_opts rest = *o;
    rest.settings = NULL;
    int rc = prog ? cli_pick_schedule(o, prog, d, &s, &rest) : CLI_BAD_PROGRAM;
    if (rc == CLI_OK)
        rc = cli_schedule_settings_only(&rest, "kir");
    if (rc != CLI_OK)
        s = NULL;
    else
        rc = CLI_BAD_PROGRAM; /* until a program is listed */
    int k = -1;
    for (int i = 0; s && i < s->n_stages; i++)
        if (!strcmp(s->stages[i].name, o->stage))
            k = i;
    if (s && k < 0) {
        cli_error("schedule '%s' has no stage '%s'", s->name, o->stage);
        rc = CLI_USAGE;
    } else if (s) {
        train_stage ts = {.arena = seg_arena_new(), .jit_on = 1};
        rt_error err = {{0}};
        if (train_build_stage(prog, s, k, d, &ts, &err)) {
            cli_error("%s", err.msg);
        } else {
            rc = kir_program(st, "train", ts.train.prog, ts.train.kernels);
            if (rc == CLI_OK && ts.spec.eval)
                rc = kir_program(st, "eval", ts.eval.prog, ts.eval.kernels);
        }
        train_stage_free(&ts);
    }
    cli_rest_free(&rest);
    seg_program_free(prog);
    seg_diag_free(d);
    return rc;
}

/* A net's inference forward, as `segc run` lowers it. */
static int kir_net(kir_state *st, const cli_opts *o)
{
    cli_net n;
    int rc = cli_net_load(o, 0, &n);
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 1, .compile = 1, .host = st->jit};
    pipeline_result pr;
    if (rc == CLI_OK && (rc = cli_pipeline(n.graph, &po, &pr, NULL)) == CLI_OK) {
        rc = kir_program(st, "forward", pr.prog, pr.kernels);
        pipeline_result_free(&pr);
    }
    cli_net_free(&n);
    return rc;
}

int cli_kir_print(rt_jit *jit, const char *what, const rt_program *p, const jit_program *jp)
{
    kir_state st = {.jit = jit};
    int rc = kir_program(&st, what, p, jp);
    for (int i = 0; i < st.n_texts; i++)
        seg_free(st.texts[i]);
    seg_free(st.texts);
    seg_free(st.first);
    return rc;
}

int cli_cmd_kir(const cli_opts *o)
{
    if (o->stage && o->net) {
        cli_error("kir: --net and --stage exclude each other");
        return CLI_USAGE;
    }
    if (o->schedule && !o->stage) {
        cli_error("kir: --schedule needs --stage NAME");
        return CLI_USAGE;
    }
    if (o->emit_llvm && mkdir(o->emit_llvm, 0755) != 0 && errno != EEXIST) {
        cli_error("cannot create %s: %s", o->emit_llvm, strerror(errno));
        return CLI_RUNTIME;
    }
    rt_error err = {{0}};
    kir_state st = {.emit_dir = o->emit_llvm};
    if (!(st.jit = rt_jit_new(&err))) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    printf("target: %s, %d-lane f32 vectors\n", rt_jit_cpu(st.jit), rt_jit_vector_width(st.jit));
    int rc = o->stage ? kir_stage(&st, o) : kir_net(&st, o);
    if (rc == CLI_OK && st.emit_dir)
        printf("wrote %d LLVM IR file%s to %s\n", st.emitted, st.emitted == 1 ? "" : "s",
               st.emit_dir);
    for (int i = 0; i < st.n_texts; i++)
        seg_free(st.texts[i]);
    seg_free(st.texts);
    seg_free(st.first);
    rt_jit_free(st.jit);
    fflush(stdout);
    return rc;
}

/* -------------------------------------------------------------- cache */

static void cache_size(int64_t bytes, char *buf, size_t n)
{
    if (bytes < 1024)
        snprintf(buf, n, "%lld B", (long long)bytes);
    else if (bytes < 1024 * 1024)
        snprintf(buf, n, "%.1f KiB", (double)bytes / 1024.0);
    else
        snprintf(buf, n, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

int cli_cmd_cache(const cli_opts *o)
{
    const char *action = o->files[0];
    int clear = !strcmp(action, "clear");
    if (!clear && strcmp(action, "stats") != 0) {
        fprintf(stderr, "segc cache: unknown action '%s' (stats or clear)\n"
                        "run 'segc help cache' for its options\n", action);
        return CLI_USAGE;
    }
    rt_jit_cache_info s;
    rt_error err = {{0}};
    int rc = clear ? rt_jit_cache_clear(&s, &err) : rt_jit_cache_stats(&s, &err);
    if (rc) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    char size[32];
    cache_size(s.bytes, size, sizeof size);
    if (clear)
        printf("removed %ld entr%s (%lld bytes, %s) from %s\n", s.entries,
               s.entries == 1 ? "y" : "ies", (long long)s.bytes, size, s.dir);
    else
        printf("directory: %s\nentries: %ld\nbytes: %lld (%s)\n", s.dir, s.entries,
               (long long)s.bytes, size);
    if (!clear && s.refused[0])
        printf("refused: %s\n", s.refused);
    return CLI_OK;
}
