#!/bin/sh
# jit.sh — segc run/train on JIT kernels (the default; --jit and
# SEGC_JIT=1 say so explicitly) give the interpreter's (--no-jit) results. Forward passes of a 3-D and a 2-D
# model agree element by element within a relative 1e-4 (the first output,
# written as NIfTI, compared as floats); a short training run has the same
# losses within 1e-3; with --jit, 1 and 2 threads give the same weights bit
# for bit; only run and train take --jit.
. tests/cli/lib.inc
fail() { echo "FAIL: $*"; exit 1; }

# floats A.nii B.nii: exit 0 when every voxel agrees within a relative 1e-4.
floats_match() {
    od -An -v -f -j 352 "$1" | tr -s ' ' '\n' | sed '/^$/d' > "$T/fa"
    od -An -v -f -j 352 "$2" | tr -s ' ' '\n' | sed '/^$/d' > "$T/fb"
    [ -s "$T/fa" ] && [ "$(wc -l < "$T/fa")" = "$(wc -l < "$T/fb")" ] || return 1
    paste "$T/fa" "$T/fb" | awk '{ d = $1 - $2; if (d < 0) d = -d; s = $2 < 0 ? -$2 : $2;
        if (s < 1) s = 1; if (d > 1e-4 * s) { print "voxel " NR ": " $1 " vs " $2; bad = 1; exit } }
        END { exit bad }'
}

# forward MODEL NAME ARGS...: interpreter vs --jit, first output compared.
forward() {
    m=$1; name=$2; shift 2
    "$SEGC" run "$m" "$@" --threads 2 --no-jit --output "$T/$name-ref.nii" > "$T/$name-ref.log" 2>&1 \
        || fail "$name: interpreter run failed: $(tail -3 "$T/$name-ref.log")"
    "$SEGC" run "$m" "$@" --threads 2 --jit --output "$T/$name-jit.nii" > "$T/$name-jit.log" 2>&1 \
        || fail "$name: --jit run failed: $(tail -3 "$T/$name-jit.log")"
    grep -q "^jit forward: \([0-9]*\) of \1 convolutions on JIT kernels" "$T/$name-jit.log" \
        || fail "$name: not every conv on a JIT kernel: $(grep '^jit' "$T/$name-jit.log")"
    grep -q "interpreter + JIT convolutions" "$T/$name-jit.log" || fail "$name: time line lacks JIT"
    floats_match "$T/$name-ref.nii" "$T/$name-jit.nii" || fail "$name: --jit output differs"
}

forward models/boosting_unet3d.seg unet3d --set size=32 --set levels=3
forward models/unet2d.seg unet2d --set size=32

# SEGC_JIT=1 is --jit
SEGC_JIT=1 "$SEGC" run "$T/tiny.seg" > "$T/env.log" 2>&1 || fail "SEGC_JIT=1 run failed"
grep -q "^jit forward: 2 of 2 convolutions" "$T/env.log" || fail "SEGC_JIT=1 did not enable the JIT"
SEGC_JIT=0 "$SEGC" run "$T/tiny.seg" > "$T/env0.log" 2>&1 || fail "SEGC_JIT=0 run failed"
! grep -q "^jit" "$T/env0.log" || fail "SEGC_JIT=0 enabled the JIT"

# the JIT is the default; --no-jit and SEGC_JIT=0 select the interpreter, a
# flag beats the environment, and --jit with --no-jit is a usage error
"$SEGC" run "$T/tiny.seg" > "$T/def.log" 2>&1 || fail "default run failed"
grep -q "^jit forward: 2 of 2 convolutions" "$T/def.log" || fail "the JIT is not the default"
"$SEGC" run "$T/tiny.seg" --no-jit > "$T/nojit.log" 2>&1 || fail "--no-jit run failed"
! grep -q "^jit" "$T/nojit.log" || fail "--no-jit enabled the JIT"
grep -q "(one forward pass, interpreter, " "$T/nojit.log" || fail "--no-jit: time line has JIT"
SEGC_JIT=0 "$SEGC" run "$T/tiny.seg" --jit > "$T/envflag.log" 2>&1 || fail "SEGC_JIT=0 --jit failed"
grep -q "^jit forward: 2 of 2" "$T/envflag.log" || fail "--jit did not beat SEGC_JIT=0"
"$SEGC" run "$T/tiny.seg" --jit --no-jit > "$T/both.log" 2>&1
[ $? = 1 ] && grep -q "exclude each other" "$T/both.log" || fail "--jit --no-jit accepted"
SEGC_JIT=yes "$SEGC" run "$T/tiny.seg" > "$T/envbad.log" 2>&1
[ $? = 1 ] && grep -q "SEGC_JIT must be 0 or 1" "$T/envbad.log" || fail "SEGC_JIT=yes accepted"

# only run, train and bench take --jit / --no-jit
"$SEGC" check "$T/tiny.seg" --jit > "$T/chk.log" 2>&1
[ $? = 1 ] && grep -q "unknown option '--jit'" "$T/chk.log" || fail "check accepted --jit"
"$SEGC" help train | grep -q -- "--jit" || fail "help train lacks --jit"
"$SEGC" help train | grep -q -- "--no-jit" || fail "help train lacks --no-jit"
"$SEGC" check "$T/tiny.seg" --no-jit > "$T/chk0.log" 2>&1
[ $? = 1 ] && grep -q "unknown option '--no-jit'" "$T/chk0.log" || fail "check accepted --no-jit"

# training: same losses within 1e-3; 1 and 2 threads bit-identical with --jit
F=tests/cli/train/tiny.seg
train() {
    dir=$1; shift
    "$SEGC" train $F --schedule s --set epochs=1 --seed 5 --out "$T/$dir" "$@" > "$T/$dir.log" 2>&1 \
        || fail "train $dir $*: $(tail -3 "$T/$dir.log")"
}
train ref --threads 1 --no-jit
train j1 --threads 1 --jit
train j2 --threads 2 --jit
grep -q "^jit one: " "$T/j1.log" || fail "no jit line for stage one"
grep -q "^jit two: " "$T/j1.log" || fail "no jit line for stage two"
[ "$(wc -l < "$T/ref/metrics.csv")" = 3 ] || fail "metrics.csv should have 2 epochs"
paste -d, "$T/ref/metrics.csv" "$T/j1/metrics.csv" | awk -F, 'NR > 1 { j = NF / 2 + 3;
    d = $3 - $j; if (d < 0) d = -d; if (d > 1e-3) { print "loss " $3 " vs " $j; bad = 1 } }
    END { exit bad }' || fail "--jit losses differ from the interpreter's"
cmp -s "$T/j1/ckpt/last.safetensors" "$T/j2/ckpt/last.safetensors" \
    || fail "--jit: 2 threads give different weights"
exit 0
