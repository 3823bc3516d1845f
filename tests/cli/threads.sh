#!/bin/sh
# threads.sh — one thread-count rule (rt_threads_resolve) for every command
# that runs or builds kernels: --threads beats SEGC_THREADS beats the CPU
# count, and a SEGC_THREADS that is not a whole number from 1 to 1024 is
# the same usage error in run, train, bench and kir (exit 1, nothing on
# stdout, nothing done) instead of being ignored by the thread pool.
# SEGC_DENORMALS likewise.
. tests/cli/lib.inc

F=tests/cli/train/tiny.seg
for bad in abc 0 -2 3x 1025; do
    msg="SEGC_THREADS='$bad' is not a thread count (1..1024)"
    run env SEGC_THREADS="$bad" "$SEGC" run "$T/tiny.seg"
    usage_err "$msg"
    run env SEGC_THREADS="$bad" "$SEGC" train $F --schedule s --set epochs=1 --out "$T/run"
    usage_err "$msg"
    [ ! -e "$T/run" ] || fail "train made its run folder before the thread check"
    run env SEGC_THREADS="$bad" "$SEGC" bench $F --schedule s --stage one --steps 1
    usage_err "$msg"
    run env SEGC_THREADS="$bad" "$SEGC" kir "$T/tiny.seg"
    usage_err "$msg"
done

# The flag beats the variable, even a bad one; a good variable is used.
run env SEGC_THREADS=abc "$SEGC" run "$T/tiny.seg" --threads 1
expect 0
out_has ", 1 thread)"
run env SEGC_THREADS=3 "$SEGC" run "$T/tiny.seg"
expect 0
out_has ", 3 threads)"
run env SEGC_THREADS=3 "$SEGC" bench "$T/tiny.seg" --steps 1
expect 0
out_has " threads=3"

# The denormal mode (runtime/fpmode.c) is read by the same commands: a
# value other than flush or keep is a usage error; keep gives this tiny
# net's output bit for bit (no denormals occur in it).
run env SEGC_DENORMALS=fast "$SEGC" run "$T/tiny.seg"
usage_err "SEGC_DENORMALS must be 'flush' or 'keep', not 'fast'"
run env SEGC_DENORMALS=keep "$SEGC" run "$T/tiny.seg" --threads 2 --output "$T/keep.nii"
expect 0
run env SEGC_DENORMALS=flush "$SEGC" run "$T/tiny.seg" --threads 2 --output "$T/flush.nii"
expect 0
cmp -s "$T/keep.nii" "$T/flush.nii" || fail "SEGC_DENORMALS=keep changed the output"

# Commands that run no kernels do not look at it.
run env SEGC_THREADS=abc "$SEGC" check "$T/tiny.seg"
expect 0
exit 0
