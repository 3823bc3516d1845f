#!/bin/sh
# s2_distill.sh — METHODS S2 works: the teacher trains on the labels; the
# distillation stage inherits every tensor the teacher stage made (the
# teacher is bound as `teacher` in both stages, so names match), freezes
# them, trains only the student and validates the student, which reaches
# a Dice floor. FLOOR_* below.
. tests/cli/lib.inc
# Floors: seed 1 reached teacher 0.832, distilled student 0.899 (32^2
# phantoms, 40 + 40 steps; at 64^2 seeds 1 and 2 gave 0.830 / 0.840 and
# 0.906 / 0.912); a constant prediction scores about 0.2.
FLOOR_T=0.6
FLOOR_S=0.7
M=tests/outcome/methods.seg
run "$SEGC" train $M --schedule s2 --seed 1 --threads 2 --out "$T/run"
expect 0
made=$(sed -n 's/^stage teach: 0 tensors inherited, \([0-9]*\) new.*/\1/p' "$T/out")
kd=$(grep "^stage kd: " "$T/out" | grep inherited)
inh=$(echo "$kd" | sed -n 's/^stage kd: \([0-9]*\) tensors inherited.*/\1/p')
[ -n "$made" ] && [ -n "$inh" ] || fail "no inheritance lines: $(grep '^stage' "$T/out")"
[ "$inh" = "$made" ] || fail "kd inherited $inh of the $made tensors the teacher stage made: $kd"
echo "$kd" | grep -q " 0 dropped" || fail "kd dropped tensors: $kd"
dt=$(best_of "$T/run/metrics.csv" teach dice_fg)
ds=$(best_of "$T/run/metrics.csv" kd dice_fg)
at_least "$dt" "$FLOOR_T" || fail "teacher best Dice $dt < $FLOOR_T"
at_least "$ds" "$FLOOR_S" || fail "distilled student best Dice $ds < $FLOOR_S"
echo "teacher Dice $dt (floor $FLOOR_T), student Dice $ds (floor $FLOOR_S), kd inherited all $inh teacher tensors"
