#!/bin/sh
# s4_unet2d.sh — METHODS S4 works: the classic 2D U-Net with a two-class
# softmax trained with cross-entropy reaches a mIoU floor, and metrics.csv
# carries the per-class IoU and the mIoU it plots. FLOOR below.
. tests/cli/lib.inc
# Floor: seeds 1 and 2 reached mIoU 0.866 / 0.892 at lr 1e-4 and 50
# steps, seed 1 0.872 at lr 3e-4 and 40 steps (this schedule); predicting
# all background gives about 0.45.
FLOOR=0.7
M=tests/outcome/methods.seg
run "$SEGC" train $M --schedule s4 --seed 1 --threads 2 --out "$T/run"
expect 0
head -1 "$T/run/metrics.csv" | grep -q "miou.*iou_background,iou_foreground" \
    || fail "metrics.csv lacks per-class IoU: $(head -1 "$T/run/metrics.csv")"
grep -q "mean IoU" "$T/run/curves.svg" || fail "curves.svg does not plot the mIoU"
m=$(best_of "$T/run/metrics.csv" train miou)
f=$(best_of "$T/run/metrics.csv" train iou_foreground)
at_least "$m" "$FLOOR" || fail "mIoU $m < $FLOOR"
echo "mIoU $m (floor $FLOOR), foreground IoU $f"
