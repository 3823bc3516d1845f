#!/usr/bin/python3
"""optim_torch.py — reference numbers from PyTorch for tests/unit/test_optim.c.

Runs torch.optim.SGD / Adam / AdamW for three steps on one 5-element f32
parameter with fixed gradients, and torch.nn.utils.clip_grad_norm_ on two
gradient tensors, then prints the results as C initialisers to paste into
the test. The inputs below must stay identical to those in test_optim.c.

Usage: /usr/bin/python3 bench/optim_torch.py
"""
import torch

P0 = [0.5, -1.25, 2.0, 0.0, 3.5]
GRADS = [  # one row per step
    [0.1, -0.2, 0.3, -0.4, 0.5],
    [-0.3, 0.25, 0.0, 1.5, -0.05],
    [0.7, 0.01, -0.6, 0.2, 0.9],
]

CASES = [
    ("sgd_nesterov", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                               weight_decay=0.01)),
    ("sgd_dampening", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1)),
    ("adam_l2", lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    ("adamw", lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
]


def c_floats(xs):
    return "{" + ", ".join("%.9g" % float(x) for x in xs) + "}"


def run(make):
    p = torch.nn.Parameter(torch.tensor(P0, dtype=torch.float32))
    opt = make([p])
    rows = []
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        rows.append(p.detach().clone().tolist())
    return rows


def clip_case():
    a = torch.nn.Parameter(torch.zeros(3))
    b = torch.nn.Parameter(torch.zeros(2))
    a.grad = torch.tensor([0.3, -1.2, 2.0])
    b.grad = torch.tensor([0.5, 0.25])
    total = torch.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    return float(total), a.grad.tolist() + b.grad.tolist()


def main():
    print("/* torch %s, bench/optim_torch.py */" % torch.__version__)
    for name, make in CASES:
        rows = run(make)
        print("static const float torch_%s[3][5] = {" % name)
        for r in rows:
            print("    %s," % c_floats(r))
        print("};")
    total, grads = clip_case()
    print("static const double torch_clip_total = %.17g;" % total)
    print("static const float torch_clip_grads[5] = %s;" % c_floats(grads))


if __name__ == "__main__":
    main()
