/* cli_front.c — the segc commands that only use the front end and the
 * graph IR: `check`, `ir` and `params`, plus the shared step of loading a
 * .seg file and elaborating one of its nets (also used by `run`), and
 * running the compile pipeline with its errors reported (cli_pipeline).
 *
 * Diagnostics go to stderr through the diag engine as they are found; a
 * program with errors exits 65. A file that cannot be read at all, or a
 * --net that names no net, is a command-line mistake and exits 1.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("segc: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The front end reports unreadable files as diagnostics too, but a missing
 * file is a usage mistake, so catch it first with a plain message. */
static int cli_file_readable(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("cannot read '%s': %s", path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

/* --net must name a net of the program; list them when it does not. */
static int cli_check_net_name(const cli_opts *o, const seg_program *p)
{
    const char **names = NULL;
    int n = seg_program_nets(p, &names);
    if (n == 0) {
        cli_error("%s declares no net", o->files[0]);
        return CLI_USAGE;
    }
    if (!o->net)
        return CLI_OK;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], o->net) == 0)
            return CLI_OK;
    fprintf(stderr, "segc: error: %s has no net named '%s' (nets:", o->files[0], o->net);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", names[i]);
    fputs(")\n", stderr);
    return CLI_USAGE;
}

int cli_net_load(const cli_opts *o, int training, cli_net *n)
{
    memset(n, 0, sizeof *n);
    if (!cli_file_readable(o->files[0]))
        return CLI_USAGE;
    n->diag = seg_diag_new(stderr);
    n->prog = seg_load(o->files[0], n->diag);
    if (!n->prog)
        return CLI_BAD_PROGRAM;
    int rc = cli_check_net_name(o, n->prog);
    if (rc != CLI_OK)
        return rc;
    n->graph = seg_elaborate_net(n->prog, o->net, o->settings, o->n_settings, training, n->diag);
    if (!n->graph || seg_diag_error_count(n->diag) > 0)
        return CLI_BAD_PROGRAM;
    n->name = n->graph->name;
    return CLI_OK;
}

void cli_net_free(cli_net *n)
{
    if (n->graph)
        ir_graph_free(n->graph);
    if (n->prog)
        seg_program_free(n->prog);
    if (n->diag)
        seg_diag_free(n->diag);
    memset(n, 0, sizeof *n);
}

/* check FILE...: every file is loaded and checked; prints nothing when all
 * are fine. One diag engine for all, so the error limit is global. */
int cli_cmd_check(const cli_opts *o)
{
    for (int i = 0; i < o->n_files; i++)
        if (!cli_file_readable(o->files[i]))
            return CLI_USAGE;
    seg_diag *d = seg_diag_new(stderr);
    int bad = 0;
    for (int i = 0; i < o->n_files; i++) {
        seg_program *p = seg_load(o->files[i], d);
        if (!p)
            bad = 1;
        else
            seg_program_free(p);
    }
    bad |= seg_diag_error_count(d) > 0;
    seg_diag_free(d);
    return bad ? CLI_BAD_PROGRAM : CLI_OK;
}

int cli_cmd_ir(const cli_opts *o)
{
    if (o->stage)
        return cli_stage_ir(o);
    cli_net n;
    int rc = cli_net_load(o, o->train, &n);
    if (rc == CLI_OK)
        ir_print(n.graph, stdout);
    cli_net_free(&n);
    return rc;
}

int cli_cmd_params(const cli_opts *o)
{
    cli_net n;
    int rc = cli_net_load(o, 0, &n);
    if (rc == CLI_OK)
        ir_print_params(n.graph, stdout);
    cli_net_free(&n);
    return rc;
}

/* Stage commands (plan, bench) take only B from --set besides the
 * schedule's parameters (cli_pick_schedule keeps those): model arguments
 * come from the schedule. *batch is left alone unless B was given. */
int cli_batch_setting(const cli_opts *o, const char *cmd, int *batch)
{
    for (int i = 0; i < o->n_settings; i++) {
        const seg_setting *kv = &o->settings[i];
        if (strcmp(kv->key, "B") != 0) {
            cli_error("%s: --set takes only B (the batch size) and the schedule's parameters, "
                      "not '%s'; model arguments come from the schedule", cmd, kv->key);
            return CLI_USAGE;
        }
        if (o->default_b)
            continue;
        char *end;
        errno = 0;
        long v = strtol(kv->value, &end, 10);
        if (*kv->value == 0 || *end || errno || v < 1 || v > 1 << 20) {
            cli_error("%s: B needs a positive integer, not '%s'", cmd, kv->value);
            return CLI_USAGE;
        }
        *batch = (int)v;
    }
    return CLI_OK;
}

/* A usage error listing the schedules there are. */
static int no_such_schedule(const cli_opts *o, const seg_program *p, const char *want)
{
    const char **names = NULL;
    int n = seg_program_schedules(p, &names);
    fprintf(stderr, "segc: error: %s has no schedule named '%s' (schedules:", o->files[0], want);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", names[i]);
    fputs(")\n", stderr);
    return CLI_USAGE;
}

static int is_param(const char *const *names, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], key) == 0)
            return 1;
    return 0;
}

int cli_pick_schedule(const cli_opts *o, seg_program *p, seg_diag *d, const seg_schedule **s,
                      cli_opts *rest)
{
    const char **names = NULL;
    const char *const *params = NULL;
    *rest = *o;
    rest->settings = NULL;
    rest->n_settings = 0;
    *s = NULL;
    int n = seg_program_schedules(p, &names);
    if (n == 0) {
        cli_error("%s declares no schedule", o->files[0]);
        return CLI_USAGE;
    }
    const char *want = o->schedule ? o->schedule : names[n - 1];
    int np = seg_schedule_params(p, want, &params);
    if (np < 0)
        return no_such_schedule(o, p, want);
    seg_setting *mine = seg_xcalloc((size_t)o->n_settings + 1, sizeof *mine);
    rest->settings = seg_xcalloc((size_t)o->n_settings + 1, sizeof *rest->settings);
    int n_mine = 0;
    for (int i = 0; i < o->n_settings; i++) {
        if (is_param(params, np, o->settings[i].key))
            mine[n_mine++] = o->settings[i];
        else
            rest->settings[rest->n_settings++] = o->settings[i];
    }
    *s = seg_program_schedule_with(p, want, mine, n_mine, d);
    seg_free(mine);
    return *s ? CLI_OK : CLI_BAD_PROGRAM;
}

void cli_schedule_args(const seg_schedule *s, const char *before, const char *between,
                       seg_buf *b)
{
    for (int i = 0; i < s->n_args; i++)
        seg_buf_printf(b, "%s%s%s%s", i ? between : before, s->args[i].key,
                       !strcmp(between, ", ") ? " = " : "=", s->args[i].value);
}

int cli_schedule_settings_only(const cli_opts *rest, const char *cmd)
{
    for (int i = 0; i < rest->n_settings; i++) {
        if (!strcmp(rest->settings[i].key, "B") && rest->default_b)
            continue;
        cli_error("%s: --set takes only the schedule's parameters here, not '%s'; a stage "
                  "takes its sizes from the schedule", cmd, rest->settings[i].key);
        return CLI_USAGE;
    }
    return CLI_OK;
}

void cli_rest_free(cli_opts *rest)
{
    seg_free(rest->settings);
    rest->settings = NULL;
    rest->n_settings = 0;
}

int cli_pipeline(const ir_graph *g, const pipeline_opts *po, pipeline_result *r, const char *what)
{
    rt_error err = {{0}};
    int rc = pipeline_build(g, po, r, &err);
    if (rc == PIPELINE_OK)
        return CLI_OK;
    if (what)
        cli_error("%s: %s", what, err.msg);
    else
        cli_error("%s", err.msg);
    return rc == PIPELINE_BAD_GRAPH ? CLI_BAD_PROGRAM : CLI_RUNTIME;
}

const char *cli_group_digits(int64_t v, char *buf, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu",
                       v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
    size_t k = 0;
    if (v < 0 && k + 1 < n)
        buf[k++] = '-';
    for (int i = 0; i < len && k + 1 < n; i++) {
        buf[k++] = digits[i];
        if ((len - i - 1) % 3 == 0 && i < len - 1 && k + 1 < n)
            buf[k++] = ',';
    }
    buf[k] = 0;
    return buf;
}
