#!/bin/sh
# report.sh — segc report: `segc train` leaves RUN/report.html after every
# stage and `segc report RUN` rewrites it; the page is self-contained (no
# http(s) URL, pictures as PNG data URIs) and has every section (curves
# with a panel per stage, plan numbers, results per class, three-view
# overlays of the best and last networks, per-case metrics once
# infer/metrics.csv exists, the schedule source); a damaged run folder is
# an error, never a crash. Then the page is rendered in headless Chromium
# (scripts/deps.sh installs it: a missing chromium fails this test): the
# screenshot must have the window's size and not be blank.
. tests/cli/lib.inc
fail() { echo "FAIL: $*"; exit 1; }
F=tests/cli/train/tiny.seg
R="$T/run"
PNGCHECK="$(dirname "$SEGC")/pngcheck"

"$SEGC" train $F --schedule s --out "$R" --seed 5 --threads 1 > "$T/train.log" 2>&1 \
    || fail "train failed: $(tail -3 "$T/train.log")"
[ -s "$R/report.html" ] || fail "train did not write report.html"
rm "$R/report.html"
"$SEGC" report "$R" > "$T/out" 2> "$T/err" || fail "report failed: $(cat "$T/err")"
grep -qxF "report: $R/report.html" "$T/out" || fail "report output: $(cat "$T/out")"
H="$R/report.html"

# self-contained: no URL, no external script, style or picture
! grep -qiE 'https?://' "$H" || fail "report.html has a URL: $(grep -oiE 'https?://[^" ]*' "$H" | head -3)"
! grep -qiE '<script|<link|src="[^d]' "$H" || fail "report.html loads something external"
# every section, the charts and a panel per stage
for s in curves stages results overlays cases schedule; do
    grep -q "<section id=\"$s\">" "$H" || fail "no section $s"
done
for w in "Training loss" "Validation Dice" "Validation IoU" "Learning rate" \
         "epoch (within each stage)" ">foreground (all classes as one)<" ">background<"; do
    grep -qF "$w" "$H" || fail "curves lack: $w"
done
[ "$(grep -c 'font-weight="bold" text-anchor="middle" fill="#555">one<' "$H")" = 4 ] \
    || fail "stage one should have a panel in each of the 4 charts"
# plan.csv numbers: stage one trains 117 parameters, stage two 436 with 117 frozen
grep -q '<td>117 <span class="na">(4)</span></td><td>0 <span' "$H" || fail "stage one's params"
grep -q '<td>436 <span class="na">(2)</span></td><td>117 <span' "$H" || fail "stage two's params"
grep -qF "GFLOP per step = forward + backward" "$H" || fail "no GFLOP column"
grep -qE '<td>0\.00[0-9] s</td>|<td>0\.0[0-9][0-9] s</td>' "$H" || fail "no measured time per step"
# results: best and last rows; overlays: 2 stages x 2 networks x 3 views
grep -qF "best, epoch" "$H" || fail "no best row"
grep -qF "last, epoch" "$H" || fail "no last row"
n=$(grep -o 'src="data:image/png;base64,iVBORw0KGgo' "$H" | wc -l)
[ "$n" = 12 ] || fail "expected 12 inlined PNGs, found $n"
for v in "axial z" "coronal y" "sagittal x" "predicted foreground (fill)" "true foreground (outline)" \
         "best network, epoch" "last network, epoch"; do
    grep -qF "$v" "$H" || fail "overlays lack: $v"
done
grep -qF "segc infer --labels" "$H" || fail "the per-case section should say how to fill it"
grep -qF "stage two {" "$H" || fail "no schedule source"
grep -qF "&lt;" "$H" || true

# infer/metrics.csv (segc infer --labels) appears as a per-case table
mkdir -p "$R/infer"
printf 'case,class,dice,iou,hd95_mm,asd_mm\ncase_007,lesion,0.8125,0.6842,2.5,0.75\ncase_007,organ,0.95,0.9,1.0,0.2\n"a,b",lesion,,,,\n' \
    > "$R/infer/metrics.csv"
"$SEGC" report "$R" > "$T/out" 2> "$T/err" || fail "report with infer metrics failed: $(cat "$T/err")"
for w in case_007 '<td>0.8125</td>' '<td>2.50</td>' 'HD95 mm' '>a,b<' '>mean<'; do
    grep -qF "$w" "$H" || fail "per-case table lacks: $w"
done

# a damaged run folder: errors, never a crash, nothing half written
"$SEGC" report "$T/nosuch" > "$T/out" 2> "$T/err"; [ $? = 1 ] || fail "missing folder: exit 1"
grep -q "is not a folder" "$T/err" || fail "missing folder message: $(cat "$T/err")"
"$SEGC" report "$F" > "$T/out" 2> "$T/err"; [ $? = 1 ] || fail "a file is not a run folder"
mkdir -p "$T/empty"
"$SEGC" report "$T/empty" > "$T/out" 2> "$T/err"; [ $? = 1 ] || fail "folder without metrics.csv: exit 1"
grep -q "not a run folder" "$T/err" || fail "no metrics.csv message: $(cat "$T/err")"
mkdir -p "$T/junk/overlays"
head -c 3000 /dev/urandom > "$T/junk/metrics.csv"
"$SEGC" report "$T/junk" > "$T/out" 2> "$T/err"; c=$?
[ $c = 70 ] || [ $c = 0 ] || fail "random metrics.csv: exit $c"
printf 'stage,epoch,loss,lr,monitor,monitor_value,dice_fg,iou_fg,mean_dice,miou,dice_<i>x\n<b>s,2,1,1,<u>m,0.5,0.5,0.5,0.5,0.5,0.5\none,1,nan,,"unclosed\n' \
    > "$T/junk/metrics.csv"
printf 'stage,network,epoch,case,view,file\none,best,1,0,axial,../../../etc/passwd\none,best,1,0,coronal,overlays/missing.png\n' \
    > "$T/junk/overlays/overlays.csv"
"$SEGC" report "$T/junk" > "$T/out" 2> "$T/err" || fail "odd but readable files should still give a page: $(cat "$T/err")"
grep -qF "missing overlays/missing.png" "$T/junk/report.html" || fail "a missing picture should say so"
grep -qF "missing ../../../etc/passwd" "$T/junk/report.html" || fail "a picture outside overlays/ is read"
! grep -qE '<b>s|<i>x|<u>m' "$T/junk/report.html" || fail "names from the files are not escaped"
grep -qF '&lt;b&gt;s' "$T/junk/report.html" || fail "escaped stage name missing"
[ ! -e "$T/junk/report.html.tmp" ] || fail "temp file left"

# the page in a real browser: the screenshot has the window's size and is not blank
command -v chromium > /dev/null || fail "chromium is not installed (scripts/deps.sh installs it)"
[ -x "$PNGCHECK" ] || fail "no $PNGCHECK (make test builds it)"
timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$T/chromium" --screenshot="$T/shot.png" --window-size=1280,2000 \
    "file://$(cd "$R" && pwd)/report.html" > "$T/chromium.log" 2>&1
[ -s "$T/shot.png" ] || fail "chromium wrote no screenshot: $(tail -5 "$T/chromium.log")"
set -- $("$PNGCHECK" "$T/shot.png") || fail "pngcheck failed"
[ "$1 $2" = "1280 2000" ] || fail "screenshot is $1x$2, not 1280x2000"
[ "$3" -ge 300 ] || fail "screenshot has only $3 colours: blank or broken page"
awk -v p="$4" 'BEGIN { exit !(p >= 10 && p <= 90) }' || fail "screenshot is $4 % non-white"
echo "screenshot: $1x$2, $3 colours, $4 % non-white"
exit 0
