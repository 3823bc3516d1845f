/* sema_internal.h — what the files of segc's semantic analysis share.
 *
 * Semantic analysis is an evaluator over the AST: it runs a net's body
 * with compile-time values (ints, lists, ranges, ...) and builds the graph
 * as a side effect whenever a value is a tensor. Block calls are inlined,
 * loops unrolled, `if` conditions decided at compile time. The pieces:
 *
 *   sema_map.c   string-keyed hash map (environments, counters, dedupe)
 *   value.c      the value type: constructors, names, printing, families
 *   eval.c       expressions (arithmetic, indexing, tensor operators)
 *   stmt.c       statements, block calls (inlining), call frames
 *   bind.c       matching call arguments to parameters
 *   builtins.c   the table of built-in calls and the compile-time helpers
 *   builtins_nn.c     ops that own parameters or random streams
 *   builtins_tensor.c the other tensor ops
 *   names.c      hierarchical parameter names
 *   check.c      diagnostics: dedupe, "did you mean", unused values
 *   elab.c       evaluator state, net elaboration, seg_elaborate_net
 *   load.c       seg_load: files, imports, globals, whole-program checks
 *   schedule.c / select.c / stage.c   schedules (see lang.h, "schedules")
 *
 * Memory: values live in the evaluator state's arena (one per
 * elaboration); the program's compile-time constants live in the
 * program's arena. Nothing here is freed value by value.
 */
#ifndef SEGC_SEMA_INTERNAL_H
#define SEGC_SEMA_INTERNAL_H

#include "lang.h"
#include "ast.h"

/* ------------------------------------------------------------- limits */

enum {
    SEMA_MAX_CALL_DEPTH = 64,     /* nested block calls */
    SEMA_MAX_EXPR_DEPTH = 2000,   /* nested expressions (parentheses, calls) */
    SEMA_MAX_PARAMS = 32,         /* parameters of one call (builtin, block, net) */
    SEMA_MAX_FILE = 16 << 20,     /* bytes of one .seg file */
    SEMA_ERRLEN = 512,            /* one diagnostic message */
    SEMA_MAX_ITEMS = 1 << 20,     /* characters of a string, items of a list */
    SEMA_MAX_NODES = 4 << 20,     /* nodes of one graph */
    SEMA_CONST_DEPTH_COST = 10,   /* expression levels one nested constant costs */
};
/* Statements and loop iterations one elaboration may execute. */
#define SEMA_MAX_STEPS 50000000L

/* ------------------------------------------------------------ hash map */

/* Open addressing, string keys, int64 values. Keys are borrowed unless
 * own_keys, in which case the map copies and frees them. */
typedef struct sema_map {
    const char **keys; /* cap slots, NULL = empty */
    int64_t *vals;     /* cap slots */
    size_t cap, len;   /* cap is 0 or a power of two */
    int own_keys;      /* 1 = keys are seg_xstrdup copies */
} sema_map;

void sema_map_init(sema_map *m, int own_keys);
void sema_map_free(sema_map *m);
int64_t *sema_map_get(const sema_map *m, const char *key);  /* NULL if absent */
/* The value slot of key, inserted with init when absent. */
int64_t *sema_map_put(sema_map *m, const char *key, int64_t init);
uint32_t sema_hash_str(const char *s); /* FNV-1a */

/* --------------------------------------------------------------- values */

typedef enum sema_kind {
    VAL_NONE,    /* no value: a block without return, an omitted argument */
    VAL_ERROR,   /* poison: an expression that already reported an error */
    VAL_INT,     /* i */
    VAL_FLOAT,   /* f */
    VAL_BOOL,    /* i (0/1) */
    VAL_STRING,  /* s */
    VAL_LIST,    /* list */
    VAL_RANGE,   /* r: inclusive lo..hi */
    VAL_TYPE,    /* type: rank -1 is a bare dtype (f32), else f32[...] */
    VAL_TENSOR,  /* t: a node of the graph being built */
    VAL_FAMILY,  /* fam: e[i] = ... made e an indexed family */
    VAL_NET,     /* net: an elaborated net instance (schedules) */
    VAL_STREAM,  /* stream: a data stream of a schedule */
    VAL_SCALL,   /* call: a schedule call such as adam(lr = 1e-3) */
    VAL_NETINST, /* inst: a net with its parameters bound, unet(levels = 3); only in a
                    REPL session program (seg_program.repl), applied as inst(x) */
} sema_kind;

typedef struct sema_state sema_state;
typedef struct sema_suggest sema_suggest;
typedef struct sema_list sema_list;
typedef struct sema_family sema_family;
typedef struct sema_netval sema_netval;
typedef struct sema_stream sema_stream;
typedef struct sema_netinst sema_netinst;
struct seg_scall;

/* A value; small, passed by value. */
typedef struct sema_value {
    sema_kind kind;
    union {
        int64_t i;                    /* INT, BOOL */
        double f;                     /* FLOAT */
        const char *s;                /* STRING */
        ir_id t;                      /* TENSOR */
        sema_list *list;              /* LIST */
        struct { int64_t lo, hi; } r; /* RANGE */
        rt_type *type;                /* TYPE */
        sema_family *fam;             /* FAMILY */
        sema_netval *net;             /* NET */
        sema_stream *stream;          /* STREAM */
        const struct seg_scall *call; /* SCALL (lang.h) */
        const sema_netinst *inst;     /* NETINST */
    };
} sema_value;

struct sema_list {
    int n;              /* number of items */
    sema_value *items;  /* n items */
};

/* e[i] entries by integer key, sorted by key. Grown in the arena. */
struct sema_family {
    int n, cap;         /* entries used, allocated */
    int64_t *keys;      /* sorted */
    sema_value *vals;   /* vals[j] belongs to keys[j] */
};

/* A net instance in a stage: its outputs by name. */
struct sema_netval {
    const char *binding; /* `model student = ...` name, or NULL */
    const char *net;     /* the net's name */
    int n_out;           /* number of outputs */
    const char **out_names;
    ir_id *out_ids;
};

/* A net instance at the REPL: the net, its bound parameters, and the
 * prefix of its parameter names (the constant it is bound to: `m =
 * unet()` names them m.level.1..., as `model m = unet()` in a stage). */
struct sema_netinst {
    const ast_decl *net;
    const struct sema_args *args; /* bound parameters (given or default) */
    const char *prefix;           /* NULL: plain names */
};

/* A data stream in a schedule: `data train = synthetic(...)`. */
struct sema_stream {
    const char *name;    /* binding name */
    int index;           /* position among the schedule's data */
};

sema_value sema_val_none(void);
sema_value sema_val_error(void);
sema_value sema_val_int(int64_t i);
sema_value sema_val_float(double f);
sema_value sema_val_bool(int b);
sema_value sema_val_string(const char *s);       /* borrows s */
sema_value sema_val_tensor(ir_id t);
int sema_val_is_number(sema_value v);            /* INT or FLOAT */
double sema_val_number(sema_value v);            /* INT or FLOAT as double */
const char *sema_kind_name(sema_kind k);         /* "int", "tensor", ... */
sema_value sema_list_new(sema_state *st, int n); /* n NONE items */
sema_value sema_family_new(sema_state *st);
sema_value *sema_family_get(sema_family *f, int64_t key);   /* NULL if absent */
sema_value *sema_family_put(sema_state *st, sema_family *f, int64_t key);
void sema_value_print(const sema_state *st, sema_value v, seg_buf *b);
const char *sema_value_str(sema_state *st, sema_value v);   /* arena string */
const char *sema_value_desc(sema_state *st, sema_value v);  /* "int", "tensor f32[2]" */

/* ----------------------------------------------------------- the state */

/* One variable of a call frame. */
typedef struct sema_slot {
    const char *name;   /* borrowed from the AST */
    sema_value v;       /* current value */
    seg_span span;      /* where the current value was assigned */
    unsigned read : 1;  /* read since that assignment */
    unsigned input : 1; /* an `input` of a net */
    unsigned param : 1; /* a block or net parameter (never "unused") */
    int origin;         /* the assignment that made v (st->origins), or -1 */
} sema_slot;

/* An assignment statement that produced tensors: unused when none of the
 * values it produced (in any loop iteration or block call) was read. */
typedef struct sema_origin {
    const char *name;   /* the variable */
    seg_span span;      /* the assignment's target */
    int read;           /* some value it produced was read */
} sema_origin;

typedef enum sema_frame_kind {
    FRAME_NET,    /* a net body */
    FRAME_BLOCK,  /* an inlined block call */
    FRAME_CONST,  /* a top-level constant (no graph) */
    FRAME_LOSS,   /* a stage's loss and schedule items */
    FRAME_REPL,   /* one REPL input: session values through lookup_hook, nets applied */
} sema_frame_kind;

/* The flat environment of one block or net call. */
typedef struct sema_frame {
    sema_frame_kind kind;
    const ast_decl *decl;     /* block or net being run; NULL otherwise */
    sema_map index;           /* name -> slot number */
    sema_slot *slots;         /* n_slots used, cap_slots allocated (heap) */
    int n_slots, cap_slots;
    sema_value ret;           /* FRAME_BLOCK: the returned value */
    int returned;             /* 1 after `return` */
    int errors_at_entry;      /* st->errors when the frame began */
    struct sema_frame *up;    /* caller's frame */
} sema_frame;

/* Parameter naming: one level per scope or block call. */
typedef struct sema_name_level {
    const char *path;   /* dotted path of this level ("" at the root) */
    const char *key;    /* counter key (path, or path#n for shared names) */
} sema_name_level;

/* Diagnostics already printed (so a block called ten times reports once). */
typedef struct sema_seen {
    sema_map set;       /* "file:line:col:message" keys */
} sema_seen;

/* One level of the evaluation context an error is reported in: an
 * inlined block call or an iteration of an unrolled loop. check.c turns
 * the stack into notes after each error, innermost first ("in call to
 * 'dice_loss' from here", "in iteration i = 3"). */
typedef struct sema_context {
    const ast_decl *block;     /* the block called; NULL = a loop iteration */
    const struct sema_args *args; /* its bound arguments (alive during the call) */
    const char *var;           /* loop variable */
    sema_value v;              /* its value in this iteration */
    seg_span at;               /* the call, or the loop variable */
    const char *text;          /* else: the note as written (a stage's model, a
                                  parametrised schedule), in an arena */
} sema_context;

struct sema_state {
    seg_program *prog;         /* globals */
    seg_diag *diag;            /* where diagnostics go */
    sema_seen *seen;           /* shared dedupe set */
    seg_arena *arena;          /* values of this elaboration */
    int own_arena;             /* 1 = freed with the state */
    ir_graph *g;               /* graph being built; NULL in constants */
    int training;              /* batch norm / dropout behaviour */
    int errors;                /* errors reported (or suppressed as dupes) */
    sema_frame *frame;         /* innermost call frame */
    int depth;                 /* nested block calls */
    const ast_decl **calls;    /* block call stack, depth entries */
    int cap_calls;
    sema_context *ctx;         /* calls and loop iterations, outermost first (heap) */
    int n_ctx, cap_ctx;
    int expr_depth;            /* nested expression evaluation */
    long steps;                /* statements executed (budget) */
    int stop;                  /* 1 = give up (step budget exhausted) */
    sema_map dims;             /* symbolic dimensions: name -> value */
    int default_dims;          /* 1 = unbound symbolic dimensions are 1 */
    sema_name_level *levels;   /* naming stack, n_levels used */
    int n_levels, cap_levels;
    sema_map counters;         /* "key\x1fkind" -> next index (own keys) */
    int share_inputs;          /* stage graphs: reuse inputs of one name */
    const char *io_prefix;     /* stage graphs: data stream of this model instance
                                  (prefixes inputs, outputs, random streams) */
    sema_map origin_index;     /* "file:line:col" of a target -> origin (own keys) */
    sema_origin *origins;      /* n_origins used, cap_origins allocated (heap) */
    int n_origins, cap_origins;
    int poisoned_outputs;      /* outputs skipped because their value was poison */
    sema_netval *outputs;      /* outputs of the net being run */
    int cap_outputs;
    /* Schedules (stage.c) add names: data fields, model outputs, weights.
     * lookup_hook sees AST_NAME and AST_MEMBER-of-stream expressions. */
    sema_value (*lookup_hook)(sema_state *st, const ast_expr *e, int *found);
    void (*suggest_hook)(sema_state *st, sema_suggest *s, int calls);
    /* The REPL's own calls (load("scan.nii.gz")): a call of a name the
     * program does not define; found = 0 when the hook does not take it. */
    sema_value (*call_hook)(sema_state *st, const ast_expr *call, int *found);
    void *hook_data;           /* data for the hooks */
    const struct sema_apply *apply; /* a net being applied at the REPL: its inputs
                                       take these arguments, its outputs make no graph
                                       outputs; NULL otherwise */
};

/* The arguments of a net application, inst(x) or inst(image = x). */
typedef struct sema_apply {
    int n;                   /* arguments */
    const char **kw;         /* keyword (the input's name) or NULL for positional */
    ir_id *t;                /* their tensors */
    seg_span *span;
    int *used;               /* taken by an input */
    const char *net;         /* the net's name, for messages */
    const ast_decl *decl;
    seg_span call;           /* the application */
} sema_apply;

/* elab.c: state lifecycle. arena NULL = a fresh one owned by the state. */
void sema_state_init(sema_state *st, seg_program *p, seg_diag *d, sema_seen *seen,
                     ir_graph *g, int training, seg_arena *arena);
void sema_state_free(sema_state *st);
/* Run a net's body into st->g with bound parameters; fills out. Returns 0
 * or -1. prefix names everything (stage models); NULL for none. */
typedef struct sema_args sema_args;
int sema_run_net(sema_state *st, const ast_decl *net, const sema_args *a,
                 const char *prefix, sema_netval *out);
/* seg_load's check of one net: defaults, unbound dimensions = 1. */
int sema_check_net(seg_program *p, sema_seen *seen, const ast_decl *net);

/* ------------------------------------------------------------ program */

/* A global declaration and, for constants, its value. */
typedef struct sema_global {
    const ast_decl *decl;
    int state;          /* constants: 0 new, 1 evaluating, 2 done */
    sema_value value;   /* constants, in the program arena */
    int called;         /* blocks: reached by some elaboration */
} sema_global;

typedef struct seg_schedule seg_schedule;

struct seg_program {
    seg_diag *diag;
    seg_arena *arena;         /* constants, resolved schedules, name lists */
    ast_file **files;         /* loaded files, main first; owned */
    int n_files, cap_files;
    sema_map file_index;      /* canonical path -> file number (own keys) */
    sema_global *globals;     /* all declarations of all files */
    int n_globals, cap_globals;
    sema_map global_index;    /* name -> global number */
    const char **net_names;   /* declaration order */
    int n_nets;
    const char **sched_names;
    int n_scheds;
    seg_schedule **scheds;    /* resolved schedules, n_scheds of them */
    seg_schedule **instances; /* schedules checked with settings (seg_program_schedule_with) */
    int n_instances;
    int main_file;            /* diag file id of the main file */
    seg_source *sources;      /* every file's name and text, main first (arena texts) */
    int n_sources, cap_sources;
    int repl;                 /* a REPL session (seg_load_session): nets make instances */
};

const sema_global *sema_global_find(const seg_program *p, const char *name);
sema_global *sema_global_find_mut(seg_program *p, const char *name);
/* The value of a constant, evaluating it (and what it needs) on first use. */
sema_value sema_const_value(sema_state *st, sema_global *gl, seg_span use);

/* ----------------------------------------------------------- eval.c */

sema_value sema_eval(sema_state *st, const ast_expr *e);
/* A tensor operand: numbers become f32 scalar constants, u8/i32 tensors
 * are cast to f32 when arith is set. -1 on error (reported unless poison). */
ir_id sema_tensor_of(sema_state *st, sema_value v, int arith, seg_span at);
/* Add an op; shape errors are reported at span. -1 on error. */
ir_id sema_add_op(sema_state *st, rt_op op, const rt_attrs *a, const ir_id *in, int n_in,
                  const rt_type *want, seg_span span);
const rt_type *sema_type_of(const sema_state *st, ir_id t);
/* Mark a variable read by name (frame lookups). */
sema_slot *sema_slot_find(sema_frame *f, const char *name);
sema_slot *sema_slot_set(sema_state *st, const char *name, sema_value v, seg_span at);

/* ----------------------------------------------------------- stmt.c */

/* Run statements; returns 1 when a `return` ended them. */
int sema_exec(sema_state *st, const ast_stmt *s);
sema_value sema_call_block(sema_state *st, sema_global *gl, const ast_expr *call);
/* REPL: unet(levels = 3) as a net instance, and an instance applied to
 * tensors (the net's body inlined on them; its outputs are the value: one
 * tensor, or a record of several). */
sema_value sema_net_instance(sema_state *st, sema_global *gl, const ast_expr *call);
sema_value sema_net_apply(sema_state *st, sema_value inst, const ast_expr *call);
/* A value as Seg source that reads back as the same value (numbers,
 * strings, lists, types, net instances): 0, or -1 when it has none. */
int sema_value_source(const sema_state *st, sema_value v, seg_buf *b);
/* In an application (st->apply): the argument input `name` takes (marked
 * used; -1 when none is left), and the symbolic dimensions of its declared
 * type bound from that argument's shape. */
int sema_apply_take(sema_state *st, const char *name);
void sema_apply_dims(sema_state *st, const ast_expr *type, const rt_type *arg);
void sema_frame_push(sema_state *st, sema_frame *f, sema_frame_kind kind, const ast_decl *d);
void sema_frame_pop(sema_state *st, sema_frame *f);

/* ----------------------------------------------------------- bind.c */

/* A formal parameter. */
typedef struct sema_formal {
    const char *name;
    int positional;     /* may be given by position */
    int required;       /* must be given */
} sema_formal;

/* Bound arguments, in parameter order. */
struct sema_args {
    int n;                              /* parameters */
    const char *names[SEMA_MAX_PARAMS]; /* parameter names */
    sema_value v[SEMA_MAX_PARAMS];      /* NONE when not given */
    seg_span span[SEMA_MAX_PARAMS];     /* argument span, or the call's */
    int given[SEMA_MAX_PARAMS];         /* 1 = given by the caller */
    sema_value *rest;                   /* varargs (arena), n_rest of them */
    seg_span *rest_span;
    int n_rest;
    const char *seg_name;               /* name = "..." for naming */
    seg_span seg_span;                  /* where name = "..." was given */
};

/* How to bind: callee name for messages, formals, whether extra
 * positional arguments go to `rest`, and whether `name = "..."` is taken
 * as the naming segment. */
typedef struct sema_binder {
    const char *callee;
    const sema_formal *formals;
    int n_formals;
    int varargs;
    int takes_name;
} sema_binder;

/* Empty bound arguments for b (nothing given). */
void sema_args_init(sema_args *out, const sema_binder *b, seg_span call_span);
/* Evaluate the call's arguments (an AST list) and match them. Returns 0,
 * or -1 after reporting; -2 when an argument was poison (no report). */
int sema_bind(sema_state *st, const sema_binder *b, const ast_expr *call_args,
              seg_span call_span, sema_args *out);
/* Formals of a block or net (all positional; required = no default). */
int sema_decl_formals(const ast_decl *d, sema_formal *f, int max);
/* Bind a block's or net's parameters in the current (new) frame. */
void sema_bind_params(sema_state *st, const ast_decl *d, const sema_args *a);
/* Match already evaluated arguments: values with optional keyword names
 * (kw_spans: where each keyword is written, for errors about the keyword;
 * NULL = the values' spans). */
int sema_bind_values(sema_state *st, const sema_binder *b, int n, const sema_value *v,
                     const char *const *kw, const seg_span *kw_spans, const seg_span *spans,
                     seg_span call_span, sema_args *out);

/* ------------------------------------------------------- builtins.c */

typedef struct sema_builtin sema_builtin;
typedef sema_value (*sema_builtin_fn)(sema_state *st, const sema_builtin *bi, sema_args *a,
                                      seg_span span);

enum {
    BI_GRAPH = 1 << 0,    /* builds graph nodes: needs a net or loss context */
    BI_VARARGS = 1 << 1,  /* extra positional arguments allowed */
};

/* One built-in call. spec lists the parameters: positional ones first,
 * then ';' and keyword-only ones; `p = literal` gives a default
 * (ints, floats, true/false, "strings", none). */
struct sema_builtin {
    const char *name;
    const char *spec;
    unsigned flags;     /* BI_* */
    sema_builtin_fn fn;
    int op;             /* rt_op for the generic handlers, else 0 */
};

/* A parsed spec; names and string defaults live in its own buffers. */
typedef struct sema_spec {
    int n;                              /* parameters */
    sema_formal f[SEMA_MAX_PARAMS];     /* names point into names[] */
    sema_value def[SEMA_MAX_PARAMS];    /* NONE = no default */
    char names[SEMA_MAX_PARAMS][24];
    char strs[SEMA_MAX_PARAMS][24];     /* string defaults */
} sema_spec;
void sema_spec_parse(const char *spec, sema_spec *sp);

const sema_builtin *sema_builtin_find(const char *name);
/* Names of all builtins for "did you mean" (NULL-terminated). */
const char *sema_builtin_name(int i);
sema_value sema_call_builtin(sema_state *st, const sema_builtin *bi, const ast_expr *call);

/* The index of parameter `name` in bound arguments (must exist). */
int sema_arg_find(const sema_args *a, const char *name);
/* Argument helpers for handlers: report "f(): 'k' must be ..." at the
 * argument and return -1 on a wrong type. */
int sema_arg_int(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int64_t *out);
int sema_arg_num(sema_state *st, const sema_builtin *bi, sema_args *a, int i, double *out);
int sema_arg_bool(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int *out);
int sema_arg_tensor(sema_state *st, const sema_builtin *bi, sema_args *a, int i, ir_id *out);
int sema_arg_ints(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int64_t *out,
                  int max, int *n);
int sema_arg_spatial(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int nsp,
                     int *out);
int sema_arg_axis(sema_state *st, const sema_builtin *bi, sema_args *a, int i, int rank,
                  int *out);

/* builtins_init.c: initialisers (`init = "kaiming_uniform"`, "zeros", 2.5).
 * fans: what the tensor being started allows; NULL = constants only. */
typedef struct sema_fans {
    int64_t in, out;    /* PyTorch's fan-in and fan-out */
    int weight;         /* 2 or more axes: every initialiser applies */
    int bias;           /* a bias: "kaiming_uniform" is U(+-1/sqrt(in)) of its layer */
} sema_fans;
/* The fans of a weight of type t (weight = 0 below 2 axes). */
void sema_fans_of(const rt_type *t, sema_fans *f);
/* Argument i as an initialiser into *out; -1 after reporting. */
int sema_arg_init(sema_state *st, const sema_builtin *bi, sema_args *a, int i,
                  const sema_fans *fans, rt_init *out);
sema_value sema_bi_param(sema_state *, const sema_builtin *, sema_args *, seg_span);

/* Handlers defined in builtins_nn.c and builtins_tensor.c. */
sema_value sema_bi_conv(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_conv_t(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_linear(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_batchnorm(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_pool(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_global_avgpool(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_upsample(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_dropout(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_random(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_concat(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_slice(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_reshape(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_permute(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_transpose(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_broadcast(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_flatten(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_unary(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_leaky_relu(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_clamp(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_binary(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_where(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_reduce(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_axis_op(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_matmul(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_one_hot(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_cast(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_stop_grad(sema_state *, const sema_builtin *, sema_args *, seg_span);
sema_value sema_bi_grad(sema_state *, const sema_builtin *, sema_args *, seg_span);

/* ----------------------------------------------------------- names.c */

/* Enter a `scope` (segment "level" or "level.2"). */
void sema_names_push_scope(sema_state *st, const char *segment);
/* Enter a block call: segment is the block's name with a per-scope call
 * counter (encoder, encoder_1, ...), or the explicit name. */
void sema_names_push_call(sema_state *st, const char *block, const char *explicit_name);
void sema_names_pop(sema_state *st);
/* The next name of an op of this kind under the current path
 * ("level.2.encoder.conv0"), or path.explicit_name. Arena string. */
const char *sema_names_op(sema_state *st, const char *kind, const char *explicit_name);
/* Join the current path and a leaf ("conv0" -> "level.2.conv0"). */
const char *sema_names_join(sema_state *st, const char *base, const char *leaf);

/* ----------------------------------------------------------- check.c */

/* Report an error/warning/note at `at`, once per (place, message).
 * sema_error counts every call in st->errors and returns 1 when printed
 * (so notes can follow), 0 when it was a duplicate or past the error cap
 * (callers then skip the work of their notes, e.g. the did-you-mean search). */
int sema_error(sema_state *st, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
int sema_warning(sema_state *st, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
void sema_note(sema_state *st, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);
/* Enter / leave a level of the error context (a block call, a loop iteration). */
void sema_context_push(sema_state *st, sema_context c);
void sema_context_pop(sema_state *st);
void sema_seen_init(sema_seen *s);
void sema_seen_free(sema_seen *s);

/* Levenshtein distance, capped: returns cap + 1 when farther. */
int sema_edit_distance(const char *a, const char *b, int cap);
/* The closest candidate to name, or NULL when none is close enough. */
struct sema_suggest {
    const char *name;   /* the misspelled name */
    const char *best;   /* closest so far */
    int dist;           /* its distance */
};
void sema_suggest_init(sema_suggest *s, const char *name);
void sema_suggest_add(sema_suggest *s, const char *candidate);
/* Add a "did you mean" note when there is a suggestion. */
void sema_suggest_note(sema_state *st, const sema_suggest *s, seg_span at);
/* Suggest among variables, globals and (when calls) builtins. */
void sema_suggest_names(sema_state *st, sema_suggest *s, int calls);

/* Frame end: "input 'x' is never used". */
void sema_check_unused(sema_state *st, sema_frame *f);
/* The origin record of the assignment at `at` (created on first use). */
int sema_origin_of(sema_state *st, const char *name, seg_span at);
/* After a whole net: "'h' is computed but never used" for every
 * assignment none of whose values was read; then forget them all. */
void sema_report_unused(sema_state *st, int report);
/* Static name check of a block nothing called (names and callees only). */
void sema_check_block_names(sema_state *st, const ast_decl *d);
/* Print an expression back as source (selectors, messages). */
void sema_expr_str(const ast_expr *e, seg_buf *out);

/* ------------------------------------- schedule.c, stage.c, select.c */



void sema_schedules_check(seg_program *p, sema_seen *seen);
void sema_schedules_free(seg_program *p);

/* Compile-time names a stage's settings see: the schedule's parameters,
 * then its stage template's (values in the program arena). The loss and
 * `weight` items, evaluated when a stage graph is built, see them too. */
typedef struct sema_env {
    int n;
    const char **names;
    sema_value *vals;
} sema_env;
/* Bind every name of env in the current frame (as parameters: never unused). */
void sema_env_bind(sema_state *st, const sema_env *env, seg_span at);
/* Append (name, v) to env (arena-grown). */
void sema_env_add(seg_arena *a, sema_env *env, const char *name, sema_value v);

/* What a stage's graph is built from, beyond seg_stage (stage.impl). */
typedef struct sema_stage_impl {
    const ast_stmt *predict;  /* the `predict` item, or NULL */
    const ast_decl **nets;    /* per model */
    sema_args *args;          /* per model: bound net parameters */
    const char **dim_names;   /* symbolic dimensions from model kwargs (D = 64) */
    int64_t *dim_vals;
    int n_dims;
    const char **param_names; /* every parameter and buffer of the stage graph... */
    rt_type *param_types;     /* ... with its type (what the next stage inherits) */
    int n_params;
    sema_env env;             /* the names its settings, loss and weights see */
    const ast_decl *tmpl;     /* its stage template, or NULL */
    seg_span tmpl_at;         /* where the schedule uses it */
} sema_stage_impl;

/* A schedule to check (schedule.c): the declaration with the body, the
 * name it goes by (an instantiation's own), and the values of its
 * parameters that were given (by an instantiation or --set). */
typedef struct sema_sched_req {
    const ast_decl *decl;     /* AST_SCHEDULE with a body */
    const char *name;
    seg_span span;            /* where that name is declared */
    int n;                    /* decl's parameters */
    sema_value vals[SEMA_MAX_PARAMS]; /* NONE = not given: the default */
    seg_span spans[SEMA_MAX_PARAMS];  /* where each given value was written */
} sema_sched_req;
seg_schedule *sema_schedule_check(seg_program *p, sema_seen *seen, const sema_sched_req *r);

/* The state schedule checking evaluates settings with. */
typedef struct sema_sched_ctx {
    seg_program *p;
    sema_state st;            /* no graph; values in the program arena */
    sema_frame frame;
    seg_schedule *s;          /* being built */
    seg_stage *stage;         /* current stage, or NULL */
    sema_stage_impl *impl;    /* its private part */
    sema_seen *seen;
    int item_errors;          /* errors in the schedule-level items: stage graphs, built
                                 on them, would only repeat them */
    sema_env env;             /* the schedule's parameters and their values */
} sema_sched_ctx;

/* sched_inst.c: parametrised schedules and stage templates. */
/* The request for schedule global gl (an instantiation's target and
 * arguments filled in, settings on top of them); -1 after reporting. */
int sema_sched_request(seg_program *p, sema_seen *seen, const ast_decl *gl,
                       const seg_setting *set, int n_set, sema_sched_req *r);
/* `stage NAME = template(args)`: the template and its bound arguments
 * into *tmpl / *a; -1 after reporting. */
int sema_stage_template(sema_sched_ctx *c, const ast_stmt *stmt, const ast_decl **tmpl,
                        sema_args *a);
/* A --set value: an int, float, bool, "string" or [list] literal, else
 * the text as a string. */
sema_value sema_setting_parse(sema_state *st, const char *s);
/* v as a literal sema_setting_parse reads back ("abc" quoted, lists). */
void sema_literal_print(sema_state *st, sema_value v, seg_buf *b);

/* schedule.c: a schedule call of the given kind ("optimizer", ...), or
 * NULL after reporting. */
const seg_scall *sema_sched_call(sema_sched_ctx *c, const ast_expr *e, const char *kind);
/* sched_rules.c: the types and ranges of a call's arguments (lr > 0,
 * beta1 in [0, 1), ...), and synthetic() by the generator's own checks;
 * -1 after reporting at the argument. */
int sema_scall_rules(sema_sched_ctx *c, const seg_scall *k);
int sema_synthetic_check(sema_sched_ctx *c, const seg_scall *k);
/* A value as a setting (numbers, strings, lists, calls, streams). */
int sema_to_sv(sema_sched_ctx *c, sema_value v, seg_span at, seg_sv *out);
/* Append n bytes (elem) to an arena array of *count elements. */
void *sema_arena_push(seg_arena *a, const void *array, int *count, size_t size,
                      const void *elem);

/* Is item `it` a known keyword at this level (1 schedule, 2 stage) and
 * not a forbidden repeat? first[] holds the first item of each keyword. */
int sema_item_check(sema_sched_ctx *c, const ast_stmt *it, int level, const ast_stmt **first);
/* An int item of at least min (batch, seed); -1 after reporting. */
int sema_item_int(sema_sched_ctx *c, const ast_stmt *it, int64_t min, int64_t *out);

/* A share item (oversample): a number from 0 to 1; -1 after reporting. */
int sema_item_share(sema_sched_ctx *c, const ast_stmt *it, double *out);

/* stage.c */
/* A stage: written out (tmpl NULL), or a template's items with its bound
 * arguments, then the statement's own items. */
void sema_stage_items(sema_sched_ctx *c, const ast_stmt *stage_stmt, const ast_decl *tmpl,
                      const sema_args *targs);
ir_graph *sema_stage_build(seg_program *p, sema_seen *seen, seg_diag *d, const seg_schedule *s,
                           int stage, int training);

/* validate.c: the `predict` item (kept until the graph exists), then
 * what the stage validates, resolved against its graph (sg->val). */
void sema_predict_item(sema_sched_ctx *c, const ast_stmt *it);
void sema_stage_validation(sema_sched_ctx *c, const ir_graph *g, seg_span stage_at);
/* inherit.c: warn when a stage's model takes over little or nothing of
 * what an earlier stage trained for the same net; a frozen parameter
 * whose shape differs from the one it would inherit is an error. Also
 * records the stage's parameter types for the stages after it. */
void sema_stage_inheritance(sema_sched_ctx *c, const ir_graph *g);

/* select.c */
int sema_selector_parse(sema_sched_ctx *c, const ast_expr *e, seg_selector *out);
void sema_stage_resolve(sema_sched_ctx *c, const ir_graph *g, seg_span stage_at);

/* Is the span empty (no location)? */
static inline int sema_span_none(seg_span s) { return s.file == 0; }

#endif
