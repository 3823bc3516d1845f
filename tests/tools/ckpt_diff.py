#!/usr/bin/env python3
"""ckpt_diff.py A B [TOL] — compare the parameters of two segc checkpoints.

Reads both safetensors files (8-byte little-endian header length, JSON
header, data), takes every F32 tensor that is not optimizer state
(names starting with "optim."), and prints the largest absolute
difference, relative to the largest absolute value of that tensor. Exit
0 when every tensor has the same names and shapes in both and each
difference is at most TOL (default 0: bit for bit), else 1. Used by
tests/cli/mpi.sh; plain Python, no numpy.
"""
import json
import struct
import sys


def tensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    head = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in head.items():
        if name == "__metadata__" or e["dtype"] != "F32" or name.startswith("optim."):
            continue
        a, b = e["data_offsets"]
        count = (b - a) // 4
        out[name] = (tuple(e["shape"]), struct.unpack_from("<%df" % count, body, a))
    return out


def main():
    a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    if sorted(a) != sorted(b):
        print("names differ: %s" % sorted(set(a) ^ set(b)))
        return 1
    worst, where, bad = 0.0, "", 0
    for name in sorted(a):
        (sa, va), (sb, vb) = a[name], b[name]
        if sa != sb:
            print("%s: shape %s against %s" % (name, sa, sb))
            return 1
        scale = max(max(abs(x) for x in va), 1e-30)
        d = max(abs(x - y) for x, y in zip(va, vb)) / scale
        if d > worst:
            worst, where = d, name
        bad += d > tol
    print("%d tensors, largest relative difference %.3g%s" %
          (len(a), worst, " (%s)" % where if where else ""))
    return 1 if bad else 0


sys.exit(main())
