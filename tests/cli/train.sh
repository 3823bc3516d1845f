#!/bin/sh
# segc train: a two-stage run leaves a complete run folder; an interrupted
# run resumed with --resume reaches bit-identical weights; a NaN loss stops
# with the op that made it and keeps the last good checkpoint; bad settings
# fail before training.
. tests/cli/lib.inc
fail() { echo "FAIL: $*"; exit 1; }
F=tests/cli/train/tiny.seg

"$SEGC" train $F --schedule s --out "$T/a" --seed 5 --threads 1 > "$T/a.log" 2>&1 || fail "train failed: $(tail -3 "$T/a.log")"
for f in metrics.csv curves.svg schedule.seg plan.csv report.html ckpt/last.safetensors \
         ckpt/best-one.safetensors ckpt/best-two.safetensors overlays/overlays.csv \
         overlays/one-best-case0-axial.png overlays/two-last-case0-sagittal.png; do
    [ -s "$T/a/$f" ] || fail "run folder lacks $f"
done
[ "$(wc -l < "$T/a/metrics.csv")" = 6 ] || fail "metrics.csv should have a header and 5 epochs"
grep -q "stage two: 4 tensors inherited, 2 new" "$T/a.log" || fail "inheritance line missing: $(grep 'stage two' "$T/a.log")"
grep -q "run folder: $T/a" "$T/a.log" || fail "no run folder line"
grep -q "^stage one: best epoch [0-9]*: dice_fg [0-9.]*; background Dice [0-9.]*, foreground Dice" \
    "$T/a.log" || fail "no final Dice: $(grep '^stage' "$T/a.log")"

# interrupted after epoch 2 of stage one, then resumed: same weights, bit for bit
SEGC_TEST_CRASH_AFTER_EPOCH=2 "$SEGC" train $F --schedule s --out "$T/b" --seed 5 --threads 1 > "$T/b1.log" 2>&1
[ $? = 70 ] || fail "the simulated crash should exit 70"
"$SEGC" train $F --schedule s --resume "$T/b" --seed 5 --threads 1 > "$T/b2.log" 2>&1 || fail "resume failed: $(tail -3 "$T/b2.log")"
grep -q "resuming after epoch 2" "$T/b2.log" || fail "resume did not start after epoch 2"
cmp -s "$T/a/ckpt/last.safetensors" "$T/b/ckpt/last.safetensors" || fail "resumed weights differ from the uninterrupted run"
cmp -s "$T/a/ckpt/best-two.safetensors" "$T/b/ckpt/best-two.safetensors" || fail "resumed best checkpoint differs"
# the resumed run's metrics.csv keeps the epochs before the crash (timing aside)
cut -d, -f1-15 "$T/a/metrics.csv" > "$T/a.metrics"
cut -d, -f1-15 "$T/b/metrics.csv" > "$T/b.metrics"
cmp -s "$T/a.metrics" "$T/b.metrics" || fail "resumed metrics.csv differs: $(diff "$T/a.metrics" "$T/b.metrics")"
cmp -s "$T/a/plan.csv" "$T/b/plan.csv" || fail "resumed plan.csv differs"

# same seed, 2 threads: same weights
"$SEGC" train $F --schedule s --out "$T/c" --seed 5 --threads 2 > "$T/c.log" 2>&1 || fail "2-thread run failed"
cmp -s "$T/a/ckpt/last.safetensors" "$T/c/ckpt/last.safetensors" || fail "2 threads give different weights"

# resume with another seed is refused
"$SEGC" train $F --schedule s --resume "$T/b" --seed 6 > "$T/d.log" 2>&1
[ $? = 70 ] && grep -q "same seed" "$T/d.log" || fail "seed mismatch not refused"

# NaN: stops, names the op, exit 70
"$SEGC" train $F --schedule nan --out "$T/n" > "$T/n.log" 2>&1
[ $? = 70 ] || fail "NaN loss should exit 70"
grep -q "stage 'boom', epoch 1, step 0: the loss is NaN; the first non-finite value comes from .*tiny.seg:.*log" "$T/n.log" \
    || fail "NaN message: $(cat "$T/n.log")"

# a bad learning rate is refused before training, by the checks of segc check
B=tests/cli/train/badlr.seg
"$SEGC" train $B --schedule badlr --out "$T/l" > "$T/l.log" 2>&1
[ $? = 65 ] && grep -q "badlr.seg:[0-9]*:[0-9]*: error: adam(): 'lr' must be a number > 0, got -1" "$T/l.log" \
    || fail "bad lr: $(cat "$T/l.log")"
grep -q "epoch" "$T/l.log" && fail "training started despite a bad lr"

# a parameter whose shape changed between stages trains again, and the
# inheritance line lists it
"$SEGC" train tests/cli/train/regrow.seg --out "$T/g" > "$T/g.log" 2>&1 || fail "regrow failed: $(tail -3 "$T/g.log")"
grep -q "stage two: 1 tensors inherited, 0 new, 3 re-initialised: shape changed (body.conv0.weight, body.conv0.bias, head.conv0.weight), 0 dropped" "$T/g.log" \
    || fail "re-initialised line: $(grep '^stage two' "$T/g.log")"

# --init: matching names load; a shape mismatch is listed
"$SEGC" train $F --schedule s --out "$T/i" --init "$T/a/ckpt/best-one.safetensors" --set epochs=1 > "$T/i.log" 2>&1 \
    || fail "--init failed: $(tail -3 "$T/i.log")"
grep -q "init: 4 tensors" "$T/i.log" || fail "--init did not load: $(head -3 "$T/i.log")"
sed 's/conv(image, 4, k = 3/conv(image, 5, k = 3/; s/conv(h, 4, k = 3/conv(h, 5, k = 3/' $F > "$T/wide.seg"
"$SEGC" train "$T/wide.seg" --schedule s --out "$T/w" --init "$T/a/ckpt/best-one.safetensors" > "$T/w.log" 2>&1
[ $? = 70 ] || fail "--init with mismatched shapes should fail"
grep -q "level.1.conv0.weight: checkpoint f32\[4, 1, 3, 3, 3\], net f32\[5, 1, 3, 3, 3\]" "$T/w.log" \
    || fail "mismatch not listed: $(cat "$T/w.log")"

# a stage without validation data follows its loss (metrics.csv says so)
"$SEGC" train $F --schedule noval --out "$T/nv" > "$T/nv.log" 2>&1 || fail "no-validation run failed: $(tail -3 "$T/nv.log")"
[ "$(wc -l < "$T/nv/metrics.csv")" = 3 ] || fail "no-validation metrics.csv: $(cat "$T/nv/metrics.csv")"
grep -q "^only,2,[0-9.e-]*,[0-9.e-]*,loss," "$T/nv/metrics.csv" || fail "no-validation row: $(tail -1 "$T/nv/metrics.csv")"

# two data streams in one step: both are inputs of the training graph and fed
"$SEGC" ir $F --schedule twostreams --stage semi | grep -q 'input "unl.image"' || fail "no unl.image input"
"$SEGC" train $F --schedule twostreams --out "$T/t" > "$T/t.log" 2>&1 || fail "two-stream training failed: $(tail -3 "$T/t.log")"
grep -q "semi     epoch   2/2" "$T/t.log" || fail "two-stream stage did not run 2 epochs"

# --set other than epochs/steps is a usage error
"$SEGC" train $F --set lr=3 > "$T/u.log" 2>&1
[ $? = 1 ] || fail "--set lr=3 should be a usage error"
exit 0
