/* repl_train.c — experiments at the prompt: :train runs steps of a
 * schedule's stage on the session's parameters, :plan says what a step
 * costs, :set changes the stage for the next run.
 *
 * The stage is built as `segc train` builds it (train_build_stage: the
 * training step and evaluation programs through compiler/pipeline.c,
 * train_settings), once per program generation: a redefinition, or a :set
 * that edits the schedule, rebuilds it (the step count goes on, the
 * optimizer's state starts afresh: the trainable set may have changed). Its data sets are loaded on the
 * first :train of a schedule and kept. The training step lives in an
 * rt_trainer between runs, so the optimizer's state and the step count
 * (the learning-rate schedule, sampling and augmentation continue from
 * it) carry over; the parameters go to and from the session's store by
 * name, so what :train trains is what the prompt applies, and the other
 * way round. There is no validation and no run folder: :save keeps the
 * parameters.
 *
 * Ctrl-C during :train stops after the step in progress; the store then
 * holds the parameters as of the last finished step.
 *
 * :set KEY = VALUE. Numbers the run takes (lr: the optimizer's base
 * learning rate; steps: the default length of :train; seed) are kept
 * as overrides. Any other KEY is a stage item (loss, freeze, train,
 * optimizer, batch, lr with a schedule call, ...): the schedule's text is
 * edited (seg_schedule_edit) and defined again, so sema checks it like
 * any definition, and `none` removes the item.
 */
#include "repl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- stage */

static void stage_programs_free(repl_stage *st)
{
    rt_trainer_free(st->trainer);
    st->trainer = NULL;
    if (st->built)
        train_stage_free(&st->ts);
    st->built = 0;
}

static void stage_data_free(repl_stage *st)
{
    for (int i = 0; i < st->n_data; i++)
        rt_dataset_free(&st->data[i]);
    seg_free(st->data);
    seg_free(st->data_sched);
    st->data = NULL;
    st->data_sched = NULL;
    st->n_data = 0;
}

void repl_stage_drop_programs(repl *r) { stage_programs_free(&r->st); }

void repl_stage_free(repl *r)
{
    stage_programs_free(&r->st);
    stage_data_free(&r->st);
    seg_free(r->st.sched);
    seg_free(r->st.stage);
    memset(&r->st, 0, sizeof r->st);
    r->st.lr = NAN;
}

static const seg_schedule *current(repl *r, int *k)
{
    const seg_schedule *s = r->st.sched ? seg_program_schedule(r->prog, r->st.sched) : NULL;
    for (int i = 0; s && i < s->n_stages; i++)
        if (!strcmp(s->stages[i].name, r->st.stage)) {
            *k = i;
            return s;
        }
    return NULL;
}

/* Make SCHED.STAGE (a word of args) the current stage; NULL args: keep. */
static int choose(repl *r, const char *word, size_t n)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)n, word);
    char *dot = strchr(buf, '.');
    if (!dot) {
        repl_error(r, "name a stage as SCHEDULE.STAGE, not '%s'", buf);
        return -1;
    }
    *dot = 0;
    const seg_schedule *s = seg_program_schedule(r->prog, buf);
    int k = -1;
    for (int i = 0; s && i < s->n_stages; i++)
        if (!strcmp(s->stages[i].name, dot + 1))
            k = i;
    if (k < 0) {
        repl_error(r, s ? "schedule '%s' has no stage '%s'" : "there is no schedule '%s'%.0s", buf,
                   dot + 1);
        return -1;
    }
    if (!r->st.sched || strcmp(r->st.sched, buf) || strcmp(r->st.stage, dot + 1)) {
        stage_programs_free(&r->st);
        seg_free(r->st.sched);
        seg_free(r->st.stage);
        r->st.sched = seg_xstrdup(buf);
        r->st.stage = seg_xstrdup(dot + 1);
        r->st.steps_done = 0;
    }
    return 0;
}

/* args' first word when it names a stage (has a dot, before any '='). */
static size_t stage_word(const char *args)
{
    size_t n = strcspn(args, " \t=");
    return memchr(args, '.', n) && args[strspn(args + n, " \t") + n] != '=' ? n : 0;
}

static int need_stage(repl *r)
{
    int k;
    if (r->st.sched && current(r, &k))
        return 0;
    repl_error(r, r->st.sched ? "stage %s.%s is gone from the session"
                              : "no stage yet: name one, as :train SCHEDULE.STAGE%s%s",
               r->st.sched ? r->st.sched : "", r->st.stage ? r->st.stage : "");
    return -1;
}

int repl_stage_frozen(repl *r, const char *name)
{
    int k;
    const seg_schedule *s = current(r, &k);
    if (!s)
        return -1;
    const seg_stage *sg = &s->stages[k];
    for (int i = 0; i < sg->n_trainable; i++)
        if (!strcmp(sg->trainable[i], name))
            return 0;
    for (int i = 0; i < sg->n_frozen; i++)
        if (!strcmp(sg->frozen[i], name))
            return 1;
    return -1;
}

/* ----------------------------------------------------------------- data */

static void sv_key(const seg_sv *v, seg_buf *b);

static void call_key(const seg_scall *c, seg_buf *b)
{
    seg_buf_printf(b, "%s(", c->name);
    for (int i = 0; i < c->n; i++) {
        seg_buf_printf(b, "%s=", c->keys[i]);
        sv_key(&c->args[i], b);
        seg_buf_printf(b, ",");
    }
    seg_buf_printf(b, ")");
}

static void sv_key(const seg_sv *v, seg_buf *b)
{
    switch (v->kind) {
    case SEG_SV_INT: case SEG_SV_BOOL: seg_buf_printf(b, "%lld", (long long)v->i); break;
    case SEG_SV_FLOAT: seg_buf_printf(b, "%.17g", v->f); break;
    case SEG_SV_STRING: case SEG_SV_STREAM: seg_buf_printf(b, "\"%s\"", v->s); break;
    case SEG_SV_CALL: call_key(v->call, b); break;
    case SEG_SV_LIST:
        seg_buf_printf(b, "[");
        for (int i = 0; i < v->n_items; i++)
            sv_key(&v->items[i], b), seg_buf_printf(b, ",");
        seg_buf_printf(b, "]");
        break;
    default: seg_buf_printf(b, "-");
    }
}

/* What the schedule's data sets are made of: sources and preprocessing.
 * They are loaded again only when this changes. */
static char *data_key(const seg_schedule *s)
{
    seg_buf b = {0};
    seg_buf_printf(&b, "%s:", s->name);
    for (int i = 0; i < s->n_data; i++) {
        seg_buf_printf(&b, "%s=", s->data[i].name);
        call_key(s->data[i].source, &b);
    }
    for (int i = 0; i < s->n_preprocess; i++)
        call_key(s->preprocess[i], &b);
    return b.data;
}

static int load_data(repl *r, const seg_schedule *s)
{
    repl_stage *st = &r->st;
    char *key = data_key(s);
    if (st->data_sched && !strcmp(st->data_sched, key)) {
        seg_free(key);
        return 0;
    }
    stage_data_free(st);
    st->data = seg_xcalloc((size_t)(s->n_data + 1), sizeof *st->data);
    st->n_data = s->n_data;
    double t0 = seg_seconds();
    rt_error err = {{0}};
    printf("data of %s:", s->name);
    for (int i = 0; i < s->n_data; i++) {
        if (train_load_data(s, i, &st->data[i], &err)) {
            printf("\n");
            repl_error(r, "%s", err.msg);
            stage_data_free(st);
            seg_free(key);
            return -1;
        }
        printf(" %s %d case%s%s", s->data[i].name, st->data[i].n, st->data[i].n == 1 ? "" : "s",
               i + 1 < s->n_data ? "," : "");
    }
    printf(" (%.1f s)\n", seg_seconds() - t0);
    st->data_sched = key;
    return 0;
}

/* The stage's programs and settings, for this program generation. */
static int build(repl *r)
{
    repl_stage *st = &r->st;
    int k;
    const seg_schedule *s = current(r, &k);
    if (st->built && st->gen == r->gen)
        return 0;
    stage_programs_free(st);
    if (load_data(r, s))
        return -1;
    st->ts = (train_stage){.arena = seg_arena_new(), .jit_on = r->jit, .runs = 1,
                           .threads = r->threads};
    st->built = 1;
    st->gen = r->gen;
    rt_error err = {{0}};
    seg_diag_reset(r->diag);
    rt_stage_spec *sp = &st->ts.spec;
    int rc = train_build_stage(r->prog, s, k, r->diag, &st->ts, &err);
    for (int i = 0; rc == 0 && i < s->stages[k].n_streams; i++)
        sp->streams[i].ds = &st->data[s->stages[k].streams[i]];
    /* the schedule's own `seed` stands unless :set seed or --seed says otherwise */
    train_overrides ov = {0, 0, st->seed_set ? st->seed : r->seed, st->seed_set || r->seed_given,
                          r->threads};
    if (rc == 0)
        rc = train_settings(s, k, &ov, sp, &err);
    if (rc) {
        repl_error(r, "%s", err.msg);
        stage_programs_free(st);
        return -1;
    }
    sp->val = NULL; /* no validation at the prompt */
    return 0;
}

/* The :set lr override into the built spec (the trainer reads it per step). */
static void apply_lr(repl *r)
{
    if (r->st.built && !isnan(r->st.lr))
        r->st.ts.spec.optim.lr = r->st.ts.spec.lr.base = r->st.lr;
}

/* ----------------------------------------------------------------- train */

typedef struct run_stats {
    int done;
    double first, last, sum;
    double t0;
} run_stats;

static void progress(repl *r, const run_stats *rs, int n, double loss)
{
    if (!r->tty)
        return;
    int width = 20, fill = width * rs->done / (n ? n : 1);
    char bar[24];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    double per = (seg_seconds() - rs->t0) / (rs->done ? rs->done : 1);
    printf("\r\033[K%.16s.%.16s [%s] %d/%d loss %.4f %.2fs/step", r->st.sched, r->st.stage, bar,
           rs->done, n, loss, per);
    fflush(stdout);
}

static int steps_arg(repl *r, const char *args, int *n)
{
    const char *p = strstr(args, "steps");
    if (!p) {
        *n = r->st.steps > 0 ? r->st.steps : r->st.ts.spec.steps_per_epoch;
        return 0;
    }
    char *end;
    long v = strtol(p + strspn(p + 5, " \t=") + 5, &end, 10);
    if (v < 1 || v > 10000000 || (*end && *end != ' ')) {
        repl_error(r, ":train takes steps=N with N a positive count");
        return -1;
    }
    *n = (int)v;
    return 0;
}

/* New parameters the trainer makes (the store lacks them). */
static int count_fresh(repl *r)
{
    const rt_program *p = r->st.ts.spec.train;
    int fresh = 0;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        const rt_tensor *t = (v->kind == RT_VAL_PARAM || v->kind == RT_VAL_BUFFER)
                                 ? rt_store_get(r->params, v->name) : NULL;
        fresh += (v->kind == RT_VAL_PARAM || v->kind == RT_VAL_BUFFER) &&
                 !(t && rt_type_equal(&t->type, &v->type));
    }
    return fresh;
}

static int run_steps(repl *r, int n, run_stats *rs)
{
    rt_error err = {{0}};
    repl_stage *st = &r->st;
    int rc = 0;
    r->interrupted = 0;
    repl_catch_interrupt(r, 1);
    rs->t0 = seg_seconds();
    for (; rs->done < n && !r->interrupted; rs->done++) {
        double loss;
        if ((rc = rt_trainer_step(st->trainer, &loss, &err)) != 0)
            break;
        rs->first = rs->done ? rs->first : loss;
        rs->last = loss;
        rs->sum += loss;
        progress(r, &(run_stats){rs->done + 1, 0, 0, 0, rs->t0}, n, loss);
    }
    repl_catch_interrupt(r, 0);
    if (r->tty)
        printf("\r\033[K");
    if (rc)
        repl_error(r, "%s", err.msg);
    return rc;
}

static void report(repl *r, const run_stats *rs, int n, double secs)
{
    uint64_t end = rt_trainer_steps(r->st.trainer);
    printf("%s.%s: %d step%s (%llu to %llu of the stage), loss %.4f -> %.4f (mean %.4f), "
           "%.1f ms/step\n", r->st.sched, r->st.stage, rs->done, rs->done == 1 ? "" : "s",
           (unsigned long long)(end - (uint64_t)rs->done + 1), (unsigned long long)end,
           rs->first, rs->last, rs->done ? rs->sum / rs->done : 0.0,
           rs->done ? 1e3 * secs / rs->done : 0.0);
    if (rs->done < n)
        printf("interrupted after %d of %d steps: the parameters are those after step %llu\n",
               rs->done, n, (unsigned long long)end);
}

int repl_cmd_train(repl *r, const char *args)
{
    size_t w = stage_word(args);
    int n;
    if ((w && choose(r, args, w)) || need_stage(r) || build(r) || steps_arg(r, args + w, &n))
        return -1;
    apply_lr(r);
    repl_stage *st = &r->st;
    rt_error err = {{0}};
    int fresh = count_fresh(r);
    if (!st->trainer) {
        if (!(st->trainer = rt_trainer_new(&st->ts.spec, r->params, &err))) {
            repl_error(r, "%s", err.msg);
            return -1;
        }
        rt_trainer_set_steps(st->trainer, st->steps_done);
    }
    rt_trainer_load(st->trainer, r->params);
    if (fresh)
        printf("note: %d parameter tensor%s the session did not have, initialised with seed "
               "%llu\n", fresh, fresh == 1 ? "" : "s", (unsigned long long)st->ts.spec.seed);
    run_stats rs = {0};
    int rc = run_steps(r, n, &rs);
    if (rs.done > 0) {
        st->steps_done = rt_trainer_steps(st->trainer);
        rt_trainer_save(st->trainer, r->params);
        r->param_gen++;
        report(r, &rs, n, seg_seconds() - rs.t0);
    }
    return rc;
}

/* ------------------------------------------------------------------ plan */

int repl_cmd_plan(repl *r, const char *args)
{
    size_t w = stage_word(args);
    int k;
    if ((w && choose(r, args, w)) || need_stage(r))
        return -1;
    const seg_schedule *s = current(r, &k);
    seg_diag_reset(r->diag);
    ir_graph *g = seg_stage_graph(r->prog, s, k, 1, r->diag);
    if (!g)
        return -1;
    cli_plan_stats ps;
    char err[512];
    int rc = cli_plan_graph_stats(g, &ps, NULL, err, sizeof err);
    ir_graph_free(g);
    if (rc) {
        repl_error(r, "%s", err);
        return -1;
    }
    printf("stage %s.%s, batch %d\n", s->name, s->stages[k].name, s->stages[k].batch);
    cli_plan_print(stdout, &ps);
    return 0;
}

/* ------------------------------------------------------------------- set */

static void show_settings(repl *r)
{
    if (!r->st.sched) {
        printf("no stage yet (:train SCHEDULE.STAGE or :plan SCHEDULE.STAGE names one)\n");
        return;
    }
    printf("stage %s.%s", r->st.sched, r->st.stage);
    if (!isnan(r->st.lr))
        printf(", lr %g", r->st.lr);
    if (r->st.steps)
        printf(", steps %d", r->st.steps);
    if (r->st.seed_set)
        printf(", seed %llu", (unsigned long long)r->st.seed);
    printf("\n");
}

static int set_number(repl *r, const char *key, const char *value)
{
    char *end;
    double v = strtod(value, &end);
    if (!*value || *end || !isfinite(v) || v <= 0 ||
        (strcmp(key, "lr") && v != floor(v))) {
        repl_error(r, ":set %s needs a positive %s, not '%s'", key,
                   strcmp(key, "lr") ? "whole number" : "number", value);
        return -1;
    }
    if (!strcmp(key, "lr"))
        r->st.lr = v;
    else if (!strcmp(key, "steps"))
        r->st.steps = (int)v;
    else {
        r->st.seed = (uint64_t)v;
        r->st.seed_set = 1;
        stage_programs_free(&r->st); /* the seed is part of the settings */
    }
    apply_lr(r);
    printf("%s.%s: %s = %s\n", r->st.sched, r->st.stage, key, value);
    return 0;
}

/* KEY = VALUE as an item of the stage in the schedule's text. */
static int set_item(repl *r, const char *key, const char *value)
{
    const repl_def *d = repl_def_find(r, r->st.sched);
    if (!d || d->kind != SEG_ITEM_SCHEDULE) {
        repl_error(r, "schedule '%s' is not a definition of this session", r->st.sched);
        return -1;
    }
    int remove = !*value || !strcmp(value, "none");
    char err[256];
    char *text = seg_schedule_edit(d->text, r->st.stage, key, remove ? NULL : value, err,
                                   sizeof err);
    if (!text) {
        repl_error(r, "%s.%s: %s", r->st.sched, r->st.stage, err);
        return -1;
    }
    repl_def nd = repl_def_make(SEG_ITEM_SCHEDULE, d->name, d->path, text, d->first_line);
    seg_free(text);
    if (repl_define(r, &nd, 1, 1))
        return -1;
    if (remove)
        printf("%s.%s: %s removed\n", r->st.sched, r->st.stage, key);
    else
        printf("%s.%s: %s %s\n", r->st.sched, r->st.stage, key, value);
    return 0;
}

static int is_call(const char *v)
{
    size_t n = strcspn(v, "(");
    return v[n] == '(' && n > 0;
}

int repl_cmd_set(repl *r, const char *args)
{
    size_t w = stage_word(args);
    if (w && choose(r, args, w))
        return -1;
    const char *rest = args + w + strspn(args + w, " \t");
    if (!*rest) {
        show_settings(r);
        return 0;
    }
    const char *eq = strchr(rest, '=');
    if (!eq) {
        repl_error(r, ":set takes KEY = VALUE");
        return -1;
    }
    char key[64], value[4096];
    snprintf(key, sizeof key, "%.*s", (int)strcspn(rest, " \t="), rest);
    snprintf(value, sizeof value, "%s", eq + 1 + strspn(eq + 1, " \t"));
    if (need_stage(r))
        return -1;
    int number = !strcmp(key, "steps") || !strcmp(key, "seed") ||
                 (!strcmp(key, "lr") && !is_call(value));
    return number ? set_number(r, key, value) : set_item(r, key, value);
}
