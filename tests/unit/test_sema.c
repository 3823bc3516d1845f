/* test_sema.c — semantic analysis: seg_load and seg_elaborate_net on small
 * programs written to temp files. Checks parameter names and counts
 * (the S4 U-Net against PyTorch's count), shapes, compile-time values,
 * schedules and stage graphs, and the diagnostics (captured through
 * open_memstream).
 */
#include "../../lang/lang.h"
#include "../../lang/lang.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A loaded program and what its diagnostics printed. */
typedef struct fx {
    char path[512];
    FILE *mem;
    char *text;
    size_t len;
    seg_diag *d;
    seg_program *p;
} fx;

static void write_file(const char *path, const char *src)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs(src, f);
    fclose(f);
}

static void fx_load(fx *f, const char *name, const char *src)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s/%s", test_tmpdir(), name);
    write_file(f->path, src);
    f->mem = open_memstream(&f->text, &f->len);
    f->d = seg_diag_new(f->mem);
    f->p = seg_load(f->path, f->d);
    fflush(f->mem);
}

static const char *fx_out(fx *f)
{
    fflush(f->mem);
    return f->text ? f->text : "";
}

static void fx_free(fx *f)
{
    seg_program_free(f->p);
    seg_diag_free(f->d);
    fclose(f->mem);
    free(f->text);
}

static ir_graph *fx_net(fx *f, const char *net, const char *settings)
{
    seg_setting set[8];
    char buf[256];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", settings ? settings : "");
    for (char *save = NULL, *kv = strtok_r(buf, " ", &save); kv && n < 8;
         kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        *eq = 0;
        set[n++] = (seg_setting){kv, eq + 1};
    }
    return seg_elaborate_net(f->p, net, set, n, 0, f->d);
}

static const ir_node *node_named(const ir_graph *g, const char *name)
{
    for (int i = 0; g && i < g->n_nodes; i++)
        if (g->nodes[i].name && strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

static const ir_node *output_node(const ir_graph *g, const char *name)
{
    for (int i = 0; g && i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0)
            return &g->nodes[g->outputs[i].id];
    return NULL;
}

#define CHECK_HAS(hay, needle)                                                          \
    do {                                                                                \
        const char *h_ = (hay);                                                         \
        if (!strstr(h_, (needle)))                                                      \
            test_fail_at(__FILE__, __LINE__, "output lacks \"%s\":\n%s", (needle), h_); \
    } while (0)

/* ------------------------------------------------------------- networks */

/* LeeJunHyun's U_Net: conv_block = 2 x (3x3 conv with bias, BN, ReLU),
 * up_conv = x2 nearest upsample, 3x3 conv, BN, ReLU; 1x1 head. */
static const char *UNET2D =
    "block conv_block(x, ch) {\n"
    "    h = relu(batchnorm(conv(x, ch, k = 3, pad = 1)))\n"
    "    return relu(batchnorm(conv(h, ch, k = 3, pad = 1)))\n"
    "}\n"
    "block up_conv(x, ch) {\n"
    "    return relu(batchnorm(conv(upsample(x, 2), ch, k = 3, pad = 1)))\n"
    "}\n"
    "net unet(img_ch = 1, output_ch = 1) {\n"
    "    input x : f32[B, img_ch, 64, 64]\n"
    "    chans = [64, 128, 256, 512, 1024]\n"
    "    h = x\n"
    "    for i in 0..4 {\n"
    "        if i > 0 { h = maxpool(h, 2) }\n"
    "        scope level[i + 1] { e[i] = conv_block(h, chans[i]) }\n"
    "        h = e[i]\n"
    "    }\n"
    "    d = e[4]\n"
    "    for i in 3..0 step -1 {\n"
    "        scope up[i + 1] {\n"
    "            u = up_conv(d, chans[i])\n"
    "            d = conv_block(concat(e[i], u, axis = 1), chans[i])\n"
    "        }\n"
    "    }\n"
    "    output y = conv(d, output_ch, k = 1, name = \"head\")\n"
    "}\n";

TEST(sema_unet2d_param_count)
{
    fx f;
    fx_load(&f, "unet2d.seg", UNET2D);
    CHECK(f.p != NULL);
    ir_graph *g = fx_net(&f, "unet", "B=2");
    CHECK(g != NULL);
    CHECK_INT(ir_param_count(g, 0), 34525889);
    ir_graph_free(g);
    g = fx_net(&f, "unet", "img_ch=3 B=1");
    CHECK_INT(ir_param_count(g, 0), 34527041);
    const ir_node *y = output_node(g, "y");
    CHECK(y && y->type.rank == 4 && y->type.dim[0] == 1 && y->type.dim[1] == 1 &&
          y->type.dim[2] == 64);
    CHECK(node_named(g, "level.5.conv_block.conv1.weight") != NULL);
    CHECK(node_named(g, "up.1.conv_block.batchnorm1.running_var") != NULL);
    CHECK(node_named(g, "head.bias") != NULL);
    ir_graph_free(g);
    CHECK_STR(fx_out(&f), "");
    fx_free(&f);
}

TEST(sema_param_names)
{
    fx f;
    fx_load(&f, "names.seg",
            "block encoder(x, ch) {\n"
            "    h = relu(conv(x, ch, k = 3, pad = 1))\n"
            "    return relu(conv(h, ch, k = 3, pad = 1))\n"
            "}\n"
            "net n() {\n"
            "    input x : f32[1, 1, 8, 8]\n"
            "    scope level[2] {\n"
            "        a = encoder(x, 4)\n"
            "        b = encoder(a, 4)\n"
            "    }\n"
            "    c = encoder(b, 4, name = \"shared\")\n"
            "    d = encoder(c, 4, name = \"shared\")\n"
            "    output y = conv(d, 1, k = 1) + conv(d, 1, k = 1)\n"
            "}\n");
    ir_graph *g = fx_net(&f, "n", NULL);
    CHECK(g != NULL);
    const ir_node *w = node_named(g, "level.2.encoder.conv0.weight");
    CHECK(w && w->param && w->type.dim[0] == 4 && w->type.dim[1] == 1);
    CHECK(w && w->param->init.kind == RT_INIT_UNIFORM);
    CHECK_NEAR(w ? w->param->init.b : 0, 1.0 / 3.0, 1e-6); /* 1/sqrt(1*3*3) */
    CHECK(node_named(g, "level.2.encoder.conv1.bias") != NULL);
    CHECK(node_named(g, "level.2.encoder_1.conv0.weight") != NULL);
    CHECK(node_named(g, "shared.conv1.weight") != NULL);
    CHECK(node_named(g, "shared_1.conv0.weight") == NULL);
    CHECK(node_named(g, "conv0.weight") && node_named(g, "conv1.weight"));
    /* explicit names share: 2 encoders of 2 convs each in level.2, 1 shared, 2 heads */
    int params = 0;
    for (int i = 0; i < g->n_nodes; i++)
        params += g->nodes[i].op == OP_PARAM;
    CHECK_INT(params, 2 * 4 + 4 + 4);
    ir_graph_free(g);
    fx_free(&f);
}

TEST(sema_inits_and_training_flags)
{
    fx f;
    fx_load(&f, "inits.seg",
            "net n() {\n"
            "    input x : f32[2, 4, 8, 8]\n"
            "    h = conv_t(batchnorm(x), 6, groups = 2)\n"
            "    output y = dropout(linear(flatten(h), 3), p = 0.25, seed = 7)\n"
            "    output z = dropout(h, seed = 7)\n"
            "}\n");
    ir_graph *g = seg_elaborate_net(f.p, "n", NULL, 0, 1, f.d);
    CHECK(g != NULL);
    const ir_node *w = node_named(g, "conv_t0.weight");
    CHECK(w && w->type.dim[0] == 4 && w->type.dim[1] == 3 && w->type.dim[2] == 2);
    CHECK_NEAR(w ? w->param->init.b : 0, 1.0 / sqrt(3 * 4), 1e-6);
    const ir_node *rv = node_named(g, "batchnorm0.running_var");
    CHECK(rv && rv->param->is_buffer && rv->param->init.kind == RT_INIT_CONST &&
          rv->param->init.a == 1.0f);
    const ir_node *lw = node_named(g, "linear0.weight");
    CHECK(lw && lw->type.dim[0] == 3 && lw->type.dim[1] == 6 * 16 * 16);
    uint32_t streams[2];
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == OP_BATCHNORM)
            CHECK_INT(g->nodes[i].attrs.training, 1);
        if (g->nodes[i].op == OP_DROPOUT && n < 2) {
            CHECK_INT(g->nodes[i].attrs.seed, 7);
            streams[n++] = g->nodes[i].attrs.stream;
        }
    }
    CHECK(n == 2 && streams[0] != streams[1]);
    const ir_node *y = output_node(g, "y");
    CHECK(y && y->type.rank == 2 && y->type.dim[1] == 3);
    ir_graph_free(g);
    fx_free(&f);
}

TEST(sema_values_and_settings)
{
    fx f;
    fx_load(&f, "values.seg",
            "BASE = 2 ** 3\n"
            "WIDTHS = [BASE, BASE * 2] + [7 / 2, -7 % 3]\n"
            "net n(scale = 1.5, mode = \"nearest\", grow = false) {\n"
            "    input x : f32[B, 3, H, 8]\n"
            "    c = WIDTHS[1] + WIDTHS[2] + WIDTHS[-1] + len(WIDTHS) + int(scale * 2)\n"
            "    if grow { c = c * 2 }\n"
            "    h = conv(x, c, k = 3, pad = \"same\")\n"
            "    s = shape(h)\n"
            "    output y = upsample(h, 2, mode = mode) * s[1] - 1\n"
            "}\n");
    CHECK(f.p != NULL);
    ir_graph *g = fx_net(&f, "n", "B=2 H=4 grow=true mode=bilinear");
    const ir_node *y = output_node(g, "y");
    /* c = 16 + 3 + 2 + 4 + 3 = 28, doubled */
    CHECK(y && y->type.dim[0] == 2 && y->type.dim[1] == 56 && y->type.dim[2] == 8 &&
          y->type.dim[3] == 16);
    ir_graph_free(g);
    CHECK_HAS(fx_out(&f), "integer division 7 / 2 is 3");
    g = fx_net(&f, "n", "B=1 H=4 scal=2");
    CHECK(g == NULL);
    CHECK_HAS(fx_out(&f), "error: net 'n' has no parameter 'scal'");
    CHECK_HAS(fx_out(&f), "did you mean 'scale'?");
    g = fx_net(&f, "n", "B=1");
    CHECK(g == NULL);
    CHECK_HAS(fx_out(&f), "symbolic dimension 'H' is not bound (use --set H=N)");
    fx_free(&f);
}

TEST(sema_tensor_arithmetic)
{
    fx f;
    fx_load(&f, "arith.seg",
            "net n() {\n"
            "    input x : f32[2, 1, 4, 4]\n"
            "    input lab : i32[2, 1, 4, 4]\n"
            "    m = x > 0.5\n"
            "    output y = -(lab * 1.0) + 2 * x / (1.0 + m)\n"
            "    output s = sum(x, axes = [2, 3], keepdim = true)\n"
            "}\n");
    ir_graph *g = fx_net(&f, "n", NULL);
    CHECK(g != NULL);
    int casts = 0, consts = 0, neg = 0;
    for (int i = 0; g && i < g->n_nodes; i++) {
        casts += g->nodes[i].op == OP_CAST;
        neg += g->nodes[i].op == OP_NEG;
        consts += g->nodes[i].op == OP_CONST && g->nodes[i].type.rank == 0;
    }
    CHECK_INT(casts, 2); /* i32 label and the u8 mask */
    CHECK_INT(neg, 1);
    CHECK_INT(consts, 4);
    const ir_node *s = output_node(g, "s");
    CHECK(s && s->type.rank == 4 && s->type.dim[2] == 1);
    ir_graph_free(g);
    fx_free(&f);
}

/* ---------------------------------------------------------- diagnostics */

static void expect_error(const char *name, const char *src, const char *msg)
{
    fx f;
    fx_load(&f, name, src);
    if (f.p)
        test_fail_at(__FILE__, __LINE__, "%s loaded without errors", name);
    if (!strstr(fx_out(&f), msg))
        test_fail_at(__FILE__, __LINE__, "%s: no \"%s\" in:\n%s", name, msg, fx_out(&f));
    fx_free(&f);
}

TEST(sema_errors_calls)
{
    expect_error("e1.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n"
                 "    output y = conv(x, 4, kernel = 3)\n}\n",
                 "e1.seg:3:27: error: unknown keyword 'kernel': conv() has no parameter 'kernel'");
    expect_error("e2.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n"
                 "    output y = conv(x, 4, kernel = 3)\n}\n",
                 "note: did you mean 'k'?");
    expect_error("e3.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    output y = conv(x, 4, 3)\n}\n",
                 "too many arguments: conv() takes 2 positional arguments but 3 were given");
    expect_error("e4.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n"
                 "    output y = conv(x, 4, k = \"3\")\n}\n",
                 "conv(): 'k' must be an int or a list of ints, got string");
    expect_error("e5.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    output y = conv(x, 4, k = 2, "
                 "pad = \"same\")\n}\n",
                 "pad = \"same\" needs an odd kernel");
    expect_error("e6.seg",
                 "net n() {\n    input x : f32[1, 3, 8, 8]\n    input z : f32[1, 2, 4, 4]\n"
                 "    output y = concat(x, z)\n}\n",
                 "e6.seg:4:16: error: concat");
    expect_error("e7.seg",
                 "block a(x) { return b(x) }\nblock b(x) { return a(x) }\n"
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    output y = a(x)\n}\n",
                 "block 'a' calls itself (a -> b -> a)");
    expect_error("e8.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    output y = sigmod(x)\n}\n",
                 "unknown name 'sigmod'");
}

TEST(sema_errors_values)
{
    expect_error("v1.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    t = relu(x)\n"
                 "    output y = sigmoid(x)\n}\n",
                 "v1.seg:3:5: error: 't' is computed but never used");
    expect_error("v2.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    input extra : f32[1]\n"
                 "    output y = sigmoid(x)\n}\n",
                 "input 'extra' is never used");
    expect_error("v3.seg", "net n() {\n    input x : f32[1, 1, 8, 8]\n}\n",
                 "net 'n' has no outputs");
    expect_error("v4.seg",
                 "block f(x) { h = relu(x) }\nnet n() {\n    input x : f32[1, 1, 8, 8]\n"
                 "    output y = f(x)\n}\n",
                 "block 'f' returns no value");
    expect_error("v5.seg",
                 "C = 8 / 0\nnet n() {\n    input x : f32[1, 1, 8, 8]\n"
                 "    output y = conv(x, C, k = 1)\n}\n",
                 "division by zero");
    expect_error("v6.seg",
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    if sum(x) > 0.0 { x = relu(x) }\n"
                 "    output y = x\n}\n",
                 "must be a compile-time bool");
    expect_error("v7.seg",
                 "block f(x) { return relu(x) }\nblock f(x) { return x }\n"
                 "net n() {\n    input x : f32[1, 1, 8, 8]\n    output y = f(x)\n}\n",
                 "'f' is already defined");
    expect_error("v8.seg", "# nothing\n", "the file is empty");
}

TEST(sema_loop_keeps_going_and_warns)
{
    fx f;
    /* The last iteration's `h = e[i]` is never read, but the statement is
     * used by earlier iterations: no error. */
    fx_load(&f, "loop.seg",
            "net n() {\n    input x : f32[1, 1, 8, 8]\n    h = x\n"
            "    for i in 1..3 {\n        e[i] = relu(h)\n        h = e[i]\n    }\n"
            "    for i in 3..1 { h = relu(h) }\n"
            "    output y = e[3]\n}\n");
    CHECK(f.p != NULL);
    CHECK_HAS(fx_out(&f), "loop.seg:8:14: warning: range 3..1 is empty; add 'step -1' to count "
                          "down");
    fx_free(&f);
}

TEST(sema_call_depth_limit)
{
    seg_buf src = {0};
    for (int i = 0; i < 69; i++)
        seg_buf_printf(&src, "block b%d(x) { return b%d(x) }\n", i, i + 1);
    seg_buf_printf(&src, "block b69(x) { return relu(x) }\n");
    seg_buf_printf(&src, "net n() {\n    input x : f32[1, 1, 4, 4]\n    output y = b0(x)\n}\n");
    expect_error("deep.seg", src.data, "block calls are nested more than 64 deep");
    seg_buf_free(&src);
}

TEST(sema_imports)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/imp", test_tmpdir());
    snprintf(path, sizeof path, "mkdir -p %s/sub", dir);
    CHECK_INT(system(path), 0);
    snprintf(path, sizeof path, "%s/sub/lib.seg", dir);
    write_file(path, "import \"../cyc\"\nblock lib(x) { return relu(x) }\n");
    snprintf(path, sizeof path, "%s/cyc.seg", dir);
    write_file(path, "import \"sub/lib\"\nnet n() {\n    input x : f32[1]\n    output y = lib(x)\n}\n");
    fx f;
    fx_load(&f, "imp/cyc.seg", "import \"sub/lib\"\nnet n() {\n    input x : f32[1]\n"
                               "    output y = lib(x)\n}\n");
    CHECK(f.p == NULL);
    CHECK_HAS(fx_out(&f), "cyc.seg:1:8: error: import cycle: cyc.seg -> lib.seg -> cyc.seg");
    fx_free(&f);
    snprintf(path, sizeof path, "%s/sub/lib.seg", dir);
    write_file(path, "import \"std/losses\"\nblock lib(x) { return relu(x) }\n");
    fx_load(&f, "imp/cyc.seg", "import \"sub/lib\"\nnet n() {\n    input x : f32[1]\n"
                               "    output y = lib(x) + bce(sigmoid(x), x)\n}\n");
    CHECK(f.p != NULL);
    CHECK_STR(fx_out(&f), "");
    fx_free(&f);
    expect_error("imp/miss.seg", "import \"std/nope\"\n", "cannot find import 'std/nope'");
}

TEST(sema_rejects_binary)
{
    fx f;
    snprintf(f.path, sizeof f.path, "%s/bin.seg", test_tmpdir());
    FILE *b = fopen(f.path, "wb");
    fwrite("net n() {\n  \0x", 1, 14, b);
    fclose(b);
    f.mem = open_memstream(&f.text, &f.len);
    f.d = seg_diag_new(f.mem);
    f.p = seg_load(f.path, f.d);
    CHECK(f.p == NULL);
    CHECK_HAS(fx_out(&f), "bin.seg:2:3: error: this file contains a NUL byte");
    fx_free(&f);
}

/* ------------------------------------------------------------ schedules */

static const char *SCHED =
    "import \"std/losses\"\n"
    "net grow(levels = 1) {\n"
    "    input image : f32[B, 1, 16, 16]\n"
    "    h = image\n"
    "    for i in 1..levels {\n"
    "        scope level[i] { h = relu(conv(h, 4, k = 3, pad = 1)) }\n"
    "    }\n"
    "    output mask = sigmoid(conv(h, 1, k = 1, name = \"head\"))\n"
    "}\n"
    "schedule s {\n"
    "    data train = synthetic(\"lesions2d\", cases = 4, size = [16, 16], seed = 1)\n"
    "    data unl = synthetic(\"lesions2d\", cases = 4, size = [16, 16], labels = false)\n"
    "    data val = synthetic(\"lesions2d\", cases = 2, size = [16, 16], seed = 2)\n"
    "    batch 3\n"
    "    stage first {\n"
    "        model grow(levels = 1)\n"
    "        loss dice_loss(mask, label)\n"
    "        optimizer adam(lr = 1e-3)\n"
    "        until plateau(dice(val), patience = 2) or epochs(2)\n"
    "    }\n"
    "    stage second {\n"
    "        model grow(levels = 2)\n"
    "        data train, unl\n"
    "        freeze trained(first)\n"
    "        weight w = 2.0 * progress\n"
    "        loss bce(mask, label) + w * mse(mask, unl.mask)\n"
    "        optimizer sgd(momentum = 0.9)\n"
    "    }\n"
    "}\n";

TEST(sema_schedule_stages)
{
    fx f;
    fx_load(&f, "sched.seg", SCHED);
    CHECK(f.p != NULL);
    CHECK_STR(fx_out(&f), "");
    const seg_schedule *s = seg_program_schedule(f.p, "s");
    CHECK(s && s->n_stages == 2 && s->n_data == 3 && s->batch == 3);
    if (!s || s->n_stages != 2) {
        fx_free(&f);
        return;
    }
    const seg_stage *a = &s->stages[0], *b = &s->stages[1];
    CHECK_INT(a->n_trainable, 4); /* level.1.conv0 and head, weight and bias */
    CHECK_INT(a->n_until, 2);
    CHECK_STR(a->until[0]->name, "plateau");
    CHECK_INT(seg_scall_int(a->until[0], "patience", 0), 2);
    CHECK_NEAR(seg_scall_num(a->optimizer, "lr", 0), 1e-3, 1e-12);
    CHECK_INT(b->n_trainable, 2); /* only level.2.conv0 */
    CHECK_STR(b->trainable[0], "level.2.conv0.weight");
    CHECK_NEAR(seg_scall_num(b->optimizer, "momentum", 0), 0.9, 1e-12);
    CHECK_INT(b->n_streams, 2);
    ir_graph *g = seg_stage_graph(f.p, s, 1, 1, f.d);
    CHECK(g != NULL);
    const ir_node *loss = output_node(g, "loss");
    CHECK(loss && loss->type.rank == 0);
    CHECK(node_named(g, "unl.image") && node_named(g, "progress") && node_named(g, "label"));
    CHECK(output_node(g, "unl.mask") != NULL);
    const ir_node *w1 = node_named(g, "level.1.conv0.weight");
    const ir_node *w2 = node_named(g, "level.2.conv0.weight");
    CHECK(w1 && w1->param->frozen == 1 && w2 && w2->param->frozen == 0);
    const ir_node *img = node_named(g, "image");
    CHECK(img && img->type.dim[0] == 3);
    ir_graph_free(g);
    fx_free(&f);
}

static void sched_error(const char *name, const char *stage_body, const char *msg)
{
    char src[4096];
    snprintf(src, sizeof src,
             "import \"std/losses\"\n"
             "net n() {\n    input image : f32[B, 1, 16, 16]\n"
             "    output mask = sigmoid(conv(image, 1, k = 1, name = \"head\"))\n}\n"
             "schedule s {\n"
             "    data train = synthetic(\"lesions2d\", cases = 4, size = [16, 16])\n"
             "    stage first {\n        model n()\n        loss bce(mask, label)\n    }\n"
             "    stage only {\n%s    }\n}\n", stage_body);
    expect_error(name, src, msg);
}

TEST(sema_schedule_errors)
{
    sched_error("s1.seg", "        model n()\n        freeze \"decoder.*\"\n"
                          "        loss bce(mask, label)\n",
                "selector 'decoder.*' matches no parameter");
    sched_error("s2.seg", "        model n()\n        freeze head\n        loss bce(mask, label)\n",
                "stage 'only' has nothing to train");
    sched_error("s3.seg", "        model n()\n        freeze trained(frist)\n"
                          "        loss bce(mask, label)\n",
                "trained(frist): there is no earlier stage 'frist'");
    sched_error("s4.seg", "        model n()\n        loss bce(prob, label)\n",
                "unknown name 'prob'");
    sched_error("s5.seg", "        model n()\n        loss bce(mask, label)\n"
                          "        optimiser adam()\n",
                "unknown keyword 'optimiser'");
    sched_error("s6.seg", "        model n()\n        loss bce(mask, label)\n"
                          "        optimizer adam(learning = 1)\n",
                "unknown keyword 'learning': adam() has no parameter 'learning'");
    sched_error("s7.seg", "        model n()\n        loss mask\n",
                "the loss must be a scalar f32 tensor");
    sched_error("s8.seg", "        model n()\n        loss bce(mask, dist)\n",
                "data 'train' has no distance map");
    sched_error("s9.seg", "        model n()\n        loss bce(mask, label)\n"
                          "        until plateau(epochs(3))\n",
                "plateau(): 'metric' must be a metric such as dice(val)");
}

/* --------------------------------------------------------- robustness */

TEST(sema_no_leaks)
{
    long before = seg_alloc_live();
    fx f;
    fx_load(&f, "leak.seg", SCHED);
    ir_graph *g = fx_net(&f, "grow", "B=2 levels=3");
    ir_graph_free(g);
    fx_free(&f);
    fx_load(&f, "leak2.seg", "net n() {\n    input x : f32[1]\n    output y = foo(x)\n}\n");
    fx_free(&f);
    CHECK_INT(seg_alloc_live(), before);
}

TEST(sema_large_file)
{
    /* About 10 MB: many blocks and a net that calls each once. */
    seg_buf src = {0};
    int n = 0;
    while (src.len < 10u << 20) {
        seg_buf_printf(&src, "block b%d(x, ch = %d) {\n    h = relu(x) * %d.0 + 1.0\n"
                             "    return h\n}\n", n, n % 7 + 1, n % 3);
        n++;
    }
    seg_buf_printf(&src, "net n() {\n    input x : f32[1, 1, 2, 2]\n    h = x\n");
    for (int i = 0; i < n; i += 97)
        seg_buf_printf(&src, "    h = b%d(h)\n", i);
    seg_buf_printf(&src, "    output y = h\n}\n");
    clock_t t0 = clock();
    fx f;
    fx_load(&f, "large.seg", src.data);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(f.p != NULL);
    CHECK(secs < 20);
    fx_free(&f);
    seg_buf_free(&src);
}
