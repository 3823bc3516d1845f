#!/bin/sh
# sizes.sh — a program too large is refused before anything is allocated
# (issue 13):
#   - a shape beyond 256 TiB is a located error (exit 65): a batch of
#     2^58 used to pass `segc check` and overflow a buffer in segc run;
#   - a program that fits its shapes but not the machine is refused with
#     the figures (exit 70): the machine's memory (a 2048^3 U-Net), the
#     --max-memory limit, an address-space limit (ulimit -v; it used to
#     hang inside OpenBLAS or abort inside LLVM, and the exit after the
#     error hung joining OpenBLAS's workers).
. tests/cli/lib.inc
M="$(pwd)/models/boosting_unet3d.seg"
SMALL="--net unet --set levels=2 --set size=16"

run timeout 60 "$SEGC" run "$M" $SMALL --set B=288230376151711744 --no-jit
expect 65
err_has "boosting_unet3d.seg:54:19: error: input 'image': f32[288230376151711744, 1, 16, 16, 16] is too large (more than 256 TiB)"

run timeout 60 "$SEGC" run "$M" --net unet --set size=2048 --set B=64 --no-jit
expect 70
err_has "segc: error: the forward pass needs "
err_has "more than the memory this machine has"

run timeout 60 "$SEGC" run "$M" $SMALL --max-memory 1M --no-jit
expect 70
err_has "segc: error: the forward pass needs 4.4 MB (3.1 MB of arena, 1.2 MB of parameters, inputs and state), more than --max-memory 1.0 MB"
run timeout 60 "$SEGC" run "$M" $SMALL --max-memory 1GiB --no-jit
expect 0
run "$SEGC" run "$M" $SMALL --max-memory lots
usage_err "--max-memory needs a size such as 4G, 512M or 2GiB, not 'lots'"

# training: the step and its evaluation together
run timeout 60 "$SEGC" train tests/cli/train/tiny.seg --schedule s --max-memory 100k --no-jit --out "$T/run"
expect 70
err_has "the training step"
err_has "more than --max-memory 100 kB"

# bench builds the same programs: the same check
run timeout 60 "$SEGC" bench tests/cli/train/tiny.seg --schedule s --stage one --max-memory 100k --no-jit
expect 70
err_has "the training step needs"

# (a sanitizer build cannot start under ulimit -v: its shadow memory is
# reserved up front; then this part is skipped)
if ! (sh -c 'ulimit -v 400000; exec "$0" --version' "$SEGC") > /dev/null 2>&1; then
    echo "sizes ok (ulimit -v skipped: $SEGC cannot start under it)"
    exit 0
fi
for jit in --no-jit --jit; do
    (ulimit -v 400000; exec timeout 60 "$SEGC" run "$M" $SMALL $jit) > "$T/out" 2> "$T/err" < /dev/null
    code=$?
    [ "$code" != 124 ] || fail "ulimit -v 400000, $jit: hangs"
    expect 70
    err_has "exceeds the address-space limit of 409.6 MB (ulimit -v)"
done
echo "sizes ok"
