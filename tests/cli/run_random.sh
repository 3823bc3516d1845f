#!/bin/sh
# run_random.sh — segc run on seeded random input prints each output's
# type and min/mean/max and the wall time; the seed decides the result.
. "$(dirname "$0")/lib.inc"
cd "$T" || exit 1

# stats NAME: "min mean max" of output NAME from the last run's stdout.
stats() {
    awk -v n="output $1:" 'index($0, n) == 1 {
        for (i = 1; i < NF; i++) if ($i == "min" || $i == "mean" || $i == "max") printf "%s ", $(i + 1)
    }' "$T/out"
}

run "$SEGC" run tiny.seg --seed 5
expect 0
err_empty
out_has "input image: f32[1, 1, 8, 8, 8] uniform random in [0, 1), seed 5"
out_has "output mask: f32[1, 1, 8, 8, 8]"
out_has "time: "
out_has " ms"
s5=$(stats mask)
[ -n "$s5" ] || fail "no min/mean/max for mask"
# sigmoid: 0 < min <= mean <= max < 1
echo "$s5" | awk '{ exit !($1 > 0 && $1 <= $2 && $2 <= $3 && $3 < 1) }' || fail "bad stats: $s5"

# Same seed, same numbers, whatever the thread count.
run "$SEGC" run tiny.seg --seed 5 --threads 3
expect 0
out_has "3 threads"
[ "$(stats mask)" = "$s5" ] || fail "seed 5 with 3 threads gave $(stats mask), not $s5"

run env SEGC_THREADS=1 "$SEGC" run tiny.seg --seed=5
expect 0
out_has "1 thread)"
[ "$(stats mask)" = "$s5" ] || fail "seed 5 with SEGC_THREADS=1 differs"

run "$SEGC" run tiny.seg --seed 6
expect 0
[ "$(stats mask)" != "$s5" ] || fail "seeds 5 and 6 gave the same output"

# Batch, settings, training mode and a 2-D net.
run "$SEGC" run tiny.seg --set B=2 --set ch=3 --train
expect 0
out_has "output mask: f32[2, 1, 8, 8, 8]"

run "$SEGC" run two.seg
expect 0
out_has "output prob: f32[1, 1, 16, 16]"
exit 0
