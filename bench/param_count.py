#!/usr/bin/env python3
"""param_count.py — PyTorch reference parameter counts for segc's models.

Defines, in plain PyTorch, the two networks whose parameter counts segc must
match exactly, and prints one line per network:

    unet2d img_ch=1 output_ch=1 34525889
    unet2d img_ch=3 output_ch=1 34527041
    boosting_unet3d levels=4 base=32 in_ch=1 out_ch=1 2711425
    distill_2d teacher ... / distill_2d student ...   (models/distill_2d.seg)
    vnet levels=5 base=16 in_ch=1 out_ch=2 65175314      (models/vnet.seg)

(34,527,041 is the seed's default img_ch=3; with one input channel the first
conv has 2*64*9 = 1152 weights fewer.)

- unet2d: the U_Net of METHODS S4 (seeds/003_…, LeeJunHyun's
  Image_Segmentation code): conv_block = 2 x (Conv2d 3x3 pad 1 with bias ->
  BatchNorm2d -> ReLU), up_conv = Upsample(x2, nearest) -> Conv2d 3x3 with
  bias -> BatchNorm2d -> ReLU, final Conv2d 1x1. models/unet2d.seg.
- boosting_unet3d: the 3D U-Net of METHODS S1 (models/boosting_unet3d.seg):
  level i has i*base channels; encoder i = (MaxPool3d 2 for i > 1) then
  2 x (Conv3d 3 pad 1 -> ReLU); decoder i < n = trilinear x2 upsample,
  concat the skip, 2 x (Conv3d -> ReLU); head Conv3d 1x1x1 -> sigmoid.

Counts are of nn.Module.parameters() (BN running statistics are buffers and
not counted), which is what `segc params` reports as its total.

Usage: python3 bench/param_count.py [--forward]   (--forward also runs one
forward pass on a small input to check the shapes)
"""
import sys

import torch
import torch.nn as nn


class conv_block(nn.Module):
    def __init__(self, ch_in, ch_out):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(ch_in, ch_out, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(ch_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch_out, ch_out, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(ch_out),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.conv(x)


class up_conv(nn.Module):
    def __init__(self, ch_in, ch_out):
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(ch_in, ch_out, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(ch_out),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.up(x)


class U_Net(nn.Module):
    """The seed's U_Net, verbatim apart from formatting."""

    def __init__(self, img_ch=3, output_ch=1):
        super().__init__()
        self.Maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.Conv1 = conv_block(ch_in=img_ch, ch_out=64)
        self.Conv2 = conv_block(ch_in=64, ch_out=128)
        self.Conv3 = conv_block(ch_in=128, ch_out=256)
        self.Conv4 = conv_block(ch_in=256, ch_out=512)
        self.Conv5 = conv_block(ch_in=512, ch_out=1024)
        self.Up5 = up_conv(ch_in=1024, ch_out=512)
        self.Up_conv5 = conv_block(ch_in=1024, ch_out=512)
        self.Up4 = up_conv(ch_in=512, ch_out=256)
        self.Up_conv4 = conv_block(ch_in=512, ch_out=256)
        self.Up3 = up_conv(ch_in=256, ch_out=128)
        self.Up_conv3 = conv_block(ch_in=256, ch_out=128)
        self.Up2 = up_conv(ch_in=128, ch_out=64)
        self.Up_conv2 = conv_block(ch_in=128, ch_out=64)
        self.Conv_1x1 = nn.Conv2d(64, output_ch, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        x1 = self.Conv1(x)
        x2 = self.Conv2(self.Maxpool(x1))
        x3 = self.Conv3(self.Maxpool(x2))
        x4 = self.Conv4(self.Maxpool(x3))
        x5 = self.Conv5(self.Maxpool(x4))
        d5 = self.Up_conv5(torch.cat((x4, self.Up5(x5)), dim=1))
        d4 = self.Up_conv4(torch.cat((x3, self.Up4(d5)), dim=1))
        d3 = self.Up_conv3(torch.cat((x2, self.Up3(d4)), dim=1))
        d2 = self.Up_conv2(torch.cat((x1, self.Up2(d3)), dim=1))
        return self.Conv_1x1(d2)


class Encoder3d(nn.Module):
    def __init__(self, ch_in, ch, pool):
        super().__init__()
        self.pool = nn.MaxPool3d(2) if pool else nn.Identity()
        self.conv0 = nn.Conv3d(ch_in, ch, 3, padding=1)
        self.conv1 = nn.Conv3d(ch, ch, 3, padding=1)

    def forward(self, x):
        x = self.pool(x)
        return torch.relu(self.conv1(torch.relu(self.conv0(x))))


class Decoder3d(nn.Module):
    def __init__(self, ch_below, ch_skip, ch):
        super().__init__()
        self.conv0 = nn.Conv3d(ch_below + ch_skip, ch, 3, padding=1)
        self.conv1 = nn.Conv3d(ch, ch, 3, padding=1)

    def forward(self, skip, below):
        up = nn.functional.interpolate(below, scale_factor=2, mode="trilinear",
                                       align_corners=False)
        h = torch.cat((up, skip), dim=1)
        return torch.relu(self.conv1(torch.relu(self.conv0(h))))


class BoostingUNet3d(nn.Module):
    """models/boosting_unet3d.seg: net unet(levels, base, in_ch, out_ch)."""

    def __init__(self, levels=4, base=32, in_ch=1, out_ch=1):
        super().__init__()
        self.levels = levels
        self.encoder = nn.ModuleList()
        prev = in_ch
        for i in range(1, levels + 1):
            self.encoder.append(Encoder3d(prev, i * base, i > 1))
            prev = i * base
        self.decoder = nn.ModuleList()
        for i in range(levels - 1, 0, -1):
            self.decoder.append(Decoder3d((i + 1) * base, i * base, i * base))
        self.head = nn.Conv3d(base, out_ch, 1)

    def forward(self, x):
        skips = []
        for enc in self.encoder:
            x = enc(x)
            skips.append(x)
        d = skips[-1]
        for k, dec in enumerate(self.decoder):
            d = dec(skips[self.levels - 2 - k], d)
        return torch.sigmoid(self.head(d))


def conv_bn(ci, co, k=3, stride=1, bias=True):
    return [nn.Conv2d(ci, co, k, stride, k // 2, bias=bias), nn.BatchNorm2d(co)]


class BasicBlock(nn.Module):
    def __init__(self, ci, co, stride):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(ci, co, 3, stride, False), nn.ReLU(),
                                  *conv_bn(co, co, 3, 1, False))
        self.short = (nn.Sequential(*conv_bn(ci, co, 1, stride, False))
                      if stride != 1 or ci != co else nn.Identity())

    def forward(self, x):
        return self.body(x) + self.short(x)   # pre-ReLU


class GloRe(nn.Module):
    """facebookresearch/GloRe GloRe_Unit_2D(num_in, num_mid = nodes)."""

    def __init__(self, c, nodes):
        super().__init__()
        s = 2 * nodes
        self.state = nn.Conv2d(c, s, 1)
        self.proj = nn.Conv2d(c, nodes, 1)
        self.gcn1 = nn.Conv1d(nodes, nodes, 1)
        self.gcn2 = nn.Conv1d(s, s, 1, bias=False)
        self.extend = nn.Conv2d(s, c, 1, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=1e-4)

    def forward(self, x):
        n, c, h, w = x.shape
        xs = self.state(x).view(n, -1, h * w)
        b = self.proj(x).view(n, -1, h * w)
        v = torch.matmul(xs, b.permute(0, 2, 1))
        hh = self.gcn1(v.permute(0, 2, 1)).permute(0, 2, 1) + v
        z = self.gcn2(torch.relu(hh))
        y = torch.matmul(z, b).view(n, -1, h, w)
        return x + self.bn(self.extend(y))


def double_conv_bn(ci, co):
    return nn.Sequential(*conv_bn(ci, co), nn.ReLU(), *conv_bn(co, co), nn.ReLU())


class Teacher(nn.Module):
    """models/distill_2d.seg net teacher: ResNet-34 encoder U-Net."""

    def __init__(self, in_ch=1, out_ch=1):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(in_ch, 64, 7, 2, False), nn.ReLU())
        layers, ci = [], 64
        for n, co, st in ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(ci, co, st if j == 0 else 1))
                ci = co
            layers.append(nn.ModuleList(blocks))
        self.layers = nn.ModuleList(layers)
        self.dec = nn.ModuleList(double_conv_bn(a + b, c) for a, b, c in
                                 ((512, 256, 256), (256, 128, 128), (128, 64, 64), (64, 64, 32)))
        self.head = nn.Conv2d(32, out_ch, 1)
        self.glore = GloRe(64, 16)
        self.edge = nn.Conv2d(64, 1, 1)

    def forward(self, x):
        up = nn.functional.interpolate
        e = [self.stem(x)]
        h = nn.functional.max_pool2d(e[0], 3, 2, 1)
        for layer in self.layers:
            for blk in layer:
                h = torch.relu(blk(h))
            e.append(h)
        d = e[4]
        for k, dec in enumerate(self.dec):
            d = dec(torch.cat((up(d, scale_factor=2), e[3 - k]), 1))
        edge = up(self.edge(self.glore(e[0])), scale_factor=2, mode="bilinear")
        return torch.sigmoid(up(self.head(d), scale_factor=2, mode="bilinear")) + 0 * edge


class Student(nn.Module):
    """models/distill_2d.seg net student (kd = false)."""

    def __init__(self, in_ch=1, out_ch=1, base=16):
        super().__init__()
        w = [base, 2 * base, 4 * base, 8 * base]
        self.enc = nn.ModuleList(double_conv_bn(a, b) for a, b in zip([in_ch] + w[:3], w))
        self.bottleneck = double_conv_bn(w[3], 16 * base)
        self.dec = nn.ModuleList(double_conv_bn(2 * c + c, c) for c in w)
        self.head = nn.Conv2d(base, out_ch, 1)

    def forward(self, x):
        e = []
        for i, enc in enumerate(self.enc):
            x = enc(nn.functional.max_pool2d(x, 2) if i else x)
            e.append(x)
        d = self.bottleneck(nn.functional.max_pool2d(x, 2))
        for i in range(3, -1, -1):
            d = self.dec[i](torch.cat((nn.functional.interpolate(d, scale_factor=2), e[i]), 1))
        return torch.sigmoid(self.head(d))


def count(m):
    return sum(p.numel() for p in m.parameters())


def vnet():
    """models/vnet.seg's V-Net: the module tests/torch/vnet.py compares with."""
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                    "torch"))
    import vnet as v
    return v.VNet()


class _VNetOut(nn.Module):
    """The V-Net with one output (the softmax), for the shape check."""

    def __init__(self):
        super().__init__()
        self.net = vnet()

    def forward(self, x):
        return self.net(x)[1]


def main():
    nets = [
        ("unet2d img_ch=1 output_ch=1", U_Net(img_ch=1, output_ch=1), (1, 1, 64, 64)),
        ("unet2d img_ch=3 output_ch=1", U_Net(img_ch=3, output_ch=1), (1, 3, 64, 64)),
        ("boosting_unet3d levels=4 base=32 in_ch=1 out_ch=1",
         BoostingUNet3d(levels=4, base=32, in_ch=1, out_ch=1), (1, 1, 16, 16, 16)),
        ("distill_2d teacher in_ch=1 out_ch=1", Teacher(), (2, 1, 64, 64)),
        ("distill_2d student in_ch=1 out_ch=1 base=16", Student(), (2, 1, 64, 64)),
        ("vnet levels=5 base=16 in_ch=1 out_ch=2", _VNetOut(), (1, 1, 16, 16, 16)),
    ]
    for name, net, shape in nets:
        if "--forward" in sys.argv[1:]:
            with torch.no_grad():
                y = net.eval()(torch.zeros(shape))
            assert y.shape[2:] == shape[2:], (name, y.shape)
        print(name, count(net))


if __name__ == "__main__":
    main()
