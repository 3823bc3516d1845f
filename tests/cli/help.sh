#!/bin/sh
# help.sh — segc --help, segc help CMD and segc CMD --help describe every
# command and flag, on stdout, with exit 0.
. "$(dirname "$0")/lib.inc"

run "$SEGC" --help
expect 0
err_empty
for w in "usage: segc" check ir params run "help [COMMAND]" --net --set --train \
         --input --output --seed --threads SEGC_THREADS "exit status"; do
    out_has "$w"
done

run "$SEGC" -h
expect 0
out_has "usage: segc"

run "$SEGC" help
expect 0
out_has "commands:"

# Each command's help lists exactly the flags it takes.
run "$SEGC" help run
expect 0
err_empty
cp "$T/out" "$T/help_run"
out_has "usage: segc run FILE"
for f in --net --set --train --input --output --seed --threads --help; do out_has "$f"; done

run "$SEGC" run --help
expect 0
cmp -s "$T/out" "$T/help_run" || fail "'segc run --help' differs from 'segc help run'"

run "$SEGC" run tiny.seg --seed 3 --help
expect 0
out_has "usage: segc run FILE"

run "$SEGC" help check
expect 0
out_has "usage: segc check FILE..."
out_has "FILE:LINE:COL: error:"
for f in --net --set --seed --threads --input; do out_lacks "$f"; done

run "$SEGC" help ir
expect 0
for f in --net --set --train; do out_has "$f"; done
for f in --seed --input --output; do out_lacks "$f"; done

run "$SEGC" params --help
expect 0
for f in --net --set; do out_has "$f"; done
for f in --train --seed; do out_lacks "$f"; done
exit 0
