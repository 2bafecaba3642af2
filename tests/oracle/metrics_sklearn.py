#!/usr/bin/python3
"""Oracle for mer's metrics: random and edge-case label sets, scored by scikit-learn.

Usage: metrics_sklearn.py OUT.txt
Writes one block per case, all numbers as text:
  K n
  truth[0..n-1]
  pred[0..n-1]
  accuracy waf macro_f1 weighted_precision weighted_recall
  f1 per class (K values; sklearn's labels=range(K), zero_division=0)
  mse ccc (of two float vectors derived from the labels)
"""
import sys
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

warnings.filterwarnings("ignore")  # zero-division warnings are the point of the edge cases


def cases(rng):
    k = 6
    yield k, np.array([0, 1, 2, 3, 4, 5, 0, 1]), np.array([0, 1, 2, 3, 4, 0, 0, 2])  # 5 never predicted
    yield k, np.array([0, 0, 1, 1, 2, 2]), np.array([0, 3, 1, 1, 2, 5])  # 3, 5 absent from truth
    yield k, np.array([2, 2, 2, 2]), np.array([2, 2, 2, 2])  # a single class, all right
    yield k, np.array([2, 2, 2]), np.array([4, 4, 4])  # all wrong
    yield k, np.array([1]), np.array([1])
    yield 2, np.array([0, 1, 1, 0, 1]), np.array([1, 1, 0, 0, 1])
    for _ in range(30):
        n = int(rng.integers(1, 400))
        p = rng.dirichlet(np.ones(k) * 0.7)  # long-tailed at random
        t = rng.choice(k, size=n, p=p)
        pr = np.where(rng.random(n) < rng.random(), t, rng.integers(0, k, size=n))
        yield k, t, pr


def main():
    rng = np.random.default_rng(7)
    with open(sys.argv[1], "w") as f:
        for k, t, p in cases(rng):
            labels_present = np.union1d(t, p)
            f.write("%d %d\n" % (k, len(t)))
            f.write(" ".join(map(str, t)) + "\n")
            f.write(" ".join(map(str, p)) + "\n")
            f.write("%.12g %.12g %.12g %.12g %.12g\n" % (
                accuracy_score(t, p),
                f1_score(t, p, average="weighted", zero_division=0),
                f1_score(t, p, average="macro", zero_division=0),
                precision_score(t, p, average="weighted", zero_division=0),
                recall_score(t, p, average="weighted", zero_division=0)))
            per = f1_score(t, p, labels=list(range(k)), average=None, zero_division=0)
            f.write(" ".join("%.12g" % v for v in per) + "\n")
            a = t * 0.5 + np.sin(np.arange(len(t)))
            b = p * 0.4 - 0.1
            mse = float(np.mean((a - b) ** 2))
            cov = np.mean((a - a.mean()) * (b - b.mean()))
            den = a.var() + b.var() + (a.mean() - b.mean()) ** 2
            f.write("%.12g %.12g\n" % (mse, 2 * cov / den if den > 0 else 0.0))
            assert len(labels_present) >= 1


if __name__ == "__main__":
    main()
