#!/bin/sh
# usage.sh — command-line mistakes exit 1 with a message on stderr and
# nothing on stdout, before any program is loaded.
. "$(dirname "$0")/lib.inc"
cd "$T" || exit 1

run "$SEGC"
expect 1
err_has "usage: segc"
out_empty

run "$SEGC" frobnicate tiny.seg
usage_err "unknown command 'frobnicate'"
err_has "segc --help"

run "$SEGC" --frobnicate
usage_err "unknown option '--frobnicate'"

run "$SEGC" run tiny.seg --bogus
usage_err "unknown option '--bogus'"
err_has "segc help run"

run "$SEGC" check --seed 1 tiny.seg      # check takes no --seed
usage_err "unknown option '--seed'"

run "$SEGC" params tiny.seg --train      # params takes no --train
usage_err "unknown option '--train'"

run "$SEGC" run
usage_err "missing FILE|CKPT argument"

run "$SEGC" check
usage_err "missing FILE... argument"

run "$SEGC" ir tiny.seg two.seg
usage_err "unexpected argument 'two.seg'"

run "$SEGC" run tiny.seg --seed abc
usage_err "--seed needs a non-negative integer, not 'abc'"

run "$SEGC" run tiny.seg --seed -4
usage_err "--seed needs a non-negative integer"

run "$SEGC" run tiny.seg --threads 0
usage_err "--threads needs a count from 1 to 1024, not '0'"

run "$SEGC" run tiny.seg --threads=many
usage_err "--threads needs a count"

run "$SEGC" ir tiny.seg --set ch
usage_err "--set needs KEY=VALUE, not 'ch'"

run "$SEGC" ir tiny.seg --set =3
usage_err "--set needs KEY=VALUE"

run "$SEGC" ir tiny.seg --net
usage_err "--net needs a value"

run "$SEGC" run tiny.seg --train=yes
usage_err "--train takes no value"

run "$SEGC" ir tiny.seg --net tiny --net=tiny
usage_err "--net given twice"

run "$SEGC" help frobnicate
usage_err "unknown command 'frobnicate'"

run "$SEGC" --help run
usage_err "unexpected argument 'run'"

run env SEGC_THREADS=lots "$SEGC" run tiny.seg
usage_err "SEGC_THREADS='lots' is not a thread count"

# A file that does not exist is a usage mistake too, named in the message.
run "$SEGC" check missing.seg
usage_err "cannot read 'missing.seg'"

run "$SEGC" run missing.seg
usage_err "cannot read 'missing.seg'"
exit 0
