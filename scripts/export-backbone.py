#!/usr/bin/python3
"""Export a backbone to a TorchScript file for `mer extract audio --features torchscript:FILE`.

    export-backbone.py MODEL -o OUT.pt [--kind audio] [--device cpu] [--script] [--download]
    export-backbone.py --tiny-random OUT.pt [--seed 0]

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

To add a kind (image backbones): write a class like AudioKind (load_hf, tiny_random, examples,
checks, metadata) and add it to KINDS; the command line, tracing, checking and saving are
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

    def describe(self, outputs):
        return {"hidden_states": len(outputs), "hidden_size": int(outputs[0].shape[-1])}


KINDS = {"audio": AudioKind()}


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
            got = hidden_list(module(x), "the exported module")
            want = hidden_list(reference(x), "the model")
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
        outputs = hidden_list(module(kind.example(meta, device)), "the exported module")
    meta = {"format": "mer-backbone", "version": META_VERSION, "kind": kind.name, **meta,
            **kind.describe(outputs), "torch": torch.__version__}
    torch.jit.save(module, out, _extra_files={META_FILE: json.dumps(meta, indent=1)})
    print(f"wrote {out}: {meta['hidden_states']} hidden states of {meta['hidden_size']}, "
          f"{meta['sample_rate']} Hz, normalize {str(meta['normalize']).lower()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="a local model folder or a cached model id")
    ap.add_argument("-o", "--output", help="the TorchScript file to write")
    ap.add_argument("--kind", choices=sorted(KINDS), default="audio")
    ap.add_argument("--tiny-random", metavar="OUT.pt", help="write the tiny random encoder")
    ap.add_argument("--seed", type=int, default=0, help="the tiny encoder's seed (0)")
    ap.add_argument("--device", default="cpu", help="where to trace (cpu, cuda, cuda:N)")
    ap.add_argument("--script", action="store_true", help="torch.jit.script instead of trace")
    ap.add_argument("--download", action="store_true",
                    help="let transformers download a model that is not cached")
    args = ap.parse_args()
    kind = KINDS[args.kind]
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
