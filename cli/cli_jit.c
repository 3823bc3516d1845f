/* cli_jit.c — `segc kir` (what the JIT makes of a program) and `segc
 * cache` (the on-disk object cache of runtime/jit.c).
 *
 * kir. The program (a net's inference forward, or with --stage a training
 * stage's train and eval programs, lowered and memory-planned as `segc run`
 * and `segc train` lower them) goes through jit_program_build, the very
 * build those commands do, so which instructions get a kernel and which
 * ReLUs are fused is the JIT's own answer, not a guess. The kernel IR of
 * each kernel is rebuilt here with jitprog.c's own jit_conv_kir (a pure
 * function of the instruction's types, so it is the text that keys the
 * cache) and checked against the built kernel's sizes; the reason printed
 * for a conv left on the reference interpreter is jit_conv_kir's.
 * Output per instruction:
 *     #3 unet.seg:12:9: conv -> JIT kernel conv_fwd_<hash> (direct, ...)
 *         kernel conv_fwd ... (kir_print, first use of a kernel only)
 *     #4 unet.seg:12:4: relu -> fused into #3's kernel epilogue
 *     #5 unet.seg:14:7: max_pool -> interpreter: no JIT kernel for this op
 * --emit-llvm DIR writes each distinct kernel's module (cg_conv_module) as
 * DIR/<name>.ll before optimisation and DIR/<name>.opt.ll after the JIT's
 * own pipeline (rt_jit_emit: default<O3> for the host target).
 *
 * cache. `stats` counts segc's entries in the cache folder; `clear`
 * deletes them (other files are left alone). Hits and misses are counted
 * per process only, so `segc run` reports them ("N from the cache"), not
 * this command.
 */
#include "cli.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>

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

static int kir_print_module(LLVMModuleRef m, const char *dir, const char *name, const char *ext)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    char *msg = NULL;
    if (LLVMPrintModuleToFile(m, path, &msg)) {
        cli_error("cannot write %s: %s", path, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

/* DIR/name.ll (as generated) and DIR/name.opt.ll (after the JIT's passes). */
static int kir_emit(kir_state *st, const kir_kernel *kk, const char *name)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = cg_conv_module(kk, ctx, name);
    int rc = kir_print_module(m, st->emit_dir, name, ".ll");
    char *msg = NULL;
    if (rc == CLI_OK && LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        cli_error("kernel %s: invalid module: %s", name, msg ? msg : "?");
        rc = CLI_RUNTIME;
    }
    LLVMDisposeMessage(msg);
    if (rc == CLI_OK) {
        void *obj = NULL;
        size_t len = 0;
        rt_error err = {{0}};
        if (rt_jit_emit(st->jit, m, &obj, &len, &err)) {
            cli_error("kernel %s: %s", name, err.msg);
            rc = CLI_RUNTIME;
        }
        seg_free(obj);
    }
    if (rc == CLI_OK)
        rc = kir_print_module(m, st->emit_dir, name, ".opt.ll");
    if (rc == CLI_OK)
        st->emitted += 2;
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    return rc;
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

/* One instruction with a JIT kernel. */
static int kir_kernel_line(kir_state *st, const rt_program *p, int i, const rt_conv_kernel *rk)
{
    const rt_instr *ins = &p->instrs[i];
    printf("#%d %s -> ", i, kir_where(ins));
    kir_kernel kk;
    char msg[256];
    unsigned epi = (rk->relu_out >= 0 || ins->attrs.relu) && !rk->residual ? KIR_EPI_RELU : 0u;
    const char *why = ins->op == OP_CONV
                          ? jit_conv_kir(p, ins, epi, rt_jit_vector_width(st->jit), &kk, msg, sizeof msg)
                          : "segc kir shows the IR of forward convolutions only";
    if (!why && (kir_conv_tasks(&kk.conv) != rk->tasks || kk.conv.ib != rk->ib ||
                 kk.conv.vl != rk->vl))
        why = "the built kernel differs";
    if (why) {
        printf("JIT kernel (%s)\n", why);
        return CLI_OK;
    }
    seg_buf text = {0};
    kir_print(&kk, &text);
    char name[64];
    kir_name("conv_fwd", text.data, name, sizeof name);
    int seen = kir_intern(st, text.data, i);
    const kir_conv *c = &kk.conv;
    printf("JIT kernel %s (direct convolution, x %s, register tile %d x %d, %d input "
           "block%s per pass)", name, c->ib == 1 ? "plain NCDHW" : "blocked",
           c->rc, c->rw, c->ic_chunk, c->ic_chunk == 1 ? "" : "s");
    if (rk->residual)
        printf(", residual%s added as y is copied out", rk->relu_copy ? " and ReLU" : "");
    if (seen >= 0)
        printf(", as #%d\n", seen);
    else
        printf("\n");
    int rc = seen < 0 ? kir_show(st, &kk, text.data, name) : CLI_OK;
    seg_buf_free(&text);
    return rc;
}

/* A fused group (OP_FUSED): its member ops, and its kernel or why not. */
static int kir_fused_line(kir_state *st, const rt_program *p, int i, int jit)
{
    const rt_instr *ins = &p->instrs[i];
    const rt_fused *f = ins->attrs.fused;
    printf("#%d %s -> ", i, kir_where(ins));
    rt_type in[KIR_ELT_MAX_IN];
    for (int k = 0; k < ins->n_in && k < KIR_ELT_MAX_IN; k++)
        in[k] = p->values[ins->in[k]].type;
    kir_kernel kk;
    char msg[160] = "too many inputs";
    if (!jit || ins->n_in > KIR_ELT_MAX_IN ||
        kir_eltwise_init(&kk, f, in, ins->n_in, &p->values[ins->out].type,
                         rt_jit_vector_width(st->jit), msg, sizeof msg)) {
        printf("interpreter: fused group of %d ops (%s)\n", f->n_nodes, msg);
        return CLI_OK;
    }
    seg_buf text = {0};
    kir_print(&kk, &text);
    char name[64];
    kir_name("eltwise", text.data, name, sizeof name);
    int seen = kir_intern(st, text.data, i);
    printf("JIT kernel %s (fused group:", name);
    for (int k = 0; k < f->n_nodes; k++)
        printf(" %s", rt_op_table[f->nodes[k].op].name);
    printf(")%s", seen >= 0 ? "" : "\n");
    if (seen >= 0)
        printf(", as #%d\n", seen);
    int rc = seen < 0 ? kir_show(st, &kk, text.data, name) : CLI_OK;
    seg_buf_free(&text);
    return rc;
}

/* Why instruction i runs on the interpreter. */
static void kir_interp_line(const kir_state *st, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    printf("#%d %s -> interpreter: ", i, kir_where(ins));
    if (ins->op == OP_RELU && i > 0 && p->instrs[i - 1].op == OP_CONV && ins->n_in == 1 &&
        ins->in[0] == p->instrs[i - 1].out) {
        printf("ReLU not fused (the conv's result has other readers)\n");
        return;
    }
    if (ins->op != OP_CONV) {
        printf("no JIT kernel for this op\n");
        return;
    }
    kir_kernel kk;
    char msg[256];
    const char *why = jit_conv_kir(p, ins, 0, rt_jit_vector_width(st->jit), &kk, msg, sizeof msg);
    printf("%s\n", why ? why : "the JIT declined it");
}

static int kir_program(kir_state *st, const char *what, const rt_program *p)
{
    rt_error err = {{0}};
    jit_program *jp = jit_program_build(p, st->jit, &err);
    if (!jp) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    const jit_program_stats *s = jit_program_stats_of(jp);
    printf("program %s: %d of %d convolutions on JIT kernels (%d distinct), %d ReLU%s fused, "
           "%d instructions\n", what, s->kernels, s->convs, s->distinct, s->fused_relus,
           s->fused_relus == 1 ? "" : "s", p->n_instrs);
    const rt_kernel_table *t = jit_program_table(jp);
    int rc = CLI_OK;
    for (int i = 0; i < p->n_instrs && rc == CLI_OK; i++) {
        if (t->kernel[i])
            rc = kir_kernel_line(st, p, i, t->kernel[i]);
        else if (t->fused[i])
            printf("#%d %s -> fused into #%d's kernel epilogue\n", i, kir_where(&p->instrs[i]),
                   i > 0 ? i - 1 : 0);
        else if (p->instrs[i].op == OP_FUSED)
            rc = kir_fused_line(st, p, i, t->eltwise[i] != NULL);
        else if (t->fast[i])
            printf("#%d %s -> fast runtime kernel\n", i, kir_where(&p->instrs[i]));
        else
            kir_interp_line(st, p, i);
    }
    jit_program_free(jp);
    return rc;
}


/* --stage: the stage's train and eval programs. */
static int kir_stage(kir_state *st, const cli_opts *o)
{
    seg_diag *d = seg_diag_new(stderr);
    seg_program *prog = seg_load(o->files[0], d);
    int rc = CLI_BAD_PROGRAM;
    const seg_schedule *s = prog ? cli_pick_schedule(o, prog) : NULL;
    int k = -1;
    for (int i = 0; s && i < s->n_stages; i++)
        if (!strcmp(s->stages[i].name, o->stage))
            k = i;
    if (s && k < 0) {
        cli_error("schedule '%s' has no stage '%s'", s->name, o->stage);
        rc = CLI_USAGE;
    } else if (s) {
        train_stage ts = {.arena = seg_arena_new(), .fuse = 1};
        rt_error err = {{0}};
        if (train_build_stage(prog, s, k, d, &ts, &err)) {
            cli_error("%s", err.msg);
        } else {
            rc = kir_program(st, "train", ts.spec.train);
            if (rc == CLI_OK && ts.spec.eval)
                rc = kir_program(st, "eval", ts.spec.eval);
        }
        train_stage_free(&ts);
    }
    seg_program_free(prog);
    seg_diag_free(d);
    return rc;
}

/* A net's inference forward, as `segc run` lowers it. */
static int kir_net(kir_state *st, const cli_opts *o)
{
    cli_net n;
    int rc = cli_net_load(o, 0, &n);
    if (rc == CLI_OK) {
        rt_program *p = fuse_finish(ir_lower(n.graph), 1, NULL);
        rc = kir_program(st, "forward", p);
        rt_program_free(p);
    }
    cli_net_free(&n);
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
    if (o->stage && o->n_settings > (o->default_b ? 1 : 0)) {
        cli_error("kir: --set applies to nets; a stage takes its sizes from the schedule");
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
    return CLI_OK;
}
