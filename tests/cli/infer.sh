#!/bin/sh
# segc infer: a tiny schedule trained for 2 epochs on NIfTI files, then
# applied by `segc infer RUN_DIR` to its validation volume gives the Dice
# that validation computed (same sliding window, same probabilities);
# --labels metrics, --probabilities, --keep-largest, globs and folders;
# results keep the scan's geometry (oblique sform, anisotropic spacing,
# odd sizes, a volume smaller than the tile, a net trained at another
# spacing); `segc run CKPT`; bad inputs give clear errors (exit 1 usage,
# 65 program, 70 runtime).
. "$(dirname "$0")/lib.inc"
S=$(pwd)/tests/cli/infer/tiny.seg
cd "$T" || exit 1

# --- data: noise in [0, 100) and its thresholds, written by segc run
cat > gen.seg <<'SEG'
net gen(d = 20, h = 23, w = 27) {
    input image : f32[B, 1, d, h, w]
    output img = image * 100.0
}
net two(d = 20, h = 23, w = 27) {
    input image : f32[B, 1, d, h, w]
    output lab = image > 50.0
}
net three(d = 20, h = 23, w = 27) {
    input image : f32[B, 1, d, h, w]
    output lab = (image > 33.0) + (image > 66.0)
}
SEG
mkdir -p img lab lab3 val
for i in 1 2 3; do
    "$SEGC" run gen.seg --net gen --seed $i --output img/c$i.nii.gz > /dev/null || fail "gen $i"
done
"$SEGC" run gen.seg --net gen --seed 9 --output val/img.nii.gz > /dev/null || fail "gen val"
for f in img/c1 img/c2 img/c3 val/img; do
    o=$(echo $f | sed 's,^img/,lab/,; s,^val/img,val/lab,')
    "$SEGC" run gen.seg --net two --input $f.nii.gz --output $o.nii.gz > /dev/null || fail "label $f"
    o3=$(echo $f | sed 's,^img/,lab3/,; s,^val/img,val/lab3,')
    "$SEGC" run gen.seg --net three --input $f.nii.gz --output $o3.nii.gz > /dev/null || fail "label3 $f"
done

# --- train, then infer on the validation volume: validation's Dice
run "$SEGC" train "$S" --schedule s --out runA --seed 3 --threads 2
expect 0
val_dice=$(best_of runA/metrics.csv one dice_fg)
[ -n "$val_dice" ] || fail "no validation Dice in runA/metrics.csv"
run "$SEGC" infer runA --input val/img.nii.gz --labels val/lab.nii.gz --output outA --threads 1
expect 0
out_has "model: runA/ckpt/best-one.safetensors (schedule s, stage one, net tiny)"
out_has "val/img.nii.gz: 27x23x20 voxels"
out_has "-> outA/img.nii.gz"
out_has "metrics (1 case, mean per case): class1 Dice"
[ -s outA/img.nii.gz ] || fail "no outA/img.nii.gz"
inf_dice=$(awk -F, 'NR == 2 { print $3 }' outA/metrics.csv)
[ "$inf_dice" = "$val_dice" ] || fail "infer Dice $inf_dice, validation computed $val_dice"
head -1 outA/metrics.csv | grep -q '^case,class,dice,iou,hd95_mm,asd_mm,pred_voxels,truth_voxels$' \
    || fail "metrics.csv header: $(head -1 outA/metrics.csv)"
ls outA | grep -q '\.tmp\.' && fail "temporary file left behind"

# the same with 2 threads and batch 1: the same labels, byte for byte
run "$SEGC" infer runA/ckpt/best-one.safetensors --input val/img.nii.gz --output outB --batch 1 --threads 2
expect 0
cmp -s outA/img.nii.gz outB/img.nii.gz || fail "batch 1, 2 threads gives other labels"

# header of a .nii[.gz]: datatype (offset 70) and dim[0..3] (offset 40)
hdr() { gzip -dcf "$1" | od -An -t d2 -j "$2" -N "$3" | tr -s ' ' | sed 's/^ //'; }
[ "$(hdr outA/img.nii.gz 70 2)" = 2 ] || fail "labels are not uint8: datatype $(hdr outA/img.nii.gz 70 2)"
[ "$(hdr outA/img.nii.gz 40 8)" = "3 27 23 20" ] || fail "labels dims $(hdr outA/img.nii.gz 40 8)"

# --probabilities: float32, the output's one channel
run "$SEGC" infer runA --input val/img.nii.gz --output outP --probabilities --tta --overlap 0.25
expect 0
[ "$(hdr outP/img.nii.gz 70 2)" = 16 ] || fail "probabilities are not float32"
[ "$(hdr outP/img.nii.gz 40 8)" = "3 27 23 20" ] || fail "probability dims $(hdr outP/img.nii.gz 40 8)"

# --keep-largest never adds voxels
run "$SEGC" infer runA --input val/img.nii.gz --labels val/lab.nii.gz --output outK --keep-largest
expect 0
a=$(awk -F, 'NR == 2 { print $7 }' outA/metrics.csv); k=$(awk -F, 'NR == 2 { print $7 }' outK/metrics.csv)
[ "$k" -le "$a" ] && [ "$k" -gt 0 ] || fail "--keep-largest: $k voxels, $a without"

# globs, folders and several paths; labels pair in order
run "$SEGC" infer runA --input 'img/*.nii.gz' --labels lab --output outG
expect 0
[ "$(ls outG | grep -c 'nii.gz$')" = 3 ] || fail "glob: $(ls outG)"
[ "$(wc -l < outG/metrics.csv)" = 4 ] || fail "glob metrics: $(cat outG/metrics.csv)"
out_has "metrics (3 cases, mean per case)"
run "$SEGC" infer runA --input img/c1.nii.gz img/c3.nii.gz --output outF
expect 0
[ -s outF/c1.nii.gz ] && [ -s outF/c3.nii.gz ] && [ ! -e outF/c2.nii.gz ] || fail "two paths: $(ls outF)"

# three classes, softmax: per-class metrics by the names the data gives
run "$SEGC" train "$S" --schedule three --out runC --seed 1 --threads 2
expect 0
run "$SEGC" infer runC --input val/img.nii.gz --labels val/lab3.nii.gz --output outC --probabilities
expect 0
out_has "low: Dice"
out_has "high: Dice"
grep -q '^img.nii.gz,high,' outC/metrics.csv || fail "three-class metrics: $(cat outC/metrics.csv)"
[ "$(hdr outC/img.nii.gz 40 10)" = "4 27 23 20 3" ] || fail "3-channel probabilities: $(hdr outC/img.nii.gz 40 10)"

# `segc run CKPT`: the recorded net with B = 1, on a volume of its size
"$SEGC" run gen.seg --net gen --set d=16 --set h=16 --set w=16 --output v16.nii.gz > /dev/null
run "$SEGC" run runA --input v16.nii.gz --output r16.nii.gz
expect 0
out_has "init: 4 tensors from runA/ckpt/best-one.safetensors"
run "$SEGC" run runA --net tiny
usage_err "a checkpoint brings its own net"

# --- geometry: an oblique, anisotropic, odd-sized scan (python3 writes it)
if command -v python3 > /dev/null 2>&1; then
    cat > nii.py <<'PY'
import gzip, math, struct, sys, random
def write(path, nx, ny, nz, pix, seed):
    h = bytearray(348)
    struct.pack_into('<i', h, 0, 348)
    struct.pack_into('<8h', h, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into('<2h', h, 70, 16, 32)             # float32
    struct.pack_into('<8f', h, 76, -1.0, pix[0], pix[1], pix[2], 1, 1, 1, 1)
    struct.pack_into('<f', h, 108, 352.0)
    struct.pack_into('<B', h, 123, 2)                  # xyzt_units: mm
    struct.pack_into('<2h', h, 252, 1, 2)              # qform_code scanner, sform_code aligned
    a, b = math.radians(30), math.radians(10)
    R = [[math.cos(a)*math.cos(b), -math.sin(a), math.cos(a)*math.sin(b)],
         [math.sin(a)*math.cos(b), math.cos(a), math.sin(a)*math.sin(b)],
         [-math.sin(b), 0, math.cos(b)]]
    struct.pack_into('<6f', h, 256, 0.1, 0.2, 0.3, -20.0, 5.0, 12.5)   # quatern b c d, qoffset
    for r in range(3):
        struct.pack_into('<4f', h, 280 + 16 * r, *[R[r][c] * pix[c] for c in range(3)], -20.0 + 7 * r)
    h[344:348] = b'n+1\0'
    random.seed(seed)
    data = struct.pack('<%df' % (nx * ny * nz), *[random.random() * 100 for _ in range(nx * ny * nz)])
    with gzip.open(path, 'wb') as f:
        f.write(bytes(h) + b'\0\0\0\0' + data)
def geometry(path):
    h = gzip.open(path).read(348)
    dims = struct.unpack_from('<4h', h, 40)
    pix = struct.unpack_from('<3f', h, 80)
    codes = struct.unpack_from('<2h', h, 252)
    rest = struct.unpack_from('<18f', h, 256)
    return repr((dims, pix, codes, rest))
if sys.argv[1] == 'write':
    write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
          [float(x) for x in sys.argv[6:9]], 7)
else:
    print(geometry(sys.argv[2]))
PY
    mkdir -p obl
    python3 nii.py write obl/big.nii.gz 31 17 13 0.7 1.3 3.1 || fail "python: writing obl/big"
    python3 nii.py write obl/small.nii.gz 5 7 9 0.9 0.9 2.5 || fail "python: writing obl/small"
    run "$SEGC" train "$S" --schedule resampled --out runR --seed 2 --threads 2
    expect 0
    for run_dir in runA runR; do
        run "$SEGC" infer $run_dir --input obl --output geo_$run_dir
        expect 0
        for f in big small; do
            want=$(python3 nii.py geometry obl/$f.nii.gz)
            got=$(python3 nii.py geometry geo_$run_dir/$f.nii.gz)
            [ "$got" = "$want" ] || fail "$run_dir $f: geometry $got, scan $want"
        done
    done
    out_has "obl/small.nii.gz: 5x7x9 voxels (0.9x0.9x2.5 mm), 1 tiles"
    grep -q "model: runR/ckpt/best-one.safetensors (schedule resampled, stage one, net tiny)" "$T/out" \
        || fail "resampled model line: $(head -1 "$T/out")"

    # 2D: PNG images (python3 writes them) give PNG labels of their size,
    # and their probabilities as NIfTI
    python3 - <<'PY' || fail "python: writing PNGs"
import random, struct, zlib
def png(path, w, h):
    random.seed(w)
    raw = b''.join(b'\0' + bytes(random.randrange(256) for _ in range(w)) for _ in range(h))
    chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                           + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
png('a2.png', 45, 37)
png('s2.png', 20, 25)
PY
    run "$SEGC" train "$S" --schedule flat2d --out run2 --threads 2
    expect 0
    run "$SEGC" infer run2 --input a2.png s2.png --output out2
    expect 0
    out_has "a2.png: 45x37 pixels (1x1 mm), 4 tiles -> out2/a2.png"
    out_has "s2.png: 20x25 pixels (1x1 mm), 1 tiles -> out2/s2.png"
    [ "$(od -An -t u1 -j 16 -N 8 out2/a2.png | tr -s ' ')" = " 0 0 0 45 0 0 0 37" ] || fail "out2/a2.png size"
    run "$SEGC" infer run2 --input a2.png --output out2p --probabilities
    expect 0
    [ -s out2p/a2.nii.gz ] || fail "2D probabilities: $(ls out2p)"
    run "$SEGC" infer run2 --input val/img.nii.gz --output o
    usage_err "--input: 'val/img.nii.gz' is not a PNG file; the net is 2D and takes .png"

    # a recorded program with an error is the program's fault (65)
    python3 - <<'PY' || fail "python: damaging a checkpoint"
import json, struct
src = open('runA/ckpt/best-one.safetensors', 'rb').read()
n = struct.unpack('<Q', src[:8])[0]
h = json.loads(src[8:8 + n])
h['__metadata__']['segc.source.0.text'] = h['__metadata__']['segc.source.0.text'].replace('relu(conv(image', 'relu(conv(imag')
b = json.dumps(h).encode()
b += b' ' * ((8 - len(b) % 8) % 8)
open('broken.safetensors', 'wb').write(struct.pack('<Q', len(b)) + b + src[8 + n:])
PY
    run "$SEGC" infer broken.safetensors --input val/img.nii.gz --output outX
    expect 65
    err_has "tests/cli/infer/tiny.seg:"
    err_has "unknown name 'imag'"
else
    echo "python3 missing: the oblique-geometry and damaged-program checks were skipped"
fi

# --- errors
run "$SEGC" infer runA --input val/img.nii.gz
usage_err "give --input PATH... and --output DIR"
run "$SEGC" infer runA --input nothere.nii.gz --output o
usage_err "--input: cannot read 'nothere.nii.gz'"
run "$SEGC" infer runA --input 'none/*.nii.gz' --output o
usage_err "--input: no files match 'none/*.nii.gz'"
run "$SEGC" infer runA --input gen.seg --output o
usage_err "--input: 'gen.seg' is not a NIfTI file; the net is 3D and takes .nii or .nii.gz"
run "$SEGC" infer runA --input img --labels val/lab.nii.gz --output o
usage_err "--labels: 1 label files for 3 inputs"
run "$SEGC" infer runA --input img/c1.nii.gz --output img
usage_err "would overwrite an input"
run "$SEGC" infer runA --input val/img.nii.gz --output gen.seg
usage_err "--output: 'gen.seg' is not a folder"
run "$SEGC" infer runA --input val/img.nii.gz --output o --overlap 1.5
usage_err "--overlap needs a number from 0 to 0.95"
run "$SEGC" infer nowhere --input val/img.nii.gz --output o
usage_err "cannot read 'nowhere'"
mkdir -p empty_run
run "$SEGC" infer empty_run --input val/img.nii.gz --output o
usage_err "empty_run: no checkpoint in this folder"
echo "not a checkpoint" > junk.safetensors
run "$SEGC" infer junk.safetensors --input val/img.nii.gz --output o
expect 70
err_has "junk.safetensors"
echo "not a volume" > bad.nii.gz
run "$SEGC" infer runA --input bad.nii.gz --output o
expect 70
err_has "bad.nii.gz: not a NIfTI file"
run "$SEGC" infer runA --input val/img.nii.gz --labels val/lab3.nii.gz --output o
expect 70
err_has "val/lab3.nii.gz: label value 2 at voxel"
err_has "is not an integer in [0, 2)"
run "$SEGC" infer runA --input val/img.nii.gz --labels v16.nii.gz --output o
expect 70
err_has "shape mismatch"

# help
run "$SEGC" help infer
expect 0
out_has "usage: segc infer RUN_DIR|CKPT"
out_has "--labels PATH..."
out_has "--keep-largest"
exit 0
