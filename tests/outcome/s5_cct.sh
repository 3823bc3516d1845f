#!/bin/sh
# s5_cct.sh — METHODS S5 works: CCT trains with both streams (labelled
# cross-entropy, unlabelled consistency over six perturbed auxiliary
# decoders) on the JIT, validates the main decoder and reaches a Dice
# floor; the supervised baseline (the same net without the auxiliary
# decoders) trains too. FLOOR below.
. tests/cli/lib.inc
# Floor: seeds 1 and 2 reached 0.816 / 0.805 (50 steps); predicting
# everything foreground scores about 0.2 on these phantoms.
FLOOR=0.6
M=tests/outcome/methods.seg
run "$SEGC" train $M --schedule s5 --seed 1 --threads 2 --out "$T/run"
expect 0
grep -q "^jit train: .* convolutions on JIT kernels" "$T/out" || fail "not on the JIT"
d=$(best_of "$T/run/metrics.csv" train dice_fg)
at_least "$d" "$FLOOR" || fail "CCT Dice $d < $FLOOR"
echo "CCT Dice $d (floor $FLOOR)"
run "$SEGC" train $M --schedule s5_supervised --seed 1 --threads 2 --out "$T/sup"
expect 0
[ -s "$T/sup/metrics.csv" ] || fail "the supervised baseline wrote no metrics"
