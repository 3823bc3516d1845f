#!/bin/sh
# run.sh — compare every op of segc with PyTorch (make check-torch).
# Usage: sh tests/torch/run.sh BUILD_DIR
#
# Needs /usr/bin/python3 with torch (Debian's python3-torch); without it,
# says so and exits 0, so nothing else depends on torch. Builds
# tests/torch/opdump.c against BUILD_DIR/libsegc.a into BUILD_DIR/opdump,
# dumps every case into a temporary folder and recomputes them with
# tests/torch/compare.py. Last line: "N passed, N failed".
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

TMP=$(mktemp -d "${TMPDIR:-/tmp}/segc-torch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
"$B/opdump" "$TMP" || { echo "check-torch: FAIL: opdump crashed"; exit 1; }
"$PY" "$HERE/compare.py" "$TMP" runtime/ops.def
