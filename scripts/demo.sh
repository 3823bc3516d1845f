#!/bin/sh
# demo.sh — the main job on built-in data. Usage: sh scripts/demo.sh BUILD_DIR
# Until the training executor lands this checks every model, lists the
# Boosting U-Net's parameters and runs its forward pass at 1x1x64^3.
set -e
B=${1:-build}
SEGC="$B/segc"
echo "== segc check models/*.seg"
"$SEGC" check models/*.seg
echo "== segc params models/boosting_unet3d.seg --net unet (4 levels, base 32)"
"$SEGC" params models/boosting_unet3d.seg --net unet | tail -3
echo "== forward pass of the 4-level Boosting U-Net on a 1x1x64^3 volume (interpreter, 2 threads)"
"$SEGC" run models/boosting_unet3d.seg --net unet --threads 2 --seed 1
