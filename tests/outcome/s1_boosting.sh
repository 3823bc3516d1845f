#!/bin/sh
# s1_boosting.sh — METHODS S1 works: the 2-level U-Net trains to a Dice
# floor on the phantoms (organ + lesion as foreground), then the grown
# 3-level net trains only the new level (what grow1 trained is frozen)
# and keeps at least that floor. Floors: see FLOOR below.
. tests/cli/lib.inc
# Floors: with 100 + 30 steps (grow1 10 epochs) seeds 1-5 reach grow1
# 0.901 / 0.504 / 0.876 / 0.380 / 0.711 and grow2 0.900 / 0.852 / 0.901
# / 0.851 / 0.640 (dice_fg): grow1 stalls for seeds 2 and 4 (the dice
# loss on this 2-level, 8-channel net); the test runs seed 1. With 60
# steps seed 1 was still climbing at the end, and a change of summation
# order in the weight gradient moved it from 0.875 to 0.573. 0.6 leaves
# room for a machine's rounding and still fails a net that does not
# learn (a constant prediction scores 0.13 here).
FLOOR1=0.6
FLOOR2=0.6
M=tests/outcome/methods.seg
run "$SEGC" train $M --schedule s1 --seed 1 --threads 2 --out "$T/run"
expect 0
log="$T/out"

# grow2 trains only the new level 3 and its decoder (8 tensors), the rest frozen
grep -q "^stage grow2: .*training 8 tensors" "$log" || fail "grow2 does not train just the new level: $(grep '^stage grow2:' "$log")"
d1=$(best_of "$T/run/metrics.csv" grow1 dice_fg)
d2=$(best_of "$T/run/metrics.csv" grow2 dice_fg)
at_least "$d1" "$FLOOR1" || fail "grow1 best Dice $d1 < $FLOOR1"
at_least "$d2" "$FLOOR2" || fail "grow2 best Dice $d2 < $FLOOR2"
echo "grow1 Dice $d1 (floor $FLOOR1), grow2 Dice $d2 (floor $FLOOR2)"
