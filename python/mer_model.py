"""mer's model in PyTorch, and a loader for the runs `mer train` writes.

    import sys; sys.path.insert(0, "path/to/mer/python")
    import mer_model

    run = mer_model.load_run("runs/base")          # config.json, every fold-K/model.safetensors,
                                                    # the stores config.json names, joined
    names, probs = run.probabilities("test")        # = predictions/test.csv's p_ columns
    names, logits, valence = run.logits("test")     # fold-averaged logits (valence or None)
    model = run.models[0]                           # fold 0: a PriorFusion (torch.nn.Module)
    logits, z, v = model(*run.inputs(rows))         # any rows of run.data

    model = mer_model.load_fold("runs/base", 2)     # one fold's model alone

This file is the reference statement of the math that src/model/ implements in C; the oracle
tests (tests/oracle/model_oracle.py, test_model.c) compare the two (forward outputs, every loss
term, gradients) from identical weights. Dimension legend:
  N = batch, M = modalities (audio, video, text), D_m = feature dim of modality m,
  H = hidden, P = prior dim, K = classes, Z = projection dim.

Network:
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
Losses:
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
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import mer_store  # beside this file: add the folder to sys.path

MODES = ("none", "concat", "gate", "film", "cross_attention")  # model.prior.mode
CE_KINDS = ("plain", "class_weighted", "logit_adjusted")          # loss.ce
ATTENTION_NORMS = ("softmax", "none")                             # model.fusion.attention_norm


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


# ---- runs of `mer train` ----

MODALITIES = ("audio", "video", "text")  # the dataset's modality order (data.audio, ...)


def _resolve(path, root=None):
    """A data.* path of a config: absolute as it is, relative against root (default: the
    working directory, where `mer train` resolved it)."""
    if not path or os.path.isabs(path) or root is None:
        return path
    return os.path.join(root, path)


def _get(cfg, key):
    v = cfg
    for part in key.split("."):
        if not isinstance(v, dict) or part not in v:
            raise KeyError(f"config: no key '{key}' (not a resolved config.json of a run?)")
        v = v[part]
    return v


class Data:
    """The samples of a run, joined by sample name as `mer train` joins them
    (src/model/dataset.c), in the labels store's order.

    names [N], label int64 [N] (-1 unlabeled), valence float32 [N], split int64 [N] (index
    into splits), classes, splits; modalities: the model's modalities in order (those of
    data.audio, data.video, data.text that are set), x: {modality: float32 [N, D]} (zeros
    where absent), present float32 [N, 3] (1 if the sample has that modality; audio, video,
    text), prior float32 [N, 3, P] or None, prior_weight float32 [N, 3]: the weight of each
    prior as train.c's prior_weight gives it (0 when absent, below prior.min_reliability or
    not in model.prior.modalities; else its reliability, or 1 without
    prior.scale_by_reliability)."""

    def rows(self, split):
        """Row indices of a split (all its samples, labeled or not), in store order."""
        if split not in self.splits:
            raise KeyError(f"no split '{split}' in the labels store (splits: {self.splits})")
        return np.flatnonzero(self.split == self.splits.index(split))


def _features(data, m, path, missing, nan):
    s = mer_store.open_store(path)
    if s.is_sequence:
        raise mer_store.StoreError(f"'{path}': frame-level features; import them with "
                                   "--pool mean or --pool max")
    x = s.matrix()
    rows = np.array([s.row(name) for name in data.names], np.int64)
    absent = np.flatnonzero(rows < 0)
    if absent.size and missing != "mask":
        names = ", ".join(f"'{data.names[i]}'" for i in absent[:5])
        raise mer_store.StoreError(f"'{path}': {absent.size} of {len(data.names)} samples have "
                                   f"no {MODALITIES[m]} features: {names}")
    _check_coverage(data, path, rows >= 0)
    out = np.zeros((len(data.names), s.dim), np.float32)
    out[rows >= 0] = x[rows[rows >= 0]]
    bad = ~np.isfinite(out)
    if bad.any():
        if nan != "zero":
            i, j = np.argwhere(bad)[0]
            raise mer_store.StoreError(f"'{path}': sample '{data.names[i]}': {MODALITIES[m]}: "
                                       f"non-finite value at column {j}")
        out[bad] = 0
    data.present[:, m] = rows >= 0
    return out


def _check_coverage(data, path, covered):
    """A store without any sample of some split was made for other data: refused, as mer
    refuses it (masking a whole split's modality or priors would be silently wrong)."""
    for k, split in enumerate(data.splits):
        in_split = data.split == k
        if in_split.any() and not covered[in_split].any():
            raise mer_store.StoreError(f"'{path}' covers 0 of the {in_split.sum()} samples of "
                                       f"split '{split}'")


def _priors(data, path):
    """prior [N, 3, P], reliability [N, 3], present [N, 3] joined by name (dataset.c)."""
    s = mer_store.open_store(path)
    n = len(data.names)
    rows = np.array([s.row(name) for name in data.names], np.int64)
    have = rows >= 0
    if s.kind == "priors":  # mer ingest: prior [N, 3, P], reliability, present
        return _ingested_priors(data, path, rows)
    # a features store [N, 3 * P] from mer import: a row with a non-finite value = no prior
    d = s.dim or 0
    if s.is_sequence or d % 3 or d == 0:
        raise mer_store.StoreError(f"'{path}': a priors store made by mer import must be "
                                   f"[N, 3 * P], got dimension {d}")
    pd = d // 3
    _check_coverage(data, path, have)
    prior = np.zeros((n, 3, pd), np.float32)
    prior[have] = s.matrix()[rows[have]].reshape(-1, 3, pd)
    ok = np.isfinite(prior).all(2) & have[:, None]
    prior[~ok] = 0
    return prior, ok.astype(np.float32), ok.astype(np.float32)


def _ingested_priors(data, path, rows):
    """A priors store of mer ingest, joined by sample name (it must hold every sample) and by
    class name: its K scores (after the embedding) are put in the labels' class order."""
    p = mer_store.read_priors(path)
    cls, want = p.classes, list(data.classes)
    if not isinstance(cls, list) or sorted(cls) != sorted(want) or len(set(cls)) != len(cls):
        raise mer_store.StoreError(f"'{path}' has classes {cls}, not those of the labels store "
                                   f"{want}: ingest the answers against that labels store")
    if (rows < 0).any():
        raise mer_store.StoreError(f"'{path}' covers {(rows >= 0).sum()} of the {len(rows)} "
                                   "samples of the labels store: ingest the answers against it")
    k, emb = len(want), p.embedding_dim
    if emb < 0 or emb + k + 1 != p.prior.shape[2]:
        raise mer_store.StoreError(f"'{path}': prior [N, 3, {p.prior.shape[2]}] does not hold an "
                                   f"embedding, {k} class scores and a contribution")
    prior = p.prior[rows].copy()
    perm = emb + np.array([want.index(c) for c in cls])
    prior[:, :, perm] = p.prior[rows][:, :, emb:emb + k]  # score of class cls[c] -> its index
    rel = p.reliability[rows]
    return prior, np.where(np.isfinite(rel), rel, 0).astype(np.float32), \
        (p.present[rows] != 0).astype(np.float32)


def load_data(config, root=None):
    """Data of a resolved config (a run's config.json, as a dict or a path): the labels
    store, the feature stores and the priors store named by data.*, joined by name. Relative
    paths are taken against root (default: the working directory); absolute ones as they
    are."""
    cfg = _load_json(config) if isinstance(config, (str, os.PathLike)) else config
    labels = mer_store.read_labels(_resolve(_get(cfg, "data.labels"), root))
    data = Data()
    data.names, data.label, data.valence = labels.names, labels.label, labels.valence
    data.split, data.classes, data.splits = labels.split, labels.classes, labels.splits
    n = len(data.names)
    data.present = np.zeros((n, 3), np.float32)
    data.x, data.modalities = {}, []
    missing, nan = _get(cfg, "data.missing"), _get(cfg, "data.nan")
    for m, name in enumerate(MODALITIES):
        path = _get(cfg, "data." + name)
        if path:
            data.x[name] = _features(data, m, _resolve(path, root), missing, nan)
            data.modalities.append(name)
    if not data.modalities:
        raise ValueError("no feature store in the config (data.audio, data.video, data.text)")
    data.prior = None
    data.prior_weight = np.zeros((n, 3), np.float32)
    priors = _get(cfg, "data.priors")
    if priors:
        data.prior, rel, pres = _priors(data, _resolve(priors, root))
        data.prior_weight = prior_weight(rel, pres, cfg)
    return data


def prior_weight(reliability, present, cfg):
    """Each prior's weight as train.c's prior_weight computes it: 0 when the trace is absent,
    its reliability is below prior.min_reliability, or its modality is not in
    model.prior.modalities; else the reliability (prior.scale_by_reliability) or 1."""
    chosen = np.array([m in _get(cfg, "model.prior.modalities") for m in MODALITIES])
    rel = np.asarray(reliability, np.float32)
    keep = chosen[None, :] & (np.asarray(present) > 0) & \
        ~(rel.astype(np.float64) < float(_get(cfg, "prior.min_reliability")))
    w = rel if _get(cfg, "prior.scale_by_reliability") else np.ones_like(rel)
    return np.where(keep, w, 0).astype(np.float32)


def _load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def build_model(cfg, weights):
    """A PriorFusion for a run's config and one fold's weights ({name: array}): modality dims,
    hidden size, layers, prior dim, classes, projection size and the valence head read from
    the weights; the injection mode, heads and fusion normalisation from the config."""
    layers = 0
    while f"encoders.0.linears.{layers}.weight" in weights:
        layers += 1
    dims = []
    while f"encoders.{len(dims)}.linears.0.weight" in weights:
        dims.append(int(weights[f"encoders.{len(dims)}.linears.0.weight"].shape[1]))
    if not dims or not layers:
        raise ValueError("not a mer model (no encoders.0.linears.0.weight)")
    hidden = int(weights["encoders.0.linears.0.weight"].shape[0])
    prior_dim = int(weights["prior_proj.0.weight"].shape[1]) if "prior_proj.0.weight" in weights \
        else 0
    mode = _get(cfg, "model.prior.mode") if prior_dim else "none"
    model = PriorFusion(dims, hidden=hidden, layers=layers, dropout=0.0,
                        n_classes=int(weights["classifier.weight"].shape[0]),
                        prior_dim=prior_dim, mode=mode, heads=int(_get(cfg, "model.prior.heads")),
                        proj_dim=int(weights["proj2.weight"].shape[0]),
                        attention_norm=_get(cfg, "model.fusion.attention_norm"),
                        valence_head="valence.weight" in weights)
    state = {k: torch.from_numpy(np.array(v, np.float32)) for k, v in weights.items()}
    model.load_state_dict(state, strict=True)  # every name and shape, or an error naming it
    return model.eval()


def load_fold(run_dir, fold, config=None):
    """Fold K's model of a run (run_dir/fold-K/model.safetensors), in eval mode."""
    cfg = config if config is not None else _load_json(os.path.join(run_dir, "config.json"))
    path = os.path.join(run_dir, f"fold-{fold}", "model.safetensors")
    f = mer_store.read_file(path, require_mer=True)
    if f.kind != "model":
        raise mer_store.StoreError(f"'{path}': not a model (mer.kind is '{f.kind}')")
    return build_model(cfg, f.tensors)


class Run:
    """A finished run of `mer train`: config (config.json), folds (the fold numbers loaded),
    models (one PriorFusion per fold), data (Data), fold_of (sample name -> its validation
    fold, from folds.json)."""

    def __init__(self, run_dir, root=None, folds=None):
        self.dir = run_dir
        self.config = _load_json(os.path.join(run_dir, "config.json"))
        k = int(_get(self.config, "train.folds"))
        self.folds = list(range(k)) if folds is None else list(folds)
        self.models = [load_fold(run_dir, f, self.config) for f in self.folds]
        self.data = load_data(self.config, root)
        folds_json = os.path.join(run_dir, "folds.json")
        self.fold_of = _load_json(folds_json)["folds"] if os.path.exists(folds_json) else {}
        m0 = self.models[0]
        dims = [self.data.x[m].shape[1] for m in self.data.modalities]
        if [e.linears[0].in_features for e in m0.encoders] != dims:
            raise ValueError(f"the models' input dims differ from the stores' {dims} "
                             f"({self.data.modalities})")
        if m0.mode != "none" and (self.data.prior is None
                                  or m0.prior_proj[0].in_features != self.data.prior.shape[2]):
            raise ValueError("the models' prior dim differs from the priors store's")

    def inputs(self, rows):
        """The model's inputs for samples rows of data, as train.c's gather_batch builds them:
        (xs, priors, prior_w, modality_mask) in the model's modality order."""
        d, rows = self.data, np.asarray(rows, np.int64)
        mods = [MODALITIES.index(m) for m in d.modalities]
        xs = [torch.from_numpy(d.x[m][rows]) for m in d.modalities]
        mask = torch.from_numpy(d.present[rows][:, mods])
        if d.prior is None or self.models[0].mode == "none":
            return xs, None, None, mask
        priors = [torch.from_numpy(d.prior[rows, m]) for m in mods]
        return xs, priors, torch.from_numpy(d.prior_weight[rows][:, mods]), mask

    @torch.no_grad()
    def fold_logits(self, rows, i):
        """models[i]'s logits [n, K] (float32) and valence [n] (or None) for rows."""
        logits, _, v = self.models[i](*self.inputs(rows))
        return logits.numpy(), None if v is None else v.numpy()

    def logits(self, split):
        """(names, logits [n, K], valence [n] or None) of a split under the fold ensemble, as
        predictions/<split>.csv holds them: the mean of the folds' logits (eval.ensemble
        logits), or the log of the mean of their probabilities (eval.ensemble probs)."""
        rows = self.data.rows(split)
        probs = _get(self.config, "eval.ensemble") == "probs"
        acc, val = 0, None
        for i in range(len(self.models)):
            z, v = self.fold_logits(rows, i)
            z = z.astype(np.float64)
            acc = acc + (_softmax(z) if probs else z)
            if v is not None:
                val = (0 if val is None else val) + v.astype(np.float64)
        acc = acc / len(self.models)
        z = np.log(np.maximum(acc, 1e-30)) if probs else acc
        return [self.data.names[r] for r in rows], z, \
            None if val is None else val / len(self.models)

    def probabilities(self, split):
        """(names, probabilities [n, K]): the p_<class> columns of predictions/<split>.csv."""
        names, z, _ = self.logits(split)
        return names, _softmax(z)

    def cv_logits(self):
        """(names, logits [n, K]) out of fold, as predictions/cv.csv: each training sample
        under the model of the fold that held it out (folds.json)."""
        names = [n for n in self.fold_of if self.fold_of[n] in self.folds]
        index = {n: i for i, n in enumerate(self.data.names)}
        rows = np.array([index[n] for n in names], np.int64)
        out = np.zeros((len(rows), len(self.data.classes)))
        for i, k in enumerate(self.folds):
            sel = np.array([self.fold_of[n] == k for n in names], bool)
            if sel.any():
                out[sel] = self.fold_logits(rows[sel], i)[0]
        order = np.argsort(rows, kind="stable")  # the labels store's order, as cv.csv
        return [names[j] for j in order], out[order]


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def load_run(run_dir, root=None, folds=None):
    """A Run: run_dir's config.json and fold models (all train.folds of them, or folds), and
    the data of the stores its config names (relative paths against root, default the
    working directory)."""
    return Run(run_dir, root, folds)
