#!/bin/sh
# segc infer on real data, end to end: a crop of the T1 head volume of
# `make sample-data` (data/itk, docs/sample-data.md) trains a small
# brain_unet3d for 8 short epochs, then `segc infer RUN_DIR --labels`
# segments the crop: the brain-mask Dice equals what validation computed
# and clears a floor, and the result lies on the crop's grid. Skipped
# (with a note) without data/itk or python3, which cuts the crop.
. "$(dirname "$0")/lib.inc"
ROOT=$(pwd)
if [ ! -s "$ROOT/data/itk/t1.nii.gz" ] || [ ! -s "$ROOT/data/itk/brain_mask.nii.gz" ]; then
    echo "data/itk missing (make sample-data): the real-data inference check was skipped"
    exit 0
fi
command -v python3 > /dev/null 2>&1 || { echo "python3 missing: skipped"; exit 0; }
cd "$T" || exit 1
mkdir -p crop
# z 20-43, y 20-107, x 20-107 (NIfTI x, y, z from 20): 88 x 88 x 24 voxels, 39 % brain
python3 "$ROOT/tests/cli/infer/crop_nifti.py" "$ROOT/data/itk/t1.nii.gz" crop/t1.nii.gz 20 20 20 88 88 24 \
    || fail "cropping t1"
python3 "$ROOT/tests/cli/infer/crop_nifti.py" "$ROOT/data/itk/brain_mask.nii.gz" crop/mask.nii.gz 20 20 20 88 88 24 \
    || fail "cropping the mask"

run "$SEGC" train "$ROOT/tests/cli/infer/real.seg" --schedule crop --out run --threads 2
expect 0
val_dice=$(best_of run/metrics.csv train dice_brain)
run "$SEGC" infer run --input crop/t1.nii.gz --labels crop/mask.nii.gz --output seg
expect 0
out_has "crop/t1.nii.gz: 88x88x24 voxels (2x2x3 mm)"
dice=$(awk -F, 'NR == 2 { print $3 }' seg/metrics.csv)
[ "$dice" = "$val_dice" ] || fail "infer Dice $dice, validation computed $val_dice"
at_least "$dice" 0.75 || fail "brain Dice $dice is under 0.75"
python3 - <<'PY' || fail "the result is not on the crop's grid"
import gzip, struct, sys
a, b = (gzip.open(p).read(348) for p in ('crop/t1.nii.gz', "seg/t1.nii.gz"))
same = lambda off, n: a[off:off + n] == b[off:off + n]
# dim, pixdim, qform/sform codes, quatern, qoffset, srow
sys.exit(0 if same(40, 16) and same(76, 32) and same(252, 76) else 1)
PY
echo "brain Dice $dice (validation $val_dice)"
exit 0
