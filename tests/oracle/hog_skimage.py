#!/usr/bin/python3
"""Reference visual features from python3-skimage for tests/unit/test_visual.c.

hog_skimage.py DIR reads DIR/cases.txt, one case a line, and writes float64 raw dumps beside
the inputs:
  gray NAME H W                 NAME.rgb (uint8 [H, W, 3])  -> NAME.gray.f64   rgb2gray
  colour NAME H W               NAME.rgb                     -> NAME.colour.f64 mean/std/skew
  resize NAME R C OR OC AA      NAME.f64 ([R, C])            -> NAME.resized.f64 resize
  hog NAME R C N PR PC BR BC NORM SQRT
                                NAME.f64                     -> NAME.hog.f64    hog
  clip NAME H W T OR OC GRAY    NAME.rgb (T frames)          -> NAME.GRAY.frames.f64, .pooled.f64
The clip case is mer's whole pipeline with its default options (2x2 cells per block), from
rgb2gray and resize (GRAY = skimage) or from mer's resized gray frames NAME.small.f64
(GRAY = ours: HOG, moments, motion and pooling on the same arrays as mer's).
"""
import sys
import warnings

import numpy as np
import scipy.stats
from skimage.color import rgb2gray
from skimage.feature import hog
from skimage.transform import resize


def load(path, dtype, shape):
    return np.fromfile(path, dtype=dtype).reshape(shape)


def save(path, a):
    np.ascontiguousarray(a, dtype=np.float64).tofile(path)


def colour(frame):
    out = []
    for c in range(3):
        x = frame[:, :, c].astype(np.float64) / 255.0
        out += [x.mean(), x.std(), scipy.stats.skew(x, axis=None)]
    return np.array(out)


def frame_features(frame, small, prev):
    h = hog(small, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
            block_norm='L2-Hys')
    motion = 0.0 if prev is None else np.mean(np.abs(small - prev))
    return np.concatenate([h, colour(frame), [motion]]), small


def clip(d, name, h, w, t, size, source):
    frames = load(f'{d}/{name}.rgb', np.uint8, (t, h, w, 3))
    if source == 'ours':
        smalls = load(f'{d}/{name}.small.f64', np.float64, (t,) + size)
    else:
        smalls = [resize(rgb2gray(f), size) for f in frames]
    rows, prev = [], None
    for f, small in zip(frames, smalls):
        row, prev = frame_features(f, small, prev)
        rows.append(row)
    rows = np.array(rows)
    feats, motion = rows[:, :-1], rows[1:, -1]
    dh = feats.shape[1] - 9
    pooled = [feats[:, :dh].mean(0), feats[:, :dh].std(0), feats[:, dh:].mean(0),
              feats[:, dh:].std(0)]
    stats = [motion.mean(), motion.std(), motion.max()] if len(motion) else [0.0, 0.0, 0.0]
    save(f'{d}/{name}.{source}.frames.f64', rows)
    save(f'{d}/{name}.{source}.pooled.f64', np.concatenate(pooled + [np.array(stats)]))


def main():
    warnings.simplefilter("ignore", RuntimeWarning)  # skew of a constant channel (1x1 frames)
    d = sys.argv[1]
    for line in open(f'{d}/cases.txt'):
        kind, name, *a = line.split()
        if kind == 'gray':
            h, w = int(a[0]), int(a[1])
            save(f'{d}/{name}.gray.f64', rgb2gray(load(f'{d}/{name}.rgb', np.uint8, (h, w, 3))))
        elif kind == 'colour':
            h, w = int(a[0]), int(a[1])
            save(f'{d}/{name}.colour.f64', colour(load(f'{d}/{name}.rgb', np.uint8, (h, w, 3))))
        elif kind == 'resize':
            r, c, orr, oc, aa = map(int, a)
            img = load(f'{d}/{name}.f64', np.float64, (r, c))
            save(f'{d}/{name}.resized.f64', resize(img, (orr, oc), anti_aliasing=bool(aa)))
        elif kind == 'hog':
            r, c, n, pr, pc, br, bc = map(int, a[:7])
            img = load(f'{d}/{name}.f64', np.float64, (r, c))
            save(f'{d}/{name}.hog.f64',
                 hog(img, orientations=n, pixels_per_cell=(pr, pc), cells_per_block=(br, bc),
                     block_norm=a[7], transform_sqrt=a[8] == '1', feature_vector=True))
        elif kind == 'clip':
            h, w, t, orr, oc = map(int, a[:5])
            clip(d, name, h, w, t, (orr, oc), a[5])
        else:
            raise SystemExit(f'{d}/cases.txt: unknown case {kind!r}')


if __name__ == '__main__':
    main()
