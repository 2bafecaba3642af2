#!/usr/bin/python3
"""Oracle for mer's image preprocessing and TorchScript image backbones
(tests/unit/test_image.c), written from torchvision's transforms, not from the C code.

Usage: image_tiny.py OUTDIR

  (1) frames: the first frames of data/sample/clips/clip_*.mp4 decoded by the ffmpeg CLI
      (-f rawvideo -pix_fmt rgb24), the same at 640x360 and 150x400 (ffmpeg's scaler), and
      seeded random frames of odd sizes (1x1, 3x500, 500x3, 37x1000, 300x301): frame<i>.rgb,
      listed in frames.txt ("name h w");
  (2) for each configuration of CONFIGS ("id resize crop interpolation rescale mean std", also
      written to configs.txt) and frame: torchvision's Resize(S, interpolation) on the PIL
      image, CenterCrop(C), ToTensor (or the bytes as float), Normalize(mean, std) as
      float32 [3, C, C]: exp<c>_<i>.f32, listed in expected.txt ("cfg frame h w");
      torchvision is used where it is installed, else the same steps written out below
      (torchvision 0.14's code: the size rule, round-half-even crop offsets, zero padding);
  (3) tiny.pt: export-backbone.py --kind image --tiny-random (seed 0); feats.f32 = its
      features [n, 32] of the real frames under configuration 0 (the file's preprocessing);
      tokens.pt (returns [B, 5, 32] tokens) with tokens_cls.f32 and tokens_mean.f32;
  (4) wrong exports: returns_tuple.pt, wrong_rank.pt ([B, D, 1, 1]), throws.pt, f64.pt,
      not_torchscript.pt, audio_meta.pt (kind "audio"), bad_meta.pt ("crop": "big");
  (5) checksum.txt: "xxh64:<hex>" of tiny.pt (python/mer_store.py's XXH64);
  (6) speed.txt: frames/s (CPU time) of tiny.pt in Python on one thread for a batch of 16
      224x224 images (best of 5 after 2 warm-ups), and of the preprocessing in Python (PIL
      resize + crop + ToTensor + Normalize) of 96x96 frames.
"""
import glob
import math
import os
import subprocess
import sys
import time
from typing import Tuple

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
PRESETS = {"clip": (CLIP_MEAN, CLIP_STD), "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
           "none": ([0.0] * 3, [1.0] * 3)}

# id, resize, crop, interpolation, rescale, normalization preset
CONFIGS = [
    (0, 224, 224, "bicubic", True, "clip"),  # CLIP (the defaults)
    (1, 256, 224, "bilinear", True, "imagenet"),  # torchvision's ResNets
    (2, 64, 48, "bilinear", True, "imagenet"),  # shrinking the real frames
    (3, 40, 48, "bicubic", False, "none"),  # a crop larger than the image: padded
    (4, 0, 0, "bicubic", True, "clip"),  # neither resize nor crop
    (5, 0, 80, "bilinear", True, "clip"),  # crop only
]

try:
    import torchvision.transforms as T
    from torchvision.transforms import InterpolationMode
except ImportError:
    T = None


def preprocess_torchvision(img, resize, crop, interp, rescale, mean, std):
    mode = InterpolationMode.BICUBIC if interp == "bicubic" else InterpolationMode.BILINEAR
    steps = ([T.Resize(resize, interpolation=mode)] if resize else []) + \
        ([T.CenterCrop(crop)] if crop else [])
    img = T.Compose(steps)(img) if steps else img
    x = T.functional.to_tensor(img) if rescale else T.functional.pil_to_tensor(img).float()
    return T.functional.normalize(x, mean, std)


def preprocess_by_hand(img, resize, crop, interp, rescale, mean, std):
    """torchvision 0.14's Resize(int) / CenterCrop / ToTensor / Normalize on a PIL image."""
    if resize:
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = resize, int(resize * long / short)
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        if (new_w, new_h) != (w, h):
            img = img.resize((new_w, new_h), Image.BICUBIC if interp == "bicubic"
                             else Image.BILINEAR)
    x = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()
    if crop:
        _, h, w = x.shape
        if crop > w or crop > h:
            left = (crop - w) // 2 if crop > w else 0
            top = (crop - h) // 2 if crop > h else 0
            right = (crop - w + 1) // 2 if crop > w else 0
            bottom = (crop - h + 1) // 2 if crop > h else 0
            x = torch.nn.functional.pad(x, (left, right, top, bottom), value=0)
            _, h, w = x.shape
        top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
        x = x[:, top:top + crop, left:left + crop]
    x = x.float().div(255) if rescale else x.float()
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return x.sub(m).div(s)


def preprocess(rgb, cfg):
    _, resize, crop, interp, rescale, preset = cfg
    mean, std = PRESETS[preset]
    img = Image.fromarray(rgb, "RGB")
    how = preprocess_torchvision if T is not None else preprocess_by_hand
    return how(img, resize, crop, interp, rescale, mean, std).contiguous()


def ffmpeg_frame(path, size=None):
    vf = ["-vf", f"scale={size[1]}:{size[0]}"] if size else []
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", path],
                           check=True, capture_output=True, text=True).stdout
    w, h = (int(v) for v in probe.strip().split(",")[:2])
    if size:
        h, w = size
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, *vf, "-frames:v", "1", "-f",
                          "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8)[:h * w * 3].reshape(h, w, 3)


def make_frames():
    clips = sorted(glob.glob(os.path.join(ROOT, "data", "sample", "clips", "clip_*.mp4")))[:4]
    frames = [ffmpeg_frame(c) for c in clips]
    frames += [ffmpeg_frame(clips[0], (360, 640)), ffmpeg_frame(clips[1], (150, 400))]
    real = len(frames)
    rng = np.random.default_rng(7)
    for h, w in ((1, 1), (3, 500), (500, 3), (37, 1000), (300, 301)):
        frames.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return frames, real


class Tokens(nn.Module):
    """[B, 3, H, W] -> [B, 5, 32]: a CLS-like token and four quadrant tokens."""

    def __init__(self, cnn):
        super().__init__()
        self.cnn = cnn

    def forward(self, images: Tensor) -> Tensor:
        h, w = images.shape[2] // 2, images.shape[3] // 2
        parts = [images, images[:, :, :h, :w], images[:, :, :h, w:], images[:, :, h:, :w],
                 images[:, :, h:, w:]]
        return torch.stack([self.cnn(p) for p in parts], dim=1)


class ReturnsTuple(nn.Module):
    def __init__(self, cnn):
        super().__init__()
        self.cnn = cnn

    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        y = self.cnn(images)
        return y, y


class WrongRank(nn.Module):
    def __init__(self, cnn):
        super().__init__()
        self.cnn = cnn

    def forward(self, images: Tensor) -> Tensor:
        return self.cnn(images)[:, :, None, None]


class Throws(nn.Module):
    def forward(self, images: Tensor) -> Tensor:
        if images.shape[0] > 0:
            raise RuntimeError("tiny image module refuses every batch")
        return images.flatten(1)


class Float64(nn.Module):
    def __init__(self, cnn):
        super().__init__()
        self.cnn = cnn

    def forward(self, images: Tensor) -> Tensor:
        return self.cnn(images).double()


def write_wrong(outdir, tiny):
    for name, mod in [("returns_tuple", ReturnsTuple(tiny)), ("wrong_rank", WrongRank(tiny)),
                      ("throws", Throws()), ("f64", Float64(tiny))]:
        torch.jit.save(torch.jit.script(mod), os.path.join(outdir, name + ".pt"))
    torch.jit.save(tiny, os.path.join(outdir, "audio_meta.pt"),
                   _extra_files={"mer_backbone.json": '{"kind": "audio", "sample_rate": 16000}'})
    torch.jit.save(tiny, os.path.join(outdir, "bad_meta.pt"),
                   _extra_files={"mer_backbone.json": '{"kind": "image", "crop": "big"}'})
    with open(os.path.join(outdir, "not_torchscript.pt"), "w") as f:
        f.write("this is not a TorchScript archive\n")


def checksum(path):
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import mer_store
    with open(path, "rb") as f:
        return "xxh64:%016x" % mer_store.xxh64(f.read())


def best_of(fn, reps=7, warm=2):
    best = math.inf
    for rep in range(reps):
        t0 = time.process_time()
        fn()
        if rep >= warm:
            best = min(best, time.process_time() - t0)
    return best


def speed(model, frame):
    """Frames/s of CPU time on one thread: the model on a batch of 16, and the preprocessing
    of one 96x96 frame (the sample clips' size) to CLIP's 224 input."""
    torch.set_num_threads(1)
    x = torch.randn(16, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))  # mer's probe
        model_fps = 16 / best_of(lambda: model(x))
    prep_fps = 20 / best_of(lambda: [preprocess(frame, CONFIGS[0]) for _ in range(20)])
    return model_fps, prep_fps


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    frames, real = make_frames()
    with open(os.path.join(outdir, "frames.txt"), "w") as f:
        for i, fr in enumerate(frames):
            fr.tofile(os.path.join(outdir, f"frame{i}.rgb"))
            f.write(f"frame{i} {fr.shape[0]} {fr.shape[1]} {int(i < real)}\n")
    with open(os.path.join(outdir, "configs.txt"), "w") as f:
        for c in CONFIGS:
            f.write(f"{c[0]} {c[1]} {c[2]} {c[3]} {str(c[4]).lower()} {c[5]}\n")
    with open(os.path.join(outdir, "expected.txt"), "w") as f:
        for c in CONFIGS:
            for i, fr in enumerate(frames):
                x = preprocess(fr, c)
                x.numpy().astype(np.float32).tofile(os.path.join(outdir, f"exp{c[0]}_{i}.f32"))
                f.write(f"{c[0]} {i} {x.shape[1]} {x.shape[2]}\n")
    tiny_path = os.path.join(outdir, "tiny.pt")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export-backbone.py"),
                    "--kind", "image", "--tiny-random", tiny_path], check=True,
                   stdout=subprocess.DEVNULL)
    tiny = torch.jit.load(tiny_path).eval()
    batch = torch.stack([preprocess(fr, CONFIGS[0]) for fr in frames[:real]])
    with torch.no_grad():
        tiny(batch).numpy().tofile(os.path.join(outdir, "feats.f32"))
        tokens = torch.jit.script(Tokens(tiny))
        torch.jit.save(tokens, os.path.join(outdir, "tokens.pt"))
        t = tokens(batch)
        t[:, 0].contiguous().numpy().tofile(os.path.join(outdir, "tokens_cls.f32"))
        t.mean(dim=1).numpy().tofile(os.path.join(outdir, "tokens_mean.f32"))
    write_wrong(outdir, tiny)
    with open(os.path.join(outdir, "checksum.txt"), "w") as f:
        f.write(checksum(tiny_path) + "\n")
    model_fps, prep_fps = speed(tiny, frames[0])
    with open(os.path.join(outdir, "speed.txt"), "w") as f:
        f.write(f"{model_fps:.1f} {prep_fps:.1f}\n")
    print(f"image oracle: {len(frames)} frames ({real} real), {len(CONFIGS)} configurations, "
          f"reference {'torchvision' if T is not None else 'PIL + torchvision steps by hand'}")


if __name__ == "__main__":
    main()
