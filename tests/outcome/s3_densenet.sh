#!/bin/sh
# s3_densenet.sh — METHODS S3 works: the DenseNet trained with the
# distance-weighted focal loss on the small-lesion phantoms (lesions of
# radius 1-3 voxels, 0.4 % of the volume, labelled alone) finds them: the
# lesion Dice reaches a floor. FLOOR below.
# sanitizers: skip: 920 s under ASan+UBSan on 2 cores, a third of the whole DEBUG suite; the same training paths run in the other outcome tests
. tests/cli/lib.inc
# Floor: seed 1 reached lesion Dice 0.52 after 400 steps (the lesions
# first show up after about 200); a net that misses every lesion scores
# 0, as every run did before the first 200 steps.
FLOOR=0.2
M=tests/outcome/methods.seg
run "$SEGC" train $M --schedule s3 --seed 1 --threads 2 --out "$T/run"
expect 0
d=$(best_of "$T/run/metrics.csv" train dice_lesion)
at_least "$d" "$FLOOR" || fail "lesion Dice $d < $FLOOR"
echo "lesion Dice $d (floor $FLOOR)"
