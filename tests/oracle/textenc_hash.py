"""Oracle of mer's "hash" text encoder (src/traces/textenc.c), written from its description.

usage: textenc_hash.py IN.json OUT.f32
IN.json = {"dim": D, "fit": [texts] or null, "encode": [texts]}; OUT.f32 = float32 [len(encode), D]
(raw little-endian), each row the L2-normalized TF-IDF signed projection of one text.
"""
import json
import math
import sys

import numpy as np

BITS = 20
SLOTS = 4
M64 = (1 << 64) - 1


def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def code_points(text):
    # Python decodes with errors="replace" much as the C decoder does (one U+FFFD per bad byte
    # in the cases the test uses).
    out, space = [], False
    for ch in text:
        cp = ord(ch)
        if cp == 0x20 or 0x09 <= cp <= 0x0D or cp == 0x3000:
            space = len(out) > 0
            continue
        if space:
            out.append(0x20)
        space = False
        out.append(cp + 32 if 0x41 <= cp <= 0x5A else cp)
    return out


def bucket(cps):
    h = 0xCBF29CE484222325
    h = ((h ^ len(cps)) * 0x100000001B3) & M64
    for cp in cps:
        for b in range(4):
            h = ((h ^ ((cp >> (8 * b)) & 0xFF)) * 0x100000001B3) & M64
    return h & ((1 << BITS) - 1)


def buckets(text):
    cps = code_points(text)
    return [bucket(cps[i:i + n]) for n in (1, 2, 3) for i in range(len(cps) - n + 1)]


def fit(docs):
    """The smooth idf of every bucket seen in docs, and that of an unseen bucket."""
    df = {}
    for t in docs:
        for b in set(buckets(t)):
            df[b] = df.get(b, 0) + 1
    n = len(docs)
    return {b: math.log((1 + n) / (1 + c)) + 1 for b, c in df.items()}, math.log(1 + n) + 1


def encode(text, dim, idf=None, default_idf=1.0):
    counts = {}
    for b in buckets(text):
        counts[b] = counts.get(b, 0) + 1
    acc = np.zeros(dim)
    for b, c in counts.items():
        # the C side keeps idf as float32
        w = c * float(np.float32((idf or {}).get(b, default_idf)))
        for k in range(SLOTS):
            x = splitmix64(b * SLOTS + k)
            acc[x % dim] += -w if x >> 63 else w
    norm = np.sqrt((acc * acc).sum())
    return acc / norm if norm > 0 else acc


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    idf, default_idf = ({}, 1.0) if spec.get("fit") is None else fit(spec["fit"])
    rows = [encode(t, spec["dim"], idf, default_idf) for t in spec["encode"]]
    np.asarray(rows, dtype="<f4").tofile(sys.argv[2])


if __name__ == "__main__":
    main()
