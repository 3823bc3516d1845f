#!/bin/sh
# demo.sh — the main job on built-in data: S1, the staged Boosting U-Net,
# trained end to end on synthetic 3D lesion phantoms.
# Usage: sh scripts/demo.sh BUILD_DIR
#
# Schedule `demo` of models/boosting_unet3d.seg: stage grow1 trains the
# 3-level U-Net (base 32), stage grow2 grows it to 4 levels with everything
# grow1 trained frozen. Training patches 32^3 from 64^3 phantoms, batch 2,
# validation on whole 64^3 volumes by sliding window.
set -e
B=${1:-build}
SEGC="$B/segc"
OUT="runs/demo-$(date +%Y%m%d-%H%M%S)"
THREADS=${SEGC_THREADS:-2}
echo "== segc plan (what each stage trains and costs)"
"$SEGC" plan models/boosting_unet3d.seg --schedule demo
echo "== segc train models/boosting_unet3d.seg --schedule demo --threads $THREADS --out $OUT"
"$SEGC" train models/boosting_unet3d.seg --schedule demo --threads "$THREADS" --out "$OUT"
