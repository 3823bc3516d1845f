#!/bin/sh
# run_dir.sh — a run folder belongs to one run: --out onto a folder that
# holds a run is refused (exit 1, pointing at --resume and --overwrite) and
# leaves it as it was; --overwrite replaces segc's files and nothing else;
# a second run into a folder another run is writing fails at once naming
# the holder's pid; temp files of interrupted atomic writes are removed at
# the next start.
. tests/cli/lib.inc
F=tests/cli/train/tiny.seg
train() { "$SEGC" train $F --schedule noval --threads 1 "$@"; }

run train --out "$T/a" --seed 1
expect 0
cp "$T/a/ckpt/last.safetensors" "$T/first.safetensors"
mkdir -p "$T/empty"
run train --out "$T/empty" --seed 1
expect 0

# a second run onto it: refused, the first run untouched
run train --out "$T/a" --seed 2
usage_err "$T/a already holds a run (schedule.seg): use --resume $T/a to continue it, or --overwrite to replace it"
cmp -s "$T/a/ckpt/last.safetensors" "$T/first.safetensors" || fail "the refused run changed the folder"
run train --resume "$T/a" --overwrite --seed 1
usage_err "--resume and --overwrite exclude each other"

# --overwrite: a new run, the old run's files gone, other files kept
: > "$T/a/ckpt/best-oldstage.safetensors"
echo mine > "$T/a/notes.txt"
run train --out "$T/a" --seed 2 --overwrite
expect 0
cmp -s "$T/a/ckpt/last.safetensors" "$T/first.safetensors" && fail "--overwrite kept the old weights"
[ -e "$T/a/ckpt/best-oldstage.safetensors" ] && fail "--overwrite kept the old run's checkpoint"
[ "$(cat "$T/a/notes.txt")" = mine ] || fail "--overwrite removed a file that is not segc's"
grep -q "^# segc train .* --seed 2$" "$T/a/schedule.seg" || fail "schedule.seg is not the new run's"

# temp files of interrupted atomic writes go at the next start; a name
# that only looks similar stays
: > "$T/a/metrics.csv.tmp.k3x9q0"
: > "$T/a/ckpt/last.safetensors.tmp.0abcde"
: > "$T/a/keep.tmp.notours"
SEGC_TEST_CRASH_AFTER_EPOCH=1 train --out "$T/c" --seed 3 > /dev/null 2>&1
: > "$T/c/ckpt/last.safetensors.tmp.zz9y00"
run train --resume "$T/c" --seed 3
expect 0
out_has "run folder: removed 1 temp file an interrupted write left"
[ -e "$T/c/ckpt/last.safetensors.tmp.zz9y00" ] && fail "resume left a temp file"
run train --out "$T/a" --seed 2 --overwrite
expect 0
out_has "run folder: removed 2 temp files an interrupted write left"
[ -e "$T/a/metrics.csv.tmp.k3x9q0" ] && fail "a temp file stayed"
[ -e "$T/a/keep.tmp.notours" ] || fail "a file that is not a temp file was removed"

# two runs at once: the second fails fast, naming the first
"$SEGC" train $F --schedule noval --threads 1 --out "$T/busy" --seed 4 --set steps=100000 \
    > "$T/busy.log" 2>&1 &
first=$!
i=0
while ! grep -q "^$first\$" "$T/busy/.lock" 2> /dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || { kill $first; fail "the first run never took its lock"; }
    sleep 0.1
done
for how in "--out $T/busy --overwrite" "--resume $T/busy"; do
    # shellcheck disable=SC2086
    run train $how --seed 4
    [ "$code" = 1 ] || { kill $first; fail "a second run ($how) got exit $code, not 1"; }
    grep -qF "$T/busy: another segc train (pid $first) is writing this run folder" "$T/err" \
        || { kill $first; fail "second run ($how): $(cat "$T/err")"; }
done
kill $first
wait $first 2> /dev/null
exit 0
