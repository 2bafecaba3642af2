#!/usr/bin/python3
"""Oracle for mer's TorchScript audio backbones (tests/unit/test_backbone.c), written from
MERTools' MER2024/feature_extraction/audio/extract_audio_huggingface.py, not from the C code.

Usage: backbone_tiny.py OUTDIR

  (1) exports the tiny random encoder with scripts/export-backbone.py --tiny-random (seed 0,
      5 hidden states of 32, normalize true) as OUTDIR/tiny.pt;
  (2) writes seeded test clips at 16 kHz as raw float32, clip<i>.f32, listed in clips.txt
      ("name samples" a line): 3.7 s twice, 23 s, exactly 10 s, 10 s + 1 sample, 8 s + 200
      samples, 300 samples (too short for the encoder's 400-sample receptive field);
  (3) for each configuration of configs.txt ("id layers pool normalize tail segment_s"), each
      clip's frames: normalize the whole clip as Wav2Vec2FeatureExtractor (x - mean) /
      sqrt(var + 1e-7); cut it as MERTools' split_into_batch (pad: ceil(n / seg) rows of seg,
      zero-padded, run as one batch) or keep the tail (rows of seg and a last shorter row, a
      tail under 400 samples joined to the row before, each run alone); pool the chosen hidden
      states (torch.stack(hs)[ids].sum(0) as MERTools, mean, or cat on D); the rows' frames
      concatenated: cfg<c>_clip<i>.f32 [T, D], listed in expected.txt ("cfg clip T D");
  (4) wrong exports for the error tests: returns_tensor.pt, returns_dict.pt, wrong_rank.pt,
      wants_3d.pt (indexes its input as [B, 1, T]), throws.pt, throws_long.pt (fails on rows
      over 5 s), three_layers.pt (3 hidden states), f64.pt (float64 hidden states),
      not_torchscript.pt (text), bad_meta.pt (mer_backbone.json with sample_rate "16k");
  (5) checksum.txt: "xxh64:<hex>" of tiny.pt (python/mer_store.py's XXH64);
  (6) speed.txt: frames/s (CPU time) of tiny.pt in Python on one thread for a batch of 6 rows
      of 10 s (the best of 5 runs).
"""
import math
import os
import runpy
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np
import torch
from torch import Tensor, nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RATE = 16000
RECEPTIVE = 400  # samples: the shortest input the tiny encoder (wav2vec2's conv stack) runs on

CLIPS = [int(3.7 * RATE), 23 * RATE, 10 * RATE, 10 * RATE + 1, 8 * RATE + 200, 300,
         int(3.7 * RATE)]

# id, layers, pool, normalize (auto = the file's true), tail, segment_s
CONFIGS = [
    (0, [-4, -3, -2, -1], "sum", "auto", "pad", 10.0),
    (1, [0, 2], "mean", "off", "pad", 10.0),
    (2, [-1, -2], "cat", "on", "keep", 10.0),
    (3, [-1], "sum", "auto", "keep", 4.0),
]


def make_clip(i, n):
    """Speech-like: noise through a moving resonance, amplitude-modulated, with a DC offset."""
    rng = np.random.default_rng(100 + i)
    t = np.arange(n) / RATE
    noise = rng.standard_normal(n)
    tone = np.sin(2 * np.pi * (150 + 40 * i) * t + 3 * np.sin(2 * np.pi * 0.7 * t))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * (2.5 + 0.3 * i) * t) ** 2
    return (0.3 * env * (tone + 0.3 * noise) + 0.02 * (i + 1)).astype(np.float32)


def normalize(x):
    x = x.astype(np.float64)
    return ((x - x.mean()) / np.sqrt(x.var() + 1e-7)).astype(np.float32)


def split_into_batch(x, maxlen):
    """MERTools: input [1, wavlen] -> [bsize, maxlen], the last row zero-padded."""
    if x.shape[1] <= maxlen:
        return x
    tgtlen = math.ceil(x.shape[1] / maxlen) * maxlen
    batches = torch.zeros((1, tgtlen))
    batches[:, :x.shape[1]] = x
    return batches.view(-1, maxlen)


def keep_rows(x, seg):
    n = x.shape[1]
    if n <= seg:
        return [x]
    starts = list(range(0, n, seg))
    if n - starts[-1] < RECEPTIVE:
        starts.pop()
    ends = starts[1:] + [n]
    return [x[:, a:b] for a, b in zip(starts, ends)]


def pool(hidden, layers, how):
    if how == "cat":
        return torch.cat([hidden[i] for i in layers], dim=-1)
    stacked = torch.stack(hidden)[layers]
    return stacked.sum(dim=0) if how == "sum" else stacked.mean(dim=0)


def clip_frames(model, x, cfg):
    _, layers, how, norm, tail, seg_s = cfg
    if norm != "off":  # the tiny model's mer_backbone.json says normalize: true
        x = normalize(x)
    x = torch.from_numpy(x)[None, :]
    seg = int(round(seg_s * RATE))
    batches = [split_into_batch(x, seg)] if tail == "pad" else keep_rows(x, seg)
    out = []
    with torch.no_grad():
        for b in batches:
            f = pool(model(b), layers, how)  # [B, T', D]
            out.append(f.reshape(-1, f.shape[-1]))
    return torch.cat(out).numpy()


# ---- wrong exports ----


class Wrapped(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner


class ReturnsTensor(Wrapped):
    def forward(self, x: Tensor) -> Tensor:
        return self.inner(x)[-1]


class ReturnsDict(Wrapped):
    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        return {"last": self.inner(x)[-1]}


class WrongRank(Wrapped):
    def forward(self, x: Tensor) -> List[Tensor]:
        return [h.mean(1) for h in self.inner(x)]


class Wants3D(Wrapped):
    def forward(self, x: Tensor) -> List[Tensor]:
        return self.inner(x.transpose(1, 2).squeeze(1))


class Throws(Wrapped):
    def forward(self, x: Tensor) -> List[Tensor]:
        if x.size(1) > 0:
            raise RuntimeError("boom: this backbone always fails")
        return self.inner(x)


class ThrowsLong(Wrapped):
    def forward(self, x: Tensor) -> List[Tensor]:
        if x.size(1) > 5 * 16000:
            raise RuntimeError("rows longer than 5 s are not supported")
        return self.inner(x)


class Float64(Wrapped):
    def forward(self, x: Tensor) -> List[Tensor]:
        return [h.double() for h in self.inner(x)]


def export_tiny(out, *extra):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export-backbone.py"),
                    "--tiny-random", out, *extra], check=True, stdout=subprocess.DEVNULL)


def write_wrong(outdir, tiny):
    for name, cls in [("returns_tensor", ReturnsTensor), ("returns_dict", ReturnsDict),
                      ("wrong_rank", WrongRank), ("wants_3d", Wants3D), ("throws", Throws),
                      ("throws_long", ThrowsLong), ("f64", Float64)]:
        torch.jit.save(torch.jit.script(cls(tiny)), os.path.join(outdir, name + ".pt"))
    # a module name without '-', which TorchScript's class names cannot hold
    export = runpy.run_path(os.path.join(ROOT, "scripts", "export-backbone.py"),
                            run_name="export_backbone")
    torch.manual_seed(0)
    three = torch.jit.script(export["TinyAudioEncoder"](layers=2).eval())
    torch.jit.save(three, os.path.join(outdir, "three_layers.pt"))
    torch.jit.save(tiny, os.path.join(outdir, "bad_meta.pt"),
                   _extra_files={"mer_backbone.json": '{"sample_rate": "16k"}'})
    with open(os.path.join(outdir, "not_torchscript.pt"), "w") as f:
        f.write("this is not a TorchScript archive\n")


def checksum(path):
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import mer_store
    with open(path, "rb") as f:
        return "xxh64:%016x" % mer_store.xxh64(f.read())


def speed(model):
    """Frames/s of CPU time, the best of 5 runs after 2 warm-ups (TorchScript's profiling
    executor optimizes on the 2nd), on one thread (the machine is shared: CPU time and the best
    run are the least disturbed). First the 3 forwards mer's open makes (its probes: 1 s, then
    the 400 and 399 samples around wav2vec2's receptive field), since the executor's
    specializations depend on the shapes it has seen."""
    torch.set_num_threads(1)
    x = torch.from_numpy(np.stack([make_clip(50 + i, 10 * RATE) for i in range(6)]))
    best = math.inf
    with torch.no_grad():
        for w in (RATE, RECEPTIVE, RECEPTIVE - 1):
            try:
                model(torch.zeros(1, w))
            except RuntimeError:
                pass
        for rep in range(7):
            t0 = time.process_time()
            hs = model(x)
            pool(hs, [-4, -3, -2, -1], "sum")
            if rep >= 2:
                best = min(best, time.process_time() - t0)
    return hs[0].shape[0] * hs[0].shape[1] / best


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    tiny_path = os.path.join(outdir, "tiny.pt")
    export_tiny(tiny_path)
    model = torch.jit.load(tiny_path)
    clips = [make_clip(i, n) for i, n in enumerate(CLIPS)]
    with open(os.path.join(outdir, "clips.txt"), "w") as f:
        for i, x in enumerate(clips):
            x.tofile(os.path.join(outdir, f"clip{i}.f32"))
            f.write(f"clip{i} {len(x)}\n")
    with open(os.path.join(outdir, "configs.txt"), "w") as f:
        for c in CONFIGS:
            f.write(f"{c[0]} {','.join(map(str, c[1]))} {c[2]} {c[3]} {c[4]} {c[5]}\n")
    with open(os.path.join(outdir, "expected.txt"), "w") as f:
        for cfg in CONFIGS:
            for i, x in enumerate(clips):
                if len(x) < RECEPTIVE:
                    continue  # too short: mer gives no rows, MERTools' conv would throw
                fr = clip_frames(model, x, cfg).astype(np.float32)
                fr.tofile(os.path.join(outdir, f"cfg{cfg[0]}_clip{i}.f32"))
                f.write(f"{cfg[0]} {i} {fr.shape[0]} {fr.shape[1]}\n")
    write_wrong(outdir, model)
    with open(os.path.join(outdir, "checksum.txt"), "w") as f:
        f.write(checksum(tiny_path) + "\n")
    with open(os.path.join(outdir, "speed.txt"), "w") as f:
        f.write(f"{speed(model):.1f}\n")


if __name__ == "__main__":
    main()
