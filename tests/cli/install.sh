#!/bin/sh
# install.sh — the usual CLI habits: `segc --version` names segc, LLVM,
# OpenBLAS and the JIT's CPU; `segc help --man` is the help text as a
# manual page; `make install PREFIX=...` installs the binary, the
# standard library and segc.1, and the installed binary finds its own
# standard library (not the source tree's); on a terminal, `segc train`
# draws a progress line and erases it before each epoch line.
. tests/cli/lib.inc
fail() { echo "FAIL: $*"; exit 1; }

run "$SEGC" --version
expect 0
out_has "segc 0."
grep -qE '^LLVM [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "no LLVM version: $(cat "$T/out")"
out_has "OpenBLAS: OpenBLAS "
grep -qE '^JIT: .*, CPU [^ ]+, kernels use ' "$T/out" || fail "no JIT CPU line: $(cat "$T/out")"
grep -qE '^  features: [a-z0-9]' "$T/out" || fail "no CPU features"
run "$SEGC" --version extra
usage_err "unexpected argument 'extra'"
run "$SEGC" --help
out_has "--version"

# the manual page: the same commands and options as segc help
run "$SEGC" help --man
expect 0
head -1 "$T/out" | grep -q '^\.TH SEGC 1 ' || fail "no .TH line"
cp "$T/out" "$T/segc.1"
for c in check ir params run train plan bench kir report cache; do
    grep -q "^\.B segc $c " "$T/segc.1" || fail "manual lacks command $c"
done
for o in net set threads schedule resume no\\\\-jit emit\\\\-llvm; do
    grep -q "^\.B \\\\-\\\\-$o" "$T/segc.1" || fail "manual lacks option --$o"
done
grep -q "^SEG_STDLIB" "$T/segc.1" && fail "environment names must follow .B"
grep -q "^\.B SEG_STDLIB" "$T/segc.1" || fail "manual lacks SEG_STDLIB"
if command -v man > /dev/null; then
    MANWIDTH=80 man -l "$T/segc.1" > "$T/man.txt" 2> "$T/man.err" || fail "man -l: $(cat "$T/man.err")"
    grep -q "segc report RUN_DIR" "$T/man.txt" || fail "rendered manual lacks segc report"
    grep -qi "warning" "$T/man.err" && fail "man warns: $(cat "$T/man.err")"
fi

# make install into a scratch prefix (the build that $SEGC belongs to)
case $SEGC in */build-debug/segc) dbg=DEBUG=1 ;; *) dbg= ;; esac
P="$T/prefix"
# shellcheck disable=SC2086
make --no-print-directory $dbg install PREFIX="$P" > "$T/make.log" 2>&1 || fail "make install: $(tail -5 "$T/make.log")"
for f in bin/segc share/segc/stdlib/nn.seg share/segc/stdlib/losses.seg share/man/man1/segc.1; do
    [ -s "$P/$f" ] || fail "make install did not install $f"
done
[ -x "$P/bin/segc" ] || fail "installed segc is not executable"
cmp -s "$P/share/man/man1/segc.1" "$T/segc.1" || fail "installed segc.1 is not segc help --man"
printf 'import "std/nn"\nnet n() {\n    input x : f32[1, 1, 8, 8]\n    output y = relu(x)\n}\n' > "$T/imp.seg"
(unset SEG_STDLIB; "$P/bin/segc" check "$T/imp.seg") > "$T/out" 2> "$T/err" || fail "installed segc: $(cat "$T/err")"
# it reads the installed stdlib: without it the import fails and names that folder
mv "$P/share/segc/stdlib/nn.seg" "$P/share/segc/stdlib/nn.off"
(unset SEG_STDLIB; "$P/bin/segc" check "$T/imp.seg") > "$T/out" 2> "$T/err" && fail "import should fail"
grep -qF "$P/share/segc/stdlib/nn.seg" "$T/err" || fail "installed stdlib not searched: $(cat "$T/err")"

# the progress line on a terminal: drawn after steps, erased before epoch lines
if command -v script > /dev/null; then
    script -qec "$SEGC train tests/cli/train/tiny.seg --schedule noval --out $T/tty --threads 1" \
        /dev/null > "$T/tty.log" 2>&1 || fail "train on a pty: $(tail -3 "$T/tty.log")"
    grep -q "only 1/2 \[#" "$T/tty.log" || fail "no progress line on a terminal"
    tr '\r' '\n' < "$T/tty.log" | grep -q "3/3 loss [0-9.]* [0-9.]*s/step" || fail "no step count and s/step"
    # every epoch line starts right after an erase, so no progress text is left in front of it
    tr '\r' '\n' < "$T/tty.log" | grep "epoch   1/2" | grep -qv '^.\[Konly  *epoch' \
        && fail "epoch line not on a cleaned line: $(tr '\r' '\n' < "$T/tty.log" | grep 'epoch   1/2' | od -c | head)"
    "$SEGC" train tests/cli/train/tiny.seg --schedule noval --out "$T/notty" --threads 1 > "$T/notty.log" 2>&1
    grep -q "\[#" "$T/notty.log" && fail "progress line written to a file"
fi
exit 0
