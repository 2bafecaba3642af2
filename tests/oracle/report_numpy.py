"""Oracle for mer report: the same table computed independently with numpy.

    report_numpy.py REPORT_JSON RESAMPLES SEED BASELINE RUN_OR_SWEEP_DIR...

Reads the run directories itself (a directory with config.json is a run, else its
subdirectories one level down are), flattens each config to dotted keys, groups the complete
runs (those with metrics.json) by the keys that vary (train.seed aside), and checks mer's JSON
(REPORT_JSON): keys, rows, every cell's mean, sample std (ddof=1), n and values (to 1e-9), the
best marks, the incomplete runs, and against the baseline (BASELINE: key=value,..., or "-")
the deltas and the paired bootstrap of WAF: the resample indices are drawn with the same
generator (xoshiro256** seeded by splitmix64, unbiased below-n by rejection), so the p-values
must be equal and the CI and observed difference agree to 1e-12. Prints the largest
differences; exits 1 on any mismatch.
"""
import csv
import json
import os
import sys

import numpy as np

M64 = (1 << 64) - 1


class Xoshiro:
    """xoshiro256** seeded through splitmix64, as src/base/rng.c."""

    def __init__(self, seed):
        self.s = []
        x = seed & M64
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        r = (((s[1] * 5) & M64) << 7 | ((s[1] * 5) & M64) >> 57) & M64
        r = (r * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & M64
        return r

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


def find_runs(paths):
    runs = []
    for p in paths:
        if os.path.exists(os.path.join(p, "config.json")):
            runs.append(p)
        else:
            for d in sorted(os.listdir(p)):
                q = os.path.join(p, d)
                if not d.startswith(".") and os.path.isdir(q) and \
                        os.path.exists(os.path.join(q, "config.json")):
                    runs.append(q)
    return runs


def flatten(o, prefix=""):
    out = {}
    for k, v in o.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def read_preds(path):
    """Labeled rows sorted by name: (names, labels, preds) as class indices."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    classes = [h[2:] for h in head if h.startswith("p_")]
    ip, il = head.index("prediction"), head.index("label")
    data = sorted((r[0], classes.index(r[il]), classes.index(r[ip])) for r in rows[1:] if r[il])
    return ([d[0] for d in data], np.array([d[1] for d in data]),
            np.array([d[2] for d in data]), len(classes))


def waf_rows(label, pred, k):
    """WAF of each resample row: pred, label [B, n] -> [B], summed in class order."""
    n = label.shape[1]
    acc = np.zeros(label.shape[0])
    for c in range(k):
        sup = (label == c).sum(axis=1)
        tp = ((label == c) & (pred == c)).sum(axis=1)
        den = sup + (pred == c).sum(axis=1)
        f1 = np.where(den > 0, 2.0 * tp / np.maximum(den, 1), 0.0)
        acc = acc + np.where(den > 0, sup * f1, 0.0)
    return acc / n


def linear_percentile(x, q):
    return float(np.percentile(x, q))


def main():
    report_path, B, seed, baseline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    paths = sys.argv[5:]
    mer = json.load(open(report_path))
    problems, maxdiff = [], {"cell": 0.0, "bootstrap": 0.0}

    def close(what, a, b, tol, kind):
        if a is None or b is None:
            if a is not b:
                problems.append("%s: mer %r, oracle %r" % (what, a, b))
            return
        d = abs(a - b)
        maxdiff[kind] = max(maxdiff[kind], d)
        if d > tol:
            problems.append("%s: mer %r, oracle %r" % (what, a, b))

    runs = find_runs(paths)
    info = []
    for d in runs:
        cfg = flatten(json.load(open(os.path.join(d, "config.json"))))
        mp = os.path.join(d, "metrics.json")
        info.append({"dir": d, "cfg": cfg, "seed": cfg.get("train.seed", 0),
                     "metrics": json.load(open(mp)) if os.path.exists(mp) else None})
    complete = [r for r in info if r["metrics"] is not None]
    incomplete = [r["dir"] for r in info if r["metrics"] is None]
    allkeys = sorted({k for r in complete for k in r["cfg"]} - {"train.seed"})
    keys = [k for k in allkeys
            if len({json.dumps(r["cfg"][k]) if k in r["cfg"] else "<absent>"
                    for r in complete}) > 1]
    if keys != mer["keys"]:
        problems.append("keys: mer %r, oracle %r" % (mer["keys"], keys))
    if incomplete != mer["incomplete"]:
        problems.append("incomplete: mer %r, oracle %r" % (mer["incomplete"], incomplete))

    groups = {}
    for r in complete:
        groups.setdefault(json.dumps([r["cfg"].get(k) for k in keys]), []).append(r)
    for g in groups.values():
        g.sort(key=lambda r: r["seed"])
    sets = ["cv"] + list(dict.fromkeys(s for r in complete for s in r["metrics"].get("test", {})))
    classes = mer["classes"]
    metric_names = ["waf", "accuracy", "macro_f1"]

    def set_of(r, s):
        return r["metrics"]["cv"] if s == "cv" else r["metrics"].get("test", {}).get(s)

    def values(g, s, col):
        out = []
        for r in g:
            m = set_of(r, s)
            if m is None:
                continue
            out.append(m[col] if col in metric_names else m["per_class"][col]["f1"])
        return out

    mer_rows = {json.dumps([row["keys"][k] for k in keys]): row for row in mer["rows"]}
    if sorted(mer_rows) != sorted(groups):
        problems.append("rows: mer %r, oracle %r" % (sorted(mer_rows), sorted(groups)))
    means = {}
    for gk, g in groups.items():
        row = mer_rows.get(gk)
        if row is None:
            continue
        if row["seeds"] != [r["seed"] for r in g]:
            problems.append("%s seeds: mer %r" % (gk, row["seeds"]))
        for s in sets:
            for col in metric_names + classes:
                v = np.array(values(g, s, col))
                cell = row["sets"][s][col] if col in metric_names else \
                    row["sets"][s]["per_class_f1"][col]
                what = "%s %s %s" % (gk, s, col)
                if cell["n"] != len(v) or len(cell["values"]) != len(v):
                    problems.append("%s: n %d, oracle %d" % (what, cell["n"], len(v)))
                    continue
                for a, b in zip(cell["values"], v):
                    close(what + " value", a, float(b), 0, "cell")
                close(what + " mean", cell["mean"], float(np.mean(v)) if len(v) else None,
                      1e-9, "cell")
                close(what + " std", cell["std"], float(np.std(v, ddof=1)) if len(v) > 1 else None,
                      1e-9, "cell")
                means[(gk, s, col)] = float(np.mean(v)) if len(v) else None
    # best marks: the highest mean of each column
    for s in sets:
        for col in metric_names + classes:
            ms = {gk: means.get((gk, s, col)) for gk in groups}
            top = max((m for m in ms.values() if m is not None), default=None)
            for gk, m in ms.items():
                row = mer_rows.get(gk)
                if row is None:
                    continue
                cell = row["sets"][s][col] if col in metric_names else \
                    row["sets"][s]["per_class_f1"][col]
                want = len(groups) > 1 and m is not None and abs(m - top) < 1e-12
                if cell["best"] != want:
                    problems.append("%s %s %s best: mer %r" % (gk, s, col, cell["best"]))

    if baseline != "-":
        spec = dict(kv.split("=", 1) for kv in baseline.split(","))

        def matches(g):
            for k, want in spec.items():
                v = g[0]["cfg"].get(k)
                if isinstance(v, str):
                    ok = v == want
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    ok = float(want) == v
                else:
                    ok = json.dumps(v) == want
                if not ok:
                    return False
            return True

        base = [gk for gk, g in groups.items() if matches(g)]
        assert len(base) == 1, base
        bk = base[0]
        for gk, g in groups.items():
            row = mer_rows.get(gk)
            if gk == bk:
                if not row["baseline"]:
                    problems.append("%s: not marked the baseline" % gk)
                continue
            for s in sets:
                ga = [r for r in g if set_of(r, s) is not None]
                gb = [r for r in groups[bk] if set_of(r, s) is not None]
                c = row["vs_baseline"][s]
                what = "%s vs baseline %s" % (gk, s)
                by_seed = [r["seed"] for r in ga] == [r["seed"] for r in gb]
                if c["pairing"] != ("seed" if by_seed else "order"):
                    problems.append("%s: pairing %s" % (what, c["pairing"]))
                pairs = list(zip(ga, gb))
                for j, m in enumerate(metric_names):
                    close(what + " delta " + m, c["delta"][m],
                          means[(gk, s, m)] - means[(bk, s, m)], 1e-9, "cell")
                preds = []
                for ra, rb in pairs:
                    fa = read_preds(os.path.join(ra["dir"], "predictions", s + ".csv"))
                    fb = read_preds(os.path.join(rb["dir"], "predictions", s + ".csv"))
                    assert fa[0] == fb[0] and (fa[1] == fb[1]).all()
                    preds.append((fa[2], fb[2]))
                label, k = fa[1], fa[3]
                n = len(label)
                rng = Xoshiro(seed)
                idx = np.array([rng.below(n) for _ in range(B * n)]).reshape(B, n)
                full = np.arange(n)[None, :]

                def diff(ix):
                    tot = np.zeros(ix.shape[0])
                    for pa, pb in preds:
                        tot = tot + (waf_rows(label[ix], pa[ix], k) - waf_rows(label[ix], pb[ix], k))
                    return tot / len(preds)

                d = diff(idx)
                p = min(1.0, 2.0 * min((d <= 0).sum(), (d >= 0).sum()) / B)
                close(what + " waf_diff", c["waf_diff"], float(diff(full)[0]), 1e-12, "bootstrap")
                if c["p"] != p:
                    problems.append("%s p: mer %r, oracle %r" % (what, c["p"], p))
                close(what + " ci lo", c["ci95"][0], linear_percentile(d, 2.5), 1e-12, "bootstrap")
                close(what + " ci hi", c["ci95"][1], linear_percentile(d, 97.5), 1e-12, "bootstrap")
                if c["pairs"] != len(pairs):
                    problems.append("%s pairs: mer %r, oracle %d" % (what, c["pairs"], len(pairs)))
    print("maxdiff cells %.3g, bootstrap %.3g" % (maxdiff["cell"], maxdiff["bootstrap"]))
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
