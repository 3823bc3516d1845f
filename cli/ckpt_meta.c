/* ckpt_meta.c — what a checkpoint records so that `segc infer` needs
 * nothing else: the program, which model of which stage predicts, how its
 * output becomes labels, and the preprocessing. `segc train` puts these
 * string keys into every checkpoint it writes (train_build.c builds them
 * once per stage); `segc infer` and `segc run CKPT` read them back
 * (cli_model.c). docs/inference.md lists the keys:
 *
 *   segc.format        "1"
 *   segc.version       the segc that wrote it
 *   segc.sources       N, the program's files: segc.source.K.name (the main
 *                      file's path, or an import's text such as "std/nn")
 *                      and segc.source.K.text, K = 0 the main file
 *   segc.schedule, segc.stage, segc.model (the model's index in the stage)
 *   segc.schedule_args a parametrised schedule's parameter values, one
 *                      "name=literal" per line ("split=3"); empty otherwise
 *   segc.net, segc.net_args   the model's net and its arguments (for people;
 *                      the program rebuilds the net as the stage binds it)
 *   segc.patch, segc.channels the net input: "32,64,64", channels
 *   segc.output        the prediction output ("mask", "student.mask")
 *   segc.activation    none | softmax | sigmoid: logits to probabilities
 *   segc.decode, segc.threshold   threshold | argmax | nested, and its level
 *   segc.classes, segc.class_names  K and their names, comma-separated
 *   segc.data_classes, segc.truth_map  label classes of the training data
 *                      and the prediction class of each ("0,1,1")
 *   segc.preprocess    "clip(-100, 240); minmax(); resample(1, 1, 3)", in order
 *   segc.spacing       the spacing the net was trained at, "z,y,x" mm, or
 *                      empty: each input's own (no resample in preprocess)
 */
#include "cli.h"

#include <string.h>

rt_activation cli_pred_activation(const ir_graph *g, const char *output, rt_decode d)
{
    ir_id id = output ? ir_find_output(g, output) : -1;
    rt_op op = id >= 0 ? g->nodes[id].op : OP_SOFTMAX;
    /* argmax of logits: softmax does not change it, and blending tiles
     * wants probabilities; a threshold stays on the values it was stated for */
    if (d == RT_DECODE_ARGMAX && op != OP_SOFTMAX && op != OP_SIGMOID)
        return RT_ACT_SOFTMAX;
    return RT_ACT_NONE;
}

const char *cli_activation_name(rt_activation a)
{
    return a == RT_ACT_SOFTMAX ? "softmax" : a == RT_ACT_SIGMOID ? "sigmoid" : "none";
}

const char *cli_decode_name(rt_decode d)
{
    return d == RT_DECODE_ARGMAX ? "argmax" : d == RT_DECODE_NESTED ? "nested" : "threshold";
}

/* ------------------------------------------------------------- writing */

static void meta_printf(rt_ckpt *c, const char *key, const char *fmt, ...) SEG_PRINTF(3, 4);
static void meta_printf(rt_ckpt *c, const char *key, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rt_ckpt_set_meta(c, key, buf);
}

static void sv_text(seg_buf *b, const seg_sv *v)
{
    switch (v->kind) {
    case SEG_SV_INT: seg_buf_printf(b, "%lld", (long long)v->i); return;
    case SEG_SV_FLOAT: seg_buf_printf(b, "%.9g", v->f); return;
    case SEG_SV_BOOL: seg_buf_printf(b, "%s", v->i ? "true" : "false"); return;
    case SEG_SV_STRING: seg_buf_printf(b, "\"%s\"", v->s); return;
    case SEG_SV_LIST:
        seg_buf_printf(b, "[");
        for (int i = 0; i < v->n_items; i++) {
            seg_buf_printf(b, "%s", i ? ", " : "");
            sv_text(b, &v->items[i]);
        }
        seg_buf_printf(b, "]");
        return;
    default: seg_buf_printf(b, "?"); return;
    }
}

static void record_sources(rt_ckpt *c, const seg_program *p)
{
    const seg_source *src;
    int n = seg_program_sources(p, &src);
    meta_printf(c, "segc.sources", "%d", n);
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "segc.source.%d.name", i);
        rt_ckpt_set_meta(c, key, src[i].name);
        snprintf(key, sizeof key, "segc.source.%d.text", i);
        rt_ckpt_set_meta(c, key, src[i].text);
    }
}

/* The model that makes the prediction: the one whose binding prefixes the
 * output ("student.mask"), else the stage's unbound one. */
int cli_pred_model(const seg_stage *st, const char *output)
{
    for (int m = 0; output && m < st->n_models; m++) {
        const char *b = st->models[m].binding;
        size_t n = b ? strlen(b) : 0;
        if (b && !strncmp(output, b, n) && output[n] == '.')
            return m;
    }
    for (int m = 0; m < st->n_models; m++)
        if (!st->models[m].binding)
            return m;
    return 0;
}

static void record_model(rt_ckpt *c, const seg_stage *st, int m, const rt_stage_spec *sp)
{
    const seg_stage_model *md = &st->models[m];
    seg_buf b = {0};
    for (int i = 0; i < md->n_args; i++) {
        seg_buf_printf(&b, "%s%s=", i ? ", " : "", md->arg_keys[i]);
        sv_text(&b, &md->arg_vals[i]);
    }
    meta_printf(c, "segc.model", "%d", m);
    rt_ckpt_set_meta(c, "segc.net", md->net);
    rt_ckpt_set_meta(c, "segc.net_args", b.data ? b.data : "");
    seg_buf_free(&b);
    meta_printf(c, "segc.patch", "%lld,%lld,%lld", (long long)sp->patch[0],
                (long long)sp->patch[1], (long long)sp->patch[2]);
    meta_printf(c, "segc.channels", "%d", sp->channels);
}

static void record_prediction(rt_ckpt *c, const seg_stage_val *v, rt_activation act)
{
    rt_ckpt_set_meta(c, "segc.output", v->output);
    rt_ckpt_set_meta(c, "segc.activation", cli_activation_name(act));
    rt_ckpt_set_meta(c, "segc.decode", cli_decode_name(v->decode));
    meta_printf(c, "segc.threshold", "%.9g", v->threshold);
    meta_printf(c, "segc.classes", "%d", v->classes);
    seg_buf b = {0};
    for (int k = 0; k < v->classes; k++)
        seg_buf_printf(&b, "%s%s", k ? "," : "", v->class_names[k]);
    rt_ckpt_set_meta(c, "segc.class_names", b.data);
    b.len = 0;
    int map[RT_MAX_CLASSES];
    seg_stage_truth_map(v, map);
    for (int t = 0; t < v->data_classes && t < RT_MAX_CLASSES; t++)
        seg_buf_printf(&b, "%s%d", t ? "," : "", map[t]);
    meta_printf(c, "segc.data_classes", "%d", v->data_classes);
    rt_ckpt_set_meta(c, "segc.truth_map", b.data ? b.data : "");
    seg_buf_free(&b);
}

/* Preprocessing in the schedule's order, and the spacing it resamples to. */
static void record_preprocess(rt_ckpt *c, const seg_schedule *s)
{
    seg_buf b = {0}, sp = {0};
    for (int k = 0; k < s->n_preprocess; k++) {
        const seg_scall *p = s->preprocess[k];
        seg_buf_printf(&b, "%s%s(", k ? "; " : "", p->name);
        if (!strcmp(p->name, "clip"))
            seg_buf_printf(&b, "%.9g, %.9g", seg_scall_num(p, "lo", 0), seg_scall_num(p, "hi", 1));
        if (!strcmp(p->name, "resample")) {
            float t[3];
            cli_resample_spacing(p, t);
            seg_buf_printf(&b, "%.9g, %.9g, %.9g", t[0], t[1], t[2]);
            sp.len = 0;
            seg_buf_printf(&sp, "%.9g,%.9g,%.9g", t[0], t[1], t[2]);
        }
        seg_buf_printf(&b, ")");
    }
    rt_ckpt_set_meta(c, "segc.preprocess", b.data ? b.data : "");
    rt_ckpt_set_meta(c, "segc.spacing", sp.data ? sp.data : "");
    seg_buf_free(&b);
    seg_buf_free(&sp);
}

rt_ckpt *cli_meta_build(const seg_program *p, const seg_schedule *s, int k,
                        const rt_stage_spec *sp, rt_activation act)
{
    const seg_stage *st = &s->stages[k];
    rt_ckpt *c = rt_ckpt_new();
    rt_ckpt_set_meta(c, "segc.format", "1");
    rt_ckpt_set_meta(c, "segc.version", SEGC_VERSION);
    record_sources(c, p);
    rt_ckpt_set_meta(c, "segc.schedule", s->name);
    seg_buf args = {0};
    for (int i = 0; i < s->n_args; i++)
        seg_buf_printf(&args, "%s%s=%s", i ? "\n" : "", s->args[i].key, s->args[i].value);
    rt_ckpt_set_meta(c, "segc.schedule_args", args.data ? args.data : "");
    seg_buf_free(&args);
    rt_ckpt_set_meta(c, "segc.stage", st->name);
    record_model(c, st, cli_pred_model(st, st->val.stream >= 0 ? st->val.output : NULL), sp);
    if (st->val.stream >= 0 && st->val.output)
        record_prediction(c, &st->val, act);
    record_preprocess(c, s);
    return c;
}

void cli_meta_apply(const rt_ckpt *meta, rt_ckpt *c)
{
    for (int i = 0; meta && i < rt_ckpt_meta_count(meta); i++) {
        const char *k = rt_ckpt_meta_key(meta, i);
        rt_ckpt_set_meta(c, k, rt_ckpt_meta(meta, k));
    }
}
