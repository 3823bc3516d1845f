/* test_sliding.c — runtime/sliding.c, the sliding window of validation
 * and `segc infer`: the Gaussian importance map, tile steps that reach
 * every edge, a volume smaller than the tile (padded), a pointwise net
 * reproduced exactly, mirroring, softmax of logits, and the same bits on
 * 1 and 2 threads. Also lang's in-memory loading (seg_load_sources) and a
 * stage's model alone (seg_stage_model_graph), which infer builds on: the
 * model graph predicts what the stage's evaluation graph validated.
 */
#include "lang/lang.h"
#include "test.h"

#include <math.h>
#include <string.h>

TEST(sliding_gaussian_weights)
{
    int64_t p[3] = {16, 8, 12};
    float *w = seg_xcalloc(16 * 8 * 12, sizeof *w);
    rt_sliding_gaussian(3, p, w);
    CHECK_NEAR(w[(8 * 8 + 4) * 12 + 6], 1.0, 1e-7); /* centre = patch / 2 */
    /* one axis at a time: exp(-(i - c)^2 / (2 (p / 8)^2)); index 0 is p / 2 away */
    CHECK_NEAR(w[(0 * 8 + 4) * 12 + 6], exp(-8.0), 1e-6);
    CHECK_NEAR(w[(8 * 8 + 0) * 12 + 6], exp(-8.0), 1e-6);
    CHECK_NEAR(w[(8 * 8 + 4) * 12 + 3], exp(-9.0 / (2 * 1.5 * 1.5)), 1e-6);
    CHECK_NEAR(w[(7 * 8 + 4) * 12 + 6], w[(9 * 8 + 4) * 12 + 6], 1e-7); /* symmetric */
    CHECK_NEAR(w[0], exp(-24.0), 1e-9);
    seg_free(w);
}

TEST(sliding_steps_cover_edges)
{
    int64_t o[16];
    CHECK_INT(rt_sliding_steps(100, 64, 0.5, o), 3); /* ceil(36 / 32) + 1 */
    CHECK_INT(o[0], 0);
    CHECK_INT(o[1], 18);
    CHECK_INT(o[2], 36); /* the last tile ends on the last voxel */
    CHECK_INT(rt_sliding_steps(160, 64, 0.5, o), 4);
    CHECK_INT(o[3] + 64, 160);
    CHECK_INT(rt_sliding_steps(192, 64, 0.5, o), 5);
    CHECK_INT(rt_sliding_steps(64, 64, 0.5, o), 1);
    CHECK_INT(o[0], 0);
    CHECK_INT(rt_sliding_steps(65, 64, 0.0, o), 2);
    CHECK_INT(o[1], 1);
    CHECK_INT(rt_sliding_steps(11, 16, 0.5, o), 1); /* smaller: one tile, centred */
    CHECK_INT(o[0], -2);
}

/* ------------------------------------------------------------ programs */

typedef struct tprog {
    seg_diag *d;
    seg_program *p;
    ir_graph *g;
    pipeline_result r;
    rt_interp *it;
} tprog;

static const char *const nets_src =
    "import \"std/losses\"\n"
    "net point(n = 8) {\n"
    "    input image : f32[B, 1, n, n, n]\n"
    "    output mask = sigmoid(image * 3.0 - 1.0)\n"
    "}\n"
    "net logits(n = 8) {\n"
    "    input image : f32[B, 1, n, n + 2]\n"
    "    output z = concat(image, image * -2.0 + 0.5, axis = 1)\n"
    "}\n"
    "net convy(n = 8) {\n"
    "    input image : f32[B, 1, n, n, n]\n"
    "    h = relu(conv(image, 4, k = 3, pad = 1))\n"
    "    output mask = sigmoid(conv(h, 1, k = 3, pad = 1))\n"
    "}\n"
    "schedule s {\n"
    "    data train = synthetic(\"lesions3d\", cases = 2, size = [11, 9, 13], seed = 1)\n"
    "    data val = synthetic(\"lesions3d\", cases = 1, size = [11, 9, 13], seed = 2)\n"
    "    batch 2\n"
    "    stage one {\n"
    "        model student = convy(n = 8)\n"
    "        loss dice_loss(student.mask, label, smooth = 1e-5, squared = false, batch = true,"
    " background = true)\n"
    "        until epochs(1)\n"
    "    }\n"
    "}\n";

static seg_program *load_nets(seg_diag *d)
{
    /* std/losses from the stdlib folder, as a checkpoint records it */
    char path[4096];
    snprintf(path, sizeof path, "%s/losses.seg", seg_stdlib_dir());
    FILE *f = fopen(path, "rb");
    static char text[1 << 16];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f)
        fclose(f);
    seg_source src[2] = {{"nets.seg", nets_src}, {"std/losses", text}};
    return seg_load_sources(src, 2, d);
}

static void tprog_free(tprog *t)
{
    rt_interp_free(t->it);
    pipeline_result_free(&t->r);
    if (t->g)
        ir_graph_free(t->g);
    seg_program_free(t->p);
    seg_diag_free(t->d);
}

/* Net `net` with B = batch on interpreters of `threads`, JIT or not. */
static int tprog_net(tprog *t, const char *net, int batch, int jit, int threads)
{
    memset(t, 0, sizeof *t);
    t->d = seg_diag_new(stderr);
    t->p = load_nets(t->d);
    if (!t->p)
        return -1;
    char b[16];
    snprintf(b, sizeof b, "%d", batch);
    seg_setting set[1] = {{"B", b}};
    t->g = seg_elaborate_net(t->p, net, set, 1, 0, t->d);
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = jit, .compile = 1};
    rt_error err = {{0}};
    if (!t->g || pipeline_build(t->g, &po, &t->r, &err) != PIPELINE_OK)
        return -1;
    t->it = rt_interp_new(t->r.prog, 7, threads);
    if (t->r.kernels)
        rt_interp_set_kernels(t->it, jit_program_table(t->r.kernels));
    return 0;
}

static void window(rt_sliding *w, int nsp, int64_t p, int batch, const char *out)
{
    rt_sliding_init(w);
    w->nsp = nsp;
    for (int a = 0; a < nsp; a++)
        w->patch[a] = p + (nsp == 2 && a == 1 ? 2 : 0);
    w->channels = 1;
    w->batch = batch;
    w->output = out;
}

static float *ramp(int64_t n)
{
    float *v = seg_xcalloc((size_t)n, sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)((i * 37) % 101) / 100.0f;
    return v;
}

/* A pointwise net blends to itself: every tile gives the same value. */
TEST(sliding_pointwise_exact_padded_and_mirrored)
{
    tprog t;
    CHECK(tprog_net(&t, "point", 3, 0, 1) == 0);
    int64_t sizes[3][3] = {{11, 9, 13}, {5, 6, 7}, {8, 8, 8}}; /* odd, smaller than 8, equal */
    for (int k = 0; k < 3 && t.it; k++) {
        rt_sliding w;
        window(&w, 3, 8, 3, "mask");
        w.mirror = k == 0;
        int64_t n = sizes[k][0] * sizes[k][1] * sizes[k][2];
        float *img = ramp(n), *prob = NULL;
        int C = 0;
        rt_error err = {{0}};
        CHECK(rt_sliding_predict(&w, t.it, img, sizes[k], &prob, &C, &err) == 0);
        CHECK_INT(C, 1);
        double worst = 0;
        for (int64_t i = 0; prob && i < n; i++) {
            double want = 1 / (1 + exp(-(img[i] * 3.0 - 1.0)));
            worst = fmax(worst, fabs(prob[i] - want));
        }
        CHECK(worst < 1e-6);
        seg_free(img);
        seg_free(prob);
    }
    tprog_free(&t);
}

/* Logits get a softmax over channels before blending (2D, two channels). */
TEST(sliding_softmax_of_logits_2d)
{
    tprog t;
    CHECK(tprog_net(&t, "logits", 2, 0, 1) == 0);
    rt_sliding w;
    window(&w, 2, 8, 2, "z");
    w.act = RT_ACT_SOFTMAX;
    int64_t size[3] = {13, 21, 1};
    float *img = ramp(13 * 21), *prob = NULL;
    int C = 0;
    rt_error err = {{0}};
    CHECK(t.it && rt_sliding_predict(&w, t.it, img, size, &prob, &C, &err) == 0);
    CHECK_INT(C, 2);
    for (int64_t i = 0; prob && i < 13 * 21; i += 17) {
        double a = img[i], b = -2.0 * img[i] + 0.5;
        CHECK_NEAR(prob[i], exp(a) / (exp(a) + exp(b)), 1e-6);
        CHECK_NEAR(prob[i] + prob[13 * 21 + i], 1.0, 1e-6);
    }
    seg_free(img);
    seg_free(prob);
    tprog_free(&t);
}

static float *predict_conv(int threads, int jit, int64_t *n)
{
    tprog t;
    float *prob = NULL;
    int C = 0;
    if (tprog_net(&t, "convy", 2, jit, threads) == 0) {
        rt_sliding w;
        window(&w, 3, 8, 2, "mask");
        w.mirror = 1;
        int64_t size[3] = {19, 10, 13};
        *n = 19 * 10 * 13;
        float *img = ramp(*n);
        rt_error err = {{0}};
        CHECK(rt_sliding_predict(&w, t.it, img, size, &prob, &C, &err) == 0);
        seg_free(img);
    }
    tprog_free(&t);
    return prob;
}

TEST(sliding_same_bits_on_1_and_2_threads)
{
    for (int jit = 0; jit < 2; jit++) {
        int64_t n = 0;
        float *a = predict_conv(1, jit, &n), *b = predict_conv(2, jit, &n);
        CHECK(a && b && memcmp(a, b, (size_t)n * sizeof *a) == 0);
        seg_free(a);
        seg_free(b);
    }
}

/* The stage's model alone (what infer runs, B = 1) predicts what the
 * stage's evaluation graph (B = the stage batch, every model and the
 * loss) validated, with the same parameters. */
TEST(sliding_model_graph_matches_stage_eval)
{
    seg_diag *d = seg_diag_new(stderr);
    seg_program *p = load_nets(d);
    const seg_schedule *s = p ? seg_program_schedule(p, "s") : NULL;
    ir_graph *ge = s ? seg_stage_graph(p, s, 0, 0, d) : NULL;
    ir_graph *gm = s ? seg_stage_model_graph(p, s, 0, 0, 1, d) : NULL;
    CHECK(ge && gm);
    CHECK(gm && ir_find_output(gm, "student.mask") >= 0 && ir_find_input(gm, "image") >= 0);
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 0};
    pipeline_result re, rm;
    rt_error err = {{0}};
    if (ge && gm && pipeline_build(ge, &po, &re, &err) == 0 && pipeline_build(gm, &po, &rm, &err) == 0) {
        rt_interp *ie = rt_interp_new(re.prog, 3, 1), *im = rt_interp_new(rm.prog, 9, 1);
        int shared = 0; /* the model's parameters: names as in the checkpoint */
        for (int i = 0; i < rm.prog->n_values; i++) {
            const rt_value *v = &rm.prog->values[i];
            rt_tensor *src = v->kind == RT_VAL_PARAM ? rt_interp_value(ie, v->name) : NULL;
            if (src) {
                memcpy(rt_interp_value_at(im, i)->data, src->data,
                       (size_t)rt_type_numel(&src->type) * sizeof(float));
                shared++;
            }
        }
        CHECK_INT(shared, 4);
        rt_sliding a, b;
        window(&a, 3, 8, 2, "student.mask");
        window(&b, 3, 8, 1, "student.mask");
        int64_t size[3] = {11, 9, 13};
        float *img = ramp(11 * 9 * 13), *pa = NULL, *pb = NULL;
        int ca, cb;
        CHECK(rt_sliding_predict(&a, ie, img, size, &pa, &ca, &err) == 0);
        CHECK(rt_sliding_predict(&b, im, img, size, &pb, &cb, &err) == 0);
        double worst = 0;
        for (int64_t i = 0; pa && pb && i < 11 * 9 * 13; i++)
            worst = fmax(worst, fabs(pa[i] - pb[i]));
        CHECK(pa && pb && worst < 1e-6);
        seg_free(img), seg_free(pa), seg_free(pb);
        rt_interp_free(ie), rt_interp_free(im);
        pipeline_result_free(&re), pipeline_result_free(&rm);
    }
    if (ge)
        ir_graph_free(ge);
    if (gm)
        ir_graph_free(gm);
    seg_program_free(p);
    seg_diag_free(d);
}

/* The recorded files are what was loaded, main first. */
TEST(lang_sources_round_trip)
{
    seg_diag *d = seg_diag_new(stderr);
    seg_program *p = load_nets(d);
    const seg_source *src;
    int n = p ? seg_program_sources(p, &src) : 0;
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(src[0].name, "nets.seg");
        CHECK_STR(src[0].text, nets_src);
        CHECK_STR(src[1].name, "std/losses");
        seg_program *q = seg_load_sources(src, n, d);
        CHECK(q != NULL);
        seg_program_free(q);
        /* an import that was not recorded is an error, not a disk read */
        seg_source one[1] = {{"x.seg", "import \"std/nn\"\nnet a() {\n input image : f32[1, 1, 4]\n"
                                       " output y = relu(image)\n}\n"}};
        seg_diag *quiet = seg_diag_new(NULL);
        CHECK(seg_load_sources(one, 1, quiet) == NULL);
        CHECK_INT(seg_diag_error_count(quiet), 1);
        seg_diag_free(quiet);
    }
    seg_program_free(p);
    seg_diag_free(d);
}
