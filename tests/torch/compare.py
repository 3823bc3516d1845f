#!/usr/bin/python3
"""compare.py — recompute every case that opdump wrote with PyTorch.

Usage: /usr/bin/python3 tests/torch/compare.py DUMP_DIR [OPS_DEF]

Reads DUMP_DIR/manifest.jsonl (see tests/torch/opdump.c), loads the raw
little-endian inputs, recomputes the op with torch on the CPU (one thread)
and, where opdump dumped gradients, d sum(out * R) / d input with autograd.
Prints one line per case, `ok NAME` or `FAIL NAME max_abs_err max_rel_err
(what)`, then `N passed, N failed`; exits 1 on any failure.

Tolerance: f32 results pass when |segc - torch| <= 1e-4 * max(|torch|, 0.1)
element by element (relative 1e-4 with an absolute floor of 1e-5); NaN
must meet NaN and infinities must agree. Integer and bool results must be
equal. max_rel_err is |segc - torch| / max(|torch|, 0.1).

With OPS_DEF (runtime/ops.def), also checks that every forward op of the
table has at least one case, so a new op cannot go untested.

Where segc's definition differs from PyTorch's on purpose, the torch side
is written to segc's definition and the difference is said here:
  - div on i32 truncates toward zero: torch.div(rounding_mode='trunc')
    (torch's true division would give floats);
  - comparisons give u8 0/1: torch's bool results are compared as 0/1;
  - one_hot puts the class axis at attrs.axis (1, channels-first):
    F.one_hot(...).movedim(-1, axis) and cast to f32;
  - upsample takes the output size, so it is interpolate(size=...), never
    scale_factor=...; align_corners=False;
  - pools: ceil_mode=False, avg pools count_include_pad=True;
  - global_avgpool is adaptive_avg_pool{1,2,3}d(x, 1);
  - reductions with axes == 0 reduce every axis; max is torch.amax, whose
    gradient is shared evenly between tied maxima, as segc's;
  - dropout: random masks cannot match torch's generator. Settings that
    are deterministic (p = 0 in training, or training = 0) are compared
    with F.dropout / F.dropout{1,2,3}d exactly. In the *_mask cases the keep
    mask is read off segc's own output (out != 0; channelwise: any non-zero
    in the (n, c) plane, broadcast over it) and torch computes
    x * mask / (1 - p) and its gradient, which checks the scaling, that
    channelwise dropout drops whole planes, and the backward, but not the
    randomness.
"""
import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

NP = {"f32": "<f4", "i32": "<i4", "u8": "u1"}
TD = {"f32": torch.float32, "i32": torch.int32, "u8": torch.uint8}

# forward ops that are not compared: leaves, random draws, the grad marker
# and the backward ops that only autodiff emits (those are exercised
# through every gradient comparison).
NOT_COMPARED = {
    "input", "param", "const", "rand_uniform", "rand_normal", "rand_bernoulli", "grad",
    "conv_bwd_data", "conv_bwd_weight", "maxpool_bwd", "avgpool_bwd", "upsample_bwd",
    "batchnorm_bwd_data", "batchnorm_bwd_gamma", "slice_bwd",
    # made by compiler/fuse.c from ops compared here; whole fused programs
    # are checked by the V-Net comparison and the JIT-vs-interpreter tests
    "fused",
}


def load(d, t):
    a = np.fromfile(os.path.join(d, t["file"]), dtype=NP[t["dtype"]])
    a = a.reshape(t["shape"])
    return torch.from_numpy(a.copy())


def load_like(d, fname, ref):
    a = np.fromfile(os.path.join(d, fname), dtype="<f4").reshape(tuple(ref.shape))
    return torch.from_numpy(a.copy())


# ------------------------------------------------------------------ ops

def nsp_of(x):
    return x.dim() - 2


def conv(x, w, b, a):
    n = nsp_of(x)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[n]
    return fn(x, w, b, stride=a["stride"][:n], padding=a["pad"][:n],
              dilation=a["dilation"][:n], groups=a["groups"])


def conv_t(x, w, b, a):
    n = nsp_of(x)
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[n]
    return fn(x, w, b, stride=a["stride"][:n], padding=a["pad"][:n],
              output_padding=a["out_pad"][:n], groups=a["groups"],
              dilation=a["dilation"][:n])


def maxpool(x, a):
    n = nsp_of(x)
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    return fn(x, a["kernel"][:n], a["stride"][:n], a["pad"][:n], ceil_mode=False)


def avgpool(x, a):
    n = nsp_of(x)
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    return fn(x, a["kernel"][:n], a["stride"][:n], a["pad"][:n], ceil_mode=False,
              count_include_pad=True)


def global_avgpool(x):
    n = nsp_of(x)
    fn = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[n]
    return fn(x, 1)


def upsample(x, a, out_shape):
    n = nsp_of(x)
    if a["mode"] == 0:
        mode = "nearest"
        kw = {}
    else:
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[n]
        kw = {"align_corners": False}
    return F.interpolate(x, size=tuple(out_shape[2:]), mode=mode, **kw)


def dropout(x, a, case, out_segc):
    p, training, cw = a["p"], bool(a["training"]), bool(a["channelwise"])
    if case["name"].endswith("_mask"):
        keep = out_segc != 0
        if cw:
            keep = keep.flatten(2).any(dim=2).reshape(
                list(x.shape[:2]) + [1] * (x.dim() - 2)).expand_as(x)
        return x * keep.to(x.dtype) / (1 - p)
    if cw:
        fn = {3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}.get(x.dim(), F.dropout2d)
        return fn(x, p, training)
    return F.dropout(x, p, training)


def reduce_dims(a, rank):
    axes = a["axes"] or (1 << rank) - 1
    return tuple(i for i in range(rank) if axes >> i & 1)


def reduce(op, x, a):
    dims = reduce_dims(a, x.dim())
    keep = bool(a["keepdim"])
    if op == "sum":
        return torch.sum(x, dim=dims, keepdim=keep)
    if op == "mean":
        return torch.mean(x, dim=dims, keepdim=keep)
    return torch.amax(x, dim=dims, keepdim=keep)


def slice_(x, a):
    idx = tuple(slice(a["begin"][i], a["end"][i], a["step"][i]) for i in range(x.dim()))
    return x[idx]


def cast(x, dtype):
    return x.to(dtype)  # f32 -> int truncates toward zero; i32 -> u8 wraps modulo 256


BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "pow": torch.pow,
    "minimum": torch.minimum, "maximum": torch.maximum,
    "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge, "eq": torch.eq,
    "ne": torch.ne,
}


def unary(op, x, a):
    if op == "neg":
        return torch.neg(x)
    if op == "relu":
        return F.relu(x)
    if op == "leaky_relu":
        return F.leaky_relu(x, a["alpha"])
    if op == "sigmoid":
        return torch.sigmoid(x)
    if op == "tanh":
        return torch.tanh(x)
    if op == "exp":
        return torch.exp(x)
    if op == "log":
        return torch.log(x)
    if op == "abs":
        return torch.abs(x)
    if op == "sqrt":
        return torch.sqrt(x)
    if op == "erf":
        return torch.erf(x)
    if op == "clamp":
        return torch.clamp(x, a["lo"], a["hi"])
    raise KeyError(op)


def forward(case, xs, out_segc, state):
    """The op on torch tensors xs; state collects BN running statistics."""
    op, a = case["op"], case["attrs"]
    out_shape = case["out"]["shape"]
    if op == "conv":
        return conv(xs[0], xs[1], xs[2] if len(xs) > 2 else None, a)
    if op == "conv_t":
        return conv_t(xs[0], xs[1], xs[2] if len(xs) > 2 else None, a)
    if op == "maxpool":
        return maxpool(xs[0], a)
    if op == "avgpool":
        return avgpool(xs[0], a)
    if op == "global_avgpool":
        return global_avgpool(xs[0])
    if op == "upsample":
        return upsample(xs[0], a, out_shape)
    if op == "batchnorm":
        rm, rv = xs[3].detach().clone(), xs[4].detach().clone()
        y = F.batch_norm(xs[0], rm, rv, xs[1], xs[2], training=bool(a["training"]),
                         momentum=a["momentum"], eps=a["eps"])
        state.extend([rm, rv])
        return y
    if op == "dropout":
        return dropout(xs[0], a, case, out_segc)
    if op == "concat":
        return torch.cat(xs, dim=a["axis"])
    if op == "slice":
        return slice_(xs[0], a)
    if op == "reshape":
        return xs[0].reshape(out_shape)
    if op == "permute":
        return xs[0].permute(a["perm"][:xs[0].dim()])
    if op == "broadcast":
        return xs[0].expand(out_shape)
    if op == "cast":
        return cast(xs[0], TD[case["out"]["dtype"]])
    if op == "one_hot":
        y = F.one_hot(xs[0].to(torch.int64), a["count"]).to(torch.float32)
        return y.movedim(-1, a["axis"])
    if op == "div":
        if xs[0].dtype == torch.int32:
            return torch.div(xs[0], xs[1], rounding_mode="trunc")
        return torch.div(xs[0], xs[1])
    if op in BINARY:
        y = BINARY[op](xs[0], xs[1])
        return y.to(torch.uint8) if y.dtype == torch.bool else y
    if op == "where":
        return torch.where(xs[0].bool(), xs[1], xs[2])
    if op in ("sum", "mean", "max"):
        return reduce(op, xs[0], a)
    if op == "softmax":
        return F.softmax(xs[0], dim=a["axis"])
    if op == "log_softmax":
        return F.log_softmax(xs[0], dim=a["axis"])
    if op == "argmax":
        return torch.argmax(xs[0], dim=a["axis"]).to(torch.int32)
    if op == "matmul":
        return torch.matmul(xs[0], xs[1])
    if op == "stop_grad":
        return xs[0].detach()
    try:
        return unary(op, xs[0], a)
    except KeyError:
        raise NotImplementedError("no torch reference for op '%s'" % op)


# ------------------------------------------------------------ comparison

def diff(got, ref):
    """(ok, max_abs, max_rel, note) for one tensor."""
    if tuple(got.shape) != tuple(ref.shape):
        return False, float("inf"), float("inf"), "shape %s vs torch %s" % (
            list(got.shape), list(ref.shape))
    if got.numel() == 0:
        return True, 0.0, 0.0, ""
    if not ref.is_floating_point():
        bad = got.to(torch.int64) != ref.to(torch.int64)
        n = int(bad.sum())
        if n == 0:
            return True, 0.0, 0.0, ""
        e = (got.to(torch.int64) - ref.to(torch.int64)).abs().max().item()
        i = int(bad.flatten().nonzero()[0])
        return False, float(e), float("inf"), "%d elements differ, first at flat %d: %s vs torch %s" % (
            n, i, got.flatten()[i].item(), ref.flatten()[i].item())
    g, r = got.double(), ref.double()
    gn, rn = torch.isnan(g), torch.isnan(r)
    ginf, rinf = torch.isinf(g), torch.isinf(r)
    special_bad = (gn != rn) | ((ginf | rinf) & ~(gn | rn) & (g != r))
    fin = ~(gn | rn | ginf | rinf)
    err = torch.where(fin, (g - r).abs(), torch.zeros_like(g))
    rel = err / torch.clamp(r.abs(), min=0.1)
    bad = special_bad | (rel > 1e-4)
    ma = err.max().item()
    mr = rel.max().item()
    if special_bad.any():
        ma = mr = float("nan")
    if not bad.any():
        return True, ma, mr, ""
    i = int(bad.flatten().nonzero()[0])
    return False, ma, mr, "%d elements out of tolerance, first at flat %d: %.9g vs torch %.9g" % (
        int(bad.sum()), i, g.flatten()[i].item(), r.flatten()[i].item())


def run_case(d, case):
    """List of (what, ok, max_abs, max_rel, note)."""
    xs0 = [load(d, t) for t in case["inputs"]]
    out_segc = load(d, case["out"])
    grads = case.get("grads") or [None] * len(xs0)
    xs = []
    for x, g in zip(xs0, grads):
        if g is not None:
            x = x.clone().requires_grad_(True)
        xs.append(x)
    state = []
    y = forward(case, xs, out_segc, state)
    res = [("out",) + diff(out_segc, y.detach())]
    if case.get("state"):
        for k, (fname, ref) in enumerate(zip(case["state"], state)):
            got = load_like(d, fname, ref)
            res.append(("running_%s" % ("mean", "var")[k],) + diff(got, ref))
    if case.get("R") is not None:
        r = load(d, case["R"])
        want = [x for x, g in zip(xs, grads) if g is not None]
        if y.requires_grad:
            tg = torch.autograd.grad((y * r).sum(), want, allow_unused=True)
        else:  # nothing depends on the inputs (stop_grad)
            tg = [None] * len(want)
        j = 0
        for k, (x, g) in enumerate(zip(xs, grads)):
            if g is None:
                continue
            ref = tg[j] if tg[j] is not None else torch.zeros_like(x)
            j += 1
            got = load_like(d, g, x)
            res.append(("grad%d" % k,) + diff(got, ref.detach()))
    return res


def forward_ops(ops_def):
    names = []
    with open(ops_def) as f:
        for line in f:
            m = re.match(r'\s*RT_OP\(\s*\w+\s*,\s*"(\w+)"', line)
            if m:
                names.append(m.group(1))
    return [n for n in names if n not in NOT_COMPARED]


def main():
    if len(sys.argv) < 2:
        print("usage: compare.py DUMP_DIR [OPS_DEF]", file=sys.stderr)
        return 2
    d = sys.argv[1]
    passed = failed = 0
    seen = set()
    with open(os.path.join(d, "manifest.jsonl")) as f:
        cases = [json.loads(line) for line in f if line.strip()]
    for case in cases:
        name = case["name"]
        seen.add(case["op"])
        if case.get("error"):
            print("FAIL %s inf inf (segc: %s)" % (name, case["error"]))
            failed += 1
            continue
        try:
            res = run_case(d, case)
        except Exception as e:  # a torch-side problem is a failure too
            print("FAIL %s inf inf (torch: %s: %s)" % (name, type(e).__name__, e))
            failed += 1
            continue
        bad = [r for r in res if not r[1]]
        if not bad:
            print("ok %s" % name)
            passed += 1
            continue
        failed += 1
        ma = max(r[2] for r in bad)
        mr = max(r[3] for r in bad)
        notes = "; ".join("%s: %s" % (r[0], r[4]) for r in bad)
        print("FAIL %s %.3g %.3g (%s)" % (name, ma, mr, notes))
    if len(sys.argv) > 2:
        missing = [n for n in forward_ops(sys.argv[2]) if n not in seen]
        if missing:
            print("FAIL coverage: no case for op%s %s" % ("s" if len(missing) > 1 else "",
                                                         ", ".join(missing)))
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
