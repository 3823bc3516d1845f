#!/bin/sh
# run.sh — `make bench`: segc against PyTorch on the same networks and
# shapes, one process per case, written as a Markdown table to
# bench/results/bench-DATE.md (and printed).
#
# Usage: sh bench/run.sh BUILD_DIR
# Environment:
#   BENCH_THREADS=N    threads for both (default 2): segc bench --threads N
#                      (its pool and OpenBLAS), torch.set_num_threads(N)
#   BENCH_FILTER=TEXT  run only the cases whose label contains TEXT
#   BENCH_PYTHON=PATH  the Python with torch (default /usr/bin/python3);
#                      without torch the torch columns say "n/a"
#
# Cases, batch 1, random inputs (labels random 0/1), speed only:
#   conv Cin->Cout size^3, fwd    one 3x3x3 conv (pad 1, bias): `segc bench --net conv1 --infer`
#   conv Cin->Cout size^3, train  the same conv in a schedule stage with loss mean(y) and
#                                 Adam: forward, weight/bias gradients, update (the input
#                                 is data, so neither side computes its gradient)
#   unet3d 64^3 train     models/boosting_unet3d.seg, schedule boosting_5 stage grow1:
#                         the 4-level Boosting U-Net, everything trained, batch Dice loss
#   unet3d 64^3 stage 2   schedule boosting stage grow2: 4 levels with what grow1
#                         (3 levels) trained frozen
#   unet3d 64^3 infer     net unet (4 levels), inference forward
#   unet2d 256^2 train    the S4 U-Net (models/unet2d.seg) at 256^2 in a generated
#                         schedule: BCE on logits + Dice, Adam
#   unet2d 256^2 infer    net unet2d --set size=256, inference forward
#   unet3d sliding 160x192x160  what `segc infer` does to one scan: net unet (4 levels)
#                         over a random 160x192x160 volume in 64^3 tiles, overlap 0.5,
#                         Gaussian-weighted (`segc bench --volume`); a step is the whole
#                         volume (80 tiles); no reference-kernel run (it would take an hour)
# Every case runs three times: segc with reference kernels (--no-jit where
# the binary has it), segc --jit (JIT convolutions; a fresh SEGC_CACHE_DIR
# per case, so "cold" is a real compile) and bench/torch_bench.py. PyTorch runs with
# tcmalloc preloaded (libtcmalloc-minimal4, when installed) and
# OMP_WAIT_POLICY=PASSIVE: with OpenMP's default spinning, 2 threads on a
# 2-CPU VM can be many times slower than 1 (see bench/README.md).
set -u
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B="$ROOT/$B" ;; esac
SEGC="$B/segc"
[ -x "$SEGC" ] || { echo "bench: $SEGC is missing (make $SEGC)"; exit 1; }
THREADS=${BENCH_THREADS:-2}
FILTER=${BENCH_FILTER:-}
PY=${BENCH_PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/segc-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
# a private copy: a rebuild during the run must not swap the binary under it
cp "$SEGC" "$TMP/segc" || exit 1
SEGC="$TMP/segc"
# the reference run: --no-jit where JIT kernels are the default, else no flag
NOJIT=""
"$SEGC" help bench | grep -q -- --no-jit && NOJIT=--no-jit
DATE=$(date +%Y-%m-%d)
OUT="$ROOT/bench/results/bench-$DATE.md"
mkdir -p "$ROOT/bench/results"
CASE_TIMEOUT=900
T0=$(date +%s)

if "$PY" -c "import torch" > /dev/null 2>&1; then
    TORCH=$("$PY" -c "import torch; print(torch.__version__)")
    # PyTorch's best CPU configuration here: with glibc's malloc it faults
    # its buffers in again every step and runs 2-3x slower
    TCMALLOC=$(ls /usr/lib/*/libtcmalloc_minimal.so.4 2> /dev/null | head -1)
    if [ -n "$TCMALLOC" ]; then
        TORCH="$TORCH, tcmalloc preloaded"
    else
        echo "bench: libtcmalloc-minimal4 is missing (apt-get install libtcmalloc-minimal4); torch runs on glibc malloc, slower than its best"
    fi
else
    TORCH=""; TCMALLOC=""
    echo "bench: $PY has no torch; the torch columns will say n/a"
fi

# ------------------------------------------------------------ programs

CONVS="1,32,64 32,32,64 32,64,32 64,64,32 64,128,16 128,128,16 128,256,8 256,256,8"
{
    echo '# One 3x3x3 convolution per (cin, cout, size), for bench/run.sh.'
    echo 'net conv1(cin = 1, cout = 32, size = 64) {'
    echo '    input image : f32[B, cin, size, size, size]'
    echo '    output y = conv(image, cout, k = 3, pad = 1)'
    echo '}'
    echo 'schedule convs {'
    echo '    data train = synthetic("lesions3d", cases = 1, size = [8, 8, 8], seed = 1)'
    echo '    batch 1'
    for s in $CONVS; do
        IFS=, read -r ci co sz <<EOF
$s
EOF
        echo "    stage c${ci}_${co}_${sz} {"
        echo "        model conv1(cin = $ci, cout = $co, size = $sz)"
        echo '        loss  mean(y)'
        echo '        optimizer adam(lr = 1e-3)'
        echo '        until epochs(1)'
        echo '    }'
    done
    echo '}'
} > "$TMP/convs.seg"

cat > "$TMP/s4.seg" <<EOF
# The S4 U-Net at 256^2, batch 1, trained as the chest schedule trains it.
import "$ROOT/models/unet2d"
schedule s4 {
    data train = synthetic("lesions2d", cases = 1, size = [256, 256], seed = 1)
    batch 1
    stage train {
        model unet2d(img_ch = 1, output_ch = 1, size = 256)
        loss  bce_with_logits(logits, label) + dice_loss(mask, label, smooth = 1e-5, squared = false, batch = true, background = true)
        optimizer adam(lr = 1e-4)
        until epochs(1)
    }
}
EOF

# ------------------------------------------------------------- running

# field LINE KEY: the value of KEY=... in a result line ("" when absent).
field() { printf '%s\n' "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }

# segc_one TAG STEPS ARGS...: the result line of one segc bench run, or "".
segc_one() {
    tag=$1; steps=$2; shift 2
    SEGC_CACHE_DIR="$TMP/cache-$tag" timeout $CASE_TIMEOUT "$SEGC" bench "$@" \
        --threads "$THREADS" --steps "$steps" > "$TMP/$tag.log" 2>&1
    grep '^result:' "$TMP/$tag.log" | tail -1
}

# torch_one TAG STEPS ARGS...: the result line of one torch_bench.py run, or "".
# TORCH_MALLOC=glibc runs it without tcmalloc (the second torch column).
torch_one() {
    tag=$1; steps=$2; shift 2
    [ -n "$TORCH" ] || return 0
    pre=${TCMALLOC:-}
    [ "${TORCH_MALLOC:-}" != glibc ] || pre=""
    LD_PRELOAD=$pre OMP_WAIT_POLICY=PASSIVE timeout $CASE_TIMEOUT "$PY" "$ROOT/bench/torch_bench.py" \
        --threads "$THREADS" --steps "$steps" "$@" > "$TMP/$tag.torch.log" 2>&1
    grep '^result:' "$TMP/$tag.torch.log" | tail -1
}

# fmt X DIGITS: X with DIGITS decimals, or "fail" when X is empty.
fmt() { if [ -n "$1" ]; then awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; else echo fail; fi; }
# ratio A B: A / B with 2 decimals, "n/a" when either is missing.
ratio() {
    if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
    else echo n/a; fi
}
# gfs GFLOP MS: GFLOP/s.
gfs() {
    if [ -n "$1" ] && [ -n "$2" ]; then awk -v g="$1" -v m="$2" 'BEGIN { printf "%.1f", g / (m / 1e3) }'
    else echo n/a; fi
}

n=0
: > "$TMP/rows" ; : > "$TMP/compile" ; : > "$TMP/vals"
ONE_THREAD_MS=""
PEAK=""
# one LABEL STEPS "TORCH ARGS" SEGC ARGS...
one() {
    label=$1; steps=$2; targs=$3; shift 3
    case $label in *"$FILTER"*) ;; *) return 0 ;; esac
    n=$((n + 1))
    printf 'bench: %-28s ' "$label"
    r=""
    [ -n "${NOREF:-}" ] || r=$(segc_one "$n-ref" "$steps" "$@" $NOJIT)
    j=$(segc_one "$n-jit" "$steps" "$@" --jit)
    # shellcheck disable=SC2086
    t=$(torch_one "$n" "$steps" $targs)
    tg=""
    # shellcheck disable=SC2086
    [ -n "${NOGLIBC:-}" ] || [ -z "$TCMALLOC" ] || tg=$(TORCH_MALLOC=glibc torch_one "$n-glibc" "$steps" $targs)
    [ -n "$r" ] || [ -n "${NOREF:-}" ] || echo "(segc failed: $(tail -1 "$TMP/$n-ref.log")) "
    [ -n "$j" ] || echo "(segc --jit failed: $(tail -1 "$TMP/$n-jit.log")) "
    [ -z "$TORCH" ] || [ -n "$t" ] || echo "(torch failed: $(tail -1 "$TMP/$n.torch.log")) "
    g=$(field "$r" gflop); [ -n "$g" ] || g=$(field "$j" gflop)
    rm_=$(field "$r" step_ms); jm=$(field "$j" step_ms); tm=$(field "$t" step_ms)
    [ -n "$PEAK" ] || PEAK=$(field "$r" peak_gflops)
    tt=$(field "$t" threads); [ -n "$tt" ] || tt=n/a
    st=$(field "$r" threads); [ -n "$st" ] || st=$(field "$j" threads)
    tms=n/a; [ -z "$tm" ] || tms=$(fmt "$tm" 1)
    tgm=$(field "$tg" step_ms); tgms=n/a; [ -z "$tgm" ] || tgms=$(fmt "$tgm" 1)
    trss=n/a; [ -z "$t" ] || trss=$(fmt "$(field "$t" rss_mb)" 0)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s / %s | %s / %s / %s | %s / %s | %s |\n' \
        "$label" "$(fmt "$g" 2)" "$(fmt "$rm_" 1)" "$(fmt "$jm" 1)" "$tms" "$(ratio "$jm" "$tm")" \
        "$tgms" "$(ratio "$jm" "$tgm")" \
        "$(gfs "$g" "$rm_")" "$(gfs "$g" "$jm")" "$(gfs "$g" "$tm")" \
        "$(fmt "$(field "$r" peak_pct)" 1)" "$(fmt "$(field "$j" peak_pct)" 1)" \
        "$(fmt "$(field "$r" rss_mb)" 0)" "$(fmt "$(field "$j" rss_mb)" 0)" "$trss" \
        "$st" "$tt" "$steps" >> "$TMP/rows"
    cm=$(field "$r" compile_ms); [ -n "$cm" ] || cm=$(field "$j" compile_ms)
    printf '| %s | %s | %s | %s |\n' "$label" "$(fmt "$cm" 2)" \
        "$(fmt "$(field "$j" jit_cold_ms)" 1)" "$(fmt "$(field "$j" jit_warm_ms)" 1)" >> "$TMP/compile"
    echo "segc $(fmt "$rm_" 1) ms, --jit $(fmt "$jm" 1) ms, torch $tms ms (glibc malloc $tgms)"
    # for the targets section: label|jit ms|gflop|jit rss|torch ms|torch rss|jit % peak
    printf '%s|%s|%s|%s|%s|%s|%s\n' "$label" "$jm" "$g" "$(field "$j" rss_mb)" "$tm" \
        "$(field "$t" rss_mb)" "$(field "$j" peak_pct)" >> "$TMP/vals"
}

# val LABEL COLUMN: a number saved by one() (2 jit ms, 3 GFLOP, 4 jit RSS, 5 torch ms, 6 torch
# RSS, 7 jit % of peak).
val() { awk -F'|' -v l="$1" -v c="$2" '$1 == l { print $c }' "$TMP/vals" | tail -1; }

for s in $CONVS; do
    IFS=, read -r ci co sz <<EOF
$s
EOF
    lab="conv $ci->$co ${sz}^3"
    one "$lab fwd" 5 "conv $ci $co $sz fwd" "$TMP/convs.seg" --net conv1 --infer \
        --set cin="$ci" --set cout="$co" --set size="$sz"
    one "$lab train" 5 "conv $ci $co $sz train" "$TMP/convs.seg" --schedule convs \
        --stage "c${ci}_${co}_${sz}" --set B=1
done
U3="$ROOT/models/boosting_unet3d.seg"
one "unet3d 64^3 train" 3 "unet3d train" "$U3" --schedule boosting_5 --stage grow1 --set B=1
one "unet3d 64^3 stage 2 (frozen)" 3 "unet3d frozen" "$U3" --schedule boosting --stage grow2 --set B=1
one "unet3d 64^3 infer" 5 "unet3d infer" "$U3" --net unet --infer
# the same training step on 1 thread: the 2-thread speedup
if case "unet3d 64^3 train" in *"$FILTER"*) true ;; *) false ;; esac; then
    printf 'bench: %-28s ' "unet3d 64^3 train, 1 thread"
    r1=$(SEGC_CACHE_DIR="$TMP/cache-1t" timeout $CASE_TIMEOUT "$SEGC" bench "$U3" --schedule boosting_5 \
        --stage grow1 --set B=1 --threads 1 --steps 3 2>&1 | grep '^result:' | tail -1)
    ONE_THREAD_MS=$(field "$r1" step_ms)
    echo "segc --jit $(fmt "$ONE_THREAD_MS" 1) ms"
fi
one "unet2d 256^2 train" 3 "unet2d train --size 256" "$TMP/s4.seg" --schedule s4 --stage train --set B=1
one "unet2d 256^2 infer" 5 "unet2d infer --size 256" "$ROOT/models/unet2d.seg" --net unet2d \
    --infer --set size=256
NOREF=1
NOGLIBC=1 # PyTorch on glibc's malloc took 413 s for this volume: not worth the wait
one "unet3d sliding 160x192x160" 1 "unet3d sliding 160 192 160" "$U3" --net unet --set levels=4 \
    --volume 160x192x160
NOREF=""; NOGLIBC=""

# ------------------------------------------------------------- report

CPU=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
NCPU=$(getconf _NPROCESSORS_ONLN)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
# bench tables are results, not code: a rerun must not call itself dirty
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- . ':!bench/results' 2>/dev/null | head -1)
[ -z "$DIRTY" ] || REV="$REV + uncommitted changes"
MIN=$(( ($(date +%s) - T0 + 59) / 60 ))
{
    echo "# segc bench, $DATE"
    echo
    echo "- machine: $CPU, $NCPU CPUs; FP32 FMA peak on $THREADS threads: $(fmt "$PEAK" 0) GFLOP/s"
    echo "  (segc bench's FMA loop, per CPU second)"
    echo "- segc: \`segc bench --threads $THREADS\` (its pool and OpenBLAS), commit $REV"
    if [ -n "$TORCH" ]; then
        echo "- PyTorch $TORCH: \`torch.set_num_threads($THREADS)\`, OMP_WAIT_POLICY=PASSIVE;"
        echo "  the \"torch glibc\" columns run it again on glibc's malloc (its default, which"
        echo "  page-faults its buffers in every step)"
    else
        echo "- PyTorch: not available ($PY has no torch)"
    fi
    echo "- batch 1, random inputs; median of the timed steps (column steps) after 1-2"
    echo "  warm-up steps; training steps include the Adam update; RSS is the peak RSS of"
    echo "  the process running the one case; GFLOP counted by segc (ir_node_flops), also"
    echo "  used for torch's GFLOP/s; ratio = segc --jit time / torch time"
    echo "- segc = reference kernels (im2col + OpenBLAS, no fusion), jit = segc --jit (the"
    echo "  default: fused program, JIT convolutions forward and backward, JIT kernels for"
    echo "  fused elementwise groups, fast runtime kernels for pools/upsample/concat/slice/"
    echo "  batch norm); whole run took about $MIN min"
    echo
    echo "| case | GFLOP/step | segc ms | segc --jit ms | torch ms | ratio jit/torch | torch glibc ms | ratio jit/torch glibc | GFLOP/s segc / jit / torch | % peak segc / jit | RSS MB segc / jit / torch | threads segc / torch | steps |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    cat "$TMP/rows"
    echo
    echo "Compile times (segc): front end + graph + autodiff + lowering; JIT build with an"
    echo "empty cache (cold) and again on a fresh JIT from the disk cache (warm)."
    echo
    echo "| case | compile ms | JIT cold ms | JIT warm ms |"
    echo "|---|--:|--:|--:|"
    cat "$TMP/compile"
    echo
    echo "Targets (issue 14; torch = PyTorch with tcmalloc), from the rows above:"
    echo
    echo "| target | measured |"
    echo "|---|--:|"
    echo "| U-Net 64^3 training step >= 85 % of peak | $(fmt "$(val "unet3d 64^3 train" 7)" 1) % |"
    echo "| U-Net 64^3 training step <= 0.7 x torch | $(ratio "$(val "unet3d 64^3 train" 2)" "$(val "unet3d 64^3 train" 5)") |"
    echo "| U-Net 64^3 inference >= 85 % of peak | $(fmt "$(val "unet3d 64^3 infer" 7)" 1) % |"
    echo "| U-Net 64^3 inference <= 0.65 x torch | $(ratio "$(val "unet3d 64^3 infer" 2)" "$(val "unet3d 64^3 infer" 5)") |"
    echo "| U-Net 64^3 training peak RSS <= 0.45 x torch | $(ratio "$(val "unet3d 64^3 train" 4)" "$(val "unet3d 64^3 train" 6)") |"
    echo "| S4 2-D U-Net 256^2 training <= 0.7 x torch | $(ratio "$(val "unet2d 256^2 train" 2)" "$(val "unet2d 256^2 train" 5)") |"
    echo "| S4 2-D U-Net 256^2 inference <= 0.7 x torch | $(ratio "$(val "unet2d 256^2 infer" 2)" "$(val "unet2d 256^2 infer" 5)") |"
    echo "| first layer (conv 1->32 64^3) forward + backward >= 35 % of peak | $(fmt "$(val "conv 1->32 64^3 train" 7)" 1) % |"
    echo "| stage-2 / full step time (FLOP ratio $(ratio "$(val "unet3d 64^3 stage 2 (frozen)" 3)" "$(val "unet3d 64^3 train" 3)"), at or below) | $(ratio "$(val "unet3d 64^3 stage 2 (frozen)" 2)" "$(val "unet3d 64^3 train" 2)") |"
    echo "| 2 threads >= 1.8 x 1 thread (U-Net training step) | $(ratio "$ONE_THREAD_MS" "$(val "unet3d 64^3 train" 2)") |"
    BF=$(grep -qw avx512_bf16 /proc/cpuinfo && echo "not implemented" || echo "not implemented; this CPU has no avx512_bf16")
    echo "| BF16 inference >= 1.6 x segc FP32, Dice change <= 0.005 | $BF |"
    echo "| sliding window, U-Net over 160x192x160 (issue 10 asked <= 0.6 x torch) | $(ratio "$(val "unet3d sliding 160x192x160" 2)" "$(val "unet3d sliding 160x192x160" 5)") |"
} > "$OUT"
echo
cat "$OUT"
echo
echo "bench: wrote $OUT"
