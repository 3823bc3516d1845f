#!/bin/sh
# Data-parallel training under mpirun (runtime/dist.c, cli/cli_dist.c), 2
# ranks on this machine over loopback: 2 ranks x batch 1 train the same
# network as 1 rank x batch 2 (within float rounding: one batched backward
# sums the two samples' contributions in another order than the average of
# two per-rank gradients), with a frozen second stage; 1 rank under mpirun
# is bit for bit a plain run; a 2-rank checkpoint resumes on 1 rank; a NaN,
# a killed rank and ranks running different programs stop the job with a
# message naming the rank; segc plan says what a step communicates.
. tests/cli/lib.inc
if ! command -v mpirun > /dev/null 2>&1; then
    echo "SKIP: mpirun is not installed (scripts/deps.sh installs openmpi-bin)"
    exit 0
fi
MPI="mpirun --allow-run-as-root --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo"
# Under `make DEBUG=1 test`: OpenMPI's own start-up allocations (MPI_Init,
# its dlopen()ed components) are never freed and LeakSanitizer would fail
# every rank on them; leaks are not checked in this script, only ASan and
# UBSan's other reports (segc's own leaks are checked by every other test).
if nm -D "$SEGC" 2> /dev/null | grep -q __asan_init; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
F="$(pwd)/tests/cli/train/dp.seg"
DIFF="python3 $(pwd)/tests/tools/ckpt_diff.py"
TOL=1e-5
cd "$T" || exit 1

# 1 rank x batch 2 against 2 ranks x batch 1, both stages
"$SEGC" train "$F" --schedule dp --out one --seed 5 --threads 1 > one.log 2>&1 || fail "1 rank: $(tail -3 one.log)"
$MPI -np 2 "$SEGC" train "$F" --schedule dp --out two --seed 5 --threads 1 > two.log 2>&1 \
    || fail "2 ranks: $(tail -20 two.log)"
[ "$(grep -c '^data parallel: 2 ranks, 1 thread each' two.log)" = 1 ] || fail "rank 0 alone should print: $(head -3 two.log)"
$DIFF one/ckpt/last.safetensors two/ckpt/last.safetensors $TOL > d.txt || fail "2 ranks differ from 1 rank: $(cat d.txt)"
$DIFF one/ckpt/best-two.safetensors two/ckpt/best-two.safetensors $TOL > d.txt || fail "best-two differs: $(cat d.txt)"
# the comparison can fail: another seed trains other weights
"$SEGC" train "$F" --schedule dp --out other --seed 6 --threads 1 > other.log 2>&1 || fail "seed 6 run failed"
$DIFF one/ckpt/last.safetensors other/ckpt/last.safetensors $TOL > d.txt && fail "another seed gave the same weights: $(cat d.txt)"
# validation over both ranks' cases gives the 1-rank metrics
cut -d, -f1-10 one/metrics.csv > one.m; cut -d, -f1-10 two/metrics.csv > two.m
cmp -s one.m two.m || fail "metrics differ: $(diff one.m two.m)"
for f in report.html plan.csv ckpt/best-one.safetensors overlays/overlays.csv; do
    [ -s "two/$f" ] || fail "the 2-rank run folder lacks $f"
done

# 1 rank under mpirun: the same bits as without it
$MPI -np 1 "$SEGC" train "$F" --schedule dp --out mono --seed 5 --threads 1 > mono.log 2>&1 || fail "1 rank under mpirun failed"
cmp -s one/ckpt/last.safetensors mono/ckpt/last.safetensors || fail "mpirun -np 1 differs from a plain run"

# a 2-rank run stopped after epoch 2 resumes on 1 rank
SEGC_TEST_CRASH_AFTER_EPOCH=2 $MPI -np 2 "$SEGC" train "$F" --schedule dp --out res --seed 5 --threads 1 > res1.log 2>&1
[ $? = 70 ] || fail "the simulated crash should end the job with 70: $(tail -5 res1.log)"
grep -q "rank 0 of 2: simulated crash after epoch 2" res1.log || fail "crash message: $(cat res1.log)"
"$SEGC" train "$F" --schedule dp --resume res --seed 5 --threads 1 > res2.log 2>&1 || fail "resume on 1 rank: $(tail -3 res2.log)"
grep -q "stage one: resuming after epoch 2" res2.log || fail "resume point: $(grep resum res2.log)"
$DIFF two/ckpt/last.safetensors res/ckpt/last.safetensors $TOL > d.txt || fail "resumed on 1 rank: $(cat d.txt)"

# a NaN on a rank stops every rank at that step
$MPI -np 2 "$SEGC" train "$F" --schedule nan --out nan --threads 1 > nan.log 2>&1
[ $? = 70 ] || fail "NaN should end the job with 70"
# (mpirun forwards stdout and stderr separately, so another line may land
# between "segc: error: " and the message: match them apart)
grep -q "segc: error: " nan.log &&
grep -q "rank 0 of 2: stage 'boom', epoch 1, step 0: the loss is NaN; the first non-finite value comes from .*dp.seg:[0-9]*:[0-9]*: log" nan.log \
    || fail "NaN message: $(cat nan.log)"

# ranks running different programs are refused before training
sed 's/adam(lr = 1e-2)/adam(lr = 2e-2)/' "$F" > dp2.seg
$MPI -np 1 "$SEGC" train "$F" --schedule dp --out mix --threads 1 : -np 1 "$SEGC" train dp2.seg --schedule dp --out mix --threads 1 > mix.log 2>&1
[ $? = 70 ] || fail "mismatched programs should end with 70"
grep -q "the program (its files, --schedule, --set and --seed) differs between ranks (rank 1 against rank 0" mix.log || fail "mismatch message: $(cat mix.log)"
grep -q "epoch" mix.log && fail "training started with mismatched programs"

# a batch that does not split over the ranks
$MPI -np 3 "$SEGC" train "$F" --schedule dp --out three --threads 1 > three.log 2>&1
[ $? = 70 ] && grep -q "stage 'one': batch 2 does not split over 3 ranks" three.log || fail "batch 2 on 3 ranks: $(cat three.log)"

# a rank killed mid-run: the other stops with where it was, the checkpoint stays whole
$MPI -np 2 "$SEGC" train "$F" --schedule long --out kill --seed 5 --threads 1 > kill.log 2>&1 &
job=$!
i=0
while [ $i -lt 300 ] && ! { [ -s kill/metrics.csv ] && [ "$(wc -l < kill/metrics.csv)" -ge 3 ]; }; do
    sleep 0.2; i=$((i + 1))
done
victim=""
for p in $(pgrep -f "schedule long --out kill"); do
    tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
done
[ -n "$victim" ] || { kill "$job"; fail "no rank 1 to kill: $(cat kill.log)"; }
kill -9 "$victim"
wait "$job"
[ $? != 0 ] || fail "the job should fail when a rank dies"
grep -q "process rank 1 .* exited on signal 9" kill.log || fail "mpirun does not name the dead rank: $(cat kill.log)"
grep -q "segc: rank 0: ended by mpirun in stage 'only' after step [0-9]* (epoch [0-9]*, step [0-9])" kill.log \
    || fail "rank 0 does not say where it stopped: $(cat kill.log)"
$DIFF kill/ckpt/last.safetensors kill/ckpt/last.safetensors > d.txt || fail "the last checkpoint is damaged: $(cat d.txt)"
# two epochs past where it stopped (--resume refuses fewer epochs than the checkpoint has done)
more=$(($(wc -l < kill/metrics.csv) + 1))
"$SEGC" train "$F" --schedule long --resume kill --seed 5 --threads 1 --set epochs=$more > kill2.log 2>&1 \
    || fail "the killed run does not resume: $(tail -3 kill2.log)"

# segc plan: bytes per step; the frozen stage sends its 436 trainable scalars only
run "$SEGC" plan "$F" --schedule dp
expect 0
grep -q "^  communicated .* per step under mpirun: 468 bytes of trainable gradients in 1 bucket" "$T/out" || fail "stage one's bytes"
grep -q "^  communicated .* per step under mpirun: 1,744 bytes of trainable gradients in 1 bucket" "$T/out" || fail "stage two's bytes"
exit 0
