#!/usr/bin/python3
"""Oracle for the plain-C engine's optimizer (src/model/adam.c, tests/unit/test_adam.c):
torch.optim.Adam and AdamW themselves (single-tensor path) on fixed gradients.

Usage: torch_adam.py OUTDIR
Writes raw little-endian float32 arrays, every parameter's values one after another in order:
  init.f32                    the parameters before the first step
  grad<s>.f32                 the gradients of step s (0..STEPS-1)
  <case>.params.f32           the parameters after the last step
  <case>.moments.f32          per parameter its exp_avg then its exp_avg_sq (the checkpoint's
                              "optim" layout)
and cases.txt: one line per case, name kind lr beta1 beta2 eps weight_decay.
"""
import os
import sys

import torch

STEPS = 7
SHAPES = [(37,), (16, 8), (5,), (3, 33)]  # odd sizes: the vector loops' tails
CASES = [  # name, kind, lr, beta1, beta2, eps, weight_decay
    ("adam", "adam", 1e-2, 0.9, 0.999, 1e-8, 1e-3),
    ("adam_nowd", "adam", 3e-3, 0.9, 0.999, 1e-8, 0.0),
    ("adamw", "adamw", 1e-2, 0.9, 0.999, 1e-8, 1e-2),
    ("adamw_betas", "adamw", 5e-2, 0.8, 0.99, 1e-6, 0.1),
]


def flat(ts):
    return torch.cat([t.detach().reshape(-1) for t in ts])


def save(out, name, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(out, name + ".f32"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(4321)
    init = [torch.randn(s) * 0.5 for s in SHAPES]
    grads = [[torch.randn(s) * (0.1 + step) for s in SHAPES] for step in range(STEPS)]
    save(out, "init", flat(init))
    for step, g in enumerate(grads):
        save(out, "grad%d" % step, flat(g))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        for name, kind, lr, b1, b2, eps, wd in CASES:
            params = [p.clone().requires_grad_(True) for p in init]
            cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
            opt = cls(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, foreach=False)
            for g in grads:
                for p, gi in zip(params, g):
                    p.grad = gi.clone()
                opt.step()
            save(out, name + ".params", flat(params))
            moments = []
            for p in params:
                moments += [opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"]]
            save(out, name + ".moments", flat(moments))
            f.write("%s %s %r %r %r %r %r\n" % (name, kind, lr, b1, b2, eps, wd))


if __name__ == "__main__":
    main()
