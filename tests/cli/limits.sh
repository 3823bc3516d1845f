#!/bin/sh
# limits.sh — costs that stay bounded whatever the input (issue 13):
#   - 100,000 unknown names: the error cap stops the reporting, and the
#     did-you-mean search with it (it was quadratic, over 120 s);
#   - a 100,000-step loop: the memory plan (compiler/memplan.c) and its
#     check (runtime/arena_plan.c) are O(n log n) (both were quadratic:
#     40,000 steps took 13.6 s of CPU, 100,000 over a minute);
. tests/cli/lib.inc

# within LIMIT seconds, or fail naming what took too long
in_time() {
    limit=$1; shift
    t0=$(date +%s)
    run timeout "$limit" "$@"
    [ "$code" != 124 ] || fail "took more than $limit s: $*"
    echo "  $(( $(date +%s) - t0 )) s: $*"
}

# --- the did-you-mean search past the error cap
awk 'BEGIN {
    print "net big() {"; print "    input x : f32[1, 1, 4, 4, 4]"
    for (i = 0; i < 100000; i++) printf "    v%d = zz%d\n", i, i
    print "    output y = x"; print "}" }' > "$T/names.seg"
in_time 20 "$SEGC" check "$T/names.seg"
expect 65
err_has "names.seg:3:10: error: unknown name 'zz0'"
err_has "too many errors, stopping"

# --- the memory planner and its check on a long loop
cat > "$T/loop.seg" <<'SEG'
net loop(n = 100000) {
    input x : f32[1, 1, 4, 4, 4]
    h = x
    for i in 1..n {
        h = relu(h) * 0.5
    }
    output y = h
}
SEG
in_time 30 "$SEGC" run "$T/loop.seg" --no-jit --threads 1
expect 0

echo "limits ok"
