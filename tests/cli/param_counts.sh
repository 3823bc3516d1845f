#!/bin/sh
# param_counts.sh — the parameter counts of the seed models are exact:
#   S4 unet2d (img_ch 1, output_ch 1)      34,525,889 = PyTorch U_Net(1, 1)
#   S4 unet2d (img_ch 3, output_ch 1)      34,527,041 = PyTorch U_Net(3, 1), the seed's default
#   S1 boosting unet, 4 levels, base 32    2,711,425 (METHODS S1)
#   S1 boosting unet, 3 levels              1,107,393
#   S2 teacher / student                    24,430,626 / 1,965,281 (student <= teacher / 10)
#   V-Net (models/vnet.seg, PReLU by param) 65,175,314
# `segc params` ends with "total: 34,525,889 parameters (34525889)".
# When PyTorch is installed, the counts are also compared with
# bench/param_count.py's reference modules.
SEGC=${SEGC:-build/segc}
fail=0

total() { # FILE NET [--set K=V...] -> the plain total, or "error"
    f=$1; net=$2; shift 2
    out=$("$SEGC" params "$f" --net "$net" "$@" 2>&1) || { echo "segc failed on $f $net $*:" >&2; echo "$out" | head -5 >&2; echo error; return; }
    echo "$out" | sed -n 's/^total: .*(\([0-9]*\))$/\1/p'
}

expect() { # WANT FILE NET [--set ...]
    want=$1; shift
    got=$(total "$@")
    if [ "$got" = "$want" ]; then echo "ok   $* = $got"
    else echo "FAIL $*: got '$got', want $want"; fail=1; fi
}

expect 34525889 models/unet2d.seg unet2d
expect 34525889 models/unet2d.seg unet2d --set img_ch=1 --set output_ch=1
expect 34527041 models/unet2d.seg unet2d --set img_ch=3 --set output_ch=1
expect 2711425 models/boosting_unet3d.seg unet
expect 2711425 models/boosting_unet3d.seg unet --set levels=4 --set base=32 --set in_ch=1 --set out_ch=1
expect 1107393 models/boosting_unet3d.seg unet --set levels=3
expect 24430626 models/distill_2d.seg teacher
expect 1965281 models/distill_2d.seg student
expect 65175314 models/vnet.seg vnet

t=$(total models/distill_2d.seg teacher)
s=$(total models/distill_2d.seg student)
if [ -z "$t" ] || [ -z "$s" ] || [ "$t" = error ] || [ "$s" = error ]; then
    echo "FAIL no teacher / student count to compare"; fail=1
elif [ $((s * 10)) -le "$t" ]; then echo "ok   student $s <= teacher $t / 10"
else echo "FAIL student $s > teacher $t / 10"; fail=1; fi

# Against PyTorch, only when it is there.
if /usr/bin/python3 -c 'import torch' > /dev/null 2>&1; then
    ref=$(/usr/bin/python3 bench/param_count.py) || { echo "FAIL bench/param_count.py"; exit 1; }
    echo "$ref"
    torch_n() { echo "$ref" | grep "^$1 " | awk '{print $NF}'; }
    [ "$(torch_n 'unet2d img_ch=1 output_ch=1')" = "$(total models/unet2d.seg unet2d)" ] || { echo "FAIL unet2d(1, 1) != torch"; fail=1; }
    [ "$(torch_n 'unet2d img_ch=3 output_ch=1')" = "$(total models/unet2d.seg unet2d --set img_ch=3)" ] || { echo "FAIL unet2d(3, 1) != torch"; fail=1; }
    [ "$(torch_n 'boosting_unet3d levels=4')" = "$(total models/boosting_unet3d.seg unet)" ] || { echo "FAIL boosting unet != torch"; fail=1; }
    [ "$(torch_n 'distill_2d teacher')" = "$t" ] || { echo "FAIL teacher != torch"; fail=1; }
    [ "$(torch_n 'distill_2d student')" = "$s" ] || { echo "FAIL student != torch"; fail=1; }
    [ "$(torch_n 'vnet levels=5')" = "$(total models/vnet.seg vnet)" ] || { echo "FAIL vnet != torch"; fail=1; }
else
    echo "skip: no PyTorch, counts not compared with bench/param_count.py"
fi
exit $fail
