#!/bin/sh
# run_nifti.sh — segc run --output writes NIfTI volumes atomically, and
# --input reads them back (plain and gzip, 3-D and 2-D); bad volumes and
# shape mismatches are runtime errors (exit 70) that name the file.
. "$(dirname "$0")/lib.inc"
cd "$T" || exit 1

run "$SEGC" run tiny.seg --seed 1 --output seg.nii.gz
expect 0
out_has "wrote seg.nii.gz: output mask as f32, 8 x 8 x 8 x 1"
[ -s seg.nii.gz ] || fail "seg.nii.gz not written"
ls | grep -q '\.tmp\.' && fail "temporary file left behind"

# The written volume is a valid input of the same net.
run "$SEGC" run tiny.seg --input seg.nii.gz --output seg2.nii
expect 0
err_empty
out_has "input image: f32[1, 1, 8, 8, 8] from seg.nii.gz"
out_has "output mask: f32[1, 1, 8, 8, 8]"
out_has "wrote seg2.nii"
# header 352 bytes + 512 f32 voxels
[ "$(wc -c < seg2.nii)" -eq $((352 + 512 * 4)) ] || fail "seg2.nii has $(wc -c < seg2.nii) bytes"

run "$SEGC" run tiny.seg --input seg2.nii
expect 0
out_has "from seg2.nii"

# 2-D: a 16 x 16 x 1 volume feeds a [1, 1, 16, 16] input.
run "$SEGC" run two.seg --output flat.nii.gz
expect 0
out_has "16 x 16 x 1 x 1"
run "$SEGC" run two.seg --input flat.nii.gz
expect 0
out_has "input image: f32[1, 1, 16, 16] from flat.nii.gz"

# Shape mismatch: an 8^3 volume for a 16^3 net.
run "$SEGC" run two.seg --net big --input seg.nii.gz
expect 70
err_has "segc: error: seg.nii.gz:"
err_has "f32[1, 1, 8, 8, 8]"
err_has "f32[1, 1, 16, 16, 16]"
err_has "'image'"

# Missing, truncated and corrupt volumes.
run "$SEGC" run tiny.seg --input nothere.nii.gz
expect 70
err_has "segc: error: nothere.nii.gz:"

head -c 1000 seg2.nii > cut.nii
run "$SEGC" run tiny.seg --input cut.nii
expect 70
err_has "cut.nii: truncated: header says 512 voxels of f32 but the file holds 648 bytes of data"

echo "not a volume at all" > junk.nii.gz
run "$SEGC" run tiny.seg --input junk.nii.gz
expect 70
err_has "junk.nii.gz: not a NIfTI file"

run "$SEGC" run tiny.seg --input tiny.seg
usage_err "--input: 'tiny.seg' is not a NIfTI file name"

# An output name that is not NIfTI is refused before anything runs.
run "$SEGC" run tiny.seg --output seg.txt
usage_err "--output: 'seg.txt' is not a NIfTI file name"
[ ! -e seg.txt ] || fail "seg.txt written"

# An output that cannot be written: no partial file, exit 70.
run "$SEGC" run tiny.seg --output nodir/out.nii.gz
expect 70
err_has "nodir/out.nii.gz"
[ ! -e nodir ] || fail "nodir created"
exit 0
