#!/bin/sh
# sample_data.sh — real sample data for segc: a T1-weighted MRI head volume,
# its brain mask and a tissue label map, taken from Debian's
# insighttoolkit5-examples package (the ITK example data) and put into
# data/itk/ as NIfTI (docs/sample-data.md says what the files are).
#
#   sh scripts/sample_data.sh [BUILD_DIR]           fetch (only if needed) and verify
#   sh scripts/sample_data.sh --check [BUILD_DIR]   verify what is there, fetch nothing
#
# `make sample-data` builds BUILD_DIR/segc and runs the first form.
#
# How: `apt-get download` the package into a temporary folder (no install,
# no root needed while apt's package lists know it), `dpkg-deb -x` it there,
# copy the T1 volume and the tissue labels as shipped (they are NIfTI-1
# already), turn the skull-strip label map (0 outside the brain, 4/5/6
# inside) into a 0/1 mask with segc itself (`segc run` of a one-line net,
# which keeps the source header's geometry), then read every file back
# through segc and check sizes and values before the new folder replaces
# the old one. Nothing in data/itk changes unless all of that succeeded.
# When the files are there and pass the checks, nothing is fetched.
#
# Environment:
#   SAMPLE_DATA_DIR   output folder (default data/itk in the repository)
#   SAMPLE_DATA_DEB   use this already downloaded .deb instead of apt-get
#                     download (for machines without a network)
set -eu

PKG=insighttoolkit5-examples
DATA_IN_PKG=usr/share/doc/$PKG/examples/Data
SRC_T1=KmeansTest_T1UCharRaw.nii.gz
SRC_MASK=KmeansTest_T1RawSkullStrip.nii.gz
SRC_TISSUE=KmeansTest_T1KmeansPrelimSegmentation.nii.gz
COPYRIGHT_IN_PKG=usr/share/doc/$PKG/copyright
TISSUE_CLASSES=7 # tissue labels are 0..6

me=sample_data.sh
die() { echo "$me: error: $*" >&2; exit 1; }
note() { echo "$me: $*"; }

check_only=0
if [ "${1:-}" = --check ]; then
    check_only=1
    shift
fi
case ${1:-} in
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (usage: sh scripts/sample_data.sh [--check] [BUILD_DIR])" ;;
esac
B=${1:-build}
SEGC="$B/segc"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(pwd)" = "$ROOT" ]; then DEFAULT_OUT=data/itk; else DEFAULT_OUT="$ROOT/data/itk"; fi
OUT=${SAMPLE_DATA_DIR:-$DEFAULT_OUT}
OUT=${OUT%/}

[ -x "$SEGC" ] || die "$SEGC not found: build it first (make $SEGC), or run make sample-data"
case $SEGC in /*) ;; *) SEGC="$(pwd)/$SEGC" ;; esac
for tool in gzip od awk; do
    command -v "$tool" > /dev/null 2>&1 || die "'$tool' is needed but not installed"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/segc-sample-data.XXXXXX")
NEW=""
cleanup() { rm -rf "$TMP"; [ -z "$NEW" ] || rm -rf "$NEW"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# The nets segc runs on the volumes. Sizes come in through --set.
cat > "$TMP/probe.seg" <<'SEG'
# value: the volume as read; fraction: distance to the integer below (0 for labels)
net probe(d = 1, h = 1, w = 1) {
    input image : f32[B, 1, d, h, w]
    output value = image
    output fraction = abs(image - cast(cast(image, "i32"), "f32"))
}
SEG
cat > "$TMP/binarize.seg" <<'SEG'
# brain mask: 1 where the skull-strip label is > 0 (written as u8)
net binarize(d = 1, h = 1, w = 1) {
    input image : f32[B, 1, d, h, w]
    output mask = image > 0
}
SEG

# nii_dims FILE: "nx ny nz" from a little-endian NIfTI-1 header (.nii or .nii.gz).
nii_dims() {
    gzip -dcf "$1" 2> /dev/null | head -c 348 > "$TMP/hdr" || true
    [ "$(wc -c < "$TMP/hdr")" -eq 348 ] || die "$1: not a NIfTI file (shorter than a NIfTI-1 header)"
    [ "$(od -An -t d4 -N 4 "$TMP/hdr" | tr -d ' ')" = 348 ] ||
        die "$1: not a little-endian NIfTI-1 file (sizeof_hdr is not 348)"
    od -An -v -t d2 -j 40 -N 8 "$TMP/hdr" | awk -v f="$1" '{
        if ($1 != 3) { printf "%s: expected a 3-D volume, dim[0] is %d\n", f, $1 > "/dev/stderr"; exit 1 }
        print $2, $3, $4 }'
}

# probe FILE NX NY NZ: read FILE with segc; sets p_min p_mean p_max p_frac.
# Returns 1 (the reason on stderr) when segc cannot read it.
probe() {
    if ! "$SEGC" run "$TMP/probe.seg" --set "w=$2" --set "h=$3" --set "d=$4" --input "$1" \
            > "$TMP/probe.out" 2> "$TMP/probe.err" < /dev/null; then
        sed 's/^/    /' "$TMP/probe.err" >&2
        echo "$me: $1: segc cannot read it" >&2
        return 1
    fi
    grep -qF "input image: f32[1, 1, $4, $3, $2] from" "$TMP/probe.out" || {
        echo "$me: $1: segc read a volume of another size than the header's $2 x $3 x $4" >&2
        return 1
    }
    stats=$(sed -n 's/^output value: .*  min \([^ ]*\)  mean \([^ ]*\)  max \([^ ]*\)$/\1 \2 \3/p' "$TMP/probe.out")
    p_frac=$(sed -n 's/^output fraction: .*  max \([^ ]*\)$/\1/p' "$TMP/probe.out")
    if [ -z "$stats" ] || [ -z "$p_frac" ]; then
        echo "$me: $1: unexpected output of segc run:" >&2
        cat "$TMP/probe.out" >&2
        return 1
    fi
    set -- $stats
    p_min=$1 p_mean=$2 p_max=$3
}

# num_ok EXPR: awk's verdict on a numeric condition over p_min/p_mean/p_max/p_frac.
num_ok() {
    awk -v min="$p_min" -v mean="$p_mean" -v max="$p_max" -v frac="$p_frac" \
        "BEGIN { exit !($1) }"
}

# verify DIR: every file is there, same size, readable by segc, with sane
# values; the list files name existing files. Prints a summary; returns 1
# (with the reason on stderr) when something is wrong.
verify() {
    dir=$1
    for f in t1.nii.gz brain_mask.nii.gz tissue_labels.nii.gz pairs.txt tissue_pairs.txt; do
        [ -s "$dir/$f" ] || { echo "$me: $dir/$f is missing or empty" >&2; return 1; }
    done
    dims=$(nii_dims "$dir/t1.nii.gz") || return 1
    for f in brain_mask.nii.gz tissue_labels.nii.gz; do
        d=$(nii_dims "$dir/$f") || return 1
        [ "$d" = "$dims" ] || { echo "$me: $dir/$f is $d voxels but t1.nii.gz is $dims" >&2; return 1; }
    done
    set -- $dims
    nx=$1 ny=$2 nz=$3

    probe "$dir/t1.nii.gz" "$nx" "$ny" "$nz" || return 1
    num_ok "max > min" || { echo "$me: $dir/t1.nii.gz is constant ($p_min)" >&2; return 1; }
    t1_stats="min $p_min, mean $p_mean, max $p_max"

    probe "$dir/brain_mask.nii.gz" "$nx" "$ny" "$nz" || return 1
    num_ok "min == 0 && max == 1 && frac == 0 && mean > 0.01 && mean < 0.9" || {
        echo "$me: $dir/brain_mask.nii.gz is not a 0/1 brain mask (min $p_min, mean $p_mean, max $p_max)" >&2
        return 1
    }
    brain=$p_mean

    probe "$dir/tissue_labels.nii.gz" "$nx" "$ny" "$nz" || return 1
    num_ok "min >= 0 && max < $TISSUE_CLASSES && frac == 0" || {
        echo "$me: $dir/tissue_labels.nii.gz is not a label map in 0..$((TISSUE_CLASSES - 1))" \
             "(min $p_min, max $p_max, fractional part up to $p_frac)" >&2
        return 1
    }

    for list in pairs.txt tissue_pairs.txt; do
        n=0
        while read -r img lab rest; do
            case $img in ''|'#'*) continue ;; esac
            [ -n "$lab" ] && [ -z "$rest" ] ||
                { echo "$me: $dir/$list: expected 'image label' per line, got '$img $lab $rest'" >&2; return 1; }
            for f in "$img" "$lab"; do
                [ -s "$dir/$f" ] || { echo "$me: $dir/$list names $f, which is not in $dir" >&2; return 1; }
            done
            n=$((n + 1))
        done < "$dir/$list"
        [ $n -gt 0 ] || { echo "$me: $dir/$list lists no pairs" >&2; return 1; }
    done
    summary="$nx x $ny x $nz voxels; T1 $t1_stats; brain $(awk -v m="$brain" 'BEGIN { printf "%.1f", 100 * m }')% of the volume"
    return 0
}

# ------------------------------------------------------------ up to date?
if [ -d "$OUT" ]; then
    if verify "$OUT" 2> "$TMP/verify.err"; then
        note "$OUT is up to date ($summary)"
        exit 0
    fi
    [ $check_only = 1 ] && { cat "$TMP/verify.err" >&2; die "$OUT fails the checks; run make sample-data to fetch it again"; }
    note "$OUT is incomplete or damaged, fetching it again:"
    sed 's/^/    /' "$TMP/verify.err"
elif [ $check_only = 1 ]; then
    die "$OUT does not exist; run make sample-data"
fi

# ------------------------------------------------------------ download
command -v dpkg-deb > /dev/null 2>&1 || die "dpkg-deb is needed to unpack the package (this script needs Debian or a derivative)"
if [ -n "${SAMPLE_DATA_DEB:-}" ]; then
    [ -s "$SAMPLE_DATA_DEB" ] || die "SAMPLE_DATA_DEB=$SAMPLE_DATA_DEB: no such file"
    deb=$SAMPLE_DATA_DEB
    note "using $deb"
else
    command -v apt-get > /dev/null 2>&1 || die "apt-get is needed to download $PKG (or set SAMPLE_DATA_DEB to the .deb)"
    mkdir "$TMP/deb"
    download() { (cd "$TMP/deb" && apt-get download -q "$PKG") > "$TMP/apt.log" 2>&1; }
    note "downloading Debian package $PKG (about 1.7 MB) ..."
    if ! download; then
        if grep -q -e "Unable to locate package" -e "has no installation candidate" \
                -e "Can't select candidate" "$TMP/apt.log"; then
            [ "$(id -u)" = 0 ] ||
                die "apt's package lists do not know $PKG; run 'sudo apt-get update' and try again"
            note "apt's package lists do not know $PKG; running apt-get update"
            apt-get update -qq > "$TMP/update.log" 2>&1 ||
                { sed 's/^/    /' "$TMP/update.log" >&2; die "apt-get update failed"; }
            download || { sed 's/^/    /' "$TMP/apt.log" >&2; die "apt-get download $PKG failed after apt-get update"; }
        else
            sed 's/^/    /' "$TMP/apt.log" >&2
            die "apt-get download $PKG failed (no network? a machine without one can set SAMPLE_DATA_DEB to a copy of the .deb)"
        fi
    fi
    deb=$(ls "$TMP/deb"/*.deb 2> /dev/null | head -1)
    [ -n "$deb" ] || die "apt-get download $PKG reported success but left no .deb"
fi
version=$(dpkg-deb -f "$deb" Version 2> /dev/null) || die "$deb: not a Debian package"
[ "$(dpkg-deb -f "$deb" Package)" = "$PKG" ] || die "$deb is not the $PKG package"
dpkg-deb -x "$deb" "$TMP/x" || die "$deb: dpkg-deb -x failed"
src="$TMP/x/$DATA_IN_PKG"
for f in $SRC_T1 $SRC_MASK $SRC_TISSUE; do
    [ -s "$src/$f" ] || die "$PKG $version does not ship /$DATA_IN_PKG/$f (see dpkg -c on the .deb); this script knows the bookworm package 5.2.1"
done

# ------------------------------------------------------------ convert
mkdir -p "$(dirname "$OUT")"
NEW="$OUT.new.$$"
rm -rf "$NEW"
mkdir "$NEW"
cp "$src/$SRC_T1" "$NEW/t1.nii.gz"
cp "$src/$SRC_TISSUE" "$NEW/tissue_labels.nii.gz"
[ -s "$TMP/x/$COPYRIGHT_IN_PKG" ] && cp "$TMP/x/$COPYRIGHT_IN_PKG" "$NEW/COPYRIGHT"
dims=$(nii_dims "$src/$SRC_MASK") || die "$PKG $version: $SRC_MASK is not what this script expects"
set -- $dims
if ! "$SEGC" run "$TMP/binarize.seg" --set "w=$1" --set "h=$2" --set "d=$3" \
        --input "$src/$SRC_MASK" --output "$NEW/brain_mask.nii.gz" > "$TMP/bin.log" 2>&1 < /dev/null; then
    sed 's/^/    /' "$TMP/bin.log" >&2
    die "segc could not turn $SRC_MASK into a 0/1 mask"
fi
cat > "$NEW/pairs.txt" <<'EOF'
# image label: T1 volume and brain mask (0 outside, 1 brain); segc nifti(list = ..., classes = 2)
t1.nii.gz brain_mask.nii.gz
EOF
cat > "$NEW/tissue_pairs.txt" <<'EOF'
# image label: T1 volume and ITK's k-means tissue classes 0..6; segc nifti(list = ..., classes = 7)
t1.nii.gz tissue_labels.nii.gz
EOF
{
    echo "Debian package: $PKG $version"
    echo "t1.nii.gz             = /$DATA_IN_PKG/$SRC_T1 (as shipped)"
    echo "tissue_labels.nii.gz  = /$DATA_IN_PKG/$SRC_TISSUE (as shipped)"
    echo "brain_mask.nii.gz     = /$DATA_IN_PKG/$SRC_MASK > 0, as u8 0/1 (segc run)"
    echo "COPYRIGHT             = /$COPYRIGHT_IN_PKG"
    echo "made by scripts/sample_data.sh; see docs/sample-data.md"
} > "$NEW/SOURCE"

verify "$NEW" || die "the converted files fail the checks (see above); $OUT is left as it was"
rm -rf "$OUT"
mv "$NEW" "$OUT"
NEW=""
note "wrote $OUT from $PKG $version: t1.nii.gz, brain_mask.nii.gz, tissue_labels.nii.gz, pairs.txt, tissue_pairs.txt"
note "$summary"
