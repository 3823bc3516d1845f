# segc — plain Makefile.
#   make            build build/segc
#   make test       install missing packages, build, run every test
#   make demo       install missing packages, build, run the main job on synthetic data
#   make DEBUG=1    ASan + UBSan + LeakSanitizer build (into build-debug/);
#                   make DEBUG=1 test runs the suite on it (what CI runs second)
#   make fuzz       every fuzzer for a bounded time (FUZZ_SECONDS each)
#   make check-torch  compare every op with PyTorch (needs python3-torch)
#   make install PREFIX=/usr/local   bin/segc, share/segc/stdlib, share/man/man1/segc.1

ifeq ($(FUZZ),1)
# libFuzzer targets (make fuzz): the library by clang, instrumented for
# coverage, ASan and UBSan (every UBSan report fatal).
B       := build-fuzz
CC      := clang
OPT     := -O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
LDSAN   := -fsanitize=address,undefined
else ifeq ($(DEBUG),1)
B       := build-debug
# gcc 12 reports bogus "null format string" truncation warnings under UBSan.
# UBSan stops at its first report, so undefined behaviour fails a test
# like an ASan or LeakSanitizer report does.
OPT     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer -Wno-format-truncation
LDSAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
B       := build
OPT     := -O2 -g
LDSAN   :=
endif

CC      ?= cc
WARN    := -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes \
           -Wstrict-prototypes -fno-common -Werror
STDLIB_DIR := $(abspath stdlib)
CFLAGS  := -std=c11 $(WARN) $(OPT) -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
           -I. -I$(B)/gen -I/usr/include/nifti -DSEG_STDLIB_DIR='"$(STDLIB_DIR)"' -MMD -MP
# flex/bison output is not ours: keep -Werror but drop the warnings it trips.
GENFLAGS := -std=c11 -Wall -Wextra -Werror -Wno-unused-function -Wno-sign-compare \
           -Wno-unused-parameter -Wno-missing-prototypes $(OPT) -D_DEFAULT_SOURCE \
           -D_POSIX_C_SOURCE=200809L -I. -I$(B)/gen -Ilang -MMD -MP
LDLIBS  := -lopenblas -lniftiio -lznz -lpng -lz -lm -lpthread

LIB_SRC := $(wildcard runtime/*.c runtime/ops/*.c runtime/data/*.c \
                      compiler/*.c compiler/passes/*.c lang/*.c)
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
GEN_SRC := $(B)/gen/parser.c $(B)/gen/lexer.c
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o) $(GEN_SRC:.c=.o)
TEST_SRC := $(wildcard tests/unit/*.c tests/ops/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
# libFuzzer targets of the file readers (section "fuzzing" below)
FUZZ_TARGETS := nifti png safetensors jit_cache seg
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(B)/fuzz_replay_%)

.PHONY: all deps test demo bench check-torch clean fuzz fuzz-corpus sample-data experiments install
all: $(B)/segc

deps:
	@sh scripts/deps.sh

$(B)/gen/parser.c $(B)/gen/parser.h: lang/parser.y
	@mkdir -p $(B)/gen
	bison -Wall -Werror -o $(B)/gen/parser.c --header=$(B)/gen/parser.h lang/parser.y

$(B)/gen/lexer.c $(B)/gen/lexer.h: lang/lexer.l $(B)/gen/parser.h
	@mkdir -p $(B)/gen
	flex --header-file=$(B)/gen/lexer.h -o $(B)/gen/lexer.c lang/lexer.l

$(B)/gen/%.o: $(B)/gen/%.c
	$(CC) $(GENFLAGS) -c $< -o $@

# Everything in lang/ may include the generated headers.
$(filter $(B)/lang/%,$(LIB_SRC:%.c=$(B)/%.o)): $(B)/gen/parser.h $(B)/gen/lexer.h

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The optimizer's Adam loop calls sqrtf: without errno it is one
# instruction that gcc can vectorise (same correctly rounded result).
$(B)/runtime/optim.o: CFLAGS += -fno-math-errno

$(B)/libsegc.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# libedit (the REPL's line editing) goes into the segc binary only.
$(B)/segc: $(CLI_OBJ) $(B)/libsegc.a
	$(CC) $(OPT) $(LDSAN) -o $@ $^ $(LDLIBS) -ledit

$(B)/unit_tests: $(TEST_OBJ) $(B)/libsegc.a
	$(CC) $(OPT) $(LDSAN) -o $@ $^ $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory $(B)/segc $(B)/unit_tests $(B)/pngcheck $(B)/ckptedit $(FUZZ_REPLAY)
	@sh tests/run.sh $(B)

# tests/cli/report.sh: size and colours of a screenshot (reads PNG with libpng).
$(B)/pngcheck: tests/tools/pngcheck.c $(B)/libsegc.a
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDSAN) -o $@ $< $(B)/libsegc.a $(LDLIBS)

# tests/cli/resume.sh: damaged checkpoints (a metadata key, a dropped or
# relabelled tensor) written through the runtime's own safetensors writer.
$(B)/ckptedit: tests/tools/ckptedit.c $(B)/libsegc.a
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDSAN) -o $@ $< $(B)/libsegc.a $(LDLIBS)

# ------------------------------------------------------------ install
# The binary, the standard library (found by the installed binary as
# ../share/segc/stdlib from its bin/ folder) and the manual page, which
# `segc help --man` prints from the same tables as `segc help`.
PREFIX  ?= /usr/local
DESTDIR ?=
$(B)/segc.1: $(B)/segc
	$(B)/segc help --man > $@.tmp && mv $@.tmp $@

install: $(B)/segc $(B)/segc.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/segc/stdlib \
	    $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(B)/segc $(DESTDIR)$(PREFIX)/bin/segc
	install -m 644 stdlib/*.seg $(DESTDIR)$(PREFIX)/share/segc/stdlib/
	install -m 644 $(B)/segc.1 $(DESTDIR)$(PREFIX)/share/man/man1/segc.1

demo: deps
	@$(MAKE) --no-print-directory $(B)/segc
	@sh scripts/demo.sh $(B)

bench: deps
	@$(MAKE) --no-print-directory $(B)/segc
	@sh bench/run.sh $(B)

# Each method's comparison with 3 seeds (hours: about one per method on 2
# cores); M=s3 runs one. Results in experiments/results/.
experiments: deps
	@$(MAKE) --no-print-directory $(B)/segc
	@sh experiments/run.sh $(B) $(M)

check-torch: deps
	@$(MAKE) --no-print-directory $(B)/segc $(B)/unit_tests
	@sh tests/torch/run.sh $(B)

clean:
	rm -rf build build-debug build-fuzz

-include $(LIB_OBJ:.o=.d) $(GEN_SRC:.c=.d) $(TEST_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# ------------------------------------------------------------ JIT (LLVM 19)
# runtime/jit.c and compiler/codegen_llvm.c use LLVM's C API. Its headers
# go in as a system include (no warnings from them under -Werror) for every
# file, and every program links the one shared libLLVM.
LLVM_CONFIG ?= llvm-config-19
LLVM_INC    := $(shell $(LLVM_CONFIG) --includedir)
LLVM_LIBS   := $(shell $(LLVM_CONFIG) --ldflags --libs core orcjit native passes)
CFLAGS      += -isystem $(LLVM_INC)
# libstdc++ directly too: runtime/jit.c sets its new-handler (out of memory in LLVM).
LDLIBS      += $(LLVM_LIBS) -lstdc++

# GFLOP/s of JIT convolution vs the im2col+sgemm reference, and % of peak.
$(B)/conv_bench: bench/conv_bench.c $(B)/libsegc.a
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDSAN) -o $@ $< $(B)/libsegc.a $(LDLIBS)

# ------------------------------------------------------------ MPI (OpenMPI)
# runtime/dist.c (data-parallel training) is the one file that includes
# mpi.h; every program links libmpi, which a plain `segc train` never
# initialises (only a process that mpirun started joins a job).
MPI_CFLAGS  := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS    := $(shell pkg-config --libs ompi-c 2>/dev/null)
$(B)/runtime/dist.o: CFLAGS += $(patsubst -I%,-isystem %,$(MPI_CFLAGS))
LDLIBS      += $(MPI_LIBS)

# ------------------------------------------------------------ sample data
# A real T1 MRI head volume, its brain mask and tissue labels from Debian's
# insighttoolkit5-examples, as NIfTI in data/itk/ (docs/sample-data.md).
# Downloads only when data/itk is missing or fails its checks.
sample-data: deps
	@$(MAKE) --no-print-directory $(B)/segc
	@sh scripts/sample_data.sh $(B)

# ------------------------------------------------------------ fuzzing
# libFuzzer targets for the file readers (tests/fuzz/fuzz_TARGET.c), each
# run for FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/TARGET/, new
# finds kept in build-fuzz/corpus/TARGET/), then the mutation fuzzer of the
# front end under ASan + UBSan for FUZZ_ITERS mutants. A crash stops make
# with the input in build-fuzz/crash-*; add it to tests/fuzz/crashes/TARGET/.
# `make test` replays the corpora and the crashes (fuzz_replay_TARGET,
# tests/cli/fuzz_corpus.sh); tests/fuzz/README.md says what was run.
FUZZ_SECONDS ?= 60
FUZZ_ITERS ?= 20000
FUZZ_CFLAGS = -std=c11 -O1 -g -fno-omit-frame-pointer -I. -D_DEFAULT_SOURCE \
              -D_POSIX_C_SOURCE=200809L

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_file.h build-fuzz/libsegc.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ $< build-fuzz/libsegc.a $(LDLIBS)

# The same targets without libFuzzer, for make test (replay.c has the main).
$(B)/fuzz_replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_file.h $(B)/libsegc.a
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDSAN) -o $@ $< tests/fuzz/replay.c \
	    $(B)/libsegc.a $(LDLIBS)

# Rewrite the seed corpora with segc's own writers (committed output).
fuzz-corpus: $(B)/libsegc.a
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDSAN) -o $(B)/make_corpus tests/fuzz/make_corpus.c \
	    $(B)/libsegc.a $(LDLIBS)
	$(B)/make_corpus tests/fuzz/corpus

fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build-fuzz/corpus/$$t; \
	    echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
	    build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/crash-$$t- build-fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	        > build-fuzz/fuzz_$$t.log 2>&1 || { tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
	    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' build-fuzz/fuzz_$$t.log; \
	done
	@$(MAKE) --no-print-directory DEBUG=1 build-debug/libsegc.a
	$(CC) -std=c11 -O1 -g -fsanitize=address,undefined -I. -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
	    -o build-debug/fuzz_front tests/fuzz/fuzz_front.c build-debug/libsegc.a $(LDLIBS)
	build-debug/fuzz_front $(FUZZ_ITERS) 1 models/*.seg stdlib/*.seg examples/*.seg tests/lang/*/*.seg
