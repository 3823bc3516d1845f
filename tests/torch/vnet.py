#!/usr/bin/python3
"""vnet.py — the V-Net of models/vnet.seg in plain PyTorch, and the check
that segc computes what it computes.

The module (Milletari et al. 2016, as models/vnet.seg states it: residual
stages of 5x5x5 convs with PReLU, 2x2x2 strided convs down, 2x2x2
transposed convs up, a 1x1x1 head, softmax; no batch norm) names its
submodules so that its state_dict keys are segc's parameter names
(enc.1.down.conv.weight, enc.1.block.convs.0.weight, ...). So
load_state_dict(strict=True) of segc's parameters checks the names, the
shapes and the count at once.

Usage:
  /usr/bin/python3 tests/torch/vnet.py DUMP_DIR
      DUMP_DIR from tests/torch/netdump (models/vnet.seg, a small size):
      its parameters, input, outputs (reference interpreter and JIT) and
      the gradients of sum(mask * R) go into the torch module; prints the
      parameter counts, the largest differences and `N passed, N failed`.
  import vnet; vnet.VNet(...)   (bench/param_count.py counts it)

Tolerance: forward outputs within 1e-4 * max(|torch|, 0.1) element by
element (f32 rounding over ~20 layers of 5x5x5 sums); gradients within
1e-3 relative to the largest gradient of the tensor, since summation
orders differ between the three implementations.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


class Down(nn.Module):
    """2x2x2 conv stride 2 -> PReLU (or a transposed conv, up)."""

    def __init__(self, cin, cout, up=False):
        super().__init__()
        conv = nn.ConvTranspose3d if up else nn.Conv3d
        self.conv = conv(cin, cout, kernel_size=2, stride=2)
        self.prelu = nn.PReLU(cout)

    def forward(self, x):
        return self.prelu(self.conv(x))


class ResStage(nn.Module):
    """n 5x5x5 convs to ch with PReLU between them; PReLU(last + x)."""

    def __init__(self, cin, ch, n):
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv3d(cin if j == 0 else ch, ch, kernel_size=5, padding=2) for j in range(n)])
        self.prelus = nn.ModuleList([nn.PReLU(ch) for _ in range(n)])

    def forward(self, x):
        h = x
        n = len(self.convs)
        for j in range(n):
            h = self.convs[j](h)
            if j < n - 1:
                h = self.prelus[j](h)
        return self.prelus[n - 1](h + x)  # x of 1 channel broadcasts over ch


class Level(nn.Module):
    def __init__(self, down, block, up_name):
        super().__init__()
        if down is not None:
            setattr(self, up_name, down)
        self.block = block


class VNet(nn.Module):
    def __init__(self, levels=5, base=16, in_ch=1, out_ch=2, enc_convs=(1, 2, 3, 3, 3),
                 dec_convs=(1, 2, 3, 3)):
        super().__init__()
        ch = [base * 2 ** i for i in range(levels)]
        enc = []
        for i in range(levels):
            down = Down(ch[i - 1], ch[i]) if i else None
            enc.append(Level(down, ResStage(in_ch if i == 0 else ch[i], ch[i], enc_convs[i]), "down"))
        self.enc = nn.ModuleList(enc)
        dec = []
        for i in range(levels - 1):
            below = ch[levels - 1] if i == levels - 2 else 2 * ch[i + 1]
            dec.append(Level(Down(below, ch[i], up=True), ResStage(2 * ch[i], 2 * ch[i], dec_convs[i]),
                             "up"))
        self.dec = nn.ModuleList(dec)
        self.head = nn.Conv3d(2 * ch[0] if levels > 1 else ch[0], out_ch, kernel_size=1)

    def forward(self, x):
        skips = []
        h = x
        for i, lv in enumerate(self.enc):
            if i:
                h = lv.down(h)
            h = lv.block(h)
            skips.append(h)
        for i in range(len(self.dec) - 1, -1, -1):
            lv = self.dec[i]
            h = lv.block(torch.cat((lv.up(h), skips[i]), 1))
        logits = self.head(h)
        return logits, F.softmax(logits, dim=1)


def count(m):
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------ the check

def load(d, e):
    return torch.from_numpy(np.fromfile(os.path.join(d, e["file"]), dtype="<f4")
                            .reshape(e["shape"]).copy())


def close(name, got, want, rel, scale_of_tensor=False):
    diff = (got - want).abs()
    if scale_of_tensor:
        scale = max(float(want.abs().max()), 1e-12)
        bad = diff > rel * scale
    else:
        bad = diff > rel * torch.clamp(want.abs(), min=0.1)
    ok = not bool(bad.any()) and bool(torch.isfinite(got).all())
    print("%s %s max_abs_err %.3g" % ("ok  " if ok else "FAIL", name, float(diff.max())))
    return ok


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "net.json")) as f:
        m = json.load(f)
    a = m["args"]
    net = VNet(levels=a.get("levels", 5), base=a.get("base", 16), in_ch=a.get("in_ch", 1),
               out_ch=a.get("out_ch", 2))
    state = {p["name"]: load(d, p) for p in m["params"]}
    n_segc = sum(int(np.prod(p["shape"])) for p in m["params"])
    passed = failed = 0
    ok = count(net) == n_segc
    print("%s parameters: segc %d, torch %d" % ("ok  " if ok else "FAIL", n_segc, count(net)))
    passed, failed = passed + ok, failed + (not ok)
    net.load_state_dict(state, strict=True)  # names, shapes: an exception if any differ
    x = load(d, m["input"])
    R = load(d, m["R"])
    logits, mask = net(x)
    (mask * R).sum().backward()
    for impl in ("reference", "jit"):
        out = m[impl]
        for name, t in (("logits", logits), ("mask", mask)):
            ok = close("%s %s" % (impl, name), load(d, out[name]), t.detach(), 1e-4)
            passed, failed = passed + ok, failed + (not ok)
        worst = 0.0
        gok = True
        params = dict(net.named_parameters())
        for g in out["grads"]:
            want = params[g["param"]].grad
            got = load(d, g)
            scale = max(float(want.abs().max()), 1e-12)
            worst = max(worst, float((got - want).abs().max()) / scale)
            gok &= bool(((got - want).abs() <= 1e-3 * scale).all())
        print("%s %s gradients of %d parameters, max error %.3g of each tensor's largest"
              % ("ok  " if gok else "FAIL", impl, len(out["grads"]), worst))
        passed, failed = passed + gok, failed + (not gok)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
