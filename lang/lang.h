/* lang.h — the public face of segc's front end, its one public header
 * (cli/ above it includes this; lang/ itself includes compiler.h below).
 *
 * diag:  collects and prints located diagnostics in GCC's form
 *        ("file:line:col: error: message", the source line, a caret);
 * parse: flex + bison, pure and reentrant, one file to one syntax tree
 *        (private to lang/: parse_internal.h, ast.h);
 * sema:  loads a program (a file and its imports), checks it, and
 *        elaborates a net into a compiler graph (ir_graph).
 *
 * Library code here never prints to stdout and never exits; errors go to
 * the diag engine and the caller picks the exit code (65 for a bad program).
 */
#ifndef SEGC_LANG_H
#define SEGC_LANG_H

#include "../compiler/compiler.h"

/* Syntax-tree nodes stay private to lang/ (ast.h); schedules point at them. */
typedef struct ast_expr ast_expr;

/* ----------------------------------------------------------- diagnostics */

typedef struct seg_diag seg_diag;

/* Diagnostics print to out as they arrive (stderr in the CLI). After
 * max_errors errors, further ones are counted but not printed. */
seg_diag *seg_diag_new(FILE *out);
void seg_diag_free(seg_diag *d);
/* Register a source text; returns its file id (>= 1). The text is copied. */
int seg_diag_add_file(seg_diag *d, const char *path, const char *text, size_t len);
/* The same for a text whose first line is line first_line (a REPL input:
 * its spans and messages use session line numbers). */
int seg_diag_add_file_at(seg_diag *d, const char *path, const char *text, size_t len,
                         int first_line);
int seg_diag_file_first_line(const seg_diag *d, int file_id);
/* Registered texts; seg_diag_truncate forgets those after the first n
 * (the REPL drops an input once it is done with it). */
int seg_diag_file_count(const seg_diag *d);
void seg_diag_truncate(seg_diag *d, int n_files);
/* Start counting errors and warnings from zero again (and print again
 * after the error cap): a new REPL input. */
void seg_diag_reset(seg_diag *d);
/* Print to out from now on (NULL: count only); returns the old stream. */
FILE *seg_diag_set_stream(seg_diag *d, FILE *out);
const char *seg_diag_file_path(const seg_diag *d, int file_id);
/* The file-name table indexed by file id (entry 0 is NULL), for ir_graph. */
const char *const *seg_diag_file_names(const seg_diag *d, int *n);
void seg_diag_error(seg_diag *d, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
void seg_diag_warning(seg_diag *d, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
void seg_diag_note(seg_diag *d, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
/* A note printed after every other note of the last error or warning:
 * held until the next error or warning, or seg_diag_flush (the front end
 * flushes before it returns). Context such as "in call to 'f' from here". */
void seg_diag_note_later(seg_diag *d, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
void seg_diag_flush(seg_diag *d);
int seg_diag_error_count(const seg_diag *d);

/* ------------------------------------------------------------------ sema */

/* A compile-time setting from the command line: --set levels=3. The value
 * is parsed as an int, float, bool, "string" or [list] literal
 * (--set size=[96,96,64]); other text is a string. */
typedef struct seg_setting {
    const char *key;
    const char *value;
} seg_setting;

typedef struct seg_program seg_program;

/* Read, parse and check path and everything it imports (stdlib search
 * path built in, plus SEG_PATH, plus the importing file's folder).
 * Checks every net with its default parameters and every schedule.
 * Returns NULL when there were errors (already reported to d). */
seg_program *seg_load(const char *path, seg_diag *d);
void seg_program_free(seg_program *p);

/* One file of a loaded program: what a checkpoint records so the program
 * can be loaded again without its files (segc infer). */
typedef struct seg_source {
    const char *name; /* the main file: its path as given; an import: its text ("std/nn") */
    const char *text; /* the whole file */
} seg_source;

/* The program's files, main first, then imports in the order they were
 * read; owned by the program. */
int seg_program_sources(const seg_program *p, const seg_source **src);
/* seg_load from memory: src[0] is the main file; an import resolves to the
 * entry of src[1..n) whose name is its text (".seg" optional on either),
 * never to a file on disk. So a program whose files import two different
 * files by the same text (relative imports from different folders) is
 * loaded with the first of them. */
seg_program *seg_load_sources(const seg_source *src, int n, seg_diag *d);

/* Names of the program's nets / schedules in declaration order. */
int seg_program_nets(const seg_program *p, const char ***names);
int seg_program_schedules(const seg_program *p, const char ***names);

/* Elaborate net_name (NULL = the last net of the main file) with the given
 * settings (net parameters and symbolic dimensions such as B) into a new
 * graph. training selects batch norm / dropout behaviour. Returns NULL on
 * error (reported to d). */
ir_graph *seg_elaborate_net(seg_program *p, const char *net_name,
                            const seg_setting *settings, int n_settings,
                            int training, seg_diag *d);

/* Every global name of the program (nets, blocks, constants, schedules)
 * and every built-in op, for completion; owned by the program / static. */
int seg_program_names(const seg_program *p, const char ***names);
const char *seg_builtin_name_at(int i); /* NULL after the last */

/* The stdlib folder: $SEG_STDLIB, else an installed segc's
 * PREFIX/share/segc/stdlib, else the source tree's (set at build time). */
const char *seg_stdlib_dir(void);

/* ------------------------------------------------------------------ REPL */

/* What `segc repl` (cli/repl*.c) needs from the front end. A session is a
 * list of definitions, each its own text (a declaration typed at the
 * prompt, or one of a file's), loaded together as one program; a
 * redefinition replaces the text and the session is loaded again, so
 * whatever depended on the old definition is rebuilt. An input that is
 * not a definition is evaluated against that program: its tensor
 * operations make a graph whose inputs are the session's tensors, by
 * name, for the REPL to compile and run (lang never runs anything). */

/* One definition: its text and where it came from. */
typedef struct seg_chunk {
    const char *path;  /* "<repl>", or the file it came from (imports resolve from
                          that file's folder; "<repl>": the working folder) */
    const char *text;  /* declarations only */
    int first_line;    /* the line its text starts on (messages say path:LINE:COL) */
} seg_chunk;

/* Load and check a session's definitions in order as one program (one
 * namespace, as one file's imports). n may be 0. In this program a net
 * called with its parameters, unet(levels = 3), is a value, a net
 * instance, which the prompt applies to tensors: unet(levels = 3)(x)
 * (lang/netinst.c). NULL when there were errors (reported to d). */
seg_program *seg_load_session(const seg_chunk *chunks, int n, seg_diag *d);

typedef enum seg_item_kind {
    SEG_ITEM_IMPORT,   /* import "path" (name: the path) */
    SEG_ITEM_CONST,    /* NAME = expr: a constant, or at the prompt a tensor to compute */
    SEG_ITEM_BLOCK,
    SEG_ITEM_NET,
    SEG_ITEM_SCHEDULE,
    SEG_ITEM_EXPR,     /* an expression to evaluate and show (the prompt only) */
    SEG_ITEM_STAGE,    /* stage NAME(params) { ... }: a stage template */
} seg_item_kind;

/* One declaration (or the expression) of an input, in source order. */
typedef struct seg_item {
    seg_item_kind kind;
    const char *name;  /* the declared name; IMPORT: the path; EXPR: NULL */
    size_t begin, end; /* its text: bytes [begin, end) of the input */
    int line, col;     /* where it begins */
} seg_item;

typedef struct seg_input seg_input;
/* Parse text (registered in d as file_id, seg_diag_add_file_at) as one
 * input at the prompt (repl = 1: declarations, or one expression) or as a
 * file (repl = 0). *incomplete (may be NULL) is set when every error was
 * at the end of the input: an open bracket or brace, a trailing operator,
 * a declaration cut short. Then more lines could complete it, and the
 * REPL reads on with a continuation prompt (it parses with a silent
 * diag first to find out). NULL when there were errors. */
seg_input *seg_input_parse(seg_diag *d, int file_id, const char *text, size_t len, int repl,
                           int *incomplete);
int seg_input_items(const seg_input *in, const seg_item **items);
void seg_input_free(seg_input *in);

/* The session values an input can name, supplied by the REPL. */
typedef struct seg_repl_host {
    void *user;
    /* What `name` is in the session: 0 nothing, 1 a tensor (*type set), 2 a
     * record of tensors (a net's outputs: *fields, *n_fields set; each field
     * is the tensor "name.field"). */
    int (*lookup)(void *user, const char *name, rt_type *type, const char *const **fields,
                  int *n_fields);
    /* load("file"): read a NIfTI (.nii, .nii.gz) or PNG image into a
     * session tensor of its own; its name into name, its type into *type.
     * -1 with the reason in err. */
    int (*load)(void *user, const char *path, char *name, size_t name_len, rt_type *type,
                char *err, size_t err_len);
    /* Offer every session name to add (for "did you mean"). */
    void (*names)(void *user, void (*add)(void *ctx, const char *name), void *ctx);
} seg_repl_host;

typedef enum seg_result_kind {
    SEG_RESULT_ERROR,  /* reported to the program's diag */
    SEG_RESULT_VALUE,  /* a compile-time value */
    SEG_RESULT_TENSOR, /* the graph's output "value" */
    SEG_RESULT_RECORD, /* a net's several outputs: graph outputs by their names */
} seg_result_kind;

/* What an expression of an input evaluated to. */
typedef struct seg_result {
    seg_result_kind kind;
    const char *text;      /* VALUE: the value as Seg source when literal, else as shown */
    int literal;           /* VALUE: text reads back as the same value */
    const char *kind_name; /* VALUE: "int", "list", "net instance", ... */
    int reads_session;     /* a session value (tensor) was read */
    int reads_self;        /* a CONST item read the name it defines */
    ir_graph *graph;       /* TENSOR, RECORD: inputs are session tensors by name ("x",
                              "y.mask"); owned */
    seg_arena *arena;      /* the strings */
} seg_result;

/* Evaluate item `item` of in (a CONST's value or the EXPR) in the
 * program's namespace plus the session's values, in inference mode. in
 * must have been parsed in p's diag. Returns 0, or -1 (r->kind ERROR)
 * after reporting. Free r with seg_result_free either way. */
int seg_repl_eval(seg_program *p, const seg_input *in, int item, const seg_repl_host *h,
                  seg_result *r);
void seg_result_free(seg_result *r);

/* A global as the prompt's :type shows it: "net unet(levels = 4, base =
 * 32)" (with its inputs and outputs), "block encoder(x, ch)", "schedule
 * demo (stages grow1, grow2)", "levels: int = 3". NULL when the program
 * has no such name. */
char *seg_program_describe(seg_program *p, const char *name); /* seg_xrealloc'd */

/* A schedule's text with one item of stage `stage` changed: the first
 * item with that keyword becomes `keyword args`, or is added at the end
 * of the stage when it has none, or is removed when args is NULL. Returns
 * the new text (seg_xrealloc'd), or NULL with the reason in err. */
char *seg_schedule_edit(const char *text, const char *stage, const char *keyword,
                        const char *args, char *err, size_t err_len);

/* ------------------------------------------------------------- schedules */

/* Resolved training schedules, for the training driver.
 *
 * seg_load checks every `schedule` (lang/schedule.c) and keeps the result
 * in the program as plain data: data sources, preprocessing, stages with
 * their models, optimizer, stop rules and the parameters each stage
 * trains. Everything here is owned by the seg_program and lives until
 * seg_program_free; nothing needs freeing by the caller except graphs.
 *
 * Settings are "schedule calls" (seg_scall): a known name with its
 * arguments bound to the callee's parameters in declaration order and
 * defaults filled in, so a driver reads `seg_scall_num(opt, "lr", 1e-3)`
 * and never re-parses. The known calls and their parameters (schedule.c
 * has the table; unknown names and keywords are compile errors):
 *
 *   data sources   synthetic(kind; cases, size, spacing, seed, and every
 *                      option of rt_synth_opts_set by name (organ_cnr, ...,
 *                      hu_offset), lesions, labels = true, label = "mask",
 *                      distance = false)   options left out are NONE: the
 *                      runtime's defaults for the kind apply
 *                      kind: "lesions3d" or "lesions2d"
 *                  nifti(images = none; labels = none, list = none,
 *                        classes = 2, label = "mask", distance = false)
 *                  png(...)     the same parameters as nifti
 *                      label "mask": f32 [B, 1, spatial], 1 where label > 0
 *                      label "index": i32 [B, spatial], class indices
 *                      labels = false (synthetic): an unlabelled stream
 *                      distance = true: the stream has the field `dist`
 *   preprocess     clip(lo, hi), minmax(), zscore(), resample(spacing)
 *   augment        flip(; p = 0.5), rot90(; p = 0.25),
 *                  scale(; p = 0.15, lo = 0.75, hi = 1.25),
 *                  shift(; p = 0.15, amount = 0.1), noise(; p = 0.1, max = 0.1)
 *   optimizer      adam(; lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
 *                  clip = 0, weight_decay = 0), adamw(same, weight_decay = 0.01),
 *                  sgd(; lr = 0.01, momentum = 0, weight_decay = 0, nesterov = false,
 *                  clip = 0)      clip > 0: gradient clipping by global norm
 *   lr             constant(; warmup = 0), poly(power = 0.9; warmup = 0),
 *                  cosine(; min = 0, warmup = 0), step(every; gamma = 0.1, warmup = 0)
 *                  warmup: linear warm-up over that many steps
 *   until          epochs(n), steps(n),
 *                  plateau(metric; patience = 5, delta = 0, ema = 0, mode = "max")
 *   metrics        dice(data), iou(data), miou(data), loss(data)
 *   checkpoint     best(metric), last(), every(n)
 *
 * Stage graphs: seg_stage_graph builds ONE graph per stage holding every
 * model of the stage on every data stream of the stage, and the loss:
 *   - params of a model bound as `model student = net(...)` are named
 *     "student.<name>"; an unbound model keeps plain names;
 *   - the stage's first stream runs the models on inputs with the nets'
 *     own input names ("image"); outputs are "mask" / "student.mask".
 *     Every further stream s runs them again (same parameters, shared by
 *     name) on inputs "s.image", with outputs "s.mask" / "s.student.mask";
 *   - the loss's data fields are inputs too: "label" and "dist" for the
 *     first stream, "s.label", "s.dist" for the others (types above, with
 *     B and the spatial size of the net input "image");
 *   - "progress" is a rank-0 f32 input, the fraction of the stage's
 *     training done (0 to 1), which stage weights and the loss may use;
 *     the driver sets it every step;
 *   - the output "loss" is the scalar to minimise;
 *   - params outside the stage's trainable set have param->frozen = 1, and
 *     batch norms whose weight is frozen run in inference mode.
 */

typedef struct seg_scall seg_scall;

typedef enum seg_sv_kind {
    SEG_SV_NONE,   /* omitted, no default */
    SEG_SV_INT,    /* i (f holds the same value) */
    SEG_SV_FLOAT,  /* f */
    SEG_SV_BOOL,   /* i (0/1) */
    SEG_SV_STRING, /* s */
    SEG_SV_LIST,   /* items */
    SEG_SV_CALL,   /* call: a nested schedule call, e.g. dice(val) */
    SEG_SV_STREAM, /* a data stream: i = index in seg_schedule.data, s = name */
} seg_sv_kind;

/* A compile-time setting value. */
typedef struct seg_sv {
    seg_sv_kind kind;
    int64_t i;
    double f;
    const char *s;
    const struct seg_sv *items; /* LIST */
    int n_items;
    const seg_scall *call;      /* CALL */
} seg_sv;

/* A schedule call: name(args) with every parameter present. */
struct seg_scall {
    const char *name;
    seg_span span;
    int n;                      /* parameters */
    const char *const *keys;    /* parameter names, declaration order */
    const seg_sv *args;         /* values (defaults filled in) */
    const int *given;           /* 1 = written in the source */
    const seg_span *spans;      /* where each argument is written (the call's when not) */
};

/* The argument named key, or NULL when the callee has no such parameter. */
const seg_sv *seg_scall_arg(const seg_scall *c, const char *key);
/* Numeric / int / string argument, or def when absent or NONE. */
double seg_scall_num(const seg_scall *c, const char *key, double def);
int64_t seg_scall_int(const seg_scall *c, const char *key, int64_t def);
const char *seg_scall_str(const seg_scall *c, const char *key, const char *def);
/* The numbers of a setting (a number, a bool as 0/1, or a flat list of
 * them): their count, or -1 when it is not numeric or longer than max. */
int seg_sv_numbers(const seg_sv *v, double *out, int max);
/* The generator options of a synthetic(...) call. On failure err says why
 * and *bad is the index of the argument at fault (-1: the call as a whole),
 * so sema and the driver report one message from one reading. */
int seg_synthetic_opts(const seg_scall *k, rt_synth_opts *o, int *bad, rt_error *err);

/* data NAME = source(...) */
typedef struct seg_sched_data {
    const char *name;
    seg_span span;
    const seg_scall *source;    /* synthetic, nifti or png */
} seg_sched_data;

typedef enum seg_selector_kind {
    SEG_SEL_NAME,     /* "level.1.encoder.conv0.weight" (also a dotted prefix) */
    SEG_SEL_GLOB,     /* "teacher.*" (* any run of characters, ? one) */
    SEG_SEL_PATH,     /* level[1..2], level[3].decoder: expanded to prefixes */
    SEG_SEL_TRAINED,  /* trained(STAGE) */
} seg_selector_kind;

/* A freeze/train selector. A parameter name n matches a prefix p when
 * n == p or n starts with p followed by '.'. */
typedef struct seg_selector {
    seg_selector_kind kind;
    const char *text;                /* as written, for messages */
    const char *pattern;             /* NAME, GLOB */
    const char *const *prefixes;     /* PATH */
    int n_prefixes;
    int stage;                       /* TRAINED: index of an earlier stage */
    seg_span span;
} seg_selector;

/* model [binding =] net(args) */
typedef struct seg_stage_model {
    const char *binding;        /* NULL for a single unnamed model */
    const char *net;            /* the net's name */
    seg_span span;
    int n_args;                 /* net parameters given (others: defaults) */
    const char *const *arg_keys;
    const seg_sv *arg_vals;
} seg_stage_model;

/* weight NAME = expression (of `progress`), usable in the loss */
typedef struct seg_stage_weight {
    const char *name;
    const ast_expr *value;
    seg_span span;
} seg_stage_weight;

/* What a stage validates, resolved against its graph (lang/validate.c):
 * the data stream, the prediction output and how it becomes a label map
 * (`predict threshold(mask)`, `argmax(logits)`, `nested(mask)`, or the
 * one image-shaped sigmoid/softmax output when the stage has no
 * `predict`), the prediction's classes and their names, and the metrics
 * the stop rule and the checkpoint follow. */
typedef struct seg_stage_val {
    int stream;                     /* validated data (schedule index), -1 = none */
    const char *output;             /* an output of the stage graph */
    rt_decode decode;
    double threshold;
    int classes;                    /* K, what the prediction tells apart */
    const char *const *class_names; /* K names */
    int data_classes;               /* D, the validation labels' classes */
    rt_metric monitor;              /* what plateau() follows (default: best()'s, else the
                                       first `validate` metric, else the foreground Dice) */
    rt_metric best_by;              /* what best() keeps by (default: the monitor) */
} seg_stage_val;

typedef struct seg_stage {
    const char *name;
    seg_span span;
    int index;                          /* position in the schedule */
    const seg_stage_model *models;      /* at least one */
    int n_models;
    const ast_expr *loss;               /* the loss expression */
    const seg_scall *optimizer;         /* NULL = adam() defaults */
    const seg_scall *lr;                /* NULL = constant() */
    const seg_selector *freeze;
    int n_freeze;
    const seg_selector *train;          /* empty = everything not frozen */
    int n_train;
    const seg_scall *const *until;      /* stop when any holds; empty = driver default */
    int n_until;
    const seg_scall *checkpoint;        /* NULL = none */
    const int *streams;                 /* indices into the schedule's data; [0] primary */
    int n_streams;
    const seg_stage_weight *weights;
    int n_weights;
    const seg_scall *const *validate;   /* metrics named by `validate` (all are computed) */
    int n_validate;
    int batch;                          /* effective batch size (B) */
    double oversample;                  /* the stage's, else the schedule's */
    int steps_per_epoch;                /* the stage's, else the schedule's (0: cases / batch) */
    seg_stage_val val;                  /* resolved against the stage graph */
    /* Resolved against the stage graph (non-buffer params only). */
    const char *const *trainable;       /* get gradients and updates */
    int n_trainable;
    const char *const *frozen;          /* everything else */
    int n_frozen;
    const void *impl;                   /* sema's private data */
} seg_stage;

typedef struct seg_schedule {
    const char *name;
    seg_span span;
    const seg_sched_data *data;
    int n_data;
    const seg_scall *const *preprocess; /* in order */
    int n_preprocess;
    const seg_scall *const *augment;
    int n_augment;
    int batch;                          /* default 2 */
    const int64_t *patch;               /* patch size (checked against every model's
                                           input); n_patch 0 = not given */
    int n_patch;
    seg_span patch_span;
    int64_t seed;                       /* `seed N`; -1 = not given (--seed, else 0) */
    double oversample;                  /* share of patches centred on foreground (0.33) */
    int steps_per_epoch;                /* 0 = not given: cases / batch */
    const seg_stage *stages;
    int n_stages;
    const seg_setting *args;            /* a parametrised schedule's parameters as checked,
                                           every one, as literals: (split, "4") */
    int n_args;
} seg_schedule;

/* Label classes of a data source and their names (arena-owned):
 * synthetic phantoms name theirs, nifti()/png() take classes = N and
 * optionally names = [...]. */
int seg_data_classes(const seg_scall *src, const char *const **names, seg_arena *arena);
/* The prediction's class for each of the D data classes (map[D]): the
 * same class when K == D, else (K == 2) background vs everything else. */
void seg_stage_truth_map(const seg_stage_val *v, int *map);

/* A checked schedule by name (NULL if none, or a parametrised schedule
 * with a parameter that has no default: see seg_program_schedule_with). */
const seg_schedule *seg_program_schedule(const seg_program *p, const char *name);

/* Parametrised schedules: `schedule boosting(split = 4) { ... }`, named
 * instantiations `schedule boosting_3 = boosting(split = 3)`.
 * seg_schedule_params gives the names of schedule name's parameters (an
 * instantiation's are its target's), owned by the program; -1 when there
 * is no such schedule. seg_program_schedule_with checks the schedule with
 * the settings as parameter values (on top of an instantiation's; the
 * values are literals as --set gives them: 3, 1e-3, true, "text",
 * [96, 96, 64]) and returns it, owned by the program; NULL after errors
 * (reported to d, including a key that is not a parameter). With no
 * settings it is seg_program_schedule's record when there is one. */
int seg_schedule_params(const seg_program *p, const char *name, const char *const **names);
const seg_schedule *seg_program_schedule_with(seg_program *p, const char *name,
                                              const seg_setting *settings, int n_settings,
                                              seg_diag *d);

/* The training (or, training = 0, evaluation) graph of stage `stage` of
 * s; NULL on error (reported to d). Free with ir_graph_free. */
ir_graph *seg_stage_graph(seg_program *p, const seg_schedule *s, int stage, int training,
                          seg_diag *d);

/* Model `model` of stage `stage` alone, as the stage binds it (its
 * arguments and dimensions, B = batch, parameter and output names with
 * the model's binding: "student.mask"), in inference mode, on the input
 * "image": the program `segc infer` applies. NULL on error (reported to
 * d). Free with ir_graph_free. */
ir_graph *seg_stage_model_graph(seg_program *p, const seg_schedule *s, int stage, int model,
                                int batch, seg_diag *d);

/* Does parameter `name` match selector sel of schedule s? */
int seg_selector_match(const seg_schedule *s, const seg_selector *sel, const char *name);

#endif
