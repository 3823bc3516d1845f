#!/bin/sh
# run.sh — `make experiments [M=s1|s2|s3|s4|s5]`: each method's claim,
# tested the way its paper tests it, on data where the comparison means
# something, with 3 training seeds per arm. Every run is a plain `segc
# train` of a schedule in experiments/METHOD.seg (which imports the
# method's model file) into experiments/runs/METHOD/ARM-seedN/; then
# experiments/summarize.py writes experiments/results/METHOD.md (mean ±
# sd over seeds, the commands, the commit, the machine) and
# METHOD-curves.svg (validation metric per epoch, every arm and seed).
#
# Usage: sh experiments/run.sh BUILD_DIR [METHOD ...]   (default: all five)
# Environment: EXP_SEEDS (default "1 2 3"), EXP_THREADS (default 2),
#              EXP_EPOCHS=N caps every stage (a quick look, not a result).
set -u
B=${1:-build}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B="$ROOT/$B" ;; esac
SEGC="$B/segc"
SEEDS=${EXP_SEEDS:-"1 2 3"}
THREADS=${EXP_THREADS:-2}
METHODS=${*:-"s1 s2 s3 s4 s5"}
[ -x "$SEGC" ] || { echo "experiments: $SEGC is missing"; exit 1; }
# a private copy: a rebuild during the hours this runs must not swap it
PRIV=$(mktemp -d "${TMPDIR:-/tmp}/segc-exp.XXXXXX")
trap 'rm -rf "$PRIV"' EXIT INT TERM
cp "$SEGC" "$PRIV/segc" || exit 1
SEGC="$PRIV/segc"
command -v python3 > /dev/null || { echo "experiments: needs python3 (apt-get install python3)"; exit 1; }
cd "$ROOT" || exit 1

# arms METHOD: "ARM SCHEDULE" lines, the arms of the method's comparison
arms() {
    case $1 in
        s1) printf 'boosting s1_boosting\nfull s1_full\n' ;;
        s2) printf 'distilled s2_distill\nalone s2_alone\n' ;;
        s3) printf 'distance_focal s3_distance_focal\nplain_focal s3_plain_focal\nplain_bce s3_plain_bce\n' ;;
        s4) printf 'ce s4_ce\n' ;;
        s5) printf 'cct s5_cct\nsupervised s5_supervised\n' ;;
    esac
}

run_method() {
    m=$1
    dir="experiments/runs/$m"
    mkdir -p "$dir"
    # seeds outside, arms inside: the arms of one seed run back to back, so
    # a slower or busier stretch of the machine hits them alike
    for seed in $SEEDS; do
        arms "$m" | while read -r arm sched; do
            out="$dir/$arm-seed$seed"
            if [ -f "$out/done" ]; then
                echo "experiments: $out done before, kept"
                continue
            fi
            rm -rf "$out"
            set -- train "experiments/$m.seg" --schedule "$sched" --seed "$seed" \
                --threads "$THREADS" --out "$out"
            [ -n "${EXP_EPOCHS:-}" ] && set -- "$@" --set "epochs=$EXP_EPOCHS"
            echo "experiments: segc $*"
            mkdir -p "$out"
            t0=$(date +%s)
            if "$SEGC" "$@" > "$out.log" 2>&1; then
                t1=$(date +%s)
                echo "$((t1 - t0))" > "$out/wall_seconds"
                echo "segc $*" > "$out/command"
                mv "$out.log" "$out/train.log"
                touch "$out/done"
            else
                echo "experiments: FAILED: segc $* (see $out.log)"
            fi
        done
    done
    python3 experiments/summarize.py "$m" "$dir" "experiments/results" "$SEEDS"
}

for m in $METHODS; do
    [ -f "experiments/$m.seg" ] || { echo "experiments: no experiments/$m.seg"; exit 1; }
    run_method "$m"
done
