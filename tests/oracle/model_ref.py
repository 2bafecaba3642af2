#!/usr/bin/python3
"""The prior-injected fusion network and its losses, in plain PyTorch: mer's independent reference.

This file states the math that src/model/ implements in C; the oracle tests compare the two
(forward outputs, every loss term, gradients) from identical weights, and scripts/bench times
this eager-PyTorch version against `mer train`. Dimension legend:
  N = batch, M = modalities (audio, video, text), D_m = feature dim of modality m,
  H = hidden, P = prior dim, K = classes, Z = projection dim.

Network (paper.md "Network"):
  h_m   = (Dropout -> Linear -> ReLU) x L  (x_m)                         [N, H]
  q_m   = Linear_P(p_m)                                                  [N, H]   prior token
  w_m   = mask_m * r_m   (r_m = reliability; mask_m = 0 when the prior is absent or
                          r_m < prior.min_reliability)
  injection, per mode:
    none             h'_m = h_m
    concat           h'_m = h_m + w_m * ReLU(W_c [h_m; q_m] + b_c)
    gate             h'_m = h_m + w_m * sigmoid(W_g [h_m; q_m] + b_g) * q_m
    film             h'_m = h_m + w_m * ((W_gamma q_m + b_gamma) * h_m + W_beta q_m + b_beta)
    cross_attention  T = [h'_1..h'_M] attends (multi-head) to the prior tokens [w_m q_m];
                     keys with w_m = 0 are masked out; a row with no prior key gets 0 from
                     attention; h' = LayerNorm(h + Attn(h, q, q))
  fusion (MER2024 attention baseline):
    a     = Linear_a(ReLU(Linear_f([h'_1; ..; h'_M])))                      [N, M]
    a     = softmax over present modalities   (attention_norm = softmax)
            or a * modality_mask              (attention_norm = none, the baseline's raw weights)
    f     = sum_m a_m h'_m                                                 [N, H]
  heads:
    logits = Linear_K(f)                                                   [N, K]
    z      = normalize(Linear_Z2(ReLU(Linear_Z1(f))))                      [N, Z]
    v      = Linear_1(f)      (valence_head)                               [N]
Losses (paper.md "Loss"):
  ce      plain | class_weighted (weights n / (K n_c), weighted mean) |
          logit_adjusted (logits + tau_la * log prior_c, training only)
  inter   Balanced Contrastive (Zhu et al., CVPR 2022): prototypes C = normalize(proto) [K, Z] join
          the contrast set; for anchor i, positives are same-class batch samples j != i and
          prototype y_i; denominator = sum over classes c of the MEAN of exp(z_i . k / tau) over
          class c's keys (batch samples != i, plus prototype c);
          L_i = -mean over positives p of log(exp(z_i . k_p / tau) / denominator); mean over i
  intra   mean over classes present in the batch of mean_i (1 - z_i . C_{y_i})
  valence mean over samples with a (finite) valence label of (v - label)^2; 0 without any
  total   ce + lambda_inter * inter + lambda_intra * intra (+ lambda_valence * valence)
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MODES = ("none", "concat", "gate", "film", "cross_attention")


class Encoder(nn.Module):
    def __init__(self, d_in, hidden, layers, dropout):
        super().__init__()
        dims = [d_in] + [hidden] * layers
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout

    def forward(self, x):
        for lin in self.linears:
            x = F.relu(lin(F.dropout(x, self.dropout, self.training)))
        return x


class PriorFusion(nn.Module):
    def __init__(self, dims, hidden=256, layers=2, dropout=0.3, n_classes=6, prior_dim=0,
                 mode="cross_attention", heads=4, proj_dim=128, attention_norm="softmax",
                 valence_head=False):
        super().__init__()
        assert mode in MODES
        self.m = len(dims)
        self.mode = mode if prior_dim else "none"
        self.heads = heads
        self.attention_norm = attention_norm
        self.encoders = nn.ModuleList(Encoder(d, hidden, layers, dropout) for d in dims)
        if self.mode != "none":
            self.prior_proj = nn.ModuleList(nn.Linear(prior_dim, hidden) for _ in dims)
        if self.mode in ("concat", "gate"):
            self.inject = nn.ModuleList(nn.Linear(2 * hidden, hidden) for _ in dims)
        elif self.mode == "film":
            self.gamma = nn.ModuleList(nn.Linear(hidden, hidden) for _ in dims)
            self.beta = nn.ModuleList(nn.Linear(hidden, hidden) for _ in dims)
        elif self.mode == "cross_attention":
            self.wq = nn.Linear(hidden, hidden)
            self.wk = nn.Linear(hidden, hidden)
            self.wv = nn.Linear(hidden, hidden)
            self.wo = nn.Linear(hidden, hidden)
            self.norm = nn.LayerNorm(hidden)
        self.fuse1 = nn.Linear(self.m * hidden, hidden)
        self.fuse2 = nn.Linear(hidden, self.m)
        self.classifier = nn.Linear(hidden, n_classes)
        self.proj1 = nn.Linear(hidden, hidden)
        self.proj2 = nn.Linear(hidden, proj_dim)
        self.prototypes = nn.Parameter(torch.randn(n_classes, proj_dim))
        self.valence = nn.Linear(hidden, 1) if valence_head else None

    def inject_priors(self, h, priors, w):
        """h: list of [N, H]; priors: list of [N, P]; w: [N, M] reliability * mask."""
        if self.mode == "none":
            return h
        q = [proj(p) for proj, p in zip(self.prior_proj, priors)]
        if self.mode == "cross_attention":
            return self.cross_attention(torch.stack(h, 1), torch.stack(q, 1), w)
        out = []
        for m in range(self.m):
            wm = w[:, m:m + 1]
            if self.mode == "concat":
                delta = F.relu(self.inject[m](torch.cat([h[m], q[m]], 1)))
            elif self.mode == "gate":
                delta = torch.sigmoid(self.inject[m](torch.cat([h[m], q[m]], 1))) * q[m]
            else:
                delta = self.gamma[m](q[m]) * h[m] + self.beta[m](q[m])
            out.append(h[m] + wm * delta)
        return out

    def cross_attention(self, t, q, w):
        n, m, hd = t.shape
        dh = hd // self.heads
        kv = q * w.unsqueeze(-1)
        Q = self.wq(t).view(n, m, self.heads, dh).transpose(1, 2)    # [N, heads, M, dh]
        K = self.wk(kv).view(n, m, self.heads, dh).transpose(1, 2)
        V = self.wv(kv).view(n, m, self.heads, dh).transpose(1, 2)
        s = Q @ K.transpose(-1, -2) / math.sqrt(dh)                  # [N, heads, M, M]
        keymask = (w > 0).view(n, 1, 1, m)
        s = s.masked_fill(~keymask, -1e30)
        a = torch.softmax(s, -1) * keymask                           # rows without keys -> 0
        o = (a @ V).transpose(1, 2).reshape(n, m, hd)
        out = self.norm(t + self.wo(o) * keymask.view(n, m, 1).any(1, keepdim=True))
        return list(out.unbind(1))

    def forward(self, xs, priors=None, prior_w=None, modality_mask=None):
        n = xs[0].shape[0]
        h = [enc(x) for enc, x in zip(self.encoders, xs)]
        if modality_mask is None:
            modality_mask = torch.ones(n, self.m)
        h = [hm * modality_mask[:, m:m + 1] for m, hm in enumerate(h)]
        if self.mode != "none":
            h = self.inject_priors(h, priors, prior_w)
        a = self.fuse2(F.relu(self.fuse1(torch.cat(h, 1))))
        if self.attention_norm == "softmax":
            a = torch.softmax(a.masked_fill(modality_mask == 0, -1e30), 1)
        else:
            a = a * modality_mask
        f = (torch.stack(h, 1) * a.unsqueeze(-1)).sum(1)
        logits = self.classifier(f)
        z = F.normalize(self.proj2(F.relu(self.proj1(f))), dim=1)
        v = self.valence(f).squeeze(1) if self.valence is not None else None
        return logits, z, v


def ce_loss(logits, y, kind="plain", class_counts=None, tau_la=1.0):
    if kind == "logit_adjusted":
        prior = class_counts / class_counts.sum()
        return F.cross_entropy(logits + tau_la * torch.log(prior), y)
    if kind == "class_weighted":
        k = len(class_counts)
        weight = class_counts.sum() / (k * class_counts.clamp(min=1))
        return F.cross_entropy(logits, y, weight=weight)
    return F.cross_entropy(logits, y)


def bcl_inter(z, y, prototypes, tau):
    """Balanced contrastive loss over a batch plus one prototype per class."""
    n, k = z.shape[0], prototypes.shape[0]
    c = F.normalize(prototypes, dim=1)
    keys = torch.cat([z, c], 0)                                    # [N+K, Z]
    key_y = torch.cat([y, torch.arange(k)], 0)                     # [N+K]
    logits = z @ keys.T / tau                                      # [N, N+K]
    not_self = torch.ones(n, n + k, dtype=torch.bool)
    not_self[torch.arange(n), torch.arange(n)] = False
    onehot = F.one_hot(key_y, k).float() * not_self.unsqueeze(-1)  # [N, N+K, K]
    per_class_count = onehot.sum(1)                                # [N, K] (>= 1: the prototype)
    exp = torch.exp(logits - logits.max(1, keepdim=True).values.detach())
    per_class_mean = (exp.unsqueeze(-1) * onehot).sum(1) / per_class_count
    log_den = torch.log(per_class_mean.sum(1, keepdim=True)) + logits.max(1, keepdim=True).values.detach()
    pos = (key_y.unsqueeze(0) == y.unsqueeze(1)) & not_self        # [N, N+K]
    log_prob = logits - log_den
    return -((log_prob * pos).sum(1) / pos.sum(1)).mean()


def bcl_intra(z, y, prototypes):
    c = F.normalize(prototypes, dim=1)
    d = 1 - (z * c[y]).sum(1)                                      # [N]
    classes = torch.unique(y)
    return torch.stack([d[y == cl].mean() for cl in classes]).mean()


def valence_loss(v, target):
    present = torch.isfinite(target)
    if not present.any():
        return v.sum() * 0
    return ((v[present] - target[present]) ** 2).mean()


def total_loss(model, logits, z, y, cfg, class_counts, v=None, valence=None):
    ce = ce_loss(logits, y, cfg.get("ce", "plain"), class_counts)
    inter = bcl_inter(z, y, model.prototypes, cfg.get("tau", 0.1))
    intra = bcl_intra(z, y, model.prototypes)
    total = ce + cfg.get("lambda_inter", 0.35) * inter + cfg.get("lambda_intra", 0.1) * intra
    parts = {"ce": ce, "inter": inter, "intra": intra}
    if v is not None:
        parts["valence"] = valence_loss(v, valence)
        total = total + cfg.get("lambda_valence", 1.0) * parts["valence"]
    return total, parts
