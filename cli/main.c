/* main.c — the segc command line: parse argv, print help, dispatch.
 *
 * Two tables drive everything: the options (name, argument, help) and the
 * commands (name, arguments, which options they take, one-line summary,
 * longer description, implementation in cli/cli_*.c). Parsing checks
 * each option against the command's set, so help texts and accepted flags
 * cannot drift apart. Options may come before or after the files, as
 * `--net NAME` or `--net=NAME`; `--` ends the options.
 *
 * The same tables (and the environment table) make the manual page:
 * `segc help --man` prints them as roff, which `make install` installs
 * as segc.1, so `segc help` and `man segc` cannot disagree.
 *
 * Exit codes: 0 ok, 1 usage (unknown command or flag, bad value, missing
 * file), 65 the program has errors, 70 runtime failure. Help goes to
 * stdout; usage errors to stderr with a pointer to `segc help CMD`.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One bit per option, to say which command takes which. */
enum {
    OPT_NET = 1 << 0,
    OPT_SET = 1 << 1,
    OPT_TRAIN = 1 << 2,
    OPT_INPUT = 1 << 3,
    OPT_OUTPUT = 1 << 4,
    OPT_SEED = 1 << 5,
    OPT_THREADS = 1 << 6,
    OPT_SCHEDULE = 1 << 7,
    OPT_VERBOSE = 1 << 8,
    OPT_OUT = 1 << 9,
    OPT_RESUME = 1 << 10,
    OPT_INIT = 1 << 11,
    OPT_STAGE = 1 << 12,
    OPT_GRAD = 1 << 13,
    OPT_JIT = 1 << 14,
    OPT_STEPS = 1 << 15,
    OPT_INFER = 1 << 16,
    OPT_NO_JIT = 1 << 17,
    OPT_EMIT_LLVM = 1 << 18,
    OPT_LABELS = 1 << 19,
    OPT_OVERLAP = 1 << 20,
    OPT_TTA = 1 << 21,
    OPT_PROBS = 1 << 22,
    OPT_KEEP_LARGEST = 1 << 23,
    OPT_BATCH = 1 << 24,
    OPT_VOLUME = 1 << 25,
    OPT_ECHO = 1 << 26,
    OPT_MAX_MEMORY = 1 << 27,
    OPT_OVERWRITE = 1 << 28,
};

typedef struct cli_option {
    const char *name; /* "--net" */
    const char *arg;  /* argument placeholder, NULL for a switch */
    unsigned bit;     /* OPT_* */
    const char *help; /* one line */
} cli_option;

static const cli_option options[] = {
    {"--net", "NAME", OPT_NET, "the net to use (default: the last net of FILE)"},
    {"--set", "KEY=VALUE", OPT_SET,
     "set a net parameter or symbolic size, repeatable (default B=1)"},
    {"--train", NULL, OPT_TRAIN, "training behaviour: batch statistics, active dropout"},
    {"--input", "FILE.nii[.gz]", OPT_INPUT,
     "NIfTI volume for the single input (default: seeded noise); infer: PATH..."},
    {"--output", "FILE.nii[.gz]", OPT_OUTPUT,
     "write the first output as NIfTI, with the input's geometry"},
    {"--seed", "S", OPT_SEED, "seed for parameter initialisation and random inputs (default 0)"},
    {"--threads", "N", OPT_THREADS, "thread count (default: $SEGC_THREADS, else all CPUs)"},
    {"--schedule", "NAME", OPT_SCHEDULE, "the schedule to use (default: the last schedule of FILE)"},
    {"--verbose", NULL, OPT_VERBOSE, "list every item, not only the counts"},
    {"--out", "RUN_DIR", OPT_OUT, "the run folder (default: runs/SCHEDULE-DATE-TIME)"},
    {"--resume", "RUN_DIR", OPT_RESUME, "continue an interrupted run from its last checkpoint"},
    {"--overwrite", NULL, OPT_OVERWRITE, "train: replace the run --out already holds"},
    {"--stage", "NAME", OPT_STAGE, "a training stage of the schedule instead of a net"},
    {"--grad", NULL, OPT_GRAD, "with --stage: append the backward graph (autodiff, freeze pruning)"},
    {"--init", "CKPT", OPT_INIT, "start from a checkpoint's parameters where names match"},
    {"--jit", NULL, OPT_JIT, "accepted for compatibility: JIT kernels are the default"},
    {"--no-jit", NULL, OPT_NO_JIT,
     "run every op on the reference interpreter's kernels (also $SEGC_JIT=0)"},
    {"--emit-llvm", "DIR", OPT_EMIT_LLVM,
     "write each kernel's LLVM IR as DIR/NAME.ll and, optimised, DIR/NAME.opt.ll"},
    {"--steps", "N", OPT_STEPS, "timed steps (default 5), after 1-2 warm-up steps"},
    {"--infer", NULL, OPT_INFER, "time an inference step (a net's forward, or a stage's eval)"},
    {"--labels", "PATH...", OPT_LABELS,
     "infer: label files, folders or globs, paired in order with --input: metrics"},
    {"--overlap", "F", OPT_OVERLAP, "infer: share of a tile its neighbours overlap, 0 to 0.95 (0.5)"},
    {"--tta", NULL, OPT_TTA, "infer: also predict every mirror image of each tile and average"},
    {"--probabilities", NULL, OPT_PROBS, "infer: write float32 probabilities, not uint8 labels"},
    {"--keep-largest", NULL, OPT_KEEP_LARGEST,
     "infer: keep only the largest connected component of each class"},
    {"--batch", "N", OPT_BATCH, "infer: tiles per forward pass, 1 to 64 (default 2)"},
    {"--volume", "DxHxW", OPT_VOLUME,
     "bench: time a sliding-window prediction of a net over a volume this size"},
    {"--echo", NULL, OPT_ECHO, "repl: print each input read from a script after its prompt"},
    {"--max-memory", "SIZE", OPT_MAX_MEMORY,
     "refuse a run whose arena, parameters and state need more (4G, 512M, 2GiB)"},
};
enum { N_OPTIONS = sizeof options / sizeof options[0] };

typedef struct cli_command {
    const char *name;    /* subcommand */
    const char *args;    /* positional arguments in the usage line */
    int min_files;       /* fewest FILE arguments */
    int max_files;       /* most, -1 = any */
    unsigned opts;       /* OPT_* accepted */
    int threads;         /* 1: runs or builds kernels on threads, so the thread count
                            (--threads, SEGC_THREADS) is settled before it starts */
    int (*fn)(const cli_opts *o);
    const char *summary; /* one line for `segc --help` */
    const char *details; /* paragraph for `segc help CMD` */
    unsigned multi;      /* OPT_* that take every argument up to the next option
                            (PATH...) and may be repeated */
    void (*more)(FILE *out); /* more help after the details (NULL = none) */
} cli_command;

static const cli_command commands[] = {
    {"check", "FILE...", 1, -1, 0, 0, cli_cmd_check, "check programs for errors",
     "Parse and check each .seg file and its imports: every net with its\n"
     "default parameters and every schedule. Prints nothing when all files\n"
     "are fine; otherwise prints each error as FILE:LINE:COL: error: ... and\n"
     "exits 65.\n", 0, NULL},
    {"ir", "FILE", 1, 1, OPT_NET | OPT_SET | OPT_TRAIN | OPT_SCHEDULE | OPT_STAGE | OPT_GRAD,
     0, cli_cmd_ir, "print a net's graph IR",
     "Elaborate a net into its dataflow graph and print it, one node per line\n"
     "with its op, attributes, type and source line. With --stage NAME, print\n"
     "that training stage's graph instead (every model and the loss, frozen\n"
     "parameters marked); --grad appends the backward graph as autodiff and\n"
     "freeze pruning leave it, with one output per parameter gradient.\n", 0, NULL},
    {"params", "FILE", 1, 1, OPT_NET | OPT_SET, 0, cli_cmd_params, "list a net's parameters",
     "Elaborate a net and list its parameters and buffers with their shapes\n"
     "and element counts, then the totals.\n", 0, NULL},
    {"run", "FILE|CKPT", 1, 1,
     OPT_NET | OPT_SET | OPT_TRAIN | OPT_INPUT | OPT_OUTPUT | OPT_SEED | OPT_THREADS | OPT_JIT |
         OPT_NO_JIT | OPT_INIT | OPT_MAX_MEMORY,
     1, cli_cmd_run,
     "run one forward pass",
     "Run one forward pass of a net. Its parameters come from a checkpoint\n"
     "(CKPT: a run folder or .safetensors file of `segc train`, whose recorded\n"
     "net runs with B = 1; or --init CKPT for FILE's net, by name) or are\n"
     "initialised from --seed. To segment whole scans of any size, use\n"
     "`segc infer`. Convolutions run on JIT-compiled kernels (built first, or\n"
     "loaded from the kernel cache), everything else on the reference\n"
     "interpreter; --no-jit\n"
     "runs it all on the interpreter. The input is a NIfTI volume\n"
     "(--input; the net must have one input, which the volume fills as\n"
     "[1, C, z, y, x], or [1, C, y, x] for a 2-D net) or seeded uniform noise\n"
     "in [0, 1). Prints each output's type with min/mean/max, and the wall\n"
     "time of the pass. Runtime failures exit 70.\n", 0, NULL},
    {"train", "FILE", 1, 1,
     OPT_SCHEDULE | OPT_SET | OPT_SEED | OPT_THREADS | OPT_OUT | OPT_RESUME | OPT_INIT | OPT_VERBOSE |
         OPT_JIT | OPT_NO_JIT | OPT_MAX_MEMORY | OPT_OVERWRITE,
     1, cli_cmd_train, "train a schedule's stages",
     "Run a schedule (--schedule, default the last of FILE): load and\n"
     "preprocess its data, then train each stage in order, inheriting\n"
     "parameters by name. Prints one line per epoch (loss, validation Dice,\n"
     "seconds, ETA) and a progress line on a terminal. The run folder gets\n"
     "metrics.csv, curves.svg, plan.csv, overlays/ (the best and last\n"
     "networks on the validation cases), report.html (see `segc report`;\n"
     "rewritten after every stage), schedule.seg and ckpt/last.safetensors\n"
     "(resumable with --resume RUN_DIR and the same --seed) and\n"
     "ckpt/best-STAGE.safetensors. --set epochs=N caps every\n"
     "stage's epochs; --set steps=N sets the steps per epoch. A NaN loss stops\n"
     "with the op that made it, keeping the last good checkpoint (exit 70).\n"
     "A run holds a lock on its folder: a second run into it fails at once.\n"
     "--out onto a folder that already holds a run is an error unless\n"
     "--overwrite replaces it (or --resume continues it).\n"
     "Convolutions run on JIT kernels unless --no-jit is given.\n", 0, NULL},
    {"infer", "RUN_DIR|CKPT", 1, 1,
     OPT_INPUT | OPT_OUTPUT | OPT_LABELS | OPT_OVERLAP | OPT_TTA | OPT_PROBS | OPT_KEEP_LARGEST |
         OPT_BATCH | OPT_THREADS | OPT_JIT | OPT_NO_JIT | OPT_MAX_MEMORY,
     1, cli_cmd_infer, "segment new scans with a trained network",
     "Apply a trained network to new images: RUN_DIR (the checkpoint of its\n"
     "last stage: ckpt/best-STAGE, else ckpt/last) or a .safetensors checkpoint\n"
     "written by `segc train`, which records the program, the net and its\n"
     "arguments, the preprocessing and how the output becomes labels.\n"
     "--input takes files, folders and globs (NIfTI .nii/.nii.gz for a 3D net,\n"
     "PNG for a 2D net), every argument up to the next option. Each image is\n"
     "preprocessed as in training, predicted by sliding window (tiles of the\n"
     "net's input size overlapping by --overlap, Gaussian-weighted, batched by\n"
     "--batch, edges zero-padded; --tta adds mirrored tiles), resampled back to\n"
     "its own grid and written to --output DIR under its own name with its own\n"
     "header (dimensions, pixdim, qform/sform): uint8 labels, or with\n"
     "--probabilities the float32 probabilities of every output channel (for\n"
     "PNG inputs as NAME.nii.gz). --keep-largest keeps the largest connected\n"
     "component per class. --labels compares each case with its label file:\n"
     "Dice, IoU, HD95 and average surface distance (mm) per class into\n"
     "DIR/metrics.csv, and a summary line. Exit 1 for bad arguments, 65 when\n"
     "the recorded program has errors, 70 for unreadable images or checkpoints.\n",
     OPT_INPUT | OPT_LABELS, NULL},
    {"plan", "FILE", 1, 1, OPT_SCHEDULE | OPT_SET | OPT_VERBOSE, 0, cli_cmd_plan,
     "show what each training stage costs",
     "Build every stage's training graph of a schedule (forward, loss and\n"
     "backward; nothing runs) and print per stage: trainable and frozen\n"
     "parameters, forward and backward GFLOP per step, the backward work that\n"
     "freezing removes (against the same stage with nothing frozen), what each\n"
     "frozen convolution keeps (--verbose lists them by weight), the sum of\n"
     "the training program's tensor sizes, and how many conv operands are still\n"
     "copied between plain and blocked layouts (segc kir --stage says why, one\n"
     "by one). --set takes only B, the batch size\n"
     "(default: the schedule's batch); model arguments come from the schedule.\n", 0, NULL},
    {"bench", "FILE", 1, 1,
     OPT_SCHEDULE | OPT_STAGE | OPT_NET | OPT_INFER | OPT_SET | OPT_SEED | OPT_THREADS |
         OPT_STEPS | OPT_JIT | OPT_NO_JIT | OPT_VOLUME | OPT_OVERLAP | OPT_MAX_MEMORY,
     1, cli_cmd_bench, "time a training or inference step",
     "Compile one step and time it on seeded random inputs: a training step of\n"
     "a schedule's stage (--stage; forward, backward and the optimizer update,\n"
     "as `segc train` runs it), the stage's evaluation step with --infer, or a\n"
     "net's inference forward with --net (or a file without schedules).\n"
     "After 1-2 warm-up steps, --steps timed steps run; prints the median step\n"
     "time, GFLOP per step, GFLOP/s and the share of this machine's FP32 FMA\n"
     "peak on the same thread count, peak RSS, and compile times (the JIT\n"
     "build, cold and warm, unless --no-jit), then one machine-readable\n"
     "'result:' line.\n"
     "With a stage, --set takes only B (the batch size); with a net, its\n"
     "parameters (default B=1).\n"
     "--volume DxHxW (with --net) times instead what `segc infer` does to one\n"
     "scan: sliding-window prediction over a random volume of that size, tiles\n"
     "of the net's input size overlapping by --overlap (0.5), B at a time,\n"
     "Gaussian-weighted; a step is the whole volume.\n", 0, NULL},
    {"kir", "FILE", 1, 1, OPT_NET | OPT_SET | OPT_SCHEDULE | OPT_STAGE | OPT_EMIT_LLVM, 1,
     cli_cmd_kir, "show the JIT kernels of a program",
     "Build the JIT kernels of a net's forward pass (as `segc run` does), or\n"
     "with --stage NAME of a training stage's train and eval programs (as\n"
     "`segc train` does), and list every instruction with its source location:\n"
     "for each JIT kernel its kernel IR (shapes, layouts, register tile and\n"
     "epilogue; the text that keys the kernel cache) and the scheme picked;\n"
     "ReLUs fused into a kernel; and the instructions left on the reference\n"
     "interpreter, with the reason. --emit-llvm DIR also writes each distinct\n"
     "kernel's LLVM IR, as generated (NAME.ll) and after the JIT's\n"
     "optimisation for this machine (NAME.opt.ll).\n", 0, NULL},
    {"report", "RUN_DIR", 1, 1, 0, 0, cli_cmd_report, "write a training run's report page",
     "Write RUN_DIR/report.html, one self-contained page on a training run (no\n"
     "network needed to view it: charts inline as SVG, pictures as PNG data):\n"
     "training curves with a panel per stage (loss and learning rate on a\n"
     "scale per stage, every class's Dice and IoU, the best epoch marked); per\n"
     "stage the numbers of `segc plan` (trainable and frozen parameters, GFLOP\n"
     "per step, the backward work freezing removes, the arena) and the measured\n"
     "time per step; the best and last epoch's metrics; three orthogonal slices\n"
     "of each validation case through its largest error, predicted by the\n"
     "stage's best and last networks, with a legend; per-case metrics from\n"
     "RUN_DIR/infer/metrics.csv when `segc infer --labels` wrote it; and the\n"
     "schedule as run. `segc train` writes it at the end of every stage.\n", 0, NULL},
    {"repl", "[FILE.seg...]", 0, -1,
     OPT_SEED | OPT_THREADS | OPT_JIT | OPT_NO_JIT | OPT_ECHO | OPT_MAX_MEMORY, 1,
     cli_cmd_repl, "the interactive prompt: define, compute, inspect, train",
     "An interactive session for experiments. Type Seg at the prompt: declarations\n"
     "(net, block, schedule, import, NAME = value) are defined, or redefined, the\n"
     "newest definition winning and whatever used the old one rebuilt; NAME = expr\n"
     "with tensors computes them now, through the JIT, and keeps them under NAME;\n"
     "an expression alone is computed and shown (a tensor is kept as _). Every\n"
     "result prints its type and a summary (min, max, mean and the first values,\n"
     "or a label map's class counts). A net is applied as unet(levels = 3)(x), its\n"
     "parameters created once and kept by name (m = unet() names them m.*); an\n"
     "image is read with load(\"scan.nii.gz\") (NIfTI [1, C, z, y, x], PNG\n"
     "[1, C, h, w]). Compiled programs are reused for inputs that make the same\n"
     "graph, and kernels come from the disk cache. Input continues on a\n"
     "\"...> \" prompt while a bracket or brace is open or a declaration is\n"
     "unfinished; errors are located as <repl>:LINE:COL and the session goes on.\n"
     "FILE.seg arguments are loaded first. On a terminal there is line editing,\n"
     "history ($XDG_STATE_HOME/segc/history, else ~/.segc_history) and Tab\n"
     "completion of names, commands and parameter paths; otherwise standard input\n"
     "is a script and only results are printed (--echo adds each input after its\n"
     "prompt), exit status 65 when an input failed.\n"
     "\n"
     "commands at the prompt:\n", 0, repl_help_commands},
    {"cache", "stats|clear", 1, 1, 0, 0, cli_cmd_cache, "inspect or empty the JIT kernel cache",
     "The JIT keeps compiled kernels in $SEGC_CACHE_DIR, else\n"
     "$XDG_CACHE_HOME/segc, else ~/.cache/segc. `segc cache stats` prints the\n"
     "folder, its entry count and their total size; `segc cache clear` deletes\n"
     "segc's entries and its key (other files stay). A damaged entry is detected\n"
     "when it is loaded, deleted and rebuilt, so clearing is never needed for\n"
     "correctness. Entries are authenticated with a per-user key kept in the\n"
     "folder; a folder your group or others can write, or one of another user,\n"
     "is not used (stats says why) and kernels are compiled in memory.\n", 0, NULL},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* The environment variables segc reads, for both help and the manual. */
static const struct {
    const char *name; /* variable */
    const char *help; /* one line */
} environment[] = {
    {"SEGC_THREADS", "thread count when --threads is not given"},
    {"SEGC_JIT", "0 = --no-jit for the commands that take it"},
    {"SEGC_DENORMALS", "flush (default: denormal floats count as 0, avoiding their slow path) "
                       "or keep (IEEE)"},
    {"SEGC_CACHE_DIR", "the JIT kernel cache folder (segc cache)"},
    {"SEG_PATH", "extra folders searched by import"},
    {"SEG_STDLIB", "the standard library folder (default: share/segc/stdlib beside the installed "
                   "bin/, else the source tree's)"},
};
enum { N_ENVIRONMENT = sizeof environment / sizeof environment[0] };

static const char exit_status[] =
    "0 success, 1 usage error, 65 the program has errors, 70 runtime failure.";

/* ---------------------------------------------------------------- help */

/* The placeholder and help of an option for command c (NULL: in general):
 * infer's --input and --output take paths and a folder. */
static void option_text(const cli_command *c, const cli_option *op, const char **arg,
                        const char **help)
{
    *arg = op->arg;
    *help = op->help;
    if (c && (c->multi & op->bit) && op->bit == OPT_INPUT) {
        *arg = "PATH...";
        *help = "images: files, folders or globs (every argument up to the next option)";
    } else if (c && (c->multi & OPT_INPUT) && op->bit == OPT_OUTPUT) {
        *arg = "DIR";
        *help = "the folder for the results (created; one file per input, same name)";
    }
}

static void print_option(FILE *out, const cli_command *c, const cli_option *op)
{
    const char *arg, *help;
    option_text(c, op, &arg, &help);
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", op->name, arg ? " " : "", arg ? arg : "");
    fprintf(out, "  %-26s %s\n", left, help);
}

static void print_usage_line(FILE *out, const cli_command *c)
{
    fprintf(out, "usage: segc %s %s", c->name, c->args);
    for (int i = 0; i < N_OPTIONS; i++) {
        const char *arg, *help;
        option_text(c, &options[i], &arg, &help);
        if (c->opts & options[i].bit)
            fprintf(out, " [%s%s%s]%s", options[i].name, arg ? " " : "", arg ? arg : "",
                    options[i].bit == OPT_SET ? "..." : "");
    }
    fputc('\n', out);
}

static void print_command_help(FILE *out, const cli_command *c)
{
    print_usage_line(out, c);
    fprintf(out, "\n%s", c->details);
    if (c->more)
        c->more(out);
    fprintf(out, "\noptions:\n");
    for (int i = 0; i < N_OPTIONS; i++)
        if (c->opts & options[i].bit)
            print_option(out, c, &options[i]);
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

static void print_main_help(FILE *out)
{
    fputs("usage: segc COMMAND [ARGS] [OPTIONS]\n\n"
          "segc compiles Seg programs (segmentation networks and their training)\n"
          "and runs them.\n\ncommands:\n", out);
    for (int i = 0; i < N_COMMANDS; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", commands[i].name, commands[i].args);
        fprintf(out, "  %-26s %s\n", left, commands[i].summary);
    }
    fprintf(out, "  %-26s %s\n", "help [COMMAND]", "show help for a command");
    fputs("\noptions (which command takes which: segc help COMMAND):\n", out);
    for (int i = 0; i < N_OPTIONS; i++)
        print_option(out, NULL, &options[i]);
    fprintf(out, "  %-26s %s\n", "--help, -h", "show help");
    fprintf(out, "  %-26s %s\n", "--version", "segc, LLVM and OpenBLAS versions, the JIT's CPU");
    fputs("\nenvironment:\n", out);
    for (int i = 0; i < N_ENVIRONMENT; i++)
        fprintf(out, "  %-26s %s\n", environment[i].name, environment[i].help);
    fprintf(out, "\nexit status: %s\n", exit_status);
}

/* ---------------------------------------------------------------- manual */

/* Text for roff: backslashes doubled, a line starting with '.' or '\''
 * escaped, hyphens in words kept as minus signs (options stay copyable). */
static void roff_text(FILE *out, const char *s)
{
    int bol = 1;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
        bol = *s == '\n';
    }
}

static void man_commands(FILE *out)
{
    fputs(".SH COMMANDS\n", out);
    for (int i = 0; i < N_COMMANDS; i++) {
        const cli_command *c = &commands[i];
        fputs(".TP\n.B segc ", out);
        roff_text(out, c->name);
        fputs(" ", out);
        roff_text(out, c->args);
        for (int k = 0; k < N_OPTIONS; k++)
            if (c->opts & options[k].bit) {
                fputs(" [", out);
                roff_text(out, options[k].name);
                if (options[k].arg) {
                    fputs(" \\fI", out);
                    roff_text(out, options[k].arg);
                    fputs("\\fB", out);
                }
                fputs("]", out);
            }
        fputs("\n", out);
        roff_text(out, c->details);
        if (c->more) {
            char *text = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&text, &len);
            c->more(m);
            fclose(m);
            fputs(".nf\n", out);
            roff_text(out, text);
            fputs(".fi\n", out);
            free(text); /* open_memstream's own allocation */
        }
    }
    fputs(".TP\n.B segc help\n[COMMAND]: the help of a command, or of segc.\n", out);
}

static void man_options(FILE *out)
{
    fputs(".SH OPTIONS\nWhich command takes which option: the COMMANDS above, or "
          "\\fBsegc help\\fR \\fICOMMAND\\fR.\n", out);
    for (int i = 0; i < N_OPTIONS; i++) {
        fputs(".TP\n.B ", out);
        roff_text(out, options[i].name);
        if (options[i].arg) {
            fputs(" \\fI", out);
            roff_text(out, options[i].arg);
            fputs("\\fR", out);
        }
        fputs("\n", out);
        roff_text(out, options[i].help);
        fputs("\n", out);
    }
    fputs(".TP\n.BR \\-\\-help \", \" \\-h\"\nshow help\n"
          ".TP\n.B \\-\\-version\nsegc, LLVM and OpenBLAS versions, the JIT's CPU\n", out);
}

/* `segc help --man`: the manual page in roff (man(7)). */
static void print_man(FILE *out)
{
    fprintf(out, ".TH SEGC 1 \"\" \"segc %s\" \"User Commands\"\n.SH NAME\n"
                 "segc \\- compile, train and run segmentation networks written in Seg\n"
                 ".SH SYNOPSIS\n.B segc\n\\fICOMMAND\\fR [\\fIARGS\\fR] [\\fIOPTIONS\\fR]\n"
                 ".SH DESCRIPTION\nsegc compiles Seg programs (segmentation networks and their "
                 "staged training schedules), checks every shape before anything runs, and runs "
                 "them with JIT-compiled kernels.\n", SEGC_VERSION);
    man_commands(out);
    man_options(out);
    fputs(".SH ENVIRONMENT\n", out);
    for (int i = 0; i < N_ENVIRONMENT; i++) {
        fprintf(out, ".TP\n.B %s\n", environment[i].name);
        roff_text(out, environment[i].help);
        fputs("\n", out);
    }
    fputs(".SH EXIT STATUS\n", out);
    roff_text(out, exit_status);
    fputs("\n", out);
}

static const cli_command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int usage_error(const cli_command *c, const char *fmt, ...) SEG_PRINTF(2, 3);
static int usage_error(const cli_command *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "segc%s%s: ", c ? " " : "", c ? c->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (c)
        fprintf(stderr, "run 'segc help %s' for its options\n", c->name);
    else
        fputs("run 'segc --help' for the commands\n", stderr);
    return CLI_USAGE;
}

/* `segc help [CMD]`, `segc help --man` */
static int cmd_help(int argc, char **argv)
{
    if (argc < 3) {
        print_main_help(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[2], "--man") == 0 && argc == 3) {
        print_man(stdout);
        return CLI_OK;
    }
    const cli_command *c = find_command(argv[2]);
    if (!c)
        return usage_error(NULL, "help: unknown command '%s'", argv[2]);
    if (argc > 3)
        return usage_error(NULL, "help: unexpected argument '%s'", argv[3]);
    print_command_help(stdout, c);
    return CLI_OK;
}

/* ------------------------------------------------------------- parsing */

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *v = (uint64_t)x;
    return 0;
}

/* A memory size: a number with an optional unit K, M, G, T (powers of
 * 1000, either case) or Ki, Mi, Gi, Ti (powers of 1024), either optionally followed
 * by B: "4G", "512MiB", "1.5GB", "1000000". */
static int parse_size(const char *s, int64_t *bytes)
{
    static const char units[] = "KMGT";
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || errno || !(v > 0))
        return -1;
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    double scale = 1;
    if (u) {
        int binary = end[1] == 'i';
        for (const char *k = units; k <= u; k++)
            scale *= binary ? 1024.0 : 1000.0;
        end += 1 + binary;
    }
    if (*end == 'B')
        end++;
    if (*end || !(v * scale >= 1 && v * scale < 9e18))
        return -1;
    *bytes = (int64_t)(v * scale);
    return 0;
}

static void add_setting(cli_opts *o, const char *key, const char *value)
{
    o->settings = seg_xrealloc(o->settings, (size_t)(o->n_settings + 1) * sizeof *o->settings);
    o->settings[o->n_settings++] = (seg_setting){key, value};
}

/* --set KEY=VALUE: keys are split off into a copy owned by keys[]. */
static int set_setting(cli_opts *o, const char *kv, char **key_copy)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return -1;
    size_t n = (size_t)(eq - kv);
    *key_copy = seg_xrealloc(NULL, n + 1);
    memcpy(*key_copy, kv, n);
    (*key_copy)[n] = 0;
    add_setting(o, *key_copy, eq + 1);
    return 0;
}

/* Parse state: the options, plus which single-use flags were seen and the
 * key strings --set copied (freed by opts_free). */
typedef struct cli_parse {
    cli_opts o;
    unsigned seen; /* OPT_* already given (all but --set are single-use) */
    char **keys;   /* owned copies of --set keys */
    int n_keys;
} cli_parse;

static void parse_free(cli_parse *ps)
{
    for (int i = 0; i < ps->n_keys; i++)
        seg_free(ps->keys[i]);
    seg_free(ps->keys);
    seg_free(ps->o.settings);
    seg_free(ps->o.files);
    seg_free((void *)ps->o.inputs);
    seg_free((void *)ps->o.labels);
}

static int apply_value(cli_parse *ps, const cli_command *c, const cli_option *op, const char *val)
{
    cli_opts *o = &ps->o;
    uint64_t u;
    switch (op->bit) {
    case OPT_NET: o->net = val; return CLI_OK;
    case OPT_SCHEDULE: o->schedule = val; return CLI_OK;
    case OPT_INPUT: o->input = val; return CLI_OK;
    case OPT_OUTPUT: o->output = val; return CLI_OK;
    case OPT_OUT: o->out = val; return CLI_OK;
    case OPT_RESUME: o->resume = val; return CLI_OK;
    case OPT_INIT: o->init = val; return CLI_OK;
    case OPT_STAGE: o->stage = val; return CLI_OK;
    case OPT_EMIT_LLVM: o->emit_llvm = val; return CLI_OK;
    case OPT_SEED:
        if (parse_u64(val, &u))
            return usage_error(c, "--seed needs a non-negative integer, not '%s'", val);
        o->seed = u;
        o->seed_given = 1;
        return CLI_OK;
    case OPT_OVERLAP: {
        char *end;
        double f = strtod(val, &end);
        if (!*val || *end || !(f >= 0 && f <= 0.95))
            return usage_error(c, "--overlap needs a number from 0 to 0.95, not '%s'", val);
        o->overlap = f;
        return CLI_OK;
    }
    case OPT_VOLUME: {
        int64_t v[3] = {0, 0, 0};
        int n = 0;
        char *end = (char *)val;
        while (n < 3) {
            errno = 0;
            long long x = strtoll(end, &end, 10);
            if (errno || x < 1 || x > 4096)
                break;
            v[n++] = x;
            if (*end != 'x')
                break;
            end++;
        }
        if (n < 2 || *end)
            return usage_error(c, "--volume needs DxHxW (or HxW), sizes 1 to 4096, not '%s'", val);
        o->n_volume = n;
        memcpy(o->volume, v, sizeof v);
        return CLI_OK;
    }
    case OPT_BATCH:
        if (parse_u64(val, &u) || u < 1 || u > 64)
            return usage_error(c, "--batch needs a count from 1 to 64, not '%s'", val);
        o->batch = (int)u;
        return CLI_OK;
    case OPT_STEPS:
        if (parse_u64(val, &u) || u < 1 || u > 100000)
            return usage_error(c, "--steps needs a count from 1 to 100000, not '%s'", val);
        o->steps = (int)u;
        return CLI_OK;
    case OPT_MAX_MEMORY:
        if (parse_size(val, &o->max_memory))
            return usage_error(c, "--max-memory needs a size such as 4G, 512M or 2GiB, not '%s'",
                               val);
        return CLI_OK;
    case OPT_THREADS:
        if (parse_u64(val, &u) || u < 1 || u > RT_THREADS_MAX)
            return usage_error(c, "--threads needs a count from 1 to %d, not '%s'", RT_THREADS_MAX,
                               val);
        o->threads = (int)u;
        return CLI_OK;
    case OPT_SET:
        ps->keys = seg_xrealloc(ps->keys, (size_t)(ps->n_keys + 1) * sizeof *ps->keys);
        if (set_setting(o, val, &ps->keys[ps->n_keys]))
            return usage_error(c, "--set needs KEY=VALUE, not '%s'", val);
        ps->n_keys++;
        return CLI_OK;
    default: SEG_UNREACHABLE();
    }
}

/* A PATH... option: this value and every argument after it up to the next
 * option (or --). */
static void take_paths(cli_parse *ps, const cli_option *op, int argc, char **argv, int *i,
                       const char *first)
{
    const char ***list = op->bit == OPT_INPUT ? &ps->o.inputs : &ps->o.labels;
    int *n = op->bit == OPT_INPUT ? &ps->o.n_inputs : &ps->o.n_labels;
    const char *v = first;
    for (;;) {
        *list = seg_xrealloc((void *)*list, (size_t)(*n + 1) * sizeof **list);
        (*list)[(*n)++] = v;
        if (*i + 1 >= argc || (argv[*i + 1][0] == '-' && argv[*i + 1][1]))
            return;
        v = argv[++*i];
    }
}

static const cli_option *find_option(const char *arg, size_t len)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, arg, len) == 0)
            return &options[i];
    return NULL;
}

/* One option at argv[*i] (advancing *i past a separate value). */
static int parse_option(cli_parse *ps, const cli_command *c, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const cli_option *op = find_option(arg, len);
    if (!op || !(c->opts & op->bit))
        return usage_error(c, "unknown option '%s'", arg);
    if (op->bit != OPT_SET && !(c->multi & op->bit) && (ps->seen & op->bit))
        return usage_error(c, "%s given twice", op->name);
    ps->seen |= op->bit;
    if (!op->arg) {
        if (eq)
            return usage_error(c, "%s takes no value", op->name);
        if (op->bit == OPT_VERBOSE)
            ps->o.verbose = 1;
        else if (op->bit == OPT_GRAD)
            ps->o.grad = 1;
        else if (op->bit == OPT_JIT || op->bit == OPT_NO_JIT)
            ; /* decided in parse_args, with $SEGC_JIT */
        else if (op->bit == OPT_INFER)
            ps->o.infer = 1;
        else if (op->bit == OPT_TTA)
            ps->o.tta = 1;
        else if (op->bit == OPT_PROBS)
            ps->o.probabilities = 1;
        else if (op->bit == OPT_KEEP_LARGEST)
            ps->o.keep_largest = 1;
        else if (op->bit == OPT_ECHO)
            ps->o.echo = 1;
        else if (op->bit == OPT_OVERWRITE)
            ps->o.overwrite = 1;
        else
            ps->o.train = 1;
        return CLI_OK;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (!val && *i + 1 < argc)
        val = argv[++*i];
    if (!val)
        return usage_error(c, "%s needs a value", op->name);
    if (c->multi & op->bit) {
        take_paths(ps, op, argc, argv, i, val);
        return CLI_OK;
    }
    return apply_value(ps, c, op, val);
}

static void add_file(cli_opts *o, const char *f)
{
    o->files = seg_xrealloc(o->files, (size_t)(o->n_files + 1) * sizeof *o->files);
    o->files[o->n_files++] = f;
}

static int has_setting(const cli_opts *o, const char *key)
{
    for (int i = 0; i < o->n_settings; i++)
        if (strcmp(o->settings[i].key, key) == 0)
            return 1;
    return 0;
}

/* Returns CLI_OK, CLI_USAGE, or -1 when --help was asked for. */
static int parse_args(cli_parse *ps, const cli_command *c, int argc, char **argv)
{
    int files_only = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!files_only && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
            return -1;
        if (!files_only && strcmp(a, "--") == 0)
            files_only = 1;
        else if (!files_only && a[0] == '-' && a[1]) {
            int rc = parse_option(ps, c, argc, argv, &i);
            if (rc != CLI_OK)
                return rc;
        } else
            add_file(&ps->o, a);
    }
    if (ps->o.n_files < c->min_files)
        return usage_error(c, "missing %s argument", c->args);
    if (c->max_files >= 0 && ps->o.n_files > c->max_files)
        return usage_error(c, "unexpected argument '%s'", ps->o.files[c->max_files]);
    if (c->opts & OPT_JIT) {
        /* JIT kernels by default; --no-jit or SEGC_JIT=0 select the
         * interpreter, and a flag beats the environment. */
        const char *jit = getenv("SEGC_JIT");
        if ((ps->seen & OPT_JIT) && (ps->seen & OPT_NO_JIT))
            return usage_error(c, "--jit and --no-jit exclude each other");
        if (jit && *jit && strcmp(jit, "0") != 0 && strcmp(jit, "1") != 0)
            return usage_error(c, "SEGC_JIT must be 0 or 1, not '%s'", jit);
        ps->o.jit = (ps->seen & OPT_NO_JIT)  ? 0
                    : (ps->seen & OPT_JIT)   ? 1
                    : !(jit && strcmp(jit, "0") == 0);
    }
    if (c->threads) {
        /* The pool has nobody to tell about a bad SEGC_THREADS: say it now. */
        rt_error err = {{0}};
        if (rt_threads_resolve(ps->o.threads, &ps->o.threads, &ps->o.threads_given, &err))
            return usage_error(c, "%s", err.msg);
        if (rt_fp_denormals_resolve(&err))
            return usage_error(c, "%s", err.msg);
        /* what runs outside a pool computes in the pools' mode too */
        rt_fp_denormals_set(rt_fp_denormals_flushed());
    }
    if ((c->opts & OPT_SET) && !has_setting(&ps->o, "B")) {
        add_setting(&ps->o, "B", "1");
        ps->o.default_b = 1;
    }
    return CLI_OK;
}

/* ---------------------------------------------------------------- main */

static int run_command(const cli_command *c, int argc, char **argv)
{
    cli_parse ps;
    memset(&ps, 0, sizeof ps);
    ps.o.cmd = c->name;
    ps.o.overlap = 0.5;
    int rc = parse_args(&ps, c, argc, argv);
    if (rc < 0) {
        print_command_help(stdout, c);
        rc = CLI_OK;
    } else if (rc == CLI_OK) {
        rt_budget_set_max(ps.o.max_memory);
        rc = c->fn(&ps.o);
    }
    parse_free(&ps);
    return rc;
}

int main(int argc, char **argv)
{
    cli_process_init();
    if (argc < 2) {
        print_main_help(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2)
            return usage_error(NULL, "unexpected argument '%s'", argv[2]);
        print_main_help(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "help") == 0)
        return cmd_help(argc, argv);
    if (strcmp(cmd, "--version") == 0) {
        if (argc > 2)
            return usage_error(NULL, "unexpected argument '%s'", argv[2]);
        return cli_print_version();
    }
    const cli_command *c = find_command(cmd);
    if (!c)
        return usage_error(NULL, cmd[0] == '-' ? "unknown option '%s'" : "unknown command '%s'",
                           cmd);
    int rc = run_command(c, argc, argv);
    if (fflush(stdout) != 0 && rc == CLI_OK) {
        cli_error("cannot write the output: %s", strerror(errno));
        rc = CLI_RUNTIME;
    }
    return cli_process_exit(rc);
}
