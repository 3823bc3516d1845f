#!/usr/bin/env python3
"""crop_nifti.py — cut a box out of a NIfTI-1 volume (Python's standard
library only), for tests/cli/infer_real.sh: the crop keeps the voxel
type, pixdim and codes, and its qform and sform origins move to the box's
first voxel, so it lies exactly where it was in the scanner.

Usage: crop_nifti.py IN.nii[.gz] OUT.nii.gz X0 Y0 Z0 NX NY NZ
"""
import gzip
import math
import struct
import sys

SIZES = {2: 1, 4: 2, 8: 4, 16: 4, 64: 8, 256: 1, 512: 2}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    x0, y0, z0, nx, ny, nz = (int(v) for v in sys.argv[3:9])
    raw = gzip.open(src).read() if src.endswith('.gz') else open(src, 'rb').read()
    h = bytearray(raw[:348])
    dim = struct.unpack_from('<8h', h, 40)
    dtype = struct.unpack_from('<h', h, 70)[0]
    off = int(struct.unpack_from('<f', h, 108)[0])
    esz = SIZES[dtype]
    X, Y = dim[1], dim[2]
    body = bytearray()
    for z in range(z0, z0 + nz):
        for y in range(y0, y0 + ny):
            at = off + ((z * Y + y) * X + x0) * esz
            body += raw[at:at + nx * esz]
    struct.pack_into('<8h', h, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into('<f', h, 108, 352.0)
    pix = struct.unpack_from('<4f', h, 76)
    idx = (x0, y0, z0)
    srow = [list(struct.unpack_from('<4f', h, 280 + 16 * r)) for r in range(3)]
    for r in range(3):
        srow[r][3] += sum(srow[r][c] * idx[c] for c in range(3))
        struct.pack_into('<4f', h, 280 + 16 * r, *srow[r])
    b, c, d = struct.unpack_from('<3f', h, 256)
    a = math.sqrt(max(0.0, 1 - b * b - c * c - d * d))
    R = [[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
         [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
         [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b]]
    qfac = -1.0 if pix[0] < 0 else 1.0
    step = (x0 * pix[1], y0 * pix[2], z0 * pix[3] * qfac)
    q = list(struct.unpack_from('<3f', h, 268))
    for r in range(3):
        q[r] += sum(R[r][k] * step[k] for k in range(3))
    struct.pack_into('<3f', h, 268, *q)
    with gzip.open(dst, 'wb') as f:
        f.write(bytes(h) + b'\0\0\0\0' + bytes(body))


if __name__ == '__main__':
    main()
