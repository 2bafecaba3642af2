#!/usr/bin/python3
"""Oracle for the torch shim (tests/unit/test_torch.c): Python torch, written independently.

Usage: torch_mlp.py OUTDIR
Writes raw little-endian arrays (<name>.f32 / <name>.i64) and text loss curves:
  w1 b1 w2 b2 x y           initial weights of a 2-layer MLP and a fixed toy batch
  <opt>.losses              loss per step (one per line) for opt in sgd, adam, adamw_clip
  adamw_clip.norms          the gradient norm clip_grad_norm_ returned at each step
  <opt>.<param>.f32         weights after the last step
  ops_in, ln_w, ln_b        input of the single-op checks; ops_<name>.f32 their outputs
                            (ops_dropout after torch.manual_seed(7))
  ts.pt, ts_in, ts_out      a TorchScript module, an input and its output
"""
import os
import sys

import torch
import torch.nn.functional as F

STEPS = 6


def save(out, name, t):
    t = t.detach().contiguous()
    ext = "i64" if t.dtype == torch.int64 else "f32"
    t.numpy().astype("<i8" if ext == "i64" else "<f4").tofile(os.path.join(out, f"{name}.{ext}"))


def mlp_loss(params, x, y, act):
    w1, b1, w2, b2 = params
    h = F.linear(x, w1, b1)
    h = F.gelu(h) if act == "gelu" else F.relu(h)
    logits = F.linear(h, w2, b2)
    return -F.log_softmax(logits, 1).gather(1, y[:, None]).mean()  # cross-entropy


def train(out, name, init, x, y, make_opt, clip=None, act="relu"):
    params = [p.clone().requires_grad_(True) for p in init]
    opt = make_opt(params)
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = mlp_loss(params, x, y, act)
        loss.backward()
        if clip:
            norms.append(torch.nn.utils.clip_grad_norm_(params, clip).item())
        opt.step()
        losses.append(loss.item())
    for ext, values in (("losses", losses), ("norms", norms)):
        if values:
            with open(os.path.join(out, f"{name}.{ext}"), "w") as f:
                f.write("\n".join("%.9g" % v for v in values) + "\n")
    for pname, p in zip(("w1", "b1", "w2", "b2"), params):
        save(out, f"{name}.{pname}", p)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(8, 3)

    def forward(self, x):
        return torch.tanh(self.lin(x)) * 2.0


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    init = [torch.randn(16, 8) * 0.4, torch.randn(16) * 0.1, torch.randn(4, 16) * 0.4,
            torch.randn(4) * 0.1]
    x = torch.randn(32, 8)
    y = torch.randint(0, 4, (32,))
    for n, t in zip(("w1", "b1", "w2", "b2", "x", "y"), init + [x, y]):
        save(out, n, t)
    train(out, "sgd", init, x, y, lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=1e-3))
    train(out, "adam", init, x, y,
          lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3), act="gelu")
    train(out, "adamw_clip", init, x, y,
          lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1e-2), clip=0.5)

    a = torch.randn(5, 7)
    w, b = torch.randn(7), torch.randn(7)
    save(out, "ops_in", a)
    save(out, "ln_w", w)
    save(out, "ln_b", b)
    save(out, "ops_layer_norm", F.layer_norm(a, (7,), w, b, 1e-5))
    save(out, "ops_softmax", torch.softmax(a, 1))
    save(out, "ops_log_softmax", torch.log_softmax(a, 0))
    save(out, "ops_logsumexp", torch.logsumexp(a, 1))
    save(out, "ops_normalize", F.normalize(a, dim=1))
    save(out, "ops_sigmoid_tanh", torch.sigmoid(a) * torch.tanh(a))
    save(out, "ops_gelu", F.gelu(a))
    save(out, "ops_max", a.max(1, keepdim=True).values)
    save(out, "ops_mean", a.mean(0))
    save(out, "ops_masked_fill", a.masked_fill(a > 0, -2.5))
    save(out, "ops_index_select", a.index_select(0, torch.tensor([4, 0, 2])))
    save(out, "ops_cat", torch.cat([a, a * 2], 1))
    save(out, "ops_stack", torch.stack([a, a * 2], 0))
    save(out, "ops_matmul", a @ a.t())
    torch.manual_seed(7)
    save(out, "ops_dropout", F.dropout(a, 0.3, training=True))

    m = torch.jit.script(Tiny())
    m.save(os.path.join(out, "ts.pt"))
    ts_in = torch.randn(4, 8)
    save(out, "ts_in", ts_in)
    with torch.no_grad():
        save(out, "ts_out", m(ts_in))


if __name__ == "__main__":
    main()
