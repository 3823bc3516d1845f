#!/bin/sh
# sample_data.sh — the real-data example: models/brain_t1.seg checks (with
# or without data/), scripts/sample_data.sh fails clearly without touching
# its output folder, and when `make sample-data` has been run, the files in
# data/itk read back through segc with the expected sizes and values.
# Needs no network: the download itself is not exercised here.
. "$(dirname "$0")/lib.inc"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(dirname "$SEGC")
SCRIPT="$ROOT/scripts/sample_data.sh"
cd "$T" || exit 1

# The schedule is a valid program whether or not data/ exists.
run "$SEGC" check "$ROOT/models/brain_t1.seg"
expect 0
err_empty
run "$SEGC" params "$ROOT/models/brain_t1.seg"
expect 0
out_has "total: 353,921 parameters"
out_has "level.2.decoder.conv0.weight             [32, 96, 3, 3, 3]"

# Error paths, offline: nothing there to check; a bad .deb; no segc.
run env SAMPLE_DATA_DIR="$T/none" sh "$SCRIPT" --check "$B"
expect 1
err_has "$T/none does not exist; run make sample-data"
[ ! -e "$T/none" ] || fail "--check created $T/none"

echo "not a package" > junk.deb
run env SAMPLE_DATA_DIR="$T/dest/itk" SAMPLE_DATA_DEB="$T/junk.deb" sh "$SCRIPT" "$B"
expect 1
err_has "junk.deb: not a Debian package"
[ ! -e "$T/dest" ] || fail "a failed run left $T/dest"

run env SAMPLE_DATA_DIR="$T/x" sh "$SCRIPT" "$T/nobuild"
expect 1
err_has "nobuild/segc not found"

run sh "$SCRIPT" --bogus
expect 1
err_has "unknown option '--bogus'"

# A damaged folder fails --check and names the file.
mkdir -p bad
for f in t1.nii.gz brain_mask.nii.gz tissue_labels.nii.gz; do echo "junk" > "bad/$f"; done
echo "t1.nii.gz brain_mask.nii.gz" > bad/pairs.txt
echo "t1.nii.gz tissue_labels.nii.gz" > bad/tissue_pairs.txt
run env SAMPLE_DATA_DIR="$T/bad" sh "$SCRIPT" --check "$B"
expect 1
err_has "bad/t1.nii.gz: not a NIfTI file"
err_has "fails the checks"

D="$ROOT/data/itk"
if [ ! -d "$D" ]; then
    echo "skip: $D absent (make sample-data fetches it)"
    exit 0
fi

# Every file is there and non-empty; the list files name existing files.
for f in t1.nii.gz brain_mask.nii.gz tissue_labels.nii.gz pairs.txt tissue_pairs.txt COPYRIGHT SOURCE; do
    [ -s "$D/$f" ] || fail "$D/$f is missing or empty"
done
for list in pairs.txt tissue_pairs.txt; do
    n=0
    while read -r img lab rest; do
        case $img in ''|'#'*) continue ;; esac
        [ -n "$lab" ] && [ -z "$rest" ] || fail "$list: bad line '$img $lab $rest'"
        [ -s "$D/$img" ] || fail "$list names $img, which is missing"
        [ -s "$D/$lab" ] || fail "$list names $lab, which is missing"
        n=$((n + 1))
    done < "$D/$list"
    [ $n = 1 ] || fail "$list lists $n pairs, expected 1"
done

# The script's own checks pass and fetch nothing.
run sh "$SCRIPT" --check "$B"
expect 0
out_has "is up to date (128 x 128 x 62 voxels"

# Read back through segc: sizes and value ranges.
cat > probe.seg <<'SEG'
net probe() {
    input image : f32[B, 1, 62, 128, 128]
    output value = image
    output fraction = abs(image - cast(cast(image, "i32"), "f32"))
}
SEG
run "$SEGC" run probe.seg --input "$D/t1.nii.gz"
expect 0
out_has "input image: f32[1, 1, 62, 128, 128] from"
out_has "output value: f32[1, 1, 62, 128, 128]  min 0  mean 19.2298  max 255"

run "$SEGC" run probe.seg --input "$D/brain_mask.nii.gz"
expect 0
out_has "output value: f32[1, 1, 62, 128, 128]  min 0  mean 0.126473  max 1"
out_has "output fraction: f32[1, 1, 62, 128, 128]  min 0  mean 0  max 0"

run "$SEGC" run probe.seg --input "$D/tissue_labels.nii.gz"
expect 0
out_has "output value: f32[1, 1, 62, 128, 128]  min 0  mean 1.72647  max 6"
out_has "output fraction: f32[1, 1, 62, 128, 128]  min 0  mean 0  max 0"

# The mask keeps the source geometry: 2 x 2 x 3 mm voxels (pixdim[1..3]).
dims=$(gzip -dc "$D/brain_mask.nii.gz" | head -c 348 | od -An -t f4 -j 80 -N 12 | tr -s ' ' ' ')
[ "$dims" = " 2 2 3" ] || fail "brain_mask.nii.gz spacing is '$dims', expected 2 2 3"
exit 0
