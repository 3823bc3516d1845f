/* netdump.c — one whole net through segc, dumped for a PyTorch check
 * (tests/torch/vnet.py): its parameters, an input, its outputs and the
 * gradients of every parameter, from the reference interpreter and from
 * the JIT.
 *
 * Usage: netdump OUT_DIR FILE NET [KEY=VALUE ...]
 *   (KEY=VALUE: net parameters as for --set; B is 1 unless given)
 *
 * The net is elaborated in inference mode, then the graph gets an input
 * "R" of the type of the output "mask" and an output "loss" =
 * sum(mask * R), and goes through the training pipeline (autodiff, one
 * "grad:NAME" output per parameter) twice: on the reference interpreter,
 * and fused with JIT kernels. Both interpreters start from the same seed,
 * so they hold the same parameters; the input "image" is uniform in
 * [0, 1) and R uniform in [-1, 1], from fixed counter-based streams.
 *
 * Writes OUT_DIR/net.json: {"args": {KEY: value...}, "params": [{"name",
 * "file", "shape"}], "input", "R", "reference" and "jit": {"logits",
 * "mask", "grads": [{"param", "file", "shape"}]}}, and raw little-endian
 * f32 files. Exit 1 on any failure, with the reason on stderr.
 */
#include "lang/lang.h"

#include <stdlib.h>
#include <string.h>

static const char *g_dir;

/* name -> a file name without dots or slashes */
static void file_of(const char *tag, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s_%s.bin", tag, name);
    for (char *c = buf; *c && c < buf + strlen(buf) - 4; c++)
        if (*c == '.' || *c == '/' || *c == ':')
            *c = '_';
}

static int dump(const rt_tensor *t, const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, file);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = (size_t)rt_type_numel(&t->type);
    int bad = fwrite(rt_f32(t), sizeof(float), n, f) != n;
    return fclose(f) || bad ? -1 : 0;
}

static void json_tensor(FILE *j, const char *key, const char *name, const char *file,
                        const rt_type *t)
{
    fprintf(j, "{");
    if (key)
        fprintf(j, "\"%s\": \"%s\", ", key, name);
    fprintf(j, "\"file\": \"%s\", \"shape\": [", file);
    for (int d = 0; d < t->rank; d++)
        fprintf(j, "%s%lld", d ? ", " : "", (long long)t->dim[d]);
    fprintf(j, "]}");
}

/* loss = sum(mask * R), R a new input of mask's type. */
static int add_loss(ir_graph *g)
{
    ir_id m = ir_find_output(g, "mask");
    if (m < 0)
        return -1;
    seg_span none = {0, 0, 0, 0, 0};
    ir_id in[2] = {m, ir_add_input(g, "R", &g->nodes[m].type, none)};
    char err[256];
    rt_attrs a;
    rt_attrs_init(&a);
    ir_id mul = ir_add_op(g, OP_MUL, &a, in, 2, NULL, none, err, sizeof err);
    ir_id sum = mul < 0 ? -1 : ir_add_op(g, OP_SUM, &a, &mul, 1, NULL, none, err, sizeof err);
    if (sum < 0) {
        fprintf(stderr, "netdump: %s\n", err);
        return -1;
    }
    ir_add_output(g, "loss", sum);
    return 0;
}

static void fill(rt_tensor *t, uint32_t stream, float lo, float hi)
{
    for (int64_t k = 0; k < rt_type_numel(&t->type); k++)
        rt_f32(t)[k] = lo + (hi - lo) * rt_rand_uniform01(11, stream, 0, (uint64_t)k);
}

/* The program of one pipeline, run once on fixed inputs. */
static rt_interp *run(const ir_graph *g, int jit, pipeline_result *pr)
{
    pipeline_opts po = {.mode = PIPELINE_TRAIN, .jit = jit, .compile = jit};
    rt_error err = {""};
    if (pipeline_build(g, &po, pr, &err)) {
        fprintf(stderr, "netdump: %s\n", err.msg);
        return NULL;
    }
    rt_interp *it = rt_interp_new(pr->prog, 3, 2);
    if (jit)
        rt_interp_set_kernels(it, jit_program_table(pr->kernels));
    rt_tensor *x = rt_interp_value(it, "image"), *r = rt_interp_value(it, "R");
    if (!x || !r) {
        fprintf(stderr, "netdump: the net needs an input 'image' and an output 'mask'\n");
        rt_interp_free(it);
        return NULL;
    }
    fill(x, 1, 0, 1);
    fill(r, 2, -1, 1);
    if (rt_interp_run(it, 0, &err)) {
        fprintf(stderr, "netdump: %s\n", err.msg);
        rt_interp_free(it);
        return NULL;
    }
    return it;
}

/* Outputs and gradients of one run into the manifest. */
static int dump_run(FILE *j, const char *tag, rt_interp *it, const rt_program *p)
{
    char file[600];
    int rc = 0;
    fprintf(j, "\"%s\": {", tag);
    static const char *const outs[] = {"logits", "mask"};
    for (int i = 0; i < 2; i++) {
        const rt_tensor *t = rt_interp_output(it, outs[i]);
        if (!t)
            return -1;
        file_of(tag, outs[i], file, sizeof file);
        rc |= dump(t, file);
        fprintf(j, "\"%s\": ", outs[i]);
        json_tensor(j, NULL, NULL, file, &t->type);
        fprintf(j, ", ");
    }
    fprintf(j, "\"grads\": [");
    int n = 0;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        char out[600];
        if (v->kind != RT_VAL_PARAM)
            continue;
        snprintf(out, sizeof out, "grad:%s", v->name);
        const rt_tensor *t = rt_interp_output(it, out);
        if (!t)
            continue;
        file_of(tag, out, file, sizeof file);
        rc |= dump(t, file);
        fprintf(j, "%s", n++ ? ", " : "");
        json_tensor(j, "param", v->name, file, &t->type);
    }
    fprintf(j, "]}");
    return rc;
}

static int dump_params(FILE *j, rt_interp *it, const rt_program *p)
{
    char file[600];
    int rc = 0, n = 0;
    fprintf(j, "\"params\": [");
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        if (v->kind != RT_VAL_PARAM)
            continue;
        file_of("param", v->name, file, sizeof file);
        rc |= dump(rt_interp_value_at(it, i), file);
        fprintf(j, "%s", n++ ? ", " : "");
        json_tensor(j, "name", v->name, file, &v->type);
    }
    fprintf(j, "], ");
    return rc;
}

static int write_all(FILE *j, rt_interp *ref, rt_interp *jit, const pipeline_result *pr,
                     const seg_setting *set, int n_set)
{
    fprintf(j, "{\"args\": {");
    for (int i = 0; i < n_set; i++)
        fprintf(j, "%s\"%s\": %s", i ? ", " : "", set[i].key, set[i].value);
    fprintf(j, "}, ");
    int rc = dump_params(j, ref, pr->prog);
    static const char *const ins[] = {"image", "R"};
    static const char *const keys[] = {"input", "R"};
    for (int i = 0; i < 2; i++) {
        rt_tensor *t = rt_interp_value(ref, ins[i]);
        rc |= dump(t, keys[i][0] == 'i' ? "input.bin" : "R.bin");
        fprintf(j, "\"%s\": ", keys[i]);
        json_tensor(j, NULL, NULL, keys[i][0] == 'i' ? "input.bin" : "R.bin", &t->type);
        fprintf(j, ", ");
    }
    rc |= dump_run(j, "reference", ref, pr->prog);
    fprintf(j, ", ");
    rc |= dump_run(j, "jit", jit, pr->prog);
    fprintf(j, "}\n");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: netdump OUT_DIR FILE NET [KEY=VALUE ...]\n");
        return 1;
    }
    g_dir = argv[1];
    seg_setting set[32];
    int n_set = 0, has_b = 0;
    for (int i = 4; i < argc && n_set < 30; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq) {
            *eq = 0;
            set[n_set++] = (seg_setting){argv[i], eq + 1};
            has_b |= !strcmp(argv[i], "B");
        }
    }
    if (!has_b)
        set[n_set++] = (seg_setting){"B", "1"};
    seg_diag *d = seg_diag_new(stderr);
    seg_program *p = seg_load(argv[2], d);
    ir_graph *g = p ? seg_elaborate_net(p, argv[3], set, n_set, 0, d) : NULL;
    pipeline_result pr_ref = {0}, pr_jit = {0};
    rt_interp *ref = NULL, *jit = NULL;
    int rc = !g || add_loss(g);
    if (!rc) {
        ref = run(g, 0, &pr_ref);
        jit = ref ? run(g, 1, &pr_jit) : NULL;
        rc = !ref || !jit;
    }
    if (!rc) {
        char path[1024];
        snprintf(path, sizeof path, "%s/net.json", g_dir);
        FILE *j = fopen(path, "w");
        rc = !j || write_all(j, ref, jit, &pr_ref, set, n_set) || fclose(j);
    }
    rt_interp_free(ref);
    rt_interp_free(jit);
    pipeline_result_free(&pr_ref);
    pipeline_result_free(&pr_jit);
    ir_graph_free(g);
    seg_program_free(p);
    seg_diag_free(d);
    return rc ? 1 : 0;
}
