#!/bin/sh
# signals.sh — SIGINT and SIGTERM end `segc train` cleanly (issue 13): the
# step in progress finishes, its parameters and optimizer state go to
# ckpt/interrupted.safetensors, the message says where the checkpoints
# are and the command that resumes, and the exit status is 130 or 143
# (SIGINT used to end the run at once with 130 and no word). A second
# signal ends the process at once. The printed command resumes the run.
. tests/cli/lib.inc
F="$(pwd)/tests/cli/train/tiny.seg"
cd "$T" || exit 1

# start_train DIR STEPS: segc train in the background; $pid
start_train() {
    "$SEGC" train "$F" --schedule s --set steps="$2" --no-jit --threads 1 --seed 3 --out "$1" \
        > "$T/out" 2> "$T/err" < /dev/null &
    pid=$!
}
# wait_until WHAT CMD...: until CMD succeeds (60 s at most), else fail
wait_until() {
    what=$1; shift
    i=0
    while ! "$@" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 600 ] || { kill -9 $pid; fail "no $what within 60 s"; }
        sleep 0.1
    done
}
wait_for() { wait_until "'$1' on stdout" grep -qF -- "$1" "$T/out"; }
wait_file() { wait_until "$1" test -e "$1"; }
# finish: wait for $pid (60 s at most); $code
finish() {
    i=0
    while kill -0 $pid 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 600 ] || { kill -9 $pid; fail "still running 60 s after the signal"; }
        sleep 0.1
    done
    wait $pid
    code=$?
}

# --- SIGINT in the first epoch: the step is saved, and resumable
start_train run1 100000
wait_file run1/plan.csv
sleep 1
kill -INT $pid
finish
expect 130
err_has "segc: interrupted by SIGINT after step "
err_has "of epoch 1 of stage one"
err_has "that step's parameters, optimizer state and counters: run1/ckpt/interrupted.safetensors"
err_has "resume from that step with:"
[ -s run1/ckpt/interrupted.safetensors ] || fail "no interrupted.safetensors"
ls run1/ckpt | grep -q '\.tmp' && fail "a temp file was left in run1/ckpt"

# --- SIGTERM after an epoch: the printed command resumes the run
start_train run2 60
wait_for "one      epoch   1/3"
kill -TERM $pid
finish
expect 143
err_has "segc: interrupted by SIGTERM after step "
err_has "resume from that step with:"
cmd=$(sed -n 's/^    segc train //p' "$T/err")
[ -n "$cmd" ] || fail "no resume command"
# shellcheck disable=SC2086
run "$SEGC" train $cmd --threads 1
expect 0
out_has "resuming after step"
[ ! -e run2/ckpt/interrupted.safetensors ] || fail "interrupted.safetensors outlived the next epoch"
[ -s run2/ckpt/best-two.safetensors ] || fail "the resumed run did not finish stage two"

# --- a second signal ends the process at once (no checkpoint, no note):
# the process is stopped while SIGINT and SIGTERM are sent (the same
# signal twice would merge into one pending signal), so both arrive before
# the step in progress can end
start_train run3 100000
wait_file run3/plan.csv
sleep 0.5
kill -STOP $pid
kill -INT $pid
kill -TERM $pid
kill -CONT $pid
finish
[ "$code" = 143 ] || [ "$code" = 130 ] || fail "exit status $code after two signals, expected 143 or 130"
grep -qF "interrupted by" "$T/err" && fail "the second signal did not end the process at once"
[ ! -e run3/ckpt/interrupted.safetensors ] || fail "a checkpoint was written after two signals"
echo "signals ok"
