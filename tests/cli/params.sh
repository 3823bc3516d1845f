#!/bin/sh
# params.sh — segc params lists parameter names and totals, follows --set
# and --net, and rejects a --net that names no net.
. "$(dirname "$0")/lib.inc"
cd "$T" || exit 1

run "$SEGC" params tiny.seg
expect 0
err_empty
for w in conv0.weight conv0.bias conv1.weight conv1.bias "(117)"; do out_has "$w"; done
out_has "[4, 1, 3, 3, 3]"

# ch=2: 2*27 + 2 + 2 + 1 = 59
run "$SEGC" params tiny.seg --set ch=2
expect 0
out_has "(59)"
out_lacks "(117)"

# The batch size does not change the parameters.
run "$SEGC" params tiny.seg --set B=3
expect 0
out_has "(117)"

# --net picks a net; without it the last one (flat: 9 + 1 = 10) is used.
run "$SEGC" params two.seg
expect 0
out_has "(10)"
run "$SEGC" params two.seg --net big --set ch=3
expect 0
out_has "(6)"

run "$SEGC" params two.seg --net nosuch
usage_err "has no net named 'nosuch'"
err_has "big"
err_has "flat"
exit 0
