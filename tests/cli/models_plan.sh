#!/bin/sh
# models_plan.sh — every schedule of every file in models/ compiles and
# plans (segc plan builds each stage's training step as segc train does:
# graph, autodiff, fusion, kernel choice, memory plan).
. tests/cli/lib.inc
n=0
for f in models/*.seg; do
    for s in $(sed -n 's/^schedule \([A-Za-z_0-9]*\).*/\1/p' "$f"); do
        run "$SEGC" plan "$f" --schedule "$s"
        [ "$code" = 0 ] || fail "segc plan $f --schedule $s exited $code: $(head -3 "$T/err")"
        grep -q "^stage " "$T/out" || fail "segc plan $f --schedule $s printed no stage"
        n=$((n + 1))
    done
done
[ "$n" -ge 12 ] || fail "only $n schedules found in models/"
exit 0
