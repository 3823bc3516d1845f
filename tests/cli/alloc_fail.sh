#!/bin/sh
# alloc_fail.sh — every allocation may fail (issue 13). With
# SEGC_TEST_FAIL_ALLOC=every/K:LOG segc forks at every K-th allocation
# through the funnel (runtime/base.c); the child fails that allocation
# and runs on to its end, the parent logs the child's status and first
# line of stderr and goes on (cli/process.c). Each child must end with
# exit 65 or 70 and a message: no abort, no crash, no hang, no sanitizer
# report (under make DEBUG=1 test). Over a front-end run (segc check of
# a model) and a training run of two steps per stage (both stages of
# tests/cli/train/tiny.seg, one thread, reference kernels: the JIT's
# allocations are LLVM's own, not the funnel's), strided to stay fast;
# every/1 covers every allocation (tests/fuzz/README.md has the counts).
. tests/cli/lib.inc
export OPENBLAS_NUM_THREADS=1 # a forked child has only the thread that forked

# sweep LOG MIN: every child in LOG ended cleanly, and there were at least MIN
sweep_ok() {
    n=$(wc -l < "$1")
    [ "$n" -ge "$2" ] || fail "$1: $n allocations failed, expected at least $2"
    bad=$(grep -Ev '^[0-9]+ [0-9]+ exit=(65|70) (segc: error: |[^ ]+:[0-9]+:[0-9]+: error: )' "$1" | head -5)
    [ -z "$bad" ] || fail "unclean ends in $1:
$bad"
    echo "  $1: $n injected failures, every one exit 65/70 with a message: \
$(awk '{print $3}' "$1" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
}

run env SEGC_TEST_FAIL_ALLOC="every/3:$T/check.log" timeout 300 "$SEGC" check models/boosting_unet3d.seg
expect 0
sweep_ok "$T/check.log" 300

run env SEGC_TEST_FAIL_ALLOC="every/9:$T/train.log" timeout 300 "$SEGC" train tests/cli/train/tiny.seg \
    --schedule s --set steps=2 --set epochs=1 --threads 1 --no-jit --out "$T/run"
expect 0
sweep_ok "$T/train.log" 300

# one failure by number: the message names the size asked for
run env SEGC_TEST_FAIL_ALLOC=50 "$SEGC" check models/boosting_unet3d.seg
expect 70
err_has "segc: error: out of memory (asked for "
echo "alloc_fail ok"
