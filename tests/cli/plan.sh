#!/bin/sh
# plan.sh — segc plan on the Boosting U-Net (models/boosting_unet3d.seg):
# both stages are listed; grow2 trains exactly the parameters the 4-level
# net adds to the 3-level one (level.4.encoder and the new level.3.decoder)
# and freezes the whole 3-level net, both counted here from `segc params`;
# freezing removes backward work; options, defaults and errors.
. "$(dirname "$0")/lib.inc"
MODEL=models/boosting_unet3d.seg
[ -f "$MODEL" ] || { echo "FAIL: run from the repo root ($MODEL missing)"; exit 1; }

# params_total ARGS...: the exact total of `segc params` ("(1107393)").
params_total() {
    "$SEGC" params "$MODEL" "$@" | sed -n 's/^total: .*(\([0-9]*\))$/\1/p'
}
# params_under PREFIX ARGS...: sum of the counts of the params named PREFIX.*
params_under() {
    p=$1; shift
    "$SEGC" params "$MODEL" "$@" |
        awk -v p="$p." 'index($1, p) == 1 { c = $NF; gsub(",", "", c); s += c } END { print s + 0 }'
}
# stage_line STAGE LABEL: the line of STAGE's block in $T/out that starts with LABEL.
stage_line() {
    awk -v st="stage $1 " -v lab="  $2 " '
        index($0, st) == 1 { on = 1; next }
        /^stage / { on = 0 }
        on && index($0, lab) == 1 { print; exit }' "$T/out"
}
# stage_field STAGE LABEL: the first number after LABEL, without separators.
stage_field() {
    stage_line "$1" "$2" | sed "s/^  $2 *//; s/ .*//; s/,//g"
}

p3=$(params_total --net unet --set levels=3)
p4=$(params_total --net unet --set levels=4)
[ "$p3" = 1107393 ] && [ "$p4" = 2711425 ] || { echo "FAIL: param totals $p3 $p4"; exit 1; }
[ "$(params_under level.3.decoder --set levels=3)" = 0 ] || { echo "FAIL: levels=3 has a level.3.decoder"; exit 1; }
enc4=$(params_under level.4.encoder --set levels=4)
dec3=$(params_under level.3.decoder --set levels=4)
[ $((enc4 + dec3)) = $((p4 - p3)) ] || { echo "FAIL: $enc4 + $dec3 != $p4 - $p3"; exit 1; }

run "$SEGC" plan "$MODEL" --schedule boosting
expect 0
err_empty
out_has "plan of schedule boosting (split = 4) in $MODEL: 2 stages"
out_has "stage grow1 (1 of 2), batch 2"
out_has "stage grow2 (2 of 2), batch 2"
out_has "sum of tensor sizes, "
out_has "planned arena (fused step), "
# the planned arena (MB, the line after "memory") is well below the sum of sizes
mb() { tr -d , | awk '{ printf "%d", $1 }'; }
for st in grow1 grow2; do
    sum=$(stage_line $st memory | sed 's/^  memory *//' | mb)
    arena=$(awk -v st="stage $st " 'index($0, st) == 1 { on = 1 } on && /planned arena/ { print $1; exit }' "$T/out" | mb)
    [ -n "$arena" ] && [ "$arena" -gt 0 ] && [ $((arena * 2)) -lt "$sum" ] || fail "$st: arena $arena MB, sum $sum MB"
done
[ "$(stage_field grow1 'trainable params')" = "$p3" ] || fail "grow1 trainable != $p3"
[ "$(stage_field grow1 'frozen params')" = 0 ] || fail "grow1 froze something"
[ "$(stage_field grow2 'trainable params')" = $((enc4 + dec3)) ] || fail "grow2 trainable != $enc4 + $dec3"
[ "$(stage_field grow2 'frozen params')" = "$p3" ] || fail "grow2 frozen != $p3"
# "backward removed by freezing  X GFLOP  (N FLOP, P% of unfrozen; K of M nodes)":
# N and K > 0 for grow2, 0 for grow1 (nothing frozen).
removed() { stage_line "$1" 'backward removed by freezing' | sed 's/.*(\([0-9,]*\) FLOP.*/\1/; s/,//g'; }
removed_nodes() { stage_line "$1" 'backward removed by freezing' | sed 's/.*; \([0-9,]*\) of .*/\1/; s/,//g'; }
r2=$(removed grow2); r1=$(removed grow1)
[ -n "$r2" ] && [ "$r2" -gt 0 ] || fail "grow2: nothing removed by freezing ($r2)"
[ "$r1" = 0 ] || fail "grow1: removed $r1 FLOP with nothing frozen"
n2=$(removed_nodes grow2)
[ -n "$n2" ] && [ "$n2" -gt 0 ] || fail "grow2: no backward nodes removed ($n2)"
[ "$(removed_nodes grow1)" = 0 ] || fail "grow1: backward nodes removed"
out_has "4 trainable, 5 frozen with data gradient only, 6 frozen with no backward"
out_lacks "frozen convolutions, by weight"
cp "$T/out" "$T/first"

# Stable output.
run "$SEGC" plan "$MODEL" --schedule=boosting
cmp -s "$T/out" "$T/first" || fail "a second run printed something else"

# --verbose names each frozen conv by its weight.
run "$SEGC" plan "$MODEL" --schedule boosting --verbose
expect 0
out_has "frozen convolutions, by weight:"
grep -q "^ *level.3.encoder.conv1.weight  *no backward$" "$T/out" || fail "level.3.encoder.conv1 line"
grep -q "^ *level.1.decoder.conv0.weight  *data gradient only$" "$T/out" || fail "level.1.decoder line"
grep -q "^ *head.conv0.weight  *data gradient only$" "$T/out" || fail "head line"

# Default: the last schedule of the file (whichever that is now).
# --set B overrides every batch.
last=$(sed -n 's/^schedule \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$MODEL" | tail -1)
run "$SEGC" plan "$MODEL"
expect 0
err_empty
out_has "plan of schedule $last in $MODEL"
grep -q "^stage .* (1 of [0-9]*), batch " "$T/out" || fail "no stage in the default schedule"
run "$SEGC" plan "$MODEL" --schedule boosting --set B=1
expect 0
out_has "stage grow2 (2 of 2), batch 1"

# Mistakes.
run "$SEGC" plan "$MODEL" --schedule nosuch
usage_err "has no schedule named 'nosuch'"
err_has "boosting_3"
run "$SEGC" plan "$MODEL" --set levels=3
usage_err "--set takes only B"
run "$SEGC" plan "$MODEL" --set B=0
usage_err "B needs a positive integer"
run "$SEGC" plan "$MODEL" --train
usage_err "unknown option '--train'"
run "$SEGC" plan "$T/tiny.seg"
usage_err "declares no schedule"
run "$SEGC" plan "$T/bad.seg"
expect 65
err_has "unknown name 'imag'"
out_empty

run "$SEGC" help plan
expect 0
out_has "usage: segc plan FILE"
for f in --schedule --set --verbose; do out_has "$f"; done
for f in --train --net --seed; do out_lacks "$f"; done
exit 0
