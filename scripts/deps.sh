#!/bin/sh
# deps.sh — install segc's build and run dependencies from Debian when any
# is missing. Called by the Makefile before building; a no-op when all are
# present, so it costs nothing on a warm machine. chromium, a font and
# tmux are for the tests only: tests/cli/report.sh renders report.html
# headless and checks the screenshot; tests/cli/repl_tty.sh drives
# `segc repl` on a terminal through tmux. OpenMPI is for data-parallel
# training (`mpirun -np N segc train`, runtime/dist.c).
set -e
PKGS="flex bison make gcc llvm-19-dev libopenblas-dev zlib1g-dev libpng-dev libnifti2-dev libniftiio-dev libedit-dev libopenmpi-dev openmpi-bin pkg-config tmux chromium fonts-dejavu-core"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps.sh: installing$missing"
if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: need root to install:$missing (run: sudo apt-get install -y$missing)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing
