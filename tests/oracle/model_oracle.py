#!/usr/bin/python3
"""Dumps reference forward outputs, loss terms and gradients of python/mer_model.py (mer's
model in PyTorch) for test_model.c.

Usage: model_oracle.py OUTDIR
One folder per case (prior mode x cross-entropy variant x fusion normalisation), each with
  weights.safetensors   the state_dict (F32), the names mer's model uses
  x0 x1 x2 p0 p1 p2 w mask y    the batch (raw little-endian .f32 / .i64)
  logits.f32 z.f32      forward outputs
  losses.txt            ce inter intra total
  grads.safetensors     d total / d parameter, for every parameter
and cases.txt listing: name mode ce attention_norm.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import mer_store  # noqa: E402
from mer_model import (ATTENTION_NORMS, CE_KINDS, MODES, PriorFusion,  # noqa: E402
                       total_loss)

DIMS = [20, 12, 16]
N, K, P = 12, 6, 10


def save_st(path, tensors):
    mer_store.write_file(path, [(name, "F32", t.detach().numpy()) for name, t in tensors.items()])


def raw(path, t):
    t.detach().contiguous().numpy().astype("<i8" if t.dtype == torch.int64 else "<f4").tofile(path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = []
    for mode in MODES:
        for ce in CE_KINDS:
            for norm in ATTENTION_NORMS:
                if (ce != "plain" or norm != "softmax") and mode not in ("none", "cross_attention"):
                    continue
                cases.append((f"{mode}-{ce}-{norm}", mode, ce, norm))
    cases.append(("valence-cross_attention-plain-softmax", "cross_attention", "plain", "softmax"))
    cases.append(("valence-none-plain-none", "none", "plain", "none"))
    counts = torch.tensor([30.0, 25, 20, 12, 9, 3])
    with open(os.path.join(out, "cases.txt"), "w") as listing:
        for i, (name, mode, ce, norm) in enumerate(cases):
            torch.manual_seed(100 + i)
            d = os.path.join(out, name)
            os.makedirs(d, exist_ok=True)
            valence_head = name.startswith("valence-")
            model = PriorFusion(DIMS, hidden=16, layers=2, dropout=0.0, n_classes=K, prior_dim=P,
                                mode=mode, heads=4, proj_dim=8, attention_norm=norm,
                                valence_head=valence_head)
            xs = [torch.randn(N, dim) for dim in DIMS]
            ps = [torch.randn(N, P) for _ in DIMS]
            w = torch.rand(N, 3)
            w[0] = 0           # a sample without any prior
            w[1, 2] = 0        # one missing trace
            mask = torch.ones(N, 3)
            mask[2, 1] = 0     # a sample without video
            y = torch.tensor([0, 1, 2, 0, 1, 5, 5, 3, 0, 0, 2, 1])  # class 4 absent
            logits, z, v = model(xs, ps, w, mask)
            valence = torch.randn(N) * 2
            valence[3] = float("nan")  # a sample without a valence label
            cfg = {"ce": ce, "tau": 0.1, "lambda_inter": 0.35, "lambda_intra": 0.1,
                   "lambda_valence": 0.5}
            total, parts = total_loss(model, logits, z, y, cfg, counts, v, valence)
            total.backward()
            save_st(os.path.join(d, "weights.safetensors"), dict(model.state_dict()))
            save_st(os.path.join(d, "grads.safetensors"),
                    {n: p.grad if p.grad is not None else torch.zeros_like(p)
                     for n, p in model.named_parameters()})
            for j in range(3):
                raw(os.path.join(d, f"x{j}.f32"), xs[j])
                raw(os.path.join(d, f"p{j}.f32"), ps[j])
            raw(os.path.join(d, "w.f32"), w)
            raw(os.path.join(d, "mask.f32"), mask)
            raw(os.path.join(d, "y.i64"), y)
            raw(os.path.join(d, "logits.f32"), logits)
            raw(os.path.join(d, "z.f32"), z)
            raw(os.path.join(d, "valence.f32"), valence)
            if v is not None:
                raw(os.path.join(d, "v.f32"), v)
            with open(os.path.join(d, "losses.txt"), "w") as f:
                f.write("%.9g %.9g %.9g %.9g %.9g\n" % (parts["ce"], parts["inter"], parts["intra"],
                                                   total, parts.get("valence", 0.0)))
            listing.write(f"{name} {mode} {ce} {norm}\n")


if __name__ == "__main__":
    main()
