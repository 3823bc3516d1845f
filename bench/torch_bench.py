#!/usr/bin/env python3
"""torch_bench.py — the PyTorch side of `make bench` (bench/run.sh).

Times one case per process, the same way `segc bench` does: warm-up steps
(1, or 2 from 5 timed steps on), then STEPS timed steps, median wall time;
peak RSS of the process (getrusage ru_maxrss, so run each case in a fresh
process — run.sh does). Prints one line:

    result: step_ms=... min_ms=... max_ms=... steps=N warmup=W threads=T rss_mb=... params=P trainable=Q

Cases (batch 1, random inputs; labels random 0/1):
    conv CIN COUT SIZE fwd     Conv3d(CIN, COUT, 3, padding=1) forward under no_grad
    conv CIN COUT SIZE train   forward, mean(y), backward, Adam step
    unet3d train  [--size 64]  BoostingUNet3d(levels=4) training step: batch Dice loss, Adam
    unet3d frozen [--size 64]  the same with the boosting schedule's stage-2 freezing:
                               levels 1-3 encoders, levels 1-2 decoders and the head
                               frozen; level-4 encoder and level-3 decoder trained
    unet3d infer  [--size 64]  eval() forward under no_grad
    unet2d train  [--size 256] U_Net(img_ch=1, output_ch=1) training step (BN in train
                               mode): BCE on logits + batch Dice, Adam(lr=1e-4)
    unet2d infer  [--size 256] eval() forward under no_grad
    unet3d sliding D H W [--overlap 0.5]
                               what `segc bench --volume DxHxW` times: eval() of the 4-level
                               U-Net over a random D x H x W volume in 64^3 tiles (nnU-Net's
                               steps for the overlap), one tile per forward, each output
                               weighted by the Gaussian importance map (sigma = 1/8 of the
                               tile) into a sum and a weight sum, divided at the end; one
                               forward of one tile warms up, a step is the whole volume

The networks come from bench/param_count.py, whose parameter counts equal
segc's (tests/cli/param_counts.sh checks that).

Usage: /usr/bin/python3 bench/torch_bench.py [--threads N] [--steps N] CASE ARGS...
"""
import argparse
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from param_count import BoostingUNet3d, U_Net  # noqa: E402


def dice_loss(p, g, smooth=1e-5):
    """std/losses dice_loss(batch = true, background = true, squared = false)."""
    n, c = p.shape[0], p.shape[1]
    pf, gf = p.reshape(n, c, -1), g.reshape(n, c, -1)
    inter = (pf * gf).sum(dim=(0, 2))
    den = pf.sum(dim=(0, 2)) + gf.sum(dim=(0, 2))
    return 1.0 - ((2.0 * inter + smooth) / (den + smooth)).mean()


def label_like(shape):
    return (torch.rand(shape) >= 0.5).float()


def train_step(model, params, lr, x, loss_fn):
    opt = torch.optim.Adam(params, lr=lr)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x))
        loss.backward()
        opt.step()
    return step


def infer_step(model, x):
    model.eval()

    def step():
        with torch.no_grad():
            model(x)
    return step


def sliding_steps(size, patch, overlap):
    """Tile origins along one axis, as runtime/sliding.c (nnU-Net's rule)."""
    if size <= patch:
        return [-((patch - size) // 2)]
    target = patch * (1 - overlap)
    n = int(math.ceil((size - patch) / target)) + 1
    actual = (size - patch) / (n - 1)
    return [int(math.floor(actual * i + 0.5)) for i in range(n)]


def gaussian(patch):
    """The importance map: exp(-(i - p // 2)^2 / (2 (p / 8)^2)) per axis, max 1."""
    axes = [torch.exp(-(torch.arange(p, dtype=torch.float32) - p // 2) ** 2 / (2 * (p / 8) ** 2))
            for p in patch]
    return axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]


def sliding_step(model, x, patch, overlap):
    """One whole volume x [1, C, D, H, W] (every axis at least the tile)."""
    model.eval()
    size = x.shape[2:]
    g = gaussian(patch)
    origins = [(z, y, w) for z in sliding_steps(size[0], patch[0], overlap)
               for y in sliding_steps(size[1], patch[1], overlap)
               for w in sliding_steps(size[2], patch[2], overlap)]

    def step():
        with torch.no_grad():
            acc, wsum = None, torch.zeros(size)
            for z, y, w in origins:
                out = model(x[:, :, z:z + patch[0], y:y + patch[1], w:w + patch[2]])[0]
                if acc is None:
                    acc = torch.zeros((out.shape[0],) + tuple(size))
                acc[:, z:z + patch[0], y:y + patch[1], w:w + patch[2]] += out * g
                wsum[z:z + patch[0], y:y + patch[1], w:w + patch[2]] += g
            return acc / wsum
    return step, len(origins)


def make_case(args):
    """(step function, model) for the case on the command line."""
    kind, rest = args.case[0], args.case[1:]
    if kind == "conv":
        cin, cout, size, mode = int(rest[0]), int(rest[1]), int(rest[2]), rest[3]
        model = nn.Conv3d(cin, cout, 3, padding=1)
        x = torch.rand(1, cin, size, size, size)
        if mode == "fwd":
            return infer_step(model, x), model
        return train_step(model, model.parameters(), 1e-3, x, lambda y: y.mean()), model
    if kind == "unet3d":
        size = args.size or 64
        model = BoostingUNet3d(levels=4, base=32, in_ch=1, out_ch=1)
        x = torch.rand(1, 1, size, size, size)
        label = label_like((1, 1, size, size, size))
        if rest[0] == "infer":
            return infer_step(model, x), model
        if rest[0] == "sliding":
            vol = torch.rand(1, 1, int(rest[1]), int(rest[2]), int(rest[3]))
            step, tiles = sliding_step(model, vol, (size, size, size), args.overlap)
            args.warm_step = infer_step(model, x)
            args.tiles = tiles
            return step, model
        params = list(model.parameters())
        lr = 1e-3
        if rest[0] == "frozen":
            # what grow1 = unet(levels = 3) trained is frozen in grow2
            frozen = list(model.encoder[:3]) + list(model.decoder[1:]) + [model.head]
            for m in frozen:
                for p in m.parameters():
                    p.requires_grad_(False)
            params = [p for p in model.parameters() if p.requires_grad]
            lr = 5e-4
        return train_step(model, params, lr, x, lambda y: dice_loss(y, label)), model
    if kind == "unet2d":
        size = args.size or 256
        model = U_Net(img_ch=1, output_ch=1)
        x = torch.rand(1, 1, size, size)
        label = label_like((1, 1, size, size))
        if rest[0] == "infer":
            return infer_step(model, x), model

        def loss_fn(z):
            bce = nn.functional.binary_cross_entropy_with_logits(z, label)
            return bce + dice_loss(torch.sigmoid(z), label)
        return train_step(model, model.parameters(), 1e-4, x, loss_fn), model
    sys.exit("torch_bench: unknown case %r" % " ".join(args.case))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("case", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.warm_step, args.tiles = None, 0
    step, model = make_case(args)
    # as segc bench: the fixed warm-up steps and, for short steps, at least
    # 300 ms of them (at most 100 steps); a whole volume warms up on one tile
    warmup, warm_ms = 0, 0.0
    if args.warm_step:
        args.warm_step()
        warmup, warm_ms = 1, 300.0
    while warmup < (2 if args.steps >= 5 else 1) or (warm_ms < 300.0 and warmup < 100):
        t0 = time.perf_counter()
        step()
        warm_ms += (time.perf_counter() - t0) * 1e3
        warmup += 1
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print("result: step_ms=%.3f min_ms=%.3f max_ms=%.3f steps=%d warmup=%d threads=%d "
          "rss_mb=%.1f params=%d trainable=%d torch=%s tiles=%d" % (
              statistics.median(times), min(times), max(times), args.steps, warmup,
              torch.get_num_threads(), rss_mb, params, trainable, torch.__version__, args.tiles))


if __name__ == "__main__":
    main()
