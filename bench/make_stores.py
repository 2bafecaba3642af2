#!/usr/bin/python3
"""Synthetic MER2024-sized data for scripts/bench, in MERTools' layout (one .npy per sample):
5,030 labeled samples with MER2024's class counts; audio 1024, video 768, text 1024, and a
3 x 256 prior per sample (the three priors side by side). scripts/bench imports it with mer.
Usage: make_stores.py OUTDIR"""
import os
import sys

import numpy as np

COUNTS = [1248, 1208, 1038, 730, 616, 190]
CLASSES = ["neutral", "angry", "happy", "sad", "worried", "surprise"]


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(0)
    y = np.concatenate([np.full(c, k) for k, c in enumerate(COUNTS)])
    rng.shuffle(y)
    names = ["s%05d" % i for i in range(len(y))]
    for name, d in (("audio", 1024), ("video", 768), ("text", 1024), ("priors", 768)):
        folder = os.path.join(out, "npy", name)
        os.makedirs(folder, exist_ok=True)
        centre = rng.normal(size=(6, d)).astype(np.float32)
        x = (centre[y] * 0.5 + rng.normal(size=(len(y), d))).astype(np.float32)
        for i, n in enumerate(names):
            np.save(os.path.join(folder, n + ".npy"), x[i])
    with open(os.path.join(out, "labels.csv"), "w") as f:
        f.write("name,label\n")
        f.writelines("%s,%s\n" % (n, CLASSES[k]) for n, k in zip(names, y))


if __name__ == "__main__":
    main()
