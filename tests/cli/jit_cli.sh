#!/bin/sh
# jit_cli.sh — the JIT's own commands: `segc kir` lists each conv kernel's
# IR with its source location (and --emit-llvm writes the kernels' LLVM
# IR), `segc cache stats` counts the entries a run leaves in
# $SEGC_CACHE_DIR and `segc cache clear` empties it; a corrupted entry is
# detected, rebuilt, and changes no result; a folder others can write, or
# (as root) an entry or folder of another user, is refused and compiled around.
. tests/cli/lib.inc
M=models/boosting_unet3d.seg
NET="--net unet --set levels=2 --set size=16"

# kir: every conv of the 2-level U-Net on a JIT kernel, with its kernel IR
# shown once per distinct kernel, elementwise groups and pools likewise
# shellcheck disable=SC2086
run "$SEGC" kir $M $NET
expect 0
out_has "program forward: 7 of 7 convolutions on JIT kernels"
n=$(grep -c "^#[0-9]* $M:[0-9]*:[0-9]*: conv -> JIT kernel conv_fwd_" "$T/out")
[ "$n" = 7 ] || fail "expected 7 conv kernel lines, got $n"
[ "$(grep -c '^    kernel conv_fwd$' "$T/out")" -ge 2 ] || fail "no kernel IR text"
# the channel block is the target's vector width (8 lanes on AVX2, 16 on AVX-512)
vl=$(sed -n 's/^target: .*, \([0-9]*\)-lane f32 vectors$/\1/p' "$T/out")
case $vl in
    8|16) ;;
    *) fail "no 8- or 16-lane target line" ;;
esac
out_has "layout NCDHW${vl}c"
[ "$(grep -c 'layout NCDHW[0-9]*c' "$T/out")" = "$(grep -c "layout NCDHW${vl}c" "$T/out")" ] \
    || fail "a blocked layout other than NCDHW${vl}c"
out_has "epilogue bias relu"
out_has "(direct convolution, x plain NCDHW, register tile"
# each ReLU is its conv's epilogue (compiler/fuse.c): no instruction of its own
grep -q ": relu -> " "$T/out" && fail "a ReLU left as an instruction"
grep -q "^#[0-9]* $M:[0-9]*:[0-9]*: maxpool -> fast runtime kernel" "$T/out" \
    || fail "maxpool not listed on a fast runtime kernel"
grep -q "^#[0-9]* $M:[0-9]*:[0-9]*: sigmoid -> JIT kernel eltwise_[0-9a-f]* (fused group: sigmoid)" \
    "$T/out" || fail "the head's sigmoid not on a fused-group kernel"

# --emit-llvm: NAME.ll (as generated) and NAME.opt.ll per distinct kernel
# shellcheck disable=SC2086
run "$SEGC" kir $M $NET --emit-llvm "$T/ll"
expect 0
out_has "LLVM IR files to $T/ll"
set -- "$T"/ll/conv_fwd_*.opt.ll
[ -f "$1" ] || fail "no .opt.ll written"
nll=0
for f in "$T"/ll/*.ll; do
    grep -q "define" "$f" || fail "$f has no define"
    nll=$((nll + 1))
done
[ "$nll" -ge 4 ] || fail "only $nll .ll files"

# kir of a training stage: its train and eval programs
run "$SEGC" kir tests/cli/train/tiny.seg --schedule s --stage one
expect 0
out_has "program train: "
out_has "program eval: "
run "$SEGC" kir $M --net unet --stage one
usage_err "exclude each other"
run "$SEGC" kir $M --schedule s
usage_err "--schedule needs --stage"

# cache: a fresh folder fills on a (default: JIT) run; stats counts it
C="$T/cache"
export SEGC_CACHE_DIR="$C"
run "$SEGC" cache stats
expect 0
out_has "directory: $C"
out_has "entries: 0"
# shellcheck disable=SC2086
SEGC_JIT='' "$SEGC" run $M $NET --threads 2 --output "$T/clean.nii" > "$T/clean.log" 2>&1 \
    || fail "run failed: $(tail -3 "$T/clean.log")"
grep -q "^jit forward: 7 of 7 convolutions on JIT kernels (7 distinct, 0 from the cache" \
    "$T/clean.log" || fail "cold run: $(grep '^jit' "$T/clean.log")"
run "$SEGC" cache stats
expect 0
out_has "entries: 7"
grep -q "^bytes: [1-9][0-9]* (" "$T/out" || fail "no byte count"

# a warm run loads every kernel
# shellcheck disable=SC2086
"$SEGC" run $M $NET --threads 2 --output "$T/warm.nii" > "$T/warm.log" 2>&1 || fail "warm run failed"
grep -q "(7 distinct, 7 from the cache" "$T/warm.log" || fail "warm: $(grep '^jit' "$T/warm.log")"
cmp -s "$T/clean.nii" "$T/warm.nii" || fail "warm output differs"

# flip one byte in the middle of an entry: the load rejects it, the kernel is
# rebuilt (5 of 6 from the cache) and stored again, the output is the same
set -- "$C"/*.kobj
e=$1
cp "$e" "$T/entry.orig"
size=$(wc -c < "$e")
off=$((size / 2))
b=$(od -An -tu1 -j "$off" -N1 "$e" | tr -d ' ')
# shellcheck disable=SC2059
printf "$(printf '\\%03o' $((255 - b)))" | dd of="$e" bs=1 seek="$off" conv=notrunc 2>/dev/null
cmp -s "$e" "$T/entry.orig" && fail "the byte flip did not change $e"
# shellcheck disable=SC2086
"$SEGC" run $M $NET --threads 2 --output "$T/fixed.nii" > "$T/fixed.log" 2>&1 \
    || fail "run with a corrupt entry failed: $(tail -3 "$T/fixed.log")"
grep -q "(7 distinct, 6 from the cache" "$T/fixed.log" \
    || fail "corrupt entry not rebuilt: $(grep '^jit' "$T/fixed.log")"
cmp -s "$T/clean.nii" "$T/fixed.nii" || fail "output differs after rebuilding a corrupt entry"
# shellcheck disable=SC2086
"$SEGC" run $M $NET --threads 2 > "$T/again.log" 2>&1 || fail "run after rebuild failed"
grep -q "(7 distinct, 7 from the cache" "$T/again.log" \
    || fail "rebuilt entry not stored: $(grep '^jit' "$T/again.log")"

# a folder others can write to is refused, once, with the reason; the run
# compiles in memory (nothing loaded, nothing stored) and is still right
chmod 777 "$C"
# shellcheck disable=SC2086
"$SEGC" run $M $NET --threads 2 --output "$T/open.nii" > "$T/open.log" 2> "$T/open.err" \
    || fail "run with a world-writable cache failed: $(tail -3 "$T/open.err")"
[ "$(grep -c 'warning: jit cache: .* is writable by others (mode 0777): not using it' "$T/open.err")" = 1 ] \
    || fail "world-writable folder not refused once: $(cat "$T/open.err")"
grep -q "(7 distinct, 0 from the cache" "$T/open.log" || fail "refused folder was read: $(grep '^jit' "$T/open.log")"
cmp -s "$T/clean.nii" "$T/open.nii" || fail "output differs when compiling in memory"
run "$SEGC" cache stats
out_has "refused: $C is writable by others"
chmod 700 "$C"

# as root: an entry or a folder owned by another user is not trusted
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
    set -- "$C"/*.kobj
    chown nobody "$1"
    # shellcheck disable=SC2086
    "$SEGC" run $M $NET --threads 2 --output "$T/foreign.nii" > "$T/foreign.log" 2> "$T/foreign.err" \
        || fail "run with a foreign entry failed: $(tail -3 "$T/foreign.err")"
    grep -q "warning: jit cache: $1 is not a file of yours" "$T/foreign.err" \
        || fail "foreign entry not reported: $(cat "$T/foreign.err")"
    grep -q "(7 distinct, 6 from the cache" "$T/foreign.log" || fail "foreign entry: $(grep '^jit' "$T/foreign.log")"
    cmp -s "$T/clean.nii" "$T/foreign.nii" || fail "output differs after a foreign entry"
    [ "$(stat -c %u "$1")" = 0 ] || fail "the foreign entry was not replaced by ours"
    chown nobody "$C"
    # shellcheck disable=SC2086
    "$SEGC" run $M $NET --threads 2 > "$T/fdir.log" 2> "$T/fdir.err" || fail "run with a foreign folder failed"
    grep -q "warning: jit cache: $C belongs to uid [0-9]*, not to you" "$T/fdir.err" \
        || fail "foreign folder not refused: $(cat "$T/fdir.err")"
    grep -q "(7 distinct, 0 from the cache" "$T/fdir.log" || fail "foreign folder was read"
    chown root "$C"
fi

# --no-jit touches no cache entry
rm -f "$C"/*.kobj
# shellcheck disable=SC2086
"$SEGC" run $M $NET --no-jit --threads 2 > "$T/nojit.log" 2>&1 || fail "--no-jit run failed"
run "$SEGC" cache stats
out_has "entries: 0"

# clear empties it; clearing a folder that does not exist is fine
# shellcheck disable=SC2086
"$SEGC" run $M $NET --threads 2 > /dev/null 2>&1 || fail "refill run failed"
run "$SEGC" cache clear
expect 0
out_has "removed 7 entries"
run "$SEGC" cache stats
out_has "entries: 0"
run env SEGC_CACHE_DIR="$T/none" "$SEGC" cache clear
expect 0
out_has "removed 0 entries"
run "$SEGC" cache bogus
usage_err "unknown action 'bogus'"
run "$SEGC" cache
usage_err "missing stats|clear argument"
exit 0
