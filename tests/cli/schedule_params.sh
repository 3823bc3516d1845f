#!/bin/sh
# schedule_params.sh — parametrised schedules from the command line:
# --schedule NAME --set PARAM=VALUE checks the schedule with that value
# (the same as a named instantiation), --set takes lists, other keys keep
# their meaning (B, epochs), a training run records the values so that
# `segc run CKPT` rebuilds that variant and --resume insists on them.
. "$(dirname "$0")/lib.inc"
ROOT=$(pwd)
M=$ROOT/models/boosting_unet3d.seg
cd "$T" || exit 1

# --set split=3 is schedule boosting_3 = boosting(split = 3)
run "$SEGC" plan "$M" --schedule boosting --set split=3
expect 0
out_has "plan of schedule boosting (split = 3) in"
sed 1d "$T/out" > a.txt
run "$SEGC" plan "$M" --schedule boosting_3
expect 0
out_has "plan of schedule boosting_3 (split = 3) in"
sed 1d "$T/out" > b.txt
cmp -s a.txt b.txt || fail "boosting --set split=3 differs from boosting_3"
run "$SEGC" plan "$M" --schedule boosting --set split=3 --set B=1
expect 0
out_has "stage grow2 (2 of 2), batch 1"

# a key that is no parameter is the command's (plan takes only B)
run "$SEGC" plan "$M" --schedule boosting --set splitt=3
usage_err "not 'splitt'"
# a value that does not work is an error located in the program, with the value
run "$SEGC" plan "$M" --schedule boosting --set split=1
expect 65
err_has "note: in schedule 'boosting' with split = 1"

cat > g.seg <<'SEG'
import "std/losses"
net g(widths = [4]) {
    input image : f32[B, 1, 16, 16, 16]
    h = image
    for i in 0..len(widths) - 1 {
        scope level[i] { h = relu(conv(h, widths[i], k = 3, pad = 1)) }
    }
    output mask = sigmoid(conv(h, 1, k = 1))
}
schedule s(widths, lr = 1e-2) {
    data train = synthetic("lesions3d", cases = 2, size = [16, 16, 16], seed = 1)
    batch 2
    stage one {
        model g(widths = widths)
        loss mean(mask)
        optimizer adam(lr = lr)
        until epochs(2)
    }
}
SEG
# lists on the command line, for nets and schedules alike
run "$SEGC" params g.seg --set 'widths=[2, 3]'
expect 0
out_has "level.1.conv0.weight  [3, 2, 3, 3, 3]"
run "$SEGC" plan g.seg
expect 65
err_has "schedule 's' needs a value for 'widths'"
run "$SEGC" train g.seg --set widths=[2,3] --set epochs=1 --out run1
expect 0
out_has "stage one: 0 tensors inherited"
head -1 run1/schedule.seg | grep -q -- "--schedule s --set widths=\[2, 3\] --set lr=0.01 --seed 0" \
    || fail "schedule.seg header: $(head -1 run1/schedule.seg)"
# the checkpoint records the values: run rebuilds the same variant
run "$SEGC" run run1 --threads 1
expect 0
out_has "mask"
# resuming with other values is refused
run "$SEGC" train g.seg --set widths=[2,4] --resume run1
expect 70
err_has "the run's schedule had other parameter values"
exit 0
