#!/usr/bin/python3
"""The same training step as `mer train` in eager PyTorch (python/mer_model.py), timed.
Usage: torch_ref.py STEPS HIDDEN MODE   -> prints "steps/s <x>" for one thread, batch 32."""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from mer_model import PriorFusion, total_loss  # noqa: E402


def main():
    steps, hidden, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    torch.manual_seed(0)
    dims, n, b = [1024, 768, 1024], 4024, 32  # 4 of 5 folds of 5,030 train each step
    prior_dim = 256 if mode != "none" else 0
    model = PriorFusion(dims, hidden=hidden, layers=2, dropout=0.3, prior_dim=prior_dim, mode=mode)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    xs = [torch.randn(n, d) for d in dims]
    ps = [torch.randn(n, 256) for _ in dims]
    w = torch.rand(n, 3)
    y = torch.randint(0, 6, (n,))
    counts = torch.bincount(y, minlength=6).float()
    model.train()

    def step(i):
        idx = torch.randint(0, n, (b,))
        logits, z, _ = model([x[idx] for x in xs], [p[idx] for p in ps], w[idx])
        loss, _ = total_loss(model, logits, z, y[idx], {}, counts)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for i in range(20):
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    print("steps/s %.1f" % (steps / (time.perf_counter() - t0)))


if __name__ == "__main__":
    main()
