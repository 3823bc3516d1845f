/* repl_line.c — the REPL at a terminal: libedit's readline interface for
 * line editing, a history file, and Tab completion.
 *
 * History: $XDG_STATE_HOME/segc/history when XDG_STATE_HOME is set (the
 * folder is made), else ~/.segc_history; the last 1000 inputs, written
 * after every input so a crash loses nothing. An input of several lines
 * is one entry.
 *
 * Completion looks at the line before the word:
 *   :he<Tab>                       command names
 *   :train de<Tab>, :plan, :set    SCHEDULE.STAGE names
 *   :load, :save                   file names (libedit's own)
 *   level.1.enc<Tab>, y.ma<Tab>    parameter paths, record fields, stages
 *   anything else                  names in scope: values, definitions,
 *                                  built-in ops, load, keywords
 * libedit frees the strings it is given with free(), so the candidates it
 * gets are strdup'd (outside the allocation funnel, by its contract).
 */
#include "repl.h"

#include <editline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static repl *line_repl;      /* the session completion reads (libedit has no user pointer) */
static char *history_path;   /* NULL: no history file */

typedef struct cands {
    char **s;
    int n, cap, next;
} cands;
static cands found;           /* the candidates of the completion in progress */

static void cand_add(cands *c, const char *prefix, const char *s)
{
    if (!s || strncmp(s, prefix, strlen(prefix)) != 0 || s[0] == '%')
        return;
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->s[i], s))
            return;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->s = seg_xrealloc(c->s, (size_t)c->cap * sizeof *c->s);
    }
    c->s[c->n++] = seg_xstrdup(s);
}

static void cands_clear(cands *c)
{
    for (int i = 0; i < c->n; i++)
        seg_free(c->s[i]);
    seg_free(c->s);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------- candidates */

static void add_commands(const char *text)
{
    char buf[64];
    for (int i = 0; repl_command_name(i); i++) {
        snprintf(buf, sizeof buf, ":%s", repl_command_name(i));
        cand_add(&found, text, buf);
    }
}

static void add_stages(const char *text)
{
    const char **names;
    int n = seg_program_schedules(line_repl->prog, &names);
    for (int i = 0; i < n; i++) {
        const seg_schedule *s = seg_program_schedule(line_repl->prog, names[i]);
        for (int k = 0; s && k < s->n_stages; k++) {
            char buf[512];
            snprintf(buf, sizeof buf, "%s.%s", s->name, s->stages[k].name);
            cand_add(&found, text, buf);
        }
    }
}

static void add_paths(const char *text)
{
    for (int i = 0; i < rt_store_count(line_repl->params); i++)
        cand_add(&found, text, rt_store_name(line_repl->params, i));
    for (int i = 0; i < line_repl->n_vars; i++)
        cand_add(&found, text, line_repl->vars[i].name);
    add_stages(text);
}

static void add_names(const char *text)
{
    static const char *const words[] = {"load", "net", "block", "schedule", "import", "for",
                                        "if", "else", "scope", "true", "false", "and", "or",
                                        "not", "f32", "i32", "u8"};
    for (int i = 0; i < line_repl->n_vars; i++)
        if (!strchr(line_repl->vars[i].name, '.'))
            cand_add(&found, text, line_repl->vars[i].name);
    const char **names;
    int n = seg_program_names(line_repl->prog, &names);
    for (int i = 0; i < n; i++)
        cand_add(&found, text, names[i]);
    for (int i = 0; seg_builtin_name_at(i); i++)
        cand_add(&found, text, seg_builtin_name_at(i));
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cand_add(&found, text, words[i]);
}

/* The command the line starts with ("train"), or "" when it is Seg. */
static void line_command(const char *line, int start, char *cmd, size_t n)
{
    cmd[0] = 0;
    while (*line == ' ')
        line++, start--;
    if (line[0] != ':')
        return;
    size_t k = strcspn(line + 1, " \t");
    if ((int)k + 1 >= start) /* still in the command word */
        return;
    snprintf(cmd, n, "%.*s", (int)k, line + 1);
}

static char *generate(const char *text, int state)
{
    (void)text;
    if (state == 0)
        found.next = 0;
    return found.next < found.n ? strdup(found.s[found.next++]) : NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    char cmd[32];
    cands_clear(&found);
    rl_attempted_completion_over = 1;
    line_command(rl_line_buffer, start, cmd, sizeof cmd);
    if (text[0] == ':' && !cmd[0])
        add_commands(text);
    else if (!strcmp(cmd, "load") || !strcmp(cmd, "save")) {
        rl_attempted_completion_over = 0; /* libedit completes file names */
        return NULL;
    } else if (!strcmp(cmd, "train") || !strcmp(cmd, "plan") || !strcmp(cmd, "set"))
        add_stages(text);
    else if (!strcmp(cmd, "help"))
        add_commands(text[0] == ':' ? text : "");
    else if (strchr(text, '.') || !strcmp(cmd, "params"))
        add_paths(text);
    else
        add_names(text);
    char **m = found.n ? rl_completion_matches(text, generate) : NULL;
    cands_clear(&found);
    return m;
}

/* ------------------------------------------------------------- history */

static char *history_file(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    seg_buf b = {0};
    if (state && state[0]) {
        seg_buf_printf(&b, "%s/segc", state);
        mkdir(state, 0755);
        mkdir(b.data, 0755);
        seg_buf_printf(&b, "/history");
    } else if (home && home[0]) {
        seg_buf_printf(&b, "%s/.segc_history", home);
    }
    return b.data;
}

void repl_line_open(repl *r)
{
    line_repl = r;
    rl_readline_name = "segc";
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,[+-*/%";
    rl_completion_append_character = 0;
    using_history();
    stifle_history(1000);
    history_path = history_file();
    if (history_path)
        read_history(history_path);
}

char *repl_line_read(repl *r, const char *prompt, int *interrupted)
{
    r->interrupted = 0;
    repl_catch_interrupt(r, 1);
    char *line = readline(prompt);
    repl_catch_interrupt(r, 0);
    *interrupted = r->interrupted;
    return line;
}

void repl_line_history(repl *r, const char *input)
{
    (void)r;
    add_history(input);
    if (history_path)
        write_history(history_path);
}

void repl_line_close(repl *r)
{
    (void)r;
    seg_free(history_path);
    history_path = NULL;
    clear_history();
    line_repl = NULL;
}
