#!/bin/sh
# resume.sh — `segc train --resume` checks what it loads, and a resumed run
# is the interrupted one: metadata out of range (stage_index -1, epoch -5,
# epoch 1e300, ...) is an error naming the file and the key; a missing
# parameter, a parameter relabelled int32 or missing optimizer state is an
# error naming the tensor; --init still loads what matches and says so.
# Resumed inside stage two, or right at the end of stage one, or from any
# step a signal stopped (ckpt/interrupted.safetensors), the run ends with
# checkpoints byte-identical to an uninterrupted run's and the whole
# history in metrics.csv and curves.svg.
. tests/cli/lib.inc
F=tests/cli/train/tiny.seg
ED="$(dirname "$SEGC")/ckptedit"
[ -x "$ED" ] || fail "no $ED (make builds it with the tests)"
train() { "$SEGC" train $F --schedule s --seed 5 --threads 1 "$@"; }

train --out "$T/a" > "$T/a.log" 2>&1 || fail "train failed: $(tail -3 "$T/a.log")"
SEGC_TEST_CRASH_AFTER_EPOCH=2 train --out "$T/base" > "$T/base.log" 2>&1
[ $? = 70 ] || fail "the simulated crash should exit 70"

# damaged NAME EDIT...: a copy of the interrupted run with its last
# checkpoint edited; then resuming it must fail (exit 70) saying $MSG.
damaged() {
    d="$T/$1"; shift
    rm -rf "$d" && cp -r "$T/base" "$d" && "$ED" "$d/ckpt/last.safetensors" "$@" \
        || fail "could not damage $d"
}
refused() {
    run train --resume "$d"
    expect 70
    err_has "$d/ckpt/last.safetensors: "
    err_has "$1"
    out_lacks "epoch   3/3"  # nothing trained
}
damaged neg_stage meta stage_index -1
refused "metadata 'stage_index' is '-1', expected an integer from 0 to 1"
damaged big_stage meta stage_index 2
refused "metadata 'stage_index' is '2', expected an integer from 0 to 1"
damaged neg_epoch meta epoch -5
refused "metadata 'epoch' is '-5', expected an integer from 1 to 1000000000"
damaged huge_epoch meta epoch 1e300
refused "metadata 'epoch' is '1e300', expected an integer"
damaged frac_epoch meta epoch 1.5
refused "metadata 'epoch' is '1.5', expected an integer"
damaged past_epoch meta epoch 7
refused "metadata 'epoch' is 7, but stage 'one' has 3 epochs"
damaged done meta stage_done 2
refused "metadata 'stage_done' is '2', expected an integer from 0 to 1"
damaged ema meta ema fast
refused "metadata 'ema' is 'fast', expected a number"
damaged seed meta seed 1e300
refused "metadata 'seed' is '1e300', expected an integer"
damaged name meta stage two
refused "metadata 'stage' is 'two' but stage_index 0 is stage 'one'"

# tensors: each missing or mistyped one is named
damaged noparam drop level.1.conv0.weight
refused "level.1.conv0.weight: missing from the checkpoint (net f32[4, 1, 3, 3, 3])"
damaged i32param i32 level.1.conv0.weight
refused "level.1.conv0.weight: checkpoint i32[4, 1, 3, 3, 3], net f32[4, 1, 3, 3, 3]"
damaged nooptim drop optim.head.conv0.bias.step drop optim.head.conv0.bias.m drop optim.head.conv0.bias.v
refused "optimizer state of 'head.conv0.bias' is missing"
damaged nomoments drop optim.head.conv0.bias.m drop optim.head.conv0.bias.v
refused "optimizer state of 'head.conv0.bias' has "

# --init keeps its partial load and says what it took; a parameter's name
# with another dtype is still an error
cp "$T/a/ckpt/best-one.safetensors" "$T/part.safetensors"
"$ED" "$T/part.safetensors" drop head.conv0.bias || fail "edit failed"
run train --out "$T/ip" --init "$T/part.safetensors" --set epochs=1
expect 0
out_has "init: 3 tensors from $T/part.safetensors"
out_has "stage one: 3 tensors inherited, 1 new"
cp "$T/a/ckpt/best-one.safetensors" "$T/bad.safetensors"
"$ED" "$T/bad.safetensors" i32 head.conv0.bias || fail "edit failed"
run train --out "$T/ib" --init "$T/bad.safetensors" --set epochs=1
expect 70
err_has "head.conv0.bias: checkpoint i32[1], net f32[1]"

# resumed inside stage two (after epoch 4) and at the end of stage one
# (after epoch 3, before stage two wrote anything): the same bytes as the
# uninterrupted run, and the whole history
cut -d, -f1-15 "$T/a/metrics.csv" > "$T/a.metrics"
for n in 4 3; do
    SEGC_TEST_CRASH_AFTER_EPOCH=$n train --out "$T/r$n" > "$T/r$n.log" 2>&1
    [ $? = 70 ] || fail "crash after epoch $n should exit 70"
    train --resume "$T/r$n" > "$T/r$n.2.log" 2>&1 || fail "resume after $n failed: $(tail -3 "$T/r$n.2.log")"
    for f in last best-one best-two; do
        cmp -s "$T/a/ckpt/$f.safetensors" "$T/r$n/ckpt/$f.safetensors" \
            || fail "resumed after epoch $n: ckpt/$f.safetensors differs from the uninterrupted run's"
    done
    cut -d, -f1-15 "$T/r$n/metrics.csv" > "$T/r$n.metrics"
    cmp -s "$T/a.metrics" "$T/r$n.metrics" || fail "metrics.csv after epoch $n: $(diff "$T/a.metrics" "$T/r$n.metrics")"
    cmp -s "$T/a/curves.svg" "$T/r$n/curves.svg" || fail "curves.svg differs after a resume at epoch $n"
    [ "$(grep -c '<tr><td class="l">' "$T/r$n/report.html")" = "$(grep -c '<tr><td class="l">' "$T/a/report.html")" ] \
        || fail "report.html after a resume at $n has other rows"
done
# resumed from a step a signal stopped (SEGC_TEST_INTERRUPT_AT_STEP=N:
# SIGINT in the N-th step; 2 steps per epoch, 6 in stage one, 4 in stage
# two): in the first epoch, at an epoch's last step before its validation,
# inside stage two, at the very last step. The same bytes and history.
for n in 1 4 7 10; do
    SEGC_TEST_INTERRUPT_AT_STEP=$n train --out "$T/i$n" > "$T/i$n.log" 2>&1
    [ $? = 130 ] || fail "interrupt at step $n should exit 130: $(tail -3 "$T/i$n.log")"
    grep -qF "resume from that step with:" "$T/i$n.log" || fail "no resume command after step $n"
    train --resume "$T/i$n" > "$T/i$n.2.log" 2>&1 || fail "resume after step $n failed: $(tail -3 "$T/i$n.2.log")"
    grep -qF "resuming after step " "$T/i$n.2.log" || fail "step $n: not resumed from the step"
    for f in last best-one best-two; do
        cmp -s "$T/a/ckpt/$f.safetensors" "$T/i$n/ckpt/$f.safetensors" \
            || fail "resumed after step $n: ckpt/$f.safetensors differs from the uninterrupted run's"
    done
    [ ! -e "$T/i$n/ckpt/interrupted.safetensors" ] || fail "step $n: interrupted.safetensors left"
    cut -d, -f1-15 "$T/i$n/metrics.csv" > "$T/i$n.metrics"
    cmp -s "$T/a.metrics" "$T/i$n.metrics" || fail "metrics.csv after step $n: $(diff "$T/a.metrics" "$T/i$n.metrics")"
done
# an interrupted step's file from an older segc (no counters) is passed
# over for the last finished epoch, with a line saying so
SEGC_TEST_INTERRUPT_AT_STEP=3 train --out "$T/io" > "$T/io.log" 2>&1
"$ED" "$T/io/ckpt/interrupted.safetensors" unmeta steps_in_epoch unmeta epoch_loss_sum || fail "edit failed"
train --resume "$T/io" > "$T/io.2.log" 2>&1 || fail "resume past an old interrupted file failed: $(tail -3 "$T/io.2.log")"
grep -qF "was written by an older segc (no counters): resuming from the last finished epoch" "$T/io.2.log" \
    || fail "no line about the old interrupted file"
grep -qF "resuming after epoch 1" "$T/io.2.log" || fail "old interrupted file: not resumed from epoch 1"
cmp -s "$T/a/ckpt/last.safetensors" "$T/io/ckpt/last.safetensors" || fail "resumed past an old file: other bytes"
# an interrupted step's counters are checked like the epoch's
SEGC_TEST_INTERRUPT_AT_STEP=3 train --out "$T/ic" > "$T/ic.log" 2>&1
"$ED" "$T/ic/ckpt/interrupted.safetensors" meta steps_in_epoch 9 || fail "edit failed"
train --resume "$T/ic" > "$T/ic.2.log" 2>&1
[ $? = 70 ] || fail "a bad steps_in_epoch should exit 70"
grep -qF "metadata 'steps_in_epoch' is 9 after 1 epochs and 3 steps, but stage 'one' has 3 epochs of 2 steps" "$T/ic.2.log" \
    || fail "bad steps_in_epoch: $(tail -2 "$T/ic.2.log")"
exit 0
