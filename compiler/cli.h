/* cli.h — the segc command line, shared between compiler/main.c (option
 * parsing, help, dispatch) and the command implementations in
 * compiler/cli_*.c. Private to the CLI: nothing else includes it.
 *
 * Every command takes the parsed options and returns the process exit
 * code; commands print results to stdout and errors to stderr as
 * "segc: error: ..." (program diagnostics keep their own
 * "file:line:col: error:" form). Only main() exits.
 */
#ifndef SEGC_CLI_H
#define SEGC_CLI_H

#include "../lang/lang.h"

/* Exit codes (sysexits-like; see STYLE.md rule 7). */
enum {
    CLI_OK = 0,          /* success */
    CLI_USAGE = 1,       /* bad command line, unreadable file */
    CLI_BAD_PROGRAM = 65,/* the .seg program has errors */
    CLI_RUNTIME = 70,    /* failure while running (kernels, NIfTI I/O) */
};

/* The parsed command line. Strings point into argv. */
typedef struct cli_opts {
    const char *cmd;         /* subcommand name */
    const char **files;      /* positional FILE arguments */
    int n_files;
    const char *net;         /* --net NAME, NULL = the last net of the file */
    seg_setting *settings;   /* --set k=v, in order; B=1 appended when absent */
    int n_settings;
    int train;               /* --train: training behaviour of BN/dropout */
    const char *input;       /* --input: NIfTI volume, NULL = random input */
    const char *output;      /* --output: NIfTI file for the first output */
    uint64_t seed;           /* --seed, default 0 */
    int threads;             /* --threads, 0 = not given */
} cli_opts;

/* A loaded program and one elaborated net (cli_front.c). */
typedef struct cli_net {
    seg_diag *diag;      /* prints to stderr */
    seg_program *prog;   /* NULL until loaded */
    ir_graph *graph;     /* NULL until elaborated */
    const char *name;    /* the net's name (graph-owned) */
} cli_net;

/* Load o->files[0] and elaborate o->net with o->settings in the given
 * mode. Returns CLI_OK, or the exit code after printing why. Always call
 * cli_net_free afterwards. */
int cli_net_load(const cli_opts *o, int training, cli_net *n);
void cli_net_free(cli_net *n);
/* "segc: error: " + message on stderr. */
void cli_error(const char *fmt, ...) SEG_PRINTF(1, 2);

/* The commands. */
int cli_cmd_check(const cli_opts *o);
int cli_cmd_ir(const cli_opts *o);
int cli_cmd_params(const cli_opts *o);
int cli_cmd_run(const cli_opts *o);

#endif
