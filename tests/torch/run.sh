#!/bin/sh
# run.sh — compare every op of segc with PyTorch (make check-torch).
# Usage: sh tests/torch/run.sh BUILD_DIR
#
# Needs /usr/bin/python3 with torch (Debian's python3-torch); without it,
# says so and exits 0, so nothing else depends on torch. Builds
# tests/torch/opdump.c against BUILD_DIR/libsegc.a into BUILD_DIR/opdump,
# dumps every case into a temporary folder and recomputes them with
# tests/torch/compare.py; then the same for a whole net, the V-Net of
# models/vnet.seg (tests/torch/netdump.c, tests/torch/vnet.py). Each part
# ends with "N passed, N failed"; the exit code is 0 when both pass.
B=${1:-build}
PY=/usr/bin/python3
HERE=$(dirname "$0")

if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "check-torch: skipped: $PY cannot import torch and numpy (apt-get install python3-torch)"
    exit 0
fi

LLVM_CONFIG=${LLVM_CONFIG:-llvm-config-19}
CC=${CC:-cc}
# The Makefile's include paths and link libraries (keep in step with it).
CFLAGS="-std=c11 -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes \
 -Wstrict-prototypes -fno-common -Werror -O2 -g -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
 -I. -I$B/gen -I/usr/include/nifti -isystem $($LLVM_CONFIG --includedir)"
LDLIBS="-lopenblas -lniftiio -lznz -lpng -lz -lm -lpthread \
 $($LLVM_CONFIG --ldflags --libs core orcjit native passes)"
case "$B" in
*debug*) CFLAGS="$CFLAGS -fsanitize=address,undefined -fno-omit-frame-pointer"
         LDLIBS="-fsanitize=address,undefined $LDLIBS" ;;
esac

# shellcheck disable=SC2086
$CC $CFLAGS -o "$B/opdump" "$HERE/opdump.c" "$B/libsegc.a" $LDLIBS || {
    echo "check-torch: FAIL: building opdump"; exit 1; }
# shellcheck disable=SC2086
$CC $CFLAGS -o "$B/netdump" "$HERE/netdump.c" "$B/libsegc.a" $LDLIBS || {
    echo "check-torch: FAIL: building netdump"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/segc-torch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
"$B/opdump" "$TMP" || { echo "check-torch: FAIL: opdump crashed"; exit 1; }
"$PY" "$HERE/compare.py" "$TMP" runtime/ops.def
ops=$?

# A whole net: models/vnet.seg (PReLU made with param()) against the same
# PyTorch module, parameters loaded by name: count, forward on the
# reference interpreter and on the JIT, and every parameter's gradient.
mkdir -p "$TMP/vnet"
echo "vnet: models/vnet.seg at 16^3 against tests/torch/vnet.py"
"$B/netdump" "$TMP/vnet" models/vnet.seg vnet 'size=[16,16,16]' ||
    { echo "check-torch: FAIL: netdump"; exit 1; }
"$PY" "$HERE/vnet.py" "$TMP/vnet"
net=$?
[ $ops = 0 ] && [ $net = 0 ]
