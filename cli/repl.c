/* repl.c — `segc repl [FILE.seg ...]`: the interactive prompt.
 *
 * Each input is read whole before it runs. A line starting with ':' is a
 * command (repl_cmd.c). Anything else is Seg: lines are joined until the
 * parser, run quietly in REPL mode, no longer calls the input incomplete
 * (a bracket or brace still open, a trailing operator, a declaration cut
 * short); a wrong input is handed over at once so its error is reported.
 * Lines between ":{" and ":}" (as in GHCi) are one input: a pasted
 * program whose declarations use each other in any order.
 * Strings end at their line in Seg, so an open string is an error, not a
 * continuation. Each input is numbered by the session line it began on:
 * messages read "<repl>:LINE:COL: error: ..." with the source line and a
 * caret, and the session goes on.
 *
 * On a terminal: the prompt "segc> " and the continuation "...> ", line
 * editing, history and completion (repl_line.c), a banner, and Ctrl-C
 * abandons the line being typed; during :train it stops after the step in
 * progress, and during anything else it is noted and ignored (a program
 * cannot stop midway), so it never ends the session. Otherwise the inputs are a script read from standard input
 * and nothing but results is printed (--echo prints each input after its
 * prompt too, which makes a transcript). stdout is line buffered so
 * results and diagnostics (stderr) keep their order in a pipe. The exit
 * status of a script is 65 when any input failed.
 */
#include "repl.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void openblas_set_num_threads(int); /* from OpenBLAS; we include no BLAS header */

#define PROMPT "segc> "
#define PROMPT_MORE "...> "

static repl *sig_repl; /* the session the Ctrl-C handler flags */

static void on_interrupt(int sig)
{
    (void)sig;
    if (sig_repl)
        sig_repl->interrupted = 1;
}

void repl_catch_interrupt(repl *r, int on)
{
    if (on ? r->catching++ > 0 : --r->catching > 0)
        return; /* nested: the outer one installed it, and restores it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_interrupt : SIG_DFL; /* no SA_RESTART: a read returns */
    sig_repl = on ? r : NULL;
    sigaction(SIGINT, &sa, NULL);
}

void repl_error(repl *r, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "<repl>:%d: error: ", r->input_line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    r->n_errors++;
}

/* ------------------------------------------------------------- reading */

/* One line: libedit on a terminal, else getline. NULL at the end. */
static char *read_line(repl *r, const char *prompt, int *interrupted)
{
    *interrupted = 0;
    if (r->tty)
        return repl_line_read(r, prompt, interrupted);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line); /* getline's own allocation */
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = 0;
    return line;
}

/* Does the input so far need more lines? A quiet parse in REPL mode. */
static int incomplete(repl *r, const char *text)
{
    seg_diag *d = seg_diag_new(NULL);
    int id = seg_diag_add_file_at(d, "<repl>", text, strlen(text), r->input_line);
    int more = 0;
    seg_input_free(seg_input_parse(d, id, text, strlen(text), 1, &more));
    seg_diag_free(d);
    return more;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s) && *s != '#')
            return 0;
        else if (*s == '#')
            return 1;
    return 1;
}

static int is_word(const char *line, const char *word)
{
    line += strspn(line, " \t");
    size_t n = strlen(word);
    return !strncmp(line, word, n) && line[n + strspn(line + n, " \t")] == 0;
}

/* :{ ... :} (as GHCi's): the lines between are one input, so a pasted
 * program's declarations may refer to each other in any order. */
static int read_block(repl *r, char **out)
{
    seg_buf b = {0};
    seg_buf_printf(&b, "%s", "");
    r->input_line = r->line;
    for (;;) {
        int intr;
        char *line = read_line(r, PROMPT_MORE, &intr);
        if (!line && intr && r->tty) {
            printf("\n");
            seg_buf_free(&b);
            *out = NULL;
            return 1;
        }
        if (!line)
            break;
        r->line++;
        if (r->echo)
            printf("%s%s\n", PROMPT_MORE, line);
        int end = is_word(line, ":}");
        if (!end)
            seg_buf_printf(&b, "%s%s", b.len ? "\n" : "", line);
        free(line); /* readline's or getline's allocation */
        if (end)
            break;
    }
    *out = b.data;
    return 1;
}

/* The next whole input into *out (seg-owned); 0 at the end of input. */
static int read_input(repl *r, char **out)
{
    seg_buf b = {0};
    for (;;) {
        int intr;
        char *line = read_line(r, b.len ? PROMPT_MORE : PROMPT, &intr);
        if (!line && intr && r->tty) { /* Ctrl-C: drop what was typed */
            printf("\n");
            seg_buf_free(&b);
            continue;
        }
        if (!line) {
            *out = b.data;
            return b.len > 0;
        }
        if (!b.len)
            r->input_line = r->line;
        r->line++;
        if (r->echo)
            printf("%s%s\n", b.len ? PROMPT_MORE : PROMPT, line);
        int first = !b.len;
        if (first && blank(line)) {
            free(line); /* readline's or getline's allocation */
            continue;
        }
        if (first && is_word(line, ":{")) {
            free(line);
            return read_block(r, out);
        }
        seg_buf_printf(&b, "%s%s", b.len ? "\n" : "", line);
        free(line);
        if (b.len > REPL_MAX_INPUT || (first && b.data[strspn(b.data, " \t")] == ':') ||
            !incomplete(r, b.data)) {
            *out = b.data;
            return 1;
        }
    }
}

/* --------------------------------------------------------------- loop */

static void handle(repl *r, const char *input)
{
    const char *p = input + strspn(input, " \t");
    int errors = r->n_errors;
    if (r->tty) { /* an accidental Ctrl-C must not end the session */
        repl_line_history(r, input);
        r->interrupted = 0;
        repl_catch_interrupt(r, 1);
    }
    if (*p == ':')
        repl_command(r, p);
    else
        repl_eval_input(r, input);
    if (r->tty) {
        repl_catch_interrupt(r, 0);
        if (r->interrupted)
            printf("(Ctrl-C: a computation runs to its end; :train stops between steps)\n");
        r->interrupted = 0;
    }
    if (r->n_errors == errors && r->input_failed)
        r->n_errors++;
    r->input_failed = 0;
    fflush(stdout);
}

static void banner(const repl *r)
{
    printf("segc %s REPL: Seg declarations and expressions; :help lists the commands, "
           ":quit leaves.\n", SEGC_VERSION);
    if (!r->jit)
        printf("(the JIT is off: everything runs on the reference interpreter)\n");
}

int cli_cmd_repl(const cli_opts *o)
{
    repl r;
    memset(&r, 0, sizeof r);
    r.tty = isatty(0) && isatty(1);
    r.echo = o->echo && !r.tty;
    r.jit = o->jit;
    r.threads = o->threads;
    r.seed = o->seed;
    r.seed_given = o->seed_given;
    r.files = o->files;
    r.n_files = o->n_files;
    repl_stage_free(&r); /* no stage: its overrides unset */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (o->threads_given)
        openblas_set_num_threads(o->threads);
    if (r.tty) {
        banner(&r);
        repl_line_open(&r);
    }
    repl_session_init(&r);
    char *input;
    while (!r.quit && read_input(&r, &input)) {
        if (input && input[strspn(input, " \t\n")])
            handle(&r, input);
        seg_free(input);
    }
    if (r.tty)
        repl_line_close(&r);
    repl_session_free(&r);
    return !r.tty && r.n_errors ? CLI_BAD_PROGRAM : CLI_OK;
}
