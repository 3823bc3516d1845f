#!/bin/sh
# repl_leak.sh — a long session does not grow. 1,000 inputs of every kind
# (tensors computed, programs compiled and evicted from the cache with
# their JIT code, nets applied, constants and nets redefined, training
# steps, errors, :commands) run as one script. Under `make DEBUG=1 test`
# (AddressSanitizer) LeakSanitizer must find nothing at exit; in the
# normal build the resident size after input 1,000 may not exceed the one
# after input 250 by more than 6 MB, and the JIT may hold no more code
# objects than the bounded program cache needs. The figures are printed.
. tests/cli/lib.inc
cp tests/repl/tiny.seg "$T/"
N=1000

# one input per line; every 50th a :memory line to watch
awk -v n=$N 'BEGIN {
    for (i = 1; i <= n; i++) {
        k = i % 10
        if (i % 250 == 0)      print ":memory"
        else if (i % 100 == 1) print ":train s.fit steps=1"
        else if (i % 97 == 0)  print "net tiny(ch = " 2 + i % 3 ", size = 16) { input image : f32[B, 1, size, size]  h = relu(conv(image, ch, k = 3, pad = 1))  scope head { y = conv(h, 1, k = 1) }  output mask = sigmoid(y) }"
        else if (k == 0)       print "x = uniform([1, 1, 16, 16], seed = " i ")"
        else if (k == 1)       print "y = tiny()(x)"
        else if (k == 2)       print "z = relu(x - 0." i % 40 ") * " i % 40
        else if (k == 3)       print "c = " i
        else if (k == 4)       print "bad = relu(nothing_" i ")"
        else if (k == 5)       print ":stats z"
        else if (k == 6)       print "m = cast(y > 0.5, \"i32\")"
        else if (k == 7)       print "sum(z) + c"
        else if (k == 8)       print ":type tiny()(x)"
        else                   print "w = [c, c + 1]"
    }
    print ":memory"
}' > "$T/script.txt"
[ "$(wc -l < "$T/script.txt")" -ge $N ] || fail "the script has fewer than $N inputs"

(cd "$T" && "$SEGC" repl tiny.seg < script.txt > out 2> err)
code=$?
[ "$code" = 65 ] || fail "exit code $code, expected 65 (the script has failing inputs)"
grep -q "LeakSanitizer" "$T/err" && fail "leaks: $(grep -A20 LeakSanitizer "$T/err" | head -40)"
grep -q "ERROR: AddressSanitizer\|runtime error:" "$T/err" && fail "sanitizer: $(grep -B2 -A20 'ERROR\|runtime error' "$T/err" | head -40)"
errors=$(grep -c ": error: unknown name 'nothing_" "$T/err")
want=$(grep -c '^bad = ' "$T/script.txt")
[ "$errors" = "$want" ] || fail "$errors located errors, expected $want"
grep -q "^y: f32\[1, 1, 16, 16\]" "$T/out" || fail "no tensor results"
grep -q "^s.fit: 1 step" "$T/out" || fail "no training steps"

grep '^resident' "$T/out" > "$T/mem"
[ "$(wc -l < "$T/mem")" = 5 ] || fail "expected 5 :memory lines, got $(cat "$T/mem")"
echo "memory after inputs 250, 500, 750, 1000 and at the end:"
cat "$T/mem"
case $SEGC in
*/build-debug/segc) echo "(AddressSanitizer build: LeakSanitizer found no leak; sizes not compared)" ;;
*)
    first=$(sed -n '1s/^resident \([0-9.]*\) MB.*/\1/p' "$T/mem")
    last=$(sed -n '5s/^resident \([0-9.]*\) MB.*/\1/p' "$T/mem")
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b - a <= 6) }' ||
        fail "the resident size grew from $first MB to $last MB"
    jit=$(sed -n '5s/.* \([0-9]*\) JIT code objects.*/\1/p' "$T/mem")
    [ "$jit" -le 60 ] || fail "$jit JIT code objects are still loaded"
    echo "growth from input 250 to the end: $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", b - a }') MB"
    ;;
esac
echo ok
