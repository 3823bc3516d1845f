/* repl.h — what the files of `segc repl` share; private to cli/repl*.c.
 *
 *   repl.c          the command: reading inputs (continuation, echo),
 *                   dispatching to Seg or a :command, Ctrl-C
 *   repl_line.c     the terminal: libedit line editing, history file,
 *                   completion of names, commands and parameter paths
 *   repl_session.c  the session: definitions and their program, values,
 *                   the host lang/ sees them through
 *   repl_run.c      compiled programs (a cache by graph) and running them
 *                   on the session's tensors and parameters
 *   repl_eval.c     a Seg input: definitions, tensors, values, and printing
 *   repl_show.c     a tensor's summary and statistics, :show's pictures
 *   repl_cmd.c      the :commands
 *   repl_train.c    :train, :plan and :set (a stage of a schedule)
 *
 * Memory: the session owns everything it holds (definitions, tensors,
 * the parameter store, compiled programs, the stage) and frees each when
 * it is replaced, so a long session stays the size of what it holds.
 * Compiled programs are a bounded cache (REPL_MAX_PROGS, REPL_ARENA_BUDGET);
 * evicting one releases its JIT code (runtime/jit.c: one resource tracker
 * per object, refcounted, removed when no program uses it any more).
 */
#ifndef SEGC_REPL_H
#define SEGC_REPL_H

#include "cli.h"

enum {
    REPL_MAX_PROGS = 24,          /* compiled statement programs kept */
    REPL_MAX_INPUT = 1 << 20,     /* bytes of one input (lines joined) */
};
#define REPL_ARENA_BUDGET ((int64_t)1 << 30) /* planned arena bytes of the kept programs */

/* One definition: a declaration's own text, keyed by its name. */
typedef struct repl_def {
    seg_item_kind kind;
    char *name;        /* the declared name; an import: "import PATH" */
    char *path;        /* "<repl>" or the file it came from */
    char *text;
    int first_line;
} repl_def;

/* A value bound to a name: a tensor, or a record (a net's outputs, whose
 * fields are the tensors "name.field", vars of their own). */
typedef struct repl_var {
    char *name;
    rt_tensor *t;      /* NULL for a record */
    char **fields;     /* a record's field names */
    int n_fields;
    int hidden;        /* made by load() for one input; dropped after it */
} repl_var;

/* A compiled statement program, cached by its graph. */
typedef struct repl_prog {
    char *key;         /* the graph's listing, source lines left out */
    pipeline_result pr;
    rt_interp *it;     /* made on first run */
    uint64_t param_gen;/* parameter generation its interpreter holds */
    uint64_t used;     /* tick of the last use (LRU) */
    double compile_ms; /* what building it took */
} repl_prog;

/* The stage :train, :plan and :set work on. */
typedef struct repl_stage {
    char *sched, *stage;   /* NULL until one is named */
    int built;             /* ts holds its programs for program generation gen */
    uint64_t gen;
    train_stage ts;
    rt_trainer *trainer;   /* kept between :train runs (optimizer state, step) */
    uint64_t steps_done;   /* the stage's steps so far: a rebuilt trainer goes on from them */
    rt_dataset *data;      /* the schedule's data sets, loaded on first :train */
    int n_data;
    char *data_sched;      /* what they were made from (sources, preprocessing) */
    /* :set overrides of numbers (0 / NAN = not set) */
    double lr;
    int steps;             /* default steps per :train */
    uint64_t seed;
    int seed_set;
} repl_stage;

typedef struct repl {
    /* settings */
    int tty;               /* stdin is a terminal: prompts, line editing */
    int echo;              /* --echo: print each input after its prompt */
    int jit;               /* JIT kernels (else the reference interpreter) */
    int threads;
    uint64_t seed;         /* parameter initialisation */
    int seed_given;        /* --seed: it also beats a schedule's `seed` in :train */
    const char *const *files; /* FILE.seg arguments (reloaded by :reset) */
    int n_files;
    /* definitions and the program they make */
    repl_def *defs;
    int n_defs, cap_defs;
    seg_program *prog;     /* never NULL once started (an empty session is a program) */
    seg_diag *diag;        /* the program's; inputs are registered here */
    uint64_t gen;          /* program generation: bumped by every reload */
    /* values */
    repl_var *vars;
    int n_vars, cap_vars;
    int n_loads;           /* load() counter, for hidden names */
    rt_store *params;      /* parameters and buffers by name */
    uint64_t param_gen;    /* bumped whenever params change */
    /* compiled programs */
    rt_jit *jit_engine;    /* NULL without the JIT */
    repl_prog progs[REPL_MAX_PROGS];
    int n_progs;
    uint64_t tick;
    /* input */
    int line;              /* session line number of the next line read */
    int input_line;        /* first line of the input being handled */
    const char *cmd_line;  /* the :command being run (its expressions are quoted in it) */
    seg_diag *input_diag;  /* where that input is registered... */
    int input_mark;        /* ... and the file count before it */
    volatile int interrupted; /* Ctrl-C seen (set by the signal handler) */
    int catching;          /* repl_catch_interrupt nesting */
    int quit;
    int n_errors;          /* inputs that failed (a script's exit status) */
    int input_failed;      /* the current input failed (a located diagnostic) */
    repl_stage st;
} repl;

/* ------------------------------------------------------------ repl.c */

/* "<repl>:LINE: error: ..." on stderr (a command's failure). */
void repl_error(repl *r, const char *fmt, ...) SEG_PRINTF(2, 3);
/* Route Ctrl-C to r->interrupted (on) or back to the default (off). */
void repl_catch_interrupt(repl *r, int on);

/* -------------------------------------------------------- repl_line.c */

/* Line editing on a terminal. repl_line_read returns a malloc'd line
 * without its newline, or NULL at end of input (Ctrl-D); *interrupted is
 * set when Ctrl-C abandoned the line. */
void repl_line_open(repl *r);
char *repl_line_read(repl *r, const char *prompt, int *interrupted);
void repl_line_history(repl *r, const char *input);
void repl_line_close(repl *r);

/* ----------------------------------------------------- repl_session.c */

void repl_session_init(repl *r);
void repl_session_free(repl *r);
/* Forget everything but the settings, then load the startup files again. */
int repl_session_reset(repl *r);
/* Load a .seg file's declarations as definitions (one each); the same
 * from a text named path (a checkpoint's recorded program). */
int repl_load_file(repl *r, const char *path);
int repl_load_text(repl *r, const char *path, const char *text, size_t len);
/* Replace (or add) definitions and load the session again; on errors
 * nothing changes (the errors are printed). defs are taken over. */
int repl_define(repl *r, repl_def *defs, int n, int quiet);
void repl_def_free(repl_def *d);
const repl_def *repl_def_find(const repl *r, const char *name);
/* Remove definition `name` (and reload); 0 when it was not there. */
int repl_undefine(repl *r, const char *name);
/* A definition of kind/name from text (copied). */
repl_def repl_def_make(seg_item_kind kind, const char *name, const char *path, const char *text,
                       int first_line);

repl_var *repl_var_find(const repl *r, const char *name);
/* Bind a tensor (taken over) to name, replacing what the name was. */
void repl_var_set(repl *r, const char *name, rt_tensor *t, int hidden);
void repl_var_set_record(repl *r, const char *name, const char *const *fields, int n);
void repl_var_drop(repl *r, const char *name);
void repl_vars_drop_hidden(repl *r);

/* The host that lets lang/ see the session's values. */
seg_repl_host repl_host(repl *r);

/* Register input text in the program's diag (at r->input_line), counting
 * errors from zero; returns the file id. repl_input_done forgets it again
 * (unless a reload replaced that diag meanwhile). */
int repl_input_begin(repl *r, const char *text, size_t len);
void repl_input_done(repl *r);

/* ---------------------------------------------------------- repl_run.c */

/* A compiled program for g (from the cache, or built now: *built = 1). */
repl_prog *repl_compile(repl *r, const ir_graph *g, int *built);
/* Run p on the session's tensors and parameters (new parameters are
 * created and stored, with a note). -1 after printing why. */
int repl_run(repl *r, repl_prog *p, double *ms);
/* Output `name` of p after a run (NULL if none). */
rt_tensor *repl_output(repl_prog *p, const char *name);
/* Drop every compiled program (:threads, :reset, a new program). */
void repl_progs_clear(repl *r);
/* A tensor copy (rt_tensor_new + data). */
rt_tensor *repl_tensor_copy(const rt_tensor *t);
/* Resident set size of the process in bytes (0 if unknown). */
int64_t repl_rss(void);

/* ------------------------------------------------------- repl_eval.c */

/* Handle one Seg input (a whole one: the caller checked it is complete). */
void repl_eval_input(repl *r, const char *text);
/* Evaluate expression text (a :command's argument) into a result whose
 * tensors are computed: *out (a copy, caller frees) for a single tensor.
 * 0, or -1 after printing why. prog/ms: the program that ran and its time.
 * The text stays registered (repl_input_done) until the command ends. */
typedef struct repl_value {
    seg_result res;        /* what lang made of it */
    rt_tensor *t;          /* TENSOR: the computed tensor (owned); a RECORD runs but
                              keeps nothing */
    repl_prog *prog;       /* the program that computed it (cache-owned) */
    int built;             /* the program was compiled for this evaluation */
    double ms;             /* its run time */
} repl_value;
int repl_eval_expr(repl *r, const char *text, int run, repl_value *v);
void repl_value_free(repl_value *v);

/* ------------------------------------------------------- repl_show.c */

/* "x: f32[1, 1, 64, 64, 64]  min 0 max 1 mean 0.5  [0.12, 0.53, ...]", or
 * for a label map (i32/u8) its class counts. */
void repl_print_tensor(const char *name, const rt_tensor *t);
void repl_print_stats(const char *what, const rt_tensor *t);
/* Write a slice of t as PNG (labels over image when given). */
typedef struct repl_show_opts {
    int axis;          /* spatial axis held fixed (0 = the first spatial axis) */
    int64_t slice;     /* its index; -1 = the middle */
    int channel;       /* channel of a [N, C, ...] tensor */
    const char *path;  /* the PNG */
} repl_show_opts;
int repl_show_write(repl *r, const rt_tensor *t, const rt_tensor *image,
                    const repl_show_opts *o);
int repl_is_label_map(const rt_tensor *t);
/* v with thousands separators ("1,107,393") into buf. */
const char *repl_grouped(int64_t v, char *buf, size_t n);

/* -------------------------------------------------------- repl_cmd.c */

/* A :command line (with its colon). */
void repl_command(repl *r, const char *line);
/* Names of the commands for completion (NULL-terminated). */
const char *repl_command_name(int i);

/* ------------------------------------------------------ repl_train.c */

int repl_cmd_train(repl *r, const char *args);
int repl_cmd_plan(repl *r, const char *args);
int repl_cmd_set(repl *r, const char *args);
void repl_stage_free(repl *r);
/* Drop the stage's compiled programs and trainer (built again on use). */
void repl_stage_drop_programs(repl *r);
/* Is parameter `name` frozen in the current stage? -1 without a stage. */
int repl_stage_frozen(repl *r, const char *name);

#endif
