#!/bin/sh
# memplan.sh — temps in one planned arena (compiler/memplan.c) change no
# result: `segc train` (both stages of tests/cli/train/tiny.seg, a few
# steps) writes the same checkpoint bytes with the arena (the default) and
# without it (SEGC_ARENA=0, one buffer per value); `segc run` writes the
# same output volume; `segc plan` reports the arena next to the sum.
. tests/cli/lib.inc
F=tests/cli/train/tiny.seg

for mode in 1 0; do
    SEGC_ARENA=$mode "$SEGC" train $F --schedule s --seed 5 --threads 1 --set epochs=2 --set steps=2 \
        --out "$T/a$mode" > "$T/a$mode.log" 2>&1 || fail "train (SEGC_ARENA=$mode) failed: $(tail -3 "$T/a$mode.log")"
done
for f in last.safetensors best-one.safetensors best-two.safetensors; do
    cmp -s "$T/a1/ckpt/$f" "$T/a0/ckpt/$f" || fail "$f differs with and without the arena"
done
# the same losses and Dice in every epoch
cut -d, -f1-6 "$T/a1/metrics.csv" > "$T/m1"
cut -d, -f1-6 "$T/a0/metrics.csv" > "$T/m0"
cmp -s "$T/m1" "$T/m0" || fail "metrics differ with and without the arena"

# segc run, two levels deep: the same output volume
for mode in 1 0; do
    SEGC_ARENA=$mode "$SEGC" run $F --net tiny --set levels=2 --threads 1 --output "$T/o$mode.nii" \
        > "$T/r$mode.log" 2>&1 || fail "run (SEGC_ARENA=$mode) failed: $(cat "$T/r$mode.log")"
done
cmp -s "$T/o1.nii" "$T/o0.nii" || fail "segc run output differs with and without the arena"
# (the JIT line's cache hits and build time vary between runs: compared
# without them)
grep -v '^time:' "$T/r1.log" | sed '/^jit /s/ (.*//' > "$T/r1"
grep -v '^time:' "$T/r0.log" | sed 's/o0\.nii/o1.nii/; /^jit /s/ (.*//' > "$T/r0"
cmp -s "$T/r1" "$T/r0" || fail "segc run prints other statistics: $(diff "$T/r1" "$T/r0")"

# segc plan: the arena is there and smaller than the sum
run "$SEGC" plan $F --schedule s
expect 0
out_has "planned arena (fused step)"
sum=$(sed -n 's/^  memory *\([0-9,.]*\) MB  sum of tensor sizes, \([0-9,]*\) bytes$/\2/p' "$T/out" | head -1 | tr -d ,)
[ -n "$sum" ] || fail "no sum of tensor sizes"
exit 0
