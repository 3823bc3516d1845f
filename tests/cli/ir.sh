#!/bin/sh
# ir.sh — segc ir prints the graph: header, input with B bound (default 1),
# parameters, ops and the outputs.
. "$(dirname "$0")/lib.inc"
cd "$T" || exit 1

run "$SEGC" ir tiny.seg
expect 0
err_empty
out_has "graph tiny"
out_has 'input "image" : f32[1, 1, 8, 8, 8]'
out_has 'param "conv0.weight"'
out_has "conv(%"
out_has "relu(%"
out_has "sigmoid(%"
out_has 'output "mask" = %'

run "$SEGC" ir tiny.seg --set B=2 --set ch=6
expect 0
out_has 'input "image" : f32[2, 1, 8, 8, 8]'
out_has ': f32[6, 1, 3, 3, 3]'

run "$SEGC" ir --net=big two.seg
expect 0
out_has "graph big"
out_has 'input "image" : f32[1, 1, 16, 16, 16]'

run "$SEGC" ir two.seg --train
expect 0
out_has "graph flat"
exit 0
