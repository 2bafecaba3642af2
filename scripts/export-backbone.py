#!/usr/bin/python3
"""Export a backbone to a TorchScript file for `mer extract audio --features torchscript:FILE`.

    export-backbone.py MODEL -o OUT.pt [--kind audio|image] [--device cpu] [--script] [--download]
    export-backbone.py [--kind audio|image] --tiny-random OUT.pt [--seed 0]

MODEL is a local folder (a Hugging Face model saved with save_pretrained, or a snapshot) or the
id of a model already in the user's Hugging Face cache (TencentGameMate/chinese-hubert-large);
nothing is downloaded unless --download is given. Needs python3-torch, and `transformers` for
MODEL. --tiny-random writes a small random conv feature encoder + transformer encoder (seeded,
python3-torch only) with the same signature, for tests.

The signature of the exported module (audio):

    forward(waveform: Tensor[B, T] float32) -> Tuple[Tensor[B, T', D], ...]   (or a List)

waveform: B rows of T samples at the model's sample rate (16 kHz for wav2vec2, HuBERT, WavLM),
as they come (mer normalizes each clip first where the model wants it, see below). The result
has one float32 tensor per layer, the input embedding layer first, as Hugging Face's
`model(waveform, output_hidden_states=True).hidden_states` gives them: 13 tensors for a
12-layer base model, 25 for a large one. T' is the number of frames (20 ms each for these
models), D the hidden size.

The file also holds an extra file mer_backbone.json (torch.jit.save's _extra_files) that mer
reads: {"sample_rate": 16000, "normalize": true, ...}; normalize is the feature extractor's
do_normalize, i.e. whether each clip is scaled to zero mean and unit variance (over the whole
clip, before it is cut into 10 s rows) as Wav2Vec2FeatureExtractor does. A module without it
is run at 16 kHz without normalization.

Hugging Face models are traced (torch.jit.trace) on a 2 s example, then checked against the
eager model on other lengths and a batch of 2; a model whose trace does not generalize fails
here, not in mer (try --script). Trace on the device mer will run it on (--device cuda for
`mer extract --device cuda`): some models record their device in the trace.

Image backbones (--kind image, for mer's image.h):

    forward(images: Tensor[B, 3, H, W] float32) -> Tensor[B, D]

images preprocessed as the model wants (resize the shorter side, centre crop, /255, mean/std);
those choices go into mer_backbone.json ({"kind": "image", "resize": 224, "crop": 224,
"interpolation": "bicubic", "mean": [...], "std": [...], "dim": D}) and mer reads them as its
defaults. MODEL is one of:
  - a CLIP model folder or cached id (transformers): CLIPModel.get_image_features (the
    projected image embedding, CLIP's zero-shot feature), or --image-output tokens for the
    vision tower's last hidden states [B, 1 + patches, D] (pool CLS or mean in mer);
  - a DINOv2 folder or id (transformers' AutoModel): the CLS token of the last hidden state
    (pooler_output), or --image-output tokens;
  - timm:NAME (timm.create_model(NAME, pretrained=True, num_classes=0), from timm's cache) or
    torchvision:NAME (torchvision.models.get_model(NAME, weights="DEFAULT"), from torch's hub
    cache; a ResNet: its fc layer removed): the pooled features before the classifier.
Nothing is downloaded unless --download is given. --tiny-random writes a small random CNN
(python3-torch only) with CLIP's preprocessing, for tests.

To add a kind: write a class like AudioKind (load_hf, tiny_random, example, checks, outputs,
describe, summary) and add it to KINDS; the command line, tracing, checking and saving are
shared.
"""
import argparse
import json
import math
import sys
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

META_FILE = "mer_backbone.json"
META_VERSION = 1
TRACE_TOLERANCE = 1e-4  # eager vs traced, max abs over every hidden state


def fail(msg):
    sys.exit("export-backbone: " + msg)


# ---- audio: a Hugging Face wrapper ----


class HiddenStates(nn.Module):
    """A Hugging Face audio model as forward(waveform [B, T]) -> tuple of hidden states."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, waveform):
        out = self.model(waveform, output_hidden_states=True, return_dict=True)
        return tuple(out.hidden_states)


# ---- audio: the tiny random encoder (wav2vec2's shape, small sizes) ----


class ConvLayer(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, group_norm: bool):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride, bias=False)
        # wav2vec2-base's first layer: a GroupNorm over time per channel, which is why rows
        # of different lengths must never be padded into one batch
        self.norm = nn.GroupNorm(cout, cout) if group_norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.norm(self.conv(x)))


class EncoderLayer(nn.Module):
    """Post-LN self-attention + feed-forward, as wav2vec2-base's encoder layers."""

    def __init__(self, dim: int, heads: int, ff: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, ff)
        self.ff2 = nn.Linear(ff, dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.size(0), x.size(1), x.size(2)
        h = self.heads
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.reshape(b, t, h, d // h).transpose(1, 2)
        k = k.reshape(b, t, h, d // h).transpose(1, 2)
        v = v.reshape(b, t, h, d // h).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1) @ v
        x = self.norm1(x + self.out(att.transpose(1, 2).reshape(b, t, d)))
        return self.norm2(x + self.ff2(F.gelu(self.ff1(x))))


class TinyAudioEncoder(nn.Module):
    """wav2vec2's conv stack (kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2: 400 samples of
    receptive field, a frame per 320 samples), feature projection, convolutional position
    embedding and post-LN transformer layers; forward returns every layer's hidden states,
    the projected features first."""

    def __init__(self, conv_dim=32, dim=32, layers=4, heads=4, ff=64):
        super().__init__()
        kernels, strides = (10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)
        self.convs = nn.ModuleList(
            ConvLayer(1 if i == 0 else conv_dim, conv_dim, k, s, i == 0)
            for i, (k, s) in enumerate(zip(kernels, strides)))
        self.proj_norm = nn.LayerNorm(conv_dim)
        self.proj = nn.Linear(conv_dim, dim)
        self.pos_conv = nn.Conv1d(dim, dim, 16, padding=8, groups=4)
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ff) for _ in range(layers))

    def forward(self, waveform: Tensor) -> List[Tensor]:
        x = waveform.unsqueeze(1)  # [B, 1, T]
        for conv in self.convs:
            x = conv(x)  # [B, C, T']
        x = self.proj(self.proj_norm(x.transpose(1, 2)))  # [B, T', D]
        pos = self.pos_conv(x.transpose(1, 2))[:, :, :-1]  # even kernel: drop the extra frame
        x = self.norm(x + F.gelu(pos).transpose(1, 2))
        hidden = [x]
        for layer in self.layers:
            x = layer(x)
            hidden.append(x)
        return hidden


class AudioKind:
    name = "audio"

    def load_hf(self, source, download, device):
        try:
            from transformers import AutoFeatureExtractor, AutoModel
        except ImportError:
            fail("exporting a Hugging Face model needs the transformers package")
        local_only = not download
        try:
            model = AutoModel.from_pretrained(source, local_files_only=local_only)
            extractor = AutoFeatureExtractor.from_pretrained(source, local_files_only=local_only)
        except OSError as e:
            hint = "" if download else " (not downloaded: it must be a local folder or cached; " \
                "--download fetches it)"
            fail(f"'{source}': cannot load the model{hint}: {str(e).splitlines()[0]}")
        if getattr(model.config, "model_type", "") == "whisper":
            fail(f"'{source}': whisper takes log-mel features, not waveforms")
        meta = {
            "sample_rate": int(getattr(extractor, "sampling_rate", 16000)),
            "normalize": bool(getattr(extractor, "do_normalize", False)),
            "source": str(source),
        }
        return HiddenStates(model.to(device).eval()), meta

    def tiny_random(self, seed):
        torch.manual_seed(seed)
        model = TinyAudioEncoder().eval()
        meta = {"sample_rate": 16000, "normalize": True, "source": f"tiny-random seed {seed}"}
        return torch.jit.script(model), meta

    def example(self, meta, device):
        g = torch.Generator().manual_seed(1)
        return (0.1 * torch.randn(1, 2 * meta["sample_rate"], generator=g)).to(device)

    def checks(self, meta, device):
        """Inputs that a trace made on example() must also get right."""
        g = torch.Generator().manual_seed(2)
        rate = meta["sample_rate"]
        return [(0.1 * torch.randn(b, n, generator=g)).to(device)
                for b, n in ((1, rate * 33 // 10), (2, rate * 17 // 10), (1, rate // 2))]

    def outputs(self, out, what):
        return hidden_list(out, what)

    def describe(self, outputs):
        return {"hidden_states": len(outputs), "hidden_size": int(outputs[0].shape[-1])}

    def summary(self, meta):
        return (f"{meta['hidden_states']} hidden states of {meta['hidden_size']}, "
                f"{meta['sample_rate']} Hz, normalize {str(meta['normalize']).lower()}")


# ---- image: wrappers, the tiny random CNN ----

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
PIL_NAMES = {2: "bilinear", 3: "bicubic"}  # PIL.Image.Resampling values in processor configs


class ClipImageFeatures(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model.get_image_features(pixel_values=images)


class LastHidden(nn.Module):
    """A transformers vision model's last hidden state [B, N, D], or its pooler output [B, D]."""

    def __init__(self, model, tokens):
        super().__init__()
        self.model = model
        self.tokens = tokens

    def forward(self, images):
        out = self.model(pixel_values=images, return_dict=True)
        return out.last_hidden_state if self.tokens else out.pooler_output


class TinyImageCNN(nn.Module):
    """Three strided convolutions with batch norm (eval: fixed statistics) and ReLU, a global
    average pool and a linear projection to 32: [B, 3, H, W] -> [B, 32], any H, W >= 8."""

    def __init__(self, width=16, dim=32):
        super().__init__()
        layers = []
        cin = 3
        for cout in (width, 2 * width, 2 * width):
            layers += [nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), nn.ReLU()]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.proj = nn.Linear(cin, dim)

    def forward(self, images: Tensor) -> Tensor:
        x = self.features(images)  # [B, C, H / 8, W / 8]
        return self.proj(x.mean(dim=(2, 3)))  # [B, D]


def processor_meta(proc):
    """The preprocessing of a transformers image processor (CLIPImageProcessor, BitImageProcessor)."""
    size, crop = getattr(proc, "size", {}) or {}, getattr(proc, "crop_size", {}) or {}
    resize = size.get("shortest_edge", size.get("height", 224)) if isinstance(size, dict) else size
    crop = crop.get("height", resize) if isinstance(crop, dict) else crop
    return {"resize": int(resize) if getattr(proc, "do_resize", True) else 0,
            "crop": int(crop) if getattr(proc, "do_center_crop", True) else 0,
            "interpolation": PIL_NAMES.get(int(getattr(proc, "resample", 3)), "bicubic"),
            "rescale": bool(getattr(proc, "do_rescale", True)),
            "mean": [float(v) for v in getattr(proc, "image_mean", CLIP_MEAN)],
            "std": [float(v) for v in getattr(proc, "image_std", CLIP_STD)]}


class ImageKind:
    name = "image"
    tokens = False  # --image-output tokens

    def load_hf(self, source, download, device):
        if source.startswith("timm:") or source.startswith("torchvision:"):
            return self.load_cnn(source, download, device)
        try:
            from transformers import AutoConfig, AutoImageProcessor, AutoModel, CLIPModel
        except ImportError:
            fail("exporting a Hugging Face model needs the transformers package")
        local_only = not download
        try:
            config = AutoConfig.from_pretrained(source, local_files_only=local_only)
            proc = AutoImageProcessor.from_pretrained(source, local_files_only=local_only)
            if config.model_type == "clip" and not self.tokens:
                wrapper = ClipImageFeatures(CLIPModel.from_pretrained(
                    source, local_files_only=local_only))
            elif config.model_type == "clip":
                from transformers import CLIPVisionModel
                wrapper = LastHidden(CLIPVisionModel.from_pretrained(
                    source, local_files_only=local_only), True)
            else:
                wrapper = LastHidden(AutoModel.from_pretrained(
                    source, local_files_only=local_only), self.tokens)
        except OSError as e:
            hint = "" if download else " (not downloaded: it must be a local folder or cached; " \
                "--download fetches it)"
            fail(f"'{source}': cannot load the model{hint}: {str(e).splitlines()[0]}")
        meta = {**processor_meta(proc), "source": str(source)}
        return wrapper.to(device).eval(), meta

    def load_cnn(self, source, download, device):
        lib, name = source.split(":", 1)
        try:
            if lib == "timm":
                import timm
                model = timm.create_model(name, pretrained=True, num_classes=0)
                cfg = model.pretrained_cfg
                size = int(cfg["input_size"][-1])
                meta = {"resize": int(round(size / cfg.get("crop_pct", 0.875))), "crop": size,
                        "interpolation": cfg.get("interpolation", "bilinear"),
                        "mean": list(cfg["mean"]), "std": list(cfg["std"])}
            else:
                import torchvision
                model = torchvision.models.get_model(name, weights="DEFAULT")
                if not isinstance(getattr(model, "fc", None), nn.Linear):
                    fail(f"'{source}': only models with a final fc layer (ResNets) are known")
                model.fc = nn.Identity()
                meta = {"resize": 256, "crop": 224, "interpolation": "bilinear",
                        "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
        except ImportError as e:
            fail(f"'{source}': needs the {e.name} package")
        except Exception as e:  # no cached weights and no download
            fail(f"'{source}': cannot load the model (weights must be cached"
                 f"{'' if download else '; nothing is downloaded'}): {str(e).splitlines()[0]}")
        if meta["interpolation"] not in ("bilinear", "bicubic"):
            meta["interpolation"] = "bicubic"
        return model.to(device).eval(), {**meta, "rescale": True, "source": source}

    def tiny_random(self, seed):
        torch.manual_seed(seed)
        model = TinyImageCNN()
        with torch.no_grad():  # non-trivial batch-norm statistics
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 2.0)
        meta = {"resize": 224, "crop": 224, "interpolation": "bicubic", "rescale": True,
                "mean": CLIP_MEAN, "std": CLIP_STD, "source": f"tiny-random seed {seed}"}
        return torch.jit.script(model.eval()), meta

    def example(self, meta, device):
        side = meta["crop"] or meta["resize"] or 224
        g = torch.Generator().manual_seed(1)
        return torch.randn(1, 3, side, side, generator=g).to(device)

    def checks(self, meta, device):
        side = meta["crop"] or meta["resize"] or 224
        g = torch.Generator().manual_seed(2)
        return [torch.randn(b, 3, side, side, generator=g).to(device) for b in (2, 3)]

    def outputs(self, out, what):
        if not isinstance(out, Tensor) or out.dim() not in (2, 3) or out.dtype != torch.float32:
            fail(f"{what} does not return a float32 [B, D] or [B, N, D] tensor")
        return [out]

    def describe(self, outputs):
        return {"dim": int(outputs[0].shape[-1]), "tokens": outputs[0].dim() == 3}

    def summary(self, meta):
        return (f"{'tokens of ' if meta['tokens'] else ''}{meta['dim']} features, "
                f"resize {meta['resize']}, crop {meta['crop']}, {meta['interpolation']}")


KINDS = {"audio": AudioKind(), "image": ImageKind()}


# ---- shared: tracing, checking, saving ----


def hidden_list(out, what):
    if isinstance(out, Tensor) or not isinstance(out, (list, tuple)) or \
            not all(isinstance(t, Tensor) and t.dim() == 3 for t in out):
        fail(f"{what} does not return a list or tuple of [B, T', D] tensors")
    return list(out)


def max_diff(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b)) if len(a) == len(b) else math.inf


def check(kind, module, reference, meta, device):
    """The saved module against the reference (eager) model on other shapes than traced."""
    with torch.no_grad():
        for x in kind.checks(meta, device):
            got = kind.outputs(module(x), "the exported module")
            want = kind.outputs(reference(x), "the model")
            d = max_diff(got, want)
            if not d <= TRACE_TOLERANCE:
                fail(f"the exported module differs from the model by {d:g} on "
                     f"{list(x.shape)} (traced on another length); try --script")
            print(f"checked on {list(x.shape)}: max difference {d:.2e}")


def export_hf(kind, args):
    wrapper, meta = kind.load_hf(args.model, args.download, args.device)
    with torch.no_grad():
        try:
            if args.script:
                module = torch.jit.script(wrapper)
            else:
                module = torch.jit.trace(wrapper, kind.example(meta, args.device),
                                         strict=False, check_trace=False)
        except Exception as e:  # torch's messages end in a long source excerpt
            how = "torch.jit.script" if args.script else "torch.jit.trace"
            fail(f"'{args.model}': {how} failed: {str(e).strip().splitlines()[0]}")
    check(kind, module, wrapper, meta, args.device)
    return module, meta


def save(kind, module, meta, out, device):
    with torch.no_grad():
        outputs = kind.outputs(module(kind.example(meta, device)), "the exported module")
    meta = {"format": "mer-backbone", "version": META_VERSION, "kind": kind.name, **meta,
            **kind.describe(outputs), "torch": torch.__version__}
    torch.jit.save(module, out, _extra_files={META_FILE: json.dumps(meta, indent=1)})
    print(f"wrote {out}: {kind.summary(meta)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="a local model folder or a cached model id")
    ap.add_argument("-o", "--output", help="the TorchScript file to write")
    ap.add_argument("--kind", choices=sorted(KINDS), default="audio")
    ap.add_argument("--tiny-random", metavar="OUT.pt",
                    help="write the tiny random encoder (audio) or CNN (image)")
    ap.add_argument("--seed", type=int, default=0, help="the tiny encoder's seed (0)")
    ap.add_argument("--device", default="cpu", help="where to trace (cpu, cuda, cuda:N)")
    ap.add_argument("--script", action="store_true", help="torch.jit.script instead of trace")
    ap.add_argument("--download", action="store_true",
                    help="let transformers download a model that is not cached")
    ap.add_argument("--image-output", choices=("pooled", "tokens"), default="pooled",
                    help="image: the model's pooled feature [B, D] (default) or its last "
                    "hidden state's tokens [B, N, D] (CLIP's vision tower, DINOv2)")
    args = ap.parse_args()
    kind = KINDS[args.kind]
    kind.tokens = args.image_output == "tokens"
    if args.tiny_random:
        if args.model or args.output:
            ap.error("--tiny-random takes no MODEL and no -o")
        module, meta = kind.tiny_random(args.seed)
        save(kind, module, meta, args.tiny_random, "cpu")
        return
    if not args.model or not args.output:
        ap.error("give MODEL and -o OUT.pt (or --tiny-random OUT.pt)")
    module, meta = export_hf(kind, args)
    save(kind, module, meta, args.output, args.device)


if __name__ == "__main__":
    main()
