"""MERTools' uniform frame sampling (resample_frames_uniform in MER2025's
feature_extraction/visual/extract_vision_huggingface.py), restated: of a clip's vlen frames
take np.arange(0, vlen, vlen / min(n, vlen)) as ints, repeat the last index up to n, keep n.

usage: video_uniform.py VLEN:N ...   -> one line per pair, the n indexes separated by spaces
"""
import sys

import numpy as np


def uniform(vlen, n):
    idx = np.arange(0, vlen, vlen / min(n, vlen)).astype(int).tolist()
    while len(idx) < n:
        idx.append(idx[-1])
    return idx[:n]


for arg in sys.argv[1:]:
    vlen, n = (int(x) for x in arg.split(":"))
    print(" ".join(str(i) for i in uniform(vlen, n)))
