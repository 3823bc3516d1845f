/* cli_model.c — a trained model back from its checkpoint, for `segc
 * infer` and `segc run CKPT` / `--init CKPT`.
 *
 * A run folder stands for the checkpoint of its latest stage: ckpt/
 * best-STAGE.safetensors, STAGE being the stage ckpt/last.safetensors was
 * written in, else last itself. The program is loaded from the files the
 * checkpoint recorded (seg_load_sources, never the disk, so an edited or
 * moved .seg file cannot change it), the predicting model is elaborated as
 * its stage bound it (seg_stage_model_graph) with B = the tile batch, and
 * the parameters are loaded by name. The segc.* keys (ckpt_meta.c) say
 * how the output becomes labels and what preprocessing the input needs.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_is_checkpoint(const char *arg)
{
    size_t n = strlen(arg);
    return is_dir(arg) || (n > 12 && !strcmp(arg + n - 12, ".safetensors"));
}

/* The checkpoint a run folder stands for (seg_xstrdup'd into *path). */
static int pick_in_dir(const char *dir, char **path)
{
    seg_buf b = {0};
    seg_buf_printf(&b, "%s/ckpt/last.safetensors", dir);
    rt_error err = {{0}};
    rt_ckpt *last = is_file(b.data) ? rt_ckpt_read(b.data, &err) : NULL;
    const char *stage = last ? rt_ckpt_meta(last, "stage") : NULL;
    if (stage) {
        seg_buf best = {0};
        seg_buf_printf(&best, "%s/ckpt/best-%s.safetensors", dir, stage);
        if (is_file(best.data)) {
            seg_buf_free(&b);
            b = best;
        } else {
            seg_buf_free(&best);
        }
    }
    rt_ckpt_free(last);
    if (!is_file(b.data)) {
        cli_error("%s: no checkpoint in this folder (expected %s/ckpt/last.safetensors from "
                  "segc train)", dir, dir);
        seg_buf_free(&b);
        return CLI_USAGE;
    }
    *path = b.data;
    return CLI_OK;
}

int cli_ckpt_open(const char *arg, rt_ckpt **ckpt, char **path)
{
    *ckpt = NULL;
    *path = NULL;
    if (is_dir(arg)) {
        int rc = pick_in_dir(arg, path);
        if (rc)
            return rc;
    } else if (!is_file(arg)) {
        cli_error("cannot read '%s': %s", arg, errno ? strerror(errno) : "not a file");
        return CLI_USAGE;
    } else {
        *path = seg_xstrdup(arg);
    }
    rt_error err = {{0}};
    *ckpt = rt_ckpt_read(*path, &err);
    if (!*ckpt) {
        cli_error("%s", err.msg);
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

/* ------------------------------------------------------------ program */

static int meta_int(const rt_ckpt *c, const char *key, int def)
{
    const char *v = rt_ckpt_meta(c, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : def;
    return v && (*end || end == v) ? def : (int)x;
}

/* The recorded files as seg_sources (arena strings borrowed from c). */
static int recorded_sources(const rt_ckpt *c, const char *path, seg_source **src)
{
    int n = meta_int(c, "segc.sources", 0);
    if (n < 1 || n > 4096 || !rt_ckpt_meta(c, "segc.stage")) {
        cli_error("%s: this checkpoint does not record its program; it was written by a segc "
                  "before `segc infer` (train again to get one)", path);
        return -1;
    }
    *src = seg_xcalloc((size_t)n, sizeof **src);
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "segc.source.%d.name", i);
        (*src)[i].name = rt_ckpt_meta(c, key);
        snprintf(key, sizeof key, "segc.source.%d.text", i);
        (*src)[i].text = rt_ckpt_meta(c, key);
        if (!(*src)[i].name || !(*src)[i].text) {
            cli_error("%s: the recorded program lacks file %d of %d (%s)", path, i, n, key);
            seg_free(*src);
            return -1;
        }
    }
    return n;
}

static int find_stage(const seg_schedule *s, const char *name)
{
    for (int k = 0; s && k < s->n_stages; k++)
        if (!strcmp(s->stages[k].name, name))
            return k;
    return -1;
}

/* The schedule as it was trained: with the parameter values the
 * checkpoint recorded (segc.schedule_args, "name=literal" lines). */
static const seg_schedule *recorded_schedule(const rt_ckpt *c, seg_program *p, const char *name,
                                             seg_diag *d)
{
    const char *args = rt_ckpt_meta(c, "segc.schedule_args");
    char *copy = seg_xstrdup(args ? args : "");
    seg_setting set[64];
    int n = 0;
    for (char *line = copy, *next; line && *line && n < 64; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = 0;
            set[n++] = (seg_setting){line, eq + 1};
        }
    }
    const seg_schedule *s = seg_program_schedule_with(p, name, set, n, d);
    seg_free(copy);
    return s;
}

int cli_ckpt_net(const rt_ckpt *c, const char *path, int batch, cli_net *n)
{
    memset(n, 0, sizeof *n);
    seg_source *src;
    int ns = recorded_sources(c, path, &src);
    if (ns < 0)
        return CLI_RUNTIME;
    n->diag = seg_diag_new(stderr);
    n->prog = seg_load_sources(src, ns, n->diag);
    seg_free(src);
    if (!n->prog) {
        cli_error("%s: the recorded program has errors (above)", path);
        return CLI_BAD_PROGRAM;
    }
    const char *sname = rt_ckpt_meta(c, "segc.schedule");
    const seg_schedule *s = sname ? recorded_schedule(c, n->prog, sname, n->diag) : NULL;
    int k = find_stage(s, rt_ckpt_meta(c, "segc.stage"));
    int m = meta_int(c, "segc.model", 0);
    if (k < 0 || m < 0 || m >= s->stages[k].n_models) {
        cli_error("%s: the recorded program has no schedule '%s' with stage '%s' and model %d",
                  path, sname ? sname : "?", rt_ckpt_meta(c, "segc.stage"), m);
        return CLI_RUNTIME;
    }
    n->graph = seg_stage_model_graph(n->prog, s, k, m, batch, n->diag);
    if (!n->graph)
        return CLI_BAD_PROGRAM;
    n->name = s->stages[k].models[m].net;
    return CLI_OK;
}

int cli_ckpt_params(const rt_ckpt *c, const char *path, const rt_program *p, rt_interp *it,
                    int all, int *loaded)
{
    *loaded = 0;
    seg_buf b = {0};
    int bad = 0;
    for (int i = 0; i < p->n_values; i++) {
        const rt_value *v = &p->values[i];
        if (v->kind != RT_VAL_PARAM && v->kind != RT_VAL_BUFFER)
            continue;
        rt_tensor *t = rt_interp_value_at(it, i);
        const rt_ckpt_entry *e = rt_ckpt_find(c, v->name);
        rt_error err = {{0}};
        if (!e && !all)
            continue;
        if (!e || rt_ckpt_load(c, v->name, t, &err)) {
            seg_buf_printf(&b, "\n  %s: %s", v->name, e ? err.msg : "not in the checkpoint");
            bad++;
            continue;
        }
        (*loaded)++;
    }
    if (bad)
        cli_error("%s: %d tensor%s of the net cannot be loaded:%s", path, bad, bad > 1 ? "s" : "",
                  b.data);
    seg_buf_free(&b);
    return bad ? CLI_RUNTIME : CLI_OK;
}

/* --------------------------------------------------------- inference */

static int parse_floats(const char *s, float *v, int max)
{
    int n = 0;
    char *end;
    while (s && *s && n < max) {
        v[n++] = strtof(s, &end);
        if (end == s)
            return -1;
        s = end;
        while (*s == ',' || *s == ' ')
            s++;
    }
    return n;
}

/* "clip(-100, 240); minmax(); resample(1, 1, 3)" */
static int parse_preprocess(const char *text, cli_infer_spec *sp)
{
    const char *s = text ? text : "";
    while (*s) {
        while (*s == ' ' || *s == ';')
            s++;
        if (!*s)
            break;
        const char *open = strchr(s, '('), *close = open ? strchr(open, ')') : NULL;
        if (!close || sp->n_prep == CLI_MAX_PREP)
            return -1;
        cli_prep *p = &sp->prep[sp->n_prep++];
        size_t n = (size_t)(open - s) < sizeof p->name - 1 ? (size_t)(open - s) : sizeof p->name - 1;
        memcpy(p->name, s, n);
        p->name[n] = 0;
        char args[256];
        n = (size_t)(close - open - 1) < sizeof args - 1 ? (size_t)(close - open - 1) : sizeof args - 1;
        memcpy(args, open + 1, n);
        args[n] = 0;
        p->n = parse_floats(args, p->v, 3);
        if (p->n < 0)
            return -1;
        s = close + 1;
    }
    return 0;
}

static int parse_names(const char *text, cli_infer_spec *sp)
{
    sp->names_buf = seg_xstrdup(text ? text : "");
    char *save = NULL;
    int k = 0;
    for (char *t = strtok_r(sp->names_buf, ",", &save); t && k < RT_MAX_CLASSES;
         t = strtok_r(NULL, ",", &save))
        sp->names[k++] = t;
    return k == sp->classes ? 0 : -1;
}

static int parse_truth_map(const char *text, cli_infer_spec *sp)
{
    float v[RT_MAX_CLASSES];
    int n = parse_floats(text, v, RT_MAX_CLASSES);
    if (n != sp->data_classes)
        return -1;
    for (int i = 0; i < n; i++)
        sp->truth_map[i] = (int)v[i];
    return 0;
}

static int parse_kind(const char *v, const char *const *names, int n)
{
    for (int i = 0; v && i < n; i++)
        if (!strcmp(v, names[i]))
            return i;
    return -1;
}

int cli_infer_spec_read(const rt_ckpt *c, const char *path, cli_infer_spec *sp)
{
    static const char *const decodes[] = {"threshold", "argmax", "nested"};
    static const char *const acts[] = {"none", "softmax", "sigmoid"};
    memset(sp, 0, sizeof *sp);
    sp->output = rt_ckpt_meta(c, "segc.output");
    if (!sp->output) {
        cli_error("%s: stage '%s' does not validate, so its checkpoint does not say which "
                  "output is the prediction (add `predict` and validation data to the stage)",
                  path, rt_ckpt_meta(c, "segc.stage"));
        return CLI_RUNTIME;
    }
    int d = parse_kind(rt_ckpt_meta(c, "segc.decode"), decodes, 3);
    int a = parse_kind(rt_ckpt_meta(c, "segc.activation"), acts, 3);
    float thr[1] = {0.5f}, spc[3];
    sp->classes = meta_int(c, "segc.classes", 0);
    sp->data_classes = meta_int(c, "segc.data_classes", 0);
    int n_sp = parse_floats(rt_ckpt_meta(c, "segc.spacing"), spc, 3);
    if (d < 0 || a < 0 || parse_floats(rt_ckpt_meta(c, "segc.threshold"), thr, 1) != 1 ||
        sp->classes < 2 || sp->classes > RT_MAX_CLASSES || sp->data_classes < 1 ||
        sp->data_classes > RT_MAX_CLASSES || parse_names(rt_ckpt_meta(c, "segc.class_names"), sp) ||
        parse_truth_map(rt_ckpt_meta(c, "segc.truth_map"), sp) ||
        parse_preprocess(rt_ckpt_meta(c, "segc.preprocess"), sp) || (n_sp != 0 && n_sp != 3)) {
        cli_error("%s: damaged inference metadata (segc.* keys)", path);
        return CLI_RUNTIME;
    }
    sp->decode = (rt_decode)d;
    sp->act = (rt_activation)a;
    sp->threshold = thr[0];
    return CLI_OK;
}

void cli_infer_spec_free(cli_infer_spec *sp)
{
    seg_free(sp->names_buf);
    memset(sp, 0, sizeof *sp);
}
