#!/usr/bin/env bash
# mer report over generated runs (2 x 2 settings x seeds, one run half-finished, one setting
# with other seeds): its JSON's means, sample stds, best marks and the paired bootstrap against
# a baseline equal an independent numpy computation (tests/oracle/report_numpy.py: the same
# resample indices from a Python xoshiro256**, p-values equal, CIs to 1e-12).
. "$MER_SRC/tests/cli/lib.sh"

"$MER_PYTHON" - <<'PY'
import csv, json, os
import numpy as np
from sklearn.metrics import f1_score, accuracy_score

classes = ["worried", "happy", "neutral", "angry", "surprise", "sad"]
rng = np.random.default_rng(7)
sets = {"cv": 60, "test": 40}
labels = {s: rng.integers(0, 6, n) for s, n in sets.items()}
names = {s: ["%s_%03d" % (s, i) for i in rng.permutation(n)] for s, n in sets.items()}

def metrics(y, p):
    f1 = f1_score(y, p, labels=range(6), average=None, zero_division=0)
    return {"n": len(y), "waf": f1_score(y, p, average="weighted"),
            "accuracy": accuracy_score(y, p), "macro_f1": f1_score(y, p, average="macro"),
            "per_class": {c: {"f1": float(f1[i]), "support": int((y == i).sum())}
                          for i, c in enumerate(classes)}}

def run(d, mode, lam, seed, finished=True):
    os.makedirs(d + "/predictions")
    cfg = {"data": {"labels": "labels.safetensors", "text": "text-%s.safetensors" % mode},
           "model": {"hidden": 32, "prior": {"mode": mode}},
           "loss": {"lambda_inter": lam}, "train": {"seed": seed, "epochs": 8}}
    json.dump(cfg, open(d + "/config.json", "w"), indent=2)
    if not finished:
        return
    skill = 0.4 + 0.25 * (mode != "none") + 0.1 * (lam > 0)
    r = np.random.default_rng(seed * 100 + int(lam * 100) + len(mode))
    out = {}
    for s, n in sets.items():
        y = labels[s]
        p = np.where(r.random(n) < skill, y, r.integers(0, 6, n))
        with open("%s/predictions/%s.csv" % (d, s), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name"] + ["p_" + c for c in classes] + ["prediction", "label"])
            for i in range(n):
                pr = ["%.6f" % (0.5 if j == p[i] else 0.1) for j in range(6)]
                w.writerow([names[s][i]] + pr + [classes[p[i]], classes[y[i]]])
        out[s] = metrics(y, p)
    json.dump({"cv": out["cv"], "test": {"test": out["test"]}}, open(d + "/metrics.json", "w"))

for mode in ["none", "cross_attention"]:
    for lam in [0, 0.35]:
        seeds = [0, 1, 3] if (mode, lam) == ("cross_attention", 0.35) else [0, 1, 2]
        for seed in seeds:
            run("sweep/%s-%s-s%d" % (mode, lam, seed), mode, lam, seed)
run("sweep/cross_attention-0.35-s2", "cross_attention", 0.35, 2, finished=False)
os.makedirs("sweep/logs")  # not a run: skipped
PY
mv sweep/none-0-s2 single  # a run given on its own

expect_exit 0 "$MER" report --format json sweep single --baseline model.prior.mode=none,loss.lambda_inter=0 -o report.json
expect_exit 0 "$MER_PYTHON" "$MER_SRC/tests/oracle/report_numpy.py" report.json 1000 0 \
  model.prior.mode=none,loss.lambda_inter=0 sweep single
cat out
expect_match out '^maxdiff cells'
# Other resamples and bootstrap seed, no baseline.
expect_exit 0 "$MER" report --format json sweep single --baseline model.prior.mode=cross_attention,loss.lambda_inter=0.35 --resamples 300 --bootstrap-seed 12345 -o r2.json
[ "$(grep -c '^mer report: warning: the row of .* paired by order of seed$' err)" -eq 3 ] ||
  fail "expected 3 warnings on pairing by order"
expect_exit 0 "$MER_PYTHON" "$MER_SRC/tests/oracle/report_numpy.py" r2.json 300 12345 \
  model.prior.mode=cross_attention,loss.lambda_inter=0.35 sweep single
expect_exit 0 "$MER" report --format json sweep single -o r3.json
expect_exit 0 "$MER_PYTHON" "$MER_SRC/tests/oracle/report_numpy.py" r3.json 1000 0 - sweep single

# What the JSON says about the runs.
"$MER_PYTHON" - report.json <<'PY' || fail "report.json"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mer.kind"] == "report" and r["version"] == 1, r
assert r["keys"] == ["data.text", "loss.lambda_inter", "model.prior.mode"], r["keys"]
assert r["sets"] == ["cv", "test"] and len(r["rows"]) == 4
assert r["incomplete"] == ["sweep/cross_attention-0.35-s2"], r["incomplete"]
base = [x for x in r["rows"] if x["baseline"]]
assert len(base) == 1 and base[0]["runs"][-1] == "single" and base[0]["vs_baseline"] is None
other = [x for x in r["rows"] if x["keys"]["loss.lambda_inter"] == 0.35
         and x["keys"]["model.prior.mode"] == "cross_attention"][0]
assert other["seeds"] == [0, 1, 3] and other["vs_baseline"]["cv"]["pairing"] == "order"
assert all(x["sets"]["cv"]["waf"]["n"] == 3 for x in r["rows"])
PY

# The other formats: the same numbers, the best marked, the footer says what they are.
expect_exit 0 "$MER" report sweep single --baseline model.prior.mode=none,loss.lambda_inter=0 --per-class
expect_match out '^data\.text +loss\.lambda_inter +model\.prior\.mode +cv n +cv WAF'
expect_match out 'cv F1 surprise'
expect_match out '[0-9]\*'
expect_match out '^mean ± sample std \(ddof=1\)'
expect_match out 'paired bootstrap of the WAF difference over samples, 1000 resamples, seed 0'
expect_match out '^incomplete \(no metrics.json, not averaged\): sweep/cross_attention-0.35-s2$'
expect_match out '^text-none\.safetensors +0 +none +3 .* baseline'
expect_exit 0 "$MER" report sweep single --format markdown
expect_match out '^\| data\.text \| loss\.lambda_inter \| model\.prior\.mode \| cv n \|'
expect_match out '\*\*0\.[0-9]{4} ± 0\.[0-9]{4}\*\*'
expect_exit 0 "$MER" report sweep single --format latex
expect_match out '^\\begin\{tabular\}'
expect_match out '\\textbf\{0\.[0-9]{4} \$\\pm\$ 0\.[0-9]{4}\}'
expect_match out 'data\\_text|data\.text'
expect_exit 0 "$MER" report sweep single --format csv --baseline model.prior.mode=none,loss.lambda_inter=0
expect_match out '^data\.text,loss\.lambda_inter,model\.prior\.mode,cv\.n,cv\.waf\.mean,cv\.waf\.std,'
"$MER_PYTHON" - out report.json <<'PY' || fail "csv and json differ"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
js = json.load(open(sys.argv[2]))["rows"]
assert len(rows) == len(js) == 4
for c, j in zip(rows, js):
    for s in ("cv", "test"):
        for m in ("waf", "accuracy", "macro_f1"):
            assert float(c["%s.%s.mean" % (s, m)]) == j["sets"][s][m]["mean"]
            assert float(c["%s.%s.std" % (s, m)]) == j["sets"][s][m]["std"]
        if not j["baseline"]:
            assert float(c[s + ".p"]) == j["vs_baseline"][s]["p"]
PY
# -o is atomic and not overwritten without --force.
expect_exit 1 "$MER" report sweep -o report.json
expect_err_line "^mer report: 'report.json' exists \(--force overwrites it\)$"
expect_exit 0 "$MER" report sweep -o report.json --force
expect_match report.json '^data\.text'
done_testing
