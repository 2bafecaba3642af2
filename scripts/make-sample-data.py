#!/usr/bin/python3
"""Generate data/sample: a small long-tailed 6-class multimodal dataset in MERTools' layout.

Deterministic for a given --seed. Writes:
  label-disdim.csv              MER2024's label file (name,discrete,valence), train+validation rows
  manifest.csv                  name,label,valence,split (split: train | test)
  transcripts.csv               name,chinese,english (placeholder subtitles)
  features/<SET>/<name>.npy     per-sample features, as MERTools' extractors write them:
    chinese-hubert-large-FRA    audio, frame level [T, 64] float16 (T varies), pool it on import
    clip-vit-large-patch14-UTT  video, utterance level [48] float32
    Baichuan-13B-UTT            text, utterance level [1, 96] float64 (the [1, D] variant)

The class signal is learnable but noisy: each class has a random centre per modality; a sample is
centre * strength + Gaussian noise, and with some probability a modality carries another class's
centre instead (a realistic disagreement between modalities). Class counts follow MER2024's
long tail (neutral most, surprise fewest). Needs numpy only.
"""
import argparse
import csv
import os

import numpy as np

CLASSES = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
# MER2024 labeled counts 1248/1208/1038/730/616/190, scaled down (about 1:10).
TRAIN_COUNTS = [125, 121, 104, 73, 62, 19]
TEST_COUNTS = [30, 29, 25, 18, 15, 5]
VALENCE = {"neutral": 0.0, "angry": -3.0, "happy": 3.0, "sad": -2.5, "worried": -1.5, "surprise": 1.0}
MODALITIES = [
    # (feature set, dim, strength, confusion probability, dtype, layout)
    ("chinese-hubert-large-FRA", 64, 0.6, 0.3, np.float16, "frames"),
    ("clip-vit-large-patch14-UTT", 48, 0.5, 0.4, np.float32, "vector"),
    ("Baichuan-13B-UTT", 96, 0.5, 0.35, np.float64, "row"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "sample"))
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    rows = []  # (name, class index, split)
    for split, counts in (("train", TRAIN_COUNTS), ("test", TEST_COUNTS)):
        for k, n in enumerate(counts):
            rows += [(None, k, split)] * n
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    rows = [("sample_%08d" % (i + 1), k, s) for i, (_, k, s) in enumerate(rows)]

    centres = [rng.normal(size=(len(CLASSES), dim)) for _, dim, *_ in MODALITIES]
    for (feat, dim, strength, confuse, dtype, layout), centre in zip(MODALITIES, centres):
        folder = os.path.join(args.out, "features", feat)
        os.makedirs(folder, exist_ok=True)
        for name, k, _ in rows:
            shown = k if rng.random() > confuse else int(rng.integers(len(CLASSES)))
            base = centre[shown] * strength
            if layout == "frames":
                t = int(rng.integers(4, 13))
                x = base + rng.normal(scale=1.0, size=(t, dim))
            else:
                x = base + rng.normal(scale=1.0, size=dim)
                if layout == "row":
                    x = x[None, :]
            np.save(os.path.join(folder, name + ".npy"), x.astype(dtype))

    with open(os.path.join(args.out, "label-disdim.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "discrete", "valence"])
        for name, k, split in rows:
            if split == "train":
                w.writerow([name, CLASSES[k], "%.2f" % valence(rng, k)])
    with open(os.path.join(args.out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "label", "valence", "split"])
        for name, k, split in rows:
            w.writerow([name, CLASSES[k], "%.2f" % valence(rng, k), split])
    with open(os.path.join(args.out, "transcripts.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "chinese", "english"])
        for name, k, _ in rows:
            w.writerow([name, "样本 %s" % name[-4:], "Sample %s, a line of dialogue." % name[-4:]])
    print("wrote %d samples (%d train, %d test) to %s" % (
        len(rows), sum(TRAIN_COUNTS), sum(TEST_COUNTS), os.path.normpath(args.out)))


def valence(rng, k):
    return float(np.clip(VALENCE[CLASSES[k]] + rng.normal(scale=0.8), -5, 5))


if __name__ == "__main__":
    main()
