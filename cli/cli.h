/* cli.h — the segc command line, shared between cli/main.c (option
 * parsing, help, dispatch) and the command implementations in
 * cli/cli_*.c and cli/train_build.c. Private to cli/: nothing else
 * includes it.
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
    int seed_given;          /* --seed was given (it beats a schedule's `seed`) */
    int threads;             /* run, train, bench, kir: the thread count (--threads, else
                                SEGC_THREADS, else the CPUs: rt_threads_resolve); 0 otherwise */
    int threads_given;       /* 1 = from --threads or SEGC_THREADS, not the default */
    int default_b;           /* 1 = the B=1 in settings was added, not given */
    const char *schedule;    /* --schedule NAME, NULL = the last schedule */
    int verbose;             /* --verbose */
    const char *out;         /* --out RUN_DIR */
    const char *resume;      /* --resume RUN_DIR */
    int overwrite;           /* train --overwrite: replace the run --out holds */
    const char *init;        /* --init CKPT */
    const char *stage;       /* --stage NAME (ir) */
    int grad;                /* --grad (ir) */
    int jit;                 /* run, train, bench: JIT convolutions (the default;
                                0 with --no-jit or SEGC_JIT=0) */
    const char *emit_llvm;   /* --emit-llvm DIR (kir) */
    int steps;               /* --steps N (bench), 0 = not given */
    int infer;               /* --infer (bench): an inference step, not training */
    const char **inputs;     /* infer --input PATH...: files, folders, globs */
    int n_inputs;
    const char **labels;     /* infer --labels PATH... */
    int n_labels;
    double overlap;          /* infer --overlap (default 0.5) */
    int tta;                 /* infer --tta: mirror test-time augmentation */
    int probabilities;       /* infer --probabilities: float32 probabilities, not labels */
    int keep_largest;        /* infer --keep-largest */
    int batch;               /* infer --batch N: tiles per forward pass (0 = default) */
    int64_t volume[3];       /* bench --volume DxHxW (n_volume sizes, slowest first) */
    int n_volume;            /* 0 = not given */
    int echo;                /* repl --echo: print each input of a script */
    int64_t max_memory;      /* --max-memory in bytes, 0 = not given (rt_budget_set_max) */
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
/* The schedule a command runs: --schedule NAME or the file's last one,
 * checked with the --set values that are its parameters (--set split=3).
 * *rest is o with the other settings only (B, epochs, ...), for the
 * command's own checks; free it with cli_rest_free. Returns CLI_OK, or
 * CLI_USAGE (no such schedule) / CLI_BAD_PROGRAM (errors with those
 * values) after printing why. */
int cli_pick_schedule(const cli_opts *o, seg_program *p, seg_diag *d,
                      const struct seg_schedule **s, cli_opts *rest);
void cli_rest_free(cli_opts *rest);
/* A parametrised schedule's values into b, each "key=value" after before
 * (the first) or between (the rest); ", " as between writes "key = value":
 * (" --set ", " --set ") for a command line, ("(", ", ") for a title. */
void cli_schedule_args(const struct seg_schedule *s, const char *before, const char *between,
                       seg_buf *b);
/* CLI_USAGE (printed) when rest has settings besides the B=1 the parser
 * added: for stage commands whose sizes all come from the schedule. */
int cli_schedule_settings_only(const cli_opts *rest, const char *cmd);
/* --set B=N for stage commands (others are usage errors); cmd names the
 * command in messages. */
int cli_batch_setting(const cli_opts *o, const char *cmd, int *batch);
/* pipeline_build (compiler/pipeline.c) with its failure printed, prefixed
 * by what (e.g. "stage 'one'", NULL = none): CLI_OK, CLI_BAD_PROGRAM for a
 * graph that cannot be differentiated, CLI_RUNTIME when the JIT fails. */
int cli_pipeline(const ir_graph *g, const pipeline_opts *po, pipeline_result *r, const char *what);
/* 1604032 -> "1,604,032" into buf (n bytes); returns buf (cli_front.c). */
const char *cli_group_digits(int64_t v, char *buf, size_t n);
/* "segc: error: " + message on stderr. */
void cli_error(const char *fmt, ...) SEG_PRINTF(1, 2);

/* ------------------------------------------- the process (process.c) */

/* Out of memory ends the process with a message and exit 70 (not an
 * abort); $SEGC_TEST_FAIL_ALLOC injects allocation failures. main calls it
 * first. */
void cli_process_init(void);
/* Text printed after an out-of-memory message (train: the last checkpoint
 * and how to resume); "" or NULL for none. */
void cli_exit_note(const char *note);
/* SIGINT and SIGTERM only set a flag (train stops after the step in
 * progress); cli_stop_requested gives the signal, 0 = none. */
void cli_stop_install(void);
int cli_stop_requested(void);
/* main's return value, rc; under an address-space limit (ulimit -v) the
 * process ends here with _exit (see process.c). */
int cli_process_exit(int rc);

/* ------------------------------------------------- plan (cli_plan.c) */

/* What `segc plan` counts for one stage's training step; the trainer
 * writes the same numbers into the run folder's stages.csv. */
typedef struct cli_plan_stats {
    int64_t train_scalars, frozen_scalars;  /* parameters (buffers excluded) */
    int64_t buffer_scalars;                 /* f32 buffers (batch-norm statistics) */
    int train_tensors, frozen_tensors;
    int64_t fwd_flops, bwd_flops;           /* per step */
    int64_t unfrozen_bwd_flops;             /* backward with nothing frozen */
    int fwd_nodes, bwd_nodes, unfrozen_bwd_nodes;
    int conv_trainable, conv_data_only, conv_none; /* convolutions by weight param */
    int64_t bytes_act, bytes_grad, bytes_param;    /* sum of tensor sizes */
    int64_t bytes_arena, bytes_fixed; /* planned arena; params/buffers/inputs */
    int layout_copies, layout_stored; /* conv operands copied between layouts, or not */
} cli_plan_stats;

/* Count a stage's training graph (seg_stage_graph, training = 1): its
 * step built as the trainer builds it, and again with nothing frozen. The
 * frozen convolutions' lines go to verbose (NULL = none). 0, or -1 with err. */
int cli_plan_graph_stats(const ir_graph *g, cli_plan_stats *st, FILE *verbose, char *err,
                         size_t n);

/* What `segc plan` prints for one stage (the counts, convolutions, memory). */
void cli_plan_print(FILE *out, const cli_plan_stats *st);

/* --------------------------------------------- training (train_build.c) */

typedef struct train_overrides {
    int epochs;        /* --set epochs=N: cap every stage's epochs (0 = none) */
    int steps;         /* --set steps=N: steps per epoch (0 = one pass over the data) */
    uint64_t seed;     /* --seed */
    int seed_given;    /* --seed was given: it beats the schedule's `seed` */
    int threads;       /* the thread count (cli_opts.threads) */
} train_overrides;

/* One stage's compiled programs and runner settings. */
typedef struct train_stage {
    rt_stage_spec spec;
    pipeline_result train, eval; /* the training step and the evaluation forward */
    rt_jit *jit;       /* both programs' kernels, NULL without the JIT */
    char *pred_name;
    rt_ckpt *meta;     /* what every checkpoint of the stage records for inference
                          (metadata only; ckpt_meta.c) */
    seg_arena *arena;  /* small strings */
    int jit_on;        /* set by the caller: JIT kernels (else the reference interpreter) */
    FILE *log;         /* set by the caller: the JIT's "jit STAGE: ..." lines, or NULL */
    int runs;          /* set by the caller: the stage will run, so check that it fits in
                          memory before its kernels are compiled (rt_budget_check) */
    int threads;       /* set by the caller with runs: its thread count */
    cli_plan_stats plan; /* what `segc plan` counts for the stage (for plan.csv) */
    int have_plan;     /* plan is filled in */
} train_stage;

struct seg_schedule;
/* Load data entry `index` of the schedule with its preprocessing. */
int train_load_data(const struct seg_schedule *s, int index, rt_dataset *ds, rt_error *err);
/* Compile stage k (ts->arena must exist). */
int train_build_stage(seg_program *p, const struct seg_schedule *s, int k, seg_diag *d,
                      train_stage *ts, rt_error *err);
/* Optimizer, stop rules, lr schedule, augmentation (after the streams' datasets are set). */
int train_settings(const struct seg_schedule *s, int k, const train_overrides *ov,
                   rt_stage_spec *sp, rt_error *err);
void train_stage_free(train_stage *ts);
/* The target spacing of a preprocess resample(spacing) call, z, y, x. */
void cli_resample_spacing(const seg_scall *p, float t[3]);

/* ------------------------------- data parallelism under mpirun (cli_dist.c) */

/* The schedule as this rank compiles it: a copy whose stages' batch is
 * this rank's share of theirs (NULL with err when one does not split
 * evenly). Free with cli_dist_schedule_free. */
struct seg_schedule *cli_dist_schedule(const struct seg_schedule *s, const rt_dist *d,
                                       rt_error *err);
void cli_dist_schedule_free(struct seg_schedule *s);
/* What every rank must agree on: the running binary's bytes; the
 * program's file texts, schedule, --set values and seed; a stage's
 * compiled training program (values, instructions, batch, steps). */
uint64_t cli_dist_binary_hash(void);
uint64_t cli_dist_program_hash(const seg_program *p, const struct seg_schedule *s, uint64_t seed);
uint64_t cli_dist_stage_hash(const rt_stage_spec *sp);
/* Ranks > 0 print nothing to stdout; SIGTERM (mpirun ending the job)
 * prints what cli_dist_where last set and exits 70. No-op for NULL. */
void cli_dist_setup(const rt_dist *d);
void cli_dist_where(const char *stage, int epoch, int step, int steps_per_epoch);
/* A training job's MPI state: the job (NULL alone), this rank's schedule
 * (NULL alone) and its thread count. */
typedef struct cli_dist_job {
    rt_dist *dist;
    struct seg_schedule *local;
    int threads;
} cli_dist_job;
/* After rt_dist_join: the binary and program checks, this rank's
 * schedule and threads, and a line on stdout. -1 with err. */
int cli_dist_begin(const cli_opts *o, const seg_program *p, const struct seg_schedule *s,
                   uint64_t seed, cli_dist_job *job, rt_error *err);
/* The job's end: a failure only this rank knows ends every rank
 * (MPI_Abort); else MPI_Finalize. Returns code. */
int cli_dist_end(cli_dist_job *job, int code);

/* ------------------------------------------------- run folders (run_dir.c) */
/* A claimed run folder: the exclusive lock a run holds while it writes. */
typedef struct cli_run_lock {
    int fd; /* RUN/.lock, flock()ed; -1 = none */
} cli_run_lock;
enum { CLI_RUN_NEW, CLI_RUN_RESUME, CLI_RUN_OVERWRITE }; /* how a run takes its folder */
/* Create (for a new run) and lock dir, then clean it for the run: a new
 * run refuses a folder that holds a run, an overwrite empties segc's files
 * from it, and every mode removes temp files interrupted atomic writes
 * left. Returns CLI_OK, or CLI_USAGE / CLI_RUNTIME after printing why. */
int cli_run_dir_claim(const char *dir, int mode, cli_run_lock *lock);
void cli_run_dir_release(cli_run_lock *lock);

/* A checkpoint's f32 tensors (not optimizer state) into st, with their
 * trained_by; returns the count, adds their values to *values if given
 * (cli_train.c; the REPL's :load too). */
int cli_store_load_ckpt(rt_store *st, const rt_ckpt *c, int64_t *values);

/* ------------------------------------- checkpoints for inference (ckpt_meta.c) */

/* How the prediction output becomes probabilities: argmax of logits gets
 * a softmax; sigmoid and softmax outputs, and thresholds, none. */
rt_activation cli_pred_activation(const ir_graph *g, const char *output, rt_decode d);
const char *cli_activation_name(rt_activation a); /* "none", "softmax", "sigmoid" */
const char *cli_decode_name(rt_decode d);         /* "threshold", "argmax", "nested" */
/* The model of stage st that makes the prediction `output` (may be NULL). */
int cli_pred_model(const struct seg_stage *st, const char *output);
/* The "segc.*" metadata of stage k's checkpoints, in a metadata-only
 * writer (free with rt_ckpt_free); cli_meta_apply copies it into c. */
rt_ckpt *cli_meta_build(const seg_program *p, const struct seg_schedule *s, int k,
                        const rt_stage_spec *sp, rt_activation act);
void cli_meta_apply(const rt_ckpt *meta, rt_ckpt *c);

/* ------------------------------------ trained models (cli_model.c) */

/* A run folder, or a file named .safetensors. */
int cli_is_checkpoint(const char *arg);
/* Read the checkpoint arg names (a run folder: its latest stage's best,
 * else ckpt/last); *path is seg-owned. CLI_OK or the exit code, printed. */
int cli_ckpt_open(const char *arg, rt_ckpt **ckpt, char **path);
/* The recorded program and its predicting model's graph (B = batch) into
 * n (free with cli_net_free). CLI_OK or the exit code, printed. */
int cli_ckpt_net(const rt_ckpt *c, const char *path, int batch, cli_net *n);
/* Load p's parameters and buffers from c by name into it: every one (all,
 * else an error listing the missing) or those c has. *loaded counts them. */
int cli_ckpt_params(const rt_ckpt *c, const char *path, const rt_program *p, rt_interp *it,
                    int all, int *loaded);

enum { CLI_MAX_PREP = 16 };
typedef struct cli_prep {
    char name[16];  /* clip, minmax, zscore, resample */
    float v[3];     /* clip: lo, hi; resample: spacing z, y, x */
    int n;
} cli_prep;

/* How a checkpoint's prediction is made and read (its segc.* keys). */
typedef struct cli_infer_spec {
    const char *output;          /* the prediction output (borrowed from the checkpoint) */
    rt_activation act;
    rt_decode decode;
    float threshold;
    int classes;                 /* K */
    const char *names[RT_MAX_CLASSES];
    char *names_buf;             /* owns names[] */
    int data_classes;            /* D, of label files (--labels) */
    int truth_map[RT_MAX_CLASSES];
    cli_prep prep[CLI_MAX_PREP]; /* in order */
    int n_prep;
} cli_infer_spec;
int cli_infer_spec_read(const rt_ckpt *c, const char *path, cli_infer_spec *sp);
void cli_infer_spec_free(cli_infer_spec *sp);

/* The run folder's plan.csv row of a stage and its overlays (train_report.c). */
int train_write_plan(const char *dir, const char *stage, int batch, const cli_plan_stats *st,
                     rt_error *err);
/* Pictures of the stage's validation cases predicted by its best network
 * (at best_epoch) and its last (NULL, or the same epoch: best only), and
 * their rows in overlays/overlays.csv. */
int train_write_overlays(const char *dir, const rt_stage_spec *s, const rt_store *best,
                         int best_epoch, const rt_store *last, int last_epoch, rt_error *err);

/* ------------------------------------------- run folder files (csv.c) */

/* A CSV file read whole: a header row and data rows of text cells (RFC
 * 4180 quoting; short rows read as empty cells). */
typedef struct cli_csv {
    int n_cols, n_rows;     /* columns of the header; data rows */
    const char **cell;      /* [(n_rows + 1) * n_cols], row 0 the header */
    seg_arena *arena;       /* owns the cells */
} cli_csv;
/* NULL with err set when the file is missing, unreadable, over 64 MB or
 * has no header. */
cli_csv *cli_csv_read(const char *path, rt_error *err);
void cli_csv_free(cli_csv *c);
int cli_csv_col(const cli_csv *c, const char *name);     /* -1 when absent */
/* Cell of data row `row` (from 0); "" for a column of -1. */
const char *cli_csv_get(const cli_csv *c, int row, int col);
/* A cell as a number; NaN when empty or not a number. */
double cli_csv_num(const cli_csv *c, int row, int col);
/* A CSV field, quoted when it holds a comma, quote or line break. */
void cli_csv_put(seg_buf *b, const char *field);
/* Rewrite a file of per-stage rows (a "stage" column) atomically: the
 * header line (no newline), the existing rows of the other stages in
 * their order, then `rows` (lines ending in newlines) for `stage`. An
 * existing file with another header is replaced whole. */
int cli_csv_put_stage(const char *path, const char *header, const char *stage, const char *rows,
                      rt_error *err);

/* metrics.csv read back into epoch rows (the report; --resume keeps the
 * epochs before the resume point). Stage numbers are in order of first
 * appearance; class names come from the per-class columns a row fills. */
typedef struct cli_run_rows {
    rt_epoch_row *rows;
    int n;
    seg_arena *arena;       /* names the rows point to */
} cli_run_rows;
int cli_run_rows_read(const char *path, cli_run_rows *out, rt_error *err);
void cli_run_rows_free(cli_run_rows *r);

/* ----------------------------------------------- report (cli_report.c) */

/* Write RUN_DIR/report.html from the run folder's files (atomically).
 * Returns 0, or -1 with err. */
int cli_report_write(const char *dir, rt_error *err);

/* The commands. */
int cli_cmd_check(const cli_opts *o);
int cli_cmd_ir(const cli_opts *o);
int cli_cmd_params(const cli_opts *o);
int cli_cmd_run(const cli_opts *o);
int cli_cmd_plan(const cli_opts *o);  /* cli_plan.c */
int cli_cmd_train(const cli_opts *o); /* cli_train.c */
int cli_stage_ir(const cli_opts *o);  /* cli_train.c: ir --stage [--grad] */
int cli_cmd_bench(const cli_opts *o); /* cli_bench.c */
int cli_cmd_kir(const cli_opts *o);   /* cli_jit.c */
/* What `segc kir` prints for one compiled program (cli_jit.c). */
int cli_kir_print(rt_jit *jit, const char *what, const rt_program *p, const jit_program *jp);
int cli_cmd_repl(const cli_opts *o);  /* repl.c */
void repl_help_commands(FILE *out);   /* repl_cmd.c: the :commands, for `segc help repl` */
int cli_cmd_cache(const cli_opts *o); /* cli_jit.c */
int cli_cmd_report(const cli_opts *o); /* cli_report.c */
int cli_print_version(void);          /* cli_version.c: segc --version */
int cli_cmd_infer(const cli_opts *o); /* cli_infer.c */

#endif
