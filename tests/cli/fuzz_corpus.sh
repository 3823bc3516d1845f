#!/bin/sh
# fuzz_corpus.sh — every libFuzzer target (tests/fuzz/fuzz_TARGET.c) run
# once over its seed corpus and over every input a fuzzer has crashed on
# (tests/fuzz/crashes/TARGET/, one file per fixed defect), built without
# libFuzzer next to segc (fuzz_replay_TARGET; under `make DEBUG=1 test`
# with ASan and UBSan). Each must run through: a crash is a regression.
. tests/cli/lib.inc
B=$(dirname "$SEGC")
for t in nifti png safetensors jit_cache seg; do
    [ -x "$B/fuzz_replay_$t" ] || fail "$B/fuzz_replay_$t is not built"
    set -- tests/fuzz/corpus/$t/*
    [ -f "$1" ] || fail "no seed corpus for $t"
    [ -d tests/fuzz/crashes/$t ] && set -- "$@" tests/fuzz/crashes/$t/*
    TMPDIR="$T" run "$B/fuzz_replay_$t" "$@"
    expect 0
    out_has "replay: $# inputs"
    echo "$t: $# inputs"
done
echo "fuzz corpora ok"
