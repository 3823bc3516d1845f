#!/bin/sh
# check.sh — segc check is silent on good programs and exits 65 with
# located errors (file:line:col: error:) on bad ones.
. "$(dirname "$0")/lib.inc"
cd "$T" || exit 1

run "$SEGC" check tiny.seg
expect 0
out_empty
err_empty

run "$SEGC" check tiny.seg two.seg
expect 0
out_empty
err_empty

run "$SEGC" check bad.seg
expect 65
out_empty
grep -q '^bad\.seg:3:[0-9][0-9]*: error: ' "$T/err" || fail "no 'bad.seg:3:COL: error:' line"
err_has "imag"

# One bad file among good ones still fails, and the good ones say nothing.
run "$SEGC" check tiny.seg bad.seg two.seg
expect 65
grep -q '^bad\.seg:3:[0-9][0-9]*: error: ' "$T/err" || fail "bad.seg error missing"
! grep -q '^tiny\.seg:' "$T/err" || fail "tiny.seg reported"

# The other commands report program errors the same way.
for cmd in ir params run; do
    run "$SEGC" $cmd bad.seg
    expect 65
    grep -q '^bad\.seg:3:[0-9][0-9]*: error: ' "$T/err" || fail "$cmd: no located error"
    out_empty
done
exit 0
