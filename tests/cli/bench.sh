#!/bin/sh
# bench.sh — segc bench runs a tiny net's inference forward and a tiny
# stage's training step for 2 timed steps and prints every field (step
# time, GFLOP, GFLOP/s, share of peak, peak RSS, compile time, the result
# line); --jit adds the JIT build times; bad option combinations are usage
# errors. Speed itself is not tested (make bench measures it).
. tests/cli/lib.inc

fields() {
    for f in "step time" "median of 2" "GFLOP per step" "GFLOP/s" "of peak" "peak RSS" \
             "compile" "result: step_ms=" " gflop=" " gflops=" " peak_pct=" " rss_mb=" \
             " compile_ms=" " threads=1" " steps=2"; do
        out_has "$f"
    done
    err_empty
}

# a net's inference forward
run "$SEGC" bench "$T/tiny.seg" --steps 2 --threads 1
expect 0
out_has "inference forward of net tiny"
fields
# 2 * 8^3 * 4 * 27 (conv) + 2 * 8^3 * 4 (1x1 conv) + elementwise: about 0.00013 GFLOP
grep -q "gflop=0.000[1-2]" "$T/out" || fail "unexpected GFLOP count"

# a stage's training step, with the stage's optimizer
F=tests/cli/train/tiny.seg
run "$SEGC" bench $F --schedule s --stage two --set B=1 --steps 2 --threads 1
expect 0
out_has "training step of stage two of schedule s"
out_has "sgd update of 2 trainable tensors (4 frozen), batch 1"
out_has "forward"
out_has "backward"
fields

# --infer with a stage: its evaluation step
run "$SEGC" bench $F --schedule s --stage one --infer --steps 2 --threads 1
expect 0
out_has "evaluation step of stage one"
fields

# --jit: JIT kernels and their build times
run "$SEGC" bench "$T/tiny.seg" --steps 2 --threads 1 --jit
expect 0
out_has "JIT kernels (convolutions, fused groups)"
out_has "jit compile"
out_has " jit=1 "
fields

# usage errors
run "$SEGC" bench $F --schedule s --net tiny --stage one
usage_err "not both"
run "$SEGC" bench $F --schedule s --stage nope
usage_err "no stage 'nope'"
run "$SEGC" bench $F --schedule s
usage_err "choose one with --stage"
run "$SEGC" bench $F --schedule s --stage one --set size=8
usage_err "--set takes only B"
run "$SEGC" bench "$T/tiny.seg" --steps 0
usage_err "--steps needs a count"
run "$SEGC" bench "$T/tiny.seg" --stage one
usage_err "has no schedule"
"$SEGC" help bench | grep -q -- "--steps" || fail "help bench lacks --steps"
exit 0
