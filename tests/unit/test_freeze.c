/* test_freeze.c — freeze pruning on the real Boosting U-Net schedule
 * (models/boosting_unet3d.seg, schedule "boosting"; run from the repo root).
 *
 * Stage grow2 grows the 3-level net of grow1 to 4 levels and freezes
 * everything grow1 trained. Differentiating its loss must give:
 *   - no gradient (param_grad -1) for every parameter grow1 trained, and a
 *     gradient for every one grow2 trains (level.4.encoder, level.3.decoder);
 *   - convolution backward ops worked out by hand from the architecture:
 *       level 1-3 encoders (frozen, nothing trainable feeds them): none;
 *       level.4.encoder.conv0 (trainable, input = maxpool of a frozen
 *         encoder): weight gradient only; conv1: weight + data;
 *       level.3.decoder conv0, conv1 (new, trainable; conv0's input holds
 *         the upsampled level-4 output): weight + data each;
 *       level.2/1 decoders and head (frozen, between the trainable params and
 *         the loss): data gradient only, 5 convs;
 *     so 2 + 2 = 4 conv_bwd_weight and 1 + 2 + 5 = 8 conv_bwd_data nodes;
 *   - every conv_bwd_weight node is the gradient of a trainable weight;
 *   - with every parameter unfrozen: 15 conv_bwd_weight (all convs) and
 *     14 conv_bwd_data (all but the first, whose input is the image), and
 *     strictly more backward nodes than the frozen graph.
 * Only graphs are built (64^3 shapes cost nothing: nothing runs).
 */
#include "../../lang/lang.h"
#include "../../lang/lang.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define MODEL "models/boosting_unet3d.seg"

/* A stage graph with its backward pass appended. */
typedef struct diffed {
    ir_graph *g;
    int n_fwd;
    ir_id *param_grad; /* n_fwd entries */
} diffed;

typedef struct fixture {
    FILE *mem;
    char *text;
    size_t len;
    seg_diag *d;
    seg_program *p;
    const seg_schedule *s;
} fixture;

static int fixture_load(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->mem = open_memstream(&f->text, &f->len);
    f->d = seg_diag_new(f->mem);
    f->p = seg_load(MODEL, f->d);
    f->s = f->p ? seg_program_schedule(f->p, "boosting") : NULL;
    fflush(f->mem);
    if (!f->s || f->s->n_stages != 2)
        test_fail_at(__FILE__, __LINE__, "cannot load %s (run from the repo root): %s", MODEL,
                     f->text ? f->text : "");
    return f->s && f->s->n_stages == 2 ? 0 : -1;
}

static void fixture_free(fixture *f)
{
    if (f->p)
        seg_program_free(f->p);
    seg_diag_free(f->d);
    fclose(f->mem);
    free(f->text);
}

static ir_id find_output(const ir_graph *g, const char *name)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0)
            return g->outputs[i].id;
    return -1;
}

static ir_id find_param(const ir_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_PARAM && strcmp(g->nodes[i].name, name) == 0)
            return i;
    return -1;
}

/* Copy the stage graph (optionally unfreezing every param) and
 * differentiate its loss. */
static int diff_stage(const ir_graph *stage, int unfreeze, diffed *df)
{
    char err[256] = "";
    memset(df, 0, sizeof *df);
    df->g = ir_expand_grads(stage, NULL, err, sizeof err);
    if (!df->g) {
        test_fail_at(__FILE__, __LINE__, "ir_expand_grads: %s", err);
        return -1;
    }
    for (int i = 0; unfreeze && i < df->g->n_nodes; i++)
        if (df->g->nodes[i].op == OP_PARAM && !df->g->nodes[i].param->is_buffer)
            df->g->nodes[i].param->frozen = 0;
    df->n_fwd = df->g->n_nodes;
    df->param_grad = seg_xcalloc((size_t)df->n_fwd, sizeof *df->param_grad);
    ir_id loss = find_output(df->g, "loss");
    CHECK(loss >= 0);
    if (loss < 0 || ir_autodiff(df->g, loss, df->param_grad, NULL, err, sizeof err)) {
        test_fail_at(__FILE__, __LINE__, "ir_autodiff: %s", err);
        return -1;
    }
    return 0;
}

static void diffed_free(diffed *df)
{
    if (df->g)
        ir_graph_free(df->g);
    seg_free(df->param_grad);
}

static int count_op(const diffed *df, rt_op op)
{
    int n = 0;
    for (int i = df->n_fwd; i < df->g->n_nodes; i++)
        n += df->g->nodes[i].op == op;
    return n;
}

/* Backward nodes that read the weight named `name` as their input k. */
static int readers_of(const diffed *df, const char *name)
{
    ir_id w = find_param(df->g, name);
    int n = 0;
    for (int i = df->n_fwd; i < df->g->n_nodes && w >= 0; i++)
        for (int k = 0; k < df->g->nodes[i].n_in; k++)
            n += df->g->nodes[i].in[k] == w;
    return n;
}

/* Every stage-0 name present in stage 1 gets no gradient; every stage-1
 * trainable param gets one. */
static void check_param_grads(const seg_schedule *s, const diffed *df)
{
    const seg_stage *a = &s->stages[0], *b = &s->stages[1];
    CHECK_INT(a->n_trainable, 22); /* 3-level net: 10 convs + head, weight + bias */
    CHECK_INT(b->n_trainable, 8);  /* level.4.encoder + level.3.decoder */
    int inherited = 0;
    for (int i = 0; i < a->n_trainable; i++) {
        ir_id p = find_param(df->g, a->trainable[i]);
        if (p < 0)
            continue;
        inherited++;
        CHECK(df->g->nodes[p].param->frozen);
        if (df->param_grad[p] != -1)
            test_fail_at(__FILE__, __LINE__, "%s (trained by grow1) has a gradient",
                         a->trainable[i]);
    }
    CHECK_INT(inherited, 22);
    for (int i = 0; i < b->n_trainable; i++) {
        ir_id p = find_param(df->g, b->trainable[i]);
        CHECK(p >= 0 && df->param_grad[p] >= 0);
    }
}

/* Each conv_bwd_weight node is the gradient of a trainable weight. */
static void check_weight_grads(const diffed *df)
{
    for (int i = df->n_fwd; i < df->g->n_nodes; i++) {
        if (df->g->nodes[i].op != OP_CONV_BWD_WEIGHT)
            continue;
        int owner = 0;
        for (int p = 0; p < df->n_fwd; p++)
            owner |= df->param_grad[p] == i && !df->g->nodes[p].param->frozen;
        if (!owner)
            test_fail_at(__FILE__, __LINE__, "conv_bwd_weight %%%d is no trainable weight's "
                         "gradient", i);
    }
}

static void check_conv_backward(const diffed *df)
{
    CHECK_INT(count_op(df, OP_CONV_BWD_WEIGHT), 4);
    CHECK_INT(count_op(df, OP_CONV_BWD_DATA), 8);
    check_weight_grads(df);
    static const char *const none[] = {
        "level.1.encoder.conv0.weight", "level.1.encoder.conv1.weight",
        "level.2.encoder.conv0.weight", "level.2.encoder.conv1.weight",
        "level.3.encoder.conv0.weight", "level.3.encoder.conv1.weight",
        "level.4.encoder.conv0.weight", /* weight gradient only: it reads x, not w */
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        if (readers_of(df, none[i]) != 0)
            test_fail_at(__FILE__, __LINE__, "a backward node reads %s", none[i]);
    static const char *const data[] = {
        "level.4.encoder.conv1.weight", "level.3.decoder.conv0.weight",
        "level.3.decoder.conv1.weight", "level.2.decoder.conv0.weight",
        "level.2.decoder.conv1.weight", "level.1.decoder.conv0.weight",
        "level.1.decoder.conv1.weight", "head.conv0.weight",
    };
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
        if (readers_of(df, data[i]) != 1)
            test_fail_at(__FILE__, __LINE__, "%s: %d backward readers, expected 1 (its data "
                         "gradient)", data[i], readers_of(df, data[i]));
}

TEST(freeze_boosting_grow2)
{
    long live = seg_alloc_live();
    fixture f;
    if (fixture_load(&f) == 0) {
        ir_graph *g = seg_stage_graph(f.p, f.s, 1, 1, f.d);
        CHECK(g != NULL);
        diffed fr = {0}, un = {0};
        if (g && diff_stage(g, 0, &fr) == 0 && diff_stage(g, 1, &un) == 0) {
            check_param_grads(f.s, &fr);
            check_conv_backward(&fr);
            CHECK_INT(count_op(&un, OP_CONV_BWD_WEIGHT), 15);
            CHECK_INT(count_op(&un, OP_CONV_BWD_DATA), 14);
            CHECK_INT(fr.n_fwd, un.n_fwd);
            CHECK(fr.g->n_nodes - fr.n_fwd < un.g->n_nodes - un.n_fwd);
        }
        diffed_free(&fr);
        diffed_free(&un);
        if (g)
            ir_graph_free(g);
    }
    fixture_free(&f);
    CHECK_INT(seg_alloc_live(), live);
}

/* grow1 freezes nothing: its backward is the unfrozen one. */
TEST(freeze_boosting_grow1_nothing_frozen)
{
    fixture f;
    if (fixture_load(&f) == 0) {
        ir_graph *g = seg_stage_graph(f.p, f.s, 0, 1, f.d);
        CHECK(g != NULL);
        diffed fr = {0}, un = {0};
        if (g && diff_stage(g, 0, &fr) == 0 && diff_stage(g, 1, &un) == 0) {
            CHECK_INT(count_op(&fr, OP_CONV_BWD_WEIGHT), 11);
            CHECK_INT(count_op(&fr, OP_CONV_BWD_DATA), 10);
            CHECK_INT(fr.g->n_nodes, un.g->n_nodes);
        }
        diffed_free(&fr);
        diffed_free(&un);
        if (g)
            ir_graph_free(g);
    }
    fixture_free(&f);
}
