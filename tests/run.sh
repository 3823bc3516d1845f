#!/bin/sh
# run.sh — the whole test suite: C unit tests, golden language tests, CLI
# scripts, REPL transcripts, outcome tests. Usage: sh tests/run.sh
# BUILD_DIR. Last line: "N passed, N failed".
#
# Golden language tests (tests/lang/FEATURE/*.seg, one folder per feature;
# files under an inc/ folder are helpers that tests import, not tests) say
# what they expect in comments:
#   # args: params --net unet --set B=1   segc subcommand and flags (default: check);
#                                         the .seg path goes after the subcommand
#   # expect error: 3:7 unknown name      stderr has "FILE:3:7: error: unknown name..."
#   # expect warning: 3:7 text            likewise for warnings
#   # expect note: 3:7 text               likewise for notes (call sites, loop
#                                         iterations)
#   # expect error: losses.seg:37:17 text an error in another file (the end of
#                                         its path): a library's, with notes here
#   # expect: text                        some stdout line contains text
#   # exit: N                             exit code (default 65 with errors, else 0)
#   # filter: s/RE/TEXT/                  sed -E command run on stdout before the
#                                         .out comparison, for host-dependent numbers
# and when NAME.out exists, stdout (filtered) must equal it byte for byte.
B=${1:-build}
SEGC="$B/segc"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/segc-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
export SEGC_TEST_TMP="$TMP" SEGC SEGC_CACHE_DIR="$TMP/cache"
# A sanitizer build (make DEBUG=1 test, build-debug/): reports come with
# stacks, and outcome tests marked "# sanitizers: skip" are skipped (said
# below, and counted neither way) because they take too long there.
case $B in *debug*) DEBUG_BUILD=1 ;; *) DEBUG_BUILD=0 ;; esac
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
pass=0
fail=0
# ONLY=REGEX (make test ONLY=lang/schedules): run the tests whose path
# (unit, lang/..., cli/NAME.sh, repl/NAME.txt, outcome/NAME.sh) matches.
wanted() { [ -z "${ONLY:-}" ] || printf '%s\n' "$1" | grep -qE -- "$ONLY"; }

# 1. unit tests
if wanted unit; then "$B/unit_tests" > "$TMP/unit.log" 2>&1; else echo "unit: 0 passed, 0 failed" > "$TMP/unit.log"; fi
grep -v '^unit:' "$TMP/unit.log" | grep -v '^ok  ' || true
up=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$TMP/unit.log")
uf=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$TMP/unit.log")
if [ -z "$up" ]; then
    echo "FAIL unit tests crashed:"; tail -20 "$TMP/unit.log"; fail=$((fail + 1))
else
    pass=$((pass + up)); fail=$((fail + uf))
fi
echo "unit: $up passed, $uf failed"

# 2. golden language tests
lang_one() {
    f=$1
    args=$(sed -n 's/^# args: //p' "$f" | head -1)
    [ -n "$args" ] || args=check
    sub=${args%% *}
    rest=""
    [ "$sub" != "$args" ] && rest=${args#* }
    # shellcheck disable=SC2086
    "$SEGC" $sub "$f" $rest > "$TMP/out" 2> "$TMP/err" < /dev/null
    code=$?
    ok=1
    want=$(sed -n 's/^# exit: //p' "$f" | head -1)
    if [ -z "$want" ]; then
        if grep -q '^# expect error:' "$f"; then want=65; else want=0; fi
    fi
    [ "$code" = "$want" ] || { echo "    exit code $code, expected $want"; ok=0; }
    for kind in error warning note; do
        sed -n "s/^# expect $kind: //p" "$f" > "$TMP/exp"
        while IFS= read -r line; do
            pos=${line%% *}
            msg=${line#* }
            case $pos in
                *:*:*) at="$pos" ;;  # FILE:LINE:COL: in another file (a library)
                *) at="$f:$pos" ;;
            esac
            if ! grep -F -- "$at: $kind: " "$TMP/err" | grep -qF -- "$msg"; then
                echo "    missing $kind at $pos: $msg"; ok=0
            fi
        done < "$TMP/exp"
        if [ "$kind" = error ]; then
            got=$(grep -c ": error: " "$TMP/err")
            exp=$(wc -l < "$TMP/exp")
            [ "$got" = "$exp" ] || { echo "    $got errors reported, $exp expected"; ok=0; }
        fi
    done
    sed -n 's/^# expect: //p' "$f" > "$TMP/exp"
    while IFS= read -r line; do
        grep -qF -- "$line" "$TMP/out" || { echo "    stdout lacks: $line"; ok=0; }
    done < "$TMP/exp"
    gold="${f%.seg}.out"
    sed -n 's/^# filter: //p' "$f" > "$TMP/filter"
    sed -E -f "$TMP/filter" "$TMP/out" > "$TMP/outf"
    if [ -f "$gold" ] && ! cmp -s "$gold" "$TMP/outf"; then
        echo "    stdout differs from $gold:"; diff "$gold" "$TMP/outf" | head -10; ok=0
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL lang/${f#tests/lang/}"; head -5 "$TMP/err"; fi
}
lp=$pass; lf=$fail
# find, not a glob: the tests sit in sub-folders (sorted for a stable order)
for f in $(find tests/lang -name '*.seg' ! -path '*/inc/*' | sort); do
    wanted "lang/${f#tests/lang/}" && lang_one "$f"
done
echo "lang: $((pass - lp)) passed, $((fail - lf)) failed"

# 3. CLI scripts: each tests/cli/*.sh exits 0 on success
cp=$pass; cf=$fail
for s in tests/cli/*.sh; do
    [ -f "$s" ] && wanted "cli/$(basename "$s")" || continue
    if sh "$s" > "$TMP/cli.log" 2>&1; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL cli/$(basename "$s")"; tail -15 "$TMP/cli.log"; fi
done
echo "cli: $((pass - cp)) passed, $((fail - cf)) failed"

# 4. REPL transcripts (tests/repl/*.txt): a session as `segc repl --echo`
# prints it, inputs after their prompts ("segc> ", "...> ") and then what
# they printed (stdout and stderr together). The inputs are piped in, in a
# scratch folder holding tests/repl/*.seg, and the output must equal the
# file. Directive lines are neither input nor output:
#   #: text                a note on the test
#   # args: FILE.seg ...    segc repl's arguments
#   # setup: CMD           a shell command run first in the scratch folder ($SEGC set)
#   # filter: s/RE/TEXT/   sed -E on both sides, for times and host-dependent figures
#   # exit: N              exit status (default 0)
#   # check: CMD           a shell command run afterwards in the scratch folder,
#                          which must succeed (files the session wrote)
DIRECTIVE='^#( args:| filter:| setup:| exit:| check:|:)'
case $SEGC in /*) SEGC_ABS=$SEGC ;; *) SEGC_ABS="$(pwd)/$SEGC" ;; esac
repl_one() {
    f=$1
    d="$TMP/repl_$(basename "$f" .txt)"
    rm -rf "$d" && mkdir -p "$d" && cp tests/repl/*.seg "$d"/
    grep -vE "$DIRECTIVE" "$f" | sed -n 's/^segc> //p; s/^\.\.\.> //p' > "$d/in"
    sed -n 's/^# filter: //p' "$f" > "$d/filter"
    sed -n 's/^# setup: //p' "$f" > "$d/setup"
    sed -n 's/^# check: //p' "$f" > "$d/check"
    args=$(sed -n 's/^# args: //p' "$f" | head -1)
    want=$(sed -n 's/^# exit: //p' "$f" | head -1)
    # shellcheck disable=SC2086
    (cd "$d" && SEGC="$SEGC_ABS" sh ./setup > setup.log 2>&1 &&
        "$SEGC_ABS" repl --echo $args < in > out 2>&1)
    code=$?
    ok=1
    [ "$code" = "${want:-0}" ] || { echo "    exit code $code, expected ${want:-0}"; ok=0; }
    (cd "$d" && sh ./check > check.log 2>&1) || { echo "    a check failed:"; cat "$d/check.log"; ok=0; }
    grep -vE "$DIRECTIVE" "$f" | sed -E -f "$d/filter" > "$d/want"
    sed -E -f "$d/filter" "$d/out" > "$d/got"
    if ! cmp -s "$d/want" "$d/got"; then
        echo "    output differs from $f:"; diff "$d/want" "$d/got" | head -20; ok=0
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL repl/$(basename "$f")"; fi
}
rp=$pass; rf=$fail
for f in tests/repl/*.txt; do
    [ -f "$f" ] && wanted "repl/$(basename "$f")" && repl_one "$f"
done
echo "repl: $((pass - rp)) passed, $((fail - rf)) failed"

# 5. outcome tests: each method of models/ trains on the JIT, at a small
# size, for a fixed number of steps, and must reach a stated floor on what
# it validates (tests/outcome/*.sh; the floors and why are in each script).
# A script with a "# sanitizers: skip: WHY" line is skipped on a sanitizer
# build, with a line saying so.
op=$pass; of=$fail
for s in tests/outcome/*.sh; do
    [ -f "$s" ] && wanted "outcome/$(basename "$s")" || continue
    why=$(sed -n 's/^# sanitizers: skip: //p' "$s" | head -1)
    if [ $DEBUG_BUILD = 1 ] && [ -n "$why" ]; then
        echo "skip outcome/$(basename "$s" .sh) (sanitizer build: $why)"; continue
    fi
    t0=$(date +%s)
    if sh "$s" > "$TMP/outcome.log" 2>&1; then pass=$((pass + 1)); r=ok; else
        fail=$((fail + 1)); r=FAIL; fi
    echo "$r outcome/$(basename "$s" .sh) ($(( $(date +%s) - t0 )) s): $(tail -1 "$TMP/outcome.log")"
    [ $r = ok ] || tail -15 "$TMP/outcome.log"
done
echo "outcome: $((pass - op)) passed, $((fail - of)) failed"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
