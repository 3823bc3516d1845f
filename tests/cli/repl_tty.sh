#!/bin/sh
# repl_tty.sh — `segc repl` on a terminal, driven through tmux (keys sent,
# the pane captured): the banner and prompts, Tab completion of names,
# commands, stages and parameter paths (a list on a second Tab), a
# continuation prompt and Ctrl-C abandoning it, the history file
# ($XDG_STATE_HOME/segc/history) written, and read back by the next
# session (Up recalls), Ctrl-C stopping :train after a step with the
# session going on, and Ctrl-D leaving.
. tests/cli/lib.inc
command -v tmux > /dev/null || { echo "tmux is missing (scripts/deps.sh installs it)"; exit 1; }

S="segc_repl_$$"
export XDG_STATE_HOME="$T/state"
cp tests/repl/tiny.seg "$T/"
kill_tmux() { tmux kill-session -t "$S" 2> /dev/null; }
trap kill_tmux EXIT
pane() { tmux capture-pane -t "$S" -p > "$T/out"; }
# wait_for TEXT: poll the pane (up to 30 s) until it shows TEXT
wait_for() {
    i=0
    while [ $i -lt 300 ]; do
        pane
        grep -qF -- "$1" "$T/out" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "--- waited for: $1" > "$T/err"
    fail "the pane never showed: $1"
}
keys() { tmux send-keys -t "$S" "$@"; }
start() {
    tmux new-session -d -s "$S" -x 150 -y 50 \
        "cd '$T' && XDG_STATE_HOME='$XDG_STATE_HOME' SEGC_CACHE_DIR='$SEGC_CACHE_DIR' '$SEGC' repl tiny.seg; sleep 30"
    wait_for "segc>"
}

start
grep -qF ":help lists the commands" "$T/out" || fail "no banner"
# a name completed by Tab (tiny is the only name starting "tin")
keys 'x = unif' Tab
wait_for 'x = uniform'
keys '([1, 1, 16, 16], seed = 1)' Enter
wait_for 'x: f32[1, 1, 16, 16]'
keys 'y = tin' Tab
wait_for 'y = tiny'
keys '()(x)' Enter
wait_for 'y: f32[1, 1, 16, 16]'
# a command, then a stage, completed
keys ':tra' Tab
wait_for ':train'
keys ' s.f' Tab
wait_for ':train s.fit'
keys ' steps=3' Enter
wait_for 's.fit: 3 steps'
# parameter paths: one completes, several are listed on a second Tab
keys ':params hea' Tab
wait_for ':params head.conv0.'
keys Tab Tab
wait_for 'head.conv0.bias'
grep -qF 'head.conv0.weight' "$T/out" || fail "Tab Tab did not list the candidates"
keys C-u
# an open bracket continues on "...> "; Ctrl-C abandons the input
keys 'z = [1,' Enter
wait_for '...>'
keys C-c
sleep 0.3
keys 'z = 5' Enter
wait_for 'z: int = 5'
# Ctrl-C stops :train after the step in progress; the session goes on
keys ':train steps=10000000' Enter
sleep 2
keys C-c
wait_for 'interrupted after'
grep -qE 'the parameters are those after step [0-9]+' "$T/out" || fail "no interrupted step"
keys 'sum(y)' Enter
wait_for 'f32[] ='
keys C-d
sleep 0.5
kill_tmux

# the history file holds the inputs, and the next session reads it back
H="$XDG_STATE_HOME/segc/history"
[ -s "$H" ] || fail "no history file at $H"
grep -q 'steps=3' "$H" || fail "history lacks an input: $(cat "$H")"
grep -q 'z\\040=\\040\[1,' "$H" && fail "an abandoned input went into the history"
start
keys Up
wait_for 'segc> sum(y)'
keys C-u C-d
sleep 0.3
echo ok
