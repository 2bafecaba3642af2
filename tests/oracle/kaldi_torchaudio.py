#!/usr/bin/env python3
"""Reference fbank/MFCC from torchaudio.compliance.kaldi for tests/unit/test_kaldi.c.

    kaldi_torchaudio.py OUTDIR

Makes real speech with espeak-ng (English and Mandarin, 22050 Hz), resamples it to 16 kHz and
8 kHz with torchaudio, and writes the float32 samples that both sides read (speech16.f32,
speech8.f32, speech22.f32). For each case it writes CASE.f32 (the [T, dim] features, float32), CASE.f64 (torchaudio on
the same samples in float64, to tell its own float32 rounding from ours)
and a line of cases.txt: "name kind wave T dim opt=value ...", the options in mer's names on
top of mer's defaults (fbank num_mel_bins 80, mfcc use_energy true; else torchaudio's)."""
import os
import subprocess
import sys

import soundfile
import torch
import torchaudio
from torchaudio.compliance import kaldi

TEXTS = [
    ("en", "The quick brown fox jumps over the lazy dog. Is it worried, happy, or just surprised?"),
    ("cmn", "今天天气很好，我们一起去公园散步吧。你为什么这么生气？"),
]

CASES = [
    ("fbank_default", "fbank", "speech16", {}),
    ("fbank_40_hamming", "fbank", "speech16", {"num_mel_bins": 40, "window_type": "hamming"}),
    ("fbank_nosnip", "fbank", "speech16", {"snip_edges": False}),
    ("fbank_energy", "fbank", "speech16", {"use_energy": True}),
    ("fbank_htk", "fbank", "speech16", {"use_energy": True, "htk_compat": True}),
    ("fbank_8k", "fbank", "speech8", {"sample_frequency": 8000, "num_mel_bins": 40}),
    ("fbank_lowhigh", "fbank", "speech16", {"low_freq": 100, "high_freq": -400}),
    ("fbank_high7k", "fbank", "speech16", {"low_freq": 60, "high_freq": 7000, "num_mel_bins": 64}),
    ("fbank_hanning", "fbank", "speech16", {"window_type": "hanning", "raw_energy": False,
                                            "use_energy": True}),
    ("fbank_rect", "fbank", "speech16", {"window_type": "rectangular", "remove_dc_offset": False,
                                         "preemphasis_coefficient": 0.0}),
    ("fbank_blackman", "fbank", "speech16", {"window_type": "blackman", "blackman_coeff": 0.4,
                                             "energy_floor": 0.0, "use_energy": True}),
    ("fbank_magnitude", "fbank", "speech16", {"use_power": False}),
    ("fbank_linear", "fbank", "speech16", {"use_log_fbank": False, "num_mel_bins": 23}),
    ("fbank_mean", "fbank", "speech16", {"subtract_mean": True, "use_energy": True}),
    ("fbank_nopow2", "fbank", "speech16", {"round_to_power_of_two": False}),
    ("fbank_frames", "fbank", "speech16", {"frame_length": 50, "frame_shift": 12.5,
                                           "snip_edges": False}),
    ("fbank_22k_odd", "fbank", "speech22", {"sample_frequency": 22050, "snip_edges": False}),
    ("fbank_vtln", "fbank", "speech16", {"vtln_warp": 0.9, "num_mel_bins": 40}),
    ("fbank_short400", "fbank", "short400", {"snip_edges": False}),
    ("fbank_short450", "fbank", "short450", {"snip_edges": False, "use_energy": True}),
    ("fbank_short450_snip", "fbank", "short450", {}),
    ("mfcc_default", "mfcc", "speech16", {}),
    ("mfcc_noenergy", "mfcc", "speech16", {"use_energy": False}),
    ("mfcc_8k", "mfcc", "speech8", {"sample_frequency": 8000}),
    ("mfcc_htk", "mfcc", "speech16", {"htk_compat": True}),
    ("mfcc_htk_noenergy", "mfcc", "speech16", {"htk_compat": True, "use_energy": False}),
    ("mfcc_wide", "mfcc", "speech16", {"num_mel_bins": 40, "num_ceps": 20,
                                       "cepstral_lifter": 0.0, "snip_edges": False}),
    ("mfcc_lifter", "mfcc", "speech16", {"cepstral_lifter": 30.0, "low_freq": 40,
                                         "high_freq": 7600}),
]


def speech(lang, text, path):
    subprocess.run(["espeak-ng", "-v", lang, "-w", path, text], check=True)
    wave, rate = soundfile.read(path, dtype="float32")
    assert rate == 22050 and wave.ndim == 1, (rate, wave.shape)
    return torch.from_numpy(wave)


def text_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def main():
    out = sys.argv[1]
    torch.set_num_threads(1)
    raw = torch.cat([speech(lang, text, os.path.join(out, lang + ".wav")) for lang, text in TEXTS])
    waves = {
        "speech22": raw,
        "speech16": torchaudio.functional.resample(raw, 22050, 16000),
        "speech8": torchaudio.functional.resample(raw, 22050, 8000),
    }
    # clips of one frame and a little more (the reflected edges of snip_edges=false)
    waves["short400"] = waves["speech16"][16000:16400].clone()
    waves["short450"] = waves["speech16"][16000:16450].clone()
    for name, w in waves.items():
        w.numpy().astype("<f4").tofile(os.path.join(out, name + ".f32"))
    with open(os.path.join(out, "cases.txt"), "w") as listing:
        for name, kind, wave, opts in CASES:
            args = dict(opts)
            if kind == "fbank":
                args.setdefault("num_mel_bins", 80)
                feats = kaldi.fbank(waves[wave].unsqueeze(0), **args)
            else:
                args.setdefault("use_energy", True)
                feats = kaldi.mfcc(waves[wave].unsqueeze(0), **args)
            feats.numpy().astype("<f4").tofile(os.path.join(out, name + ".f32"))
            # the same in float64: how far torchaudio's own float32 rounding is from exact
            ref = (kaldi.fbank if kind == "fbank" else kaldi.mfcc)(
                waves[wave].double().unsqueeze(0), **args)
            ref.numpy().astype("<f8").tofile(os.path.join(out, name + ".f64"))
            T, dim = feats.shape
            pairs = " ".join("%s=%s" % (k, text_value(v)) for k, v in opts.items())
            listing.write("%s %s %s %d %d %s\n" % (name, kind, wave, T, dim, pairs))
    print("kaldi oracle: %d cases, %d samples at 16 kHz" % (len(CASES), waves["speech16"].numel()))


if __name__ == "__main__":
    main()
