#!/usr/bin/env bash
# mer eval: metrics agree with scikit-learn on random predictions (incl. a class never
# predicted and one absent from the truth), labels from CSV or store, submissions.
. "$MER_SRC/tests/cli/lib.sh"

"$MER_PYTHON" - <<'PY'
import json
import numpy as np
from sklearn.metrics import accuracy_score, f1_score
classes = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
rng = np.random.default_rng(3)
n = 300
t = rng.choice(5, size=n, p=[.4, .3, .15, .1, .05])          # 'surprise' never true
p = np.where(rng.random(n) < .6, t, rng.integers(0, 6, n))
p[p == 3] = 0                                                 # 'sad' never predicted
with open("pred.csv", "w") as f:
    f.write("name," + ",".join("p_" + c for c in classes) + ",prediction,label\n")
    for i in range(n):
        probs = np.full(6, 0.1); probs[p[i]] = 0.5
        f.write(f"s{i}," + ",".join("%.3f" % v for v in probs) + f",{classes[p[i]]},\n")
with open("labels.csv", "w") as f:
    f.write("name,discrete,valence\n")
    for i in range(n):
        f.write(f"s{i},{classes[t[i]]},0\n")
json.dump({"waf": f1_score(t, p, average="weighted"), "acc": accuracy_score(t, p),
           "macro": f1_score(t, p, average="macro")}, open("want.json", "w"))
PY

expect_exit 1 "$MER" eval --pred pred.csv
expect_err_line "no labeled predictions to score"
expect_exit 0 "$MER" eval --pred pred.csv --labels labels.csv --out got.json --submission sub.csv
expect_match out '^WAF 0\.[0-9]{4}  accuracy'
"$MER_PYTHON" - <<'PY'
import json
want = json.load(open("want.json"))
got = list(json.load(open("got.json")).values())[0]
for k, g in (("waf", "waf"), ("acc", "accuracy"), ("macro", "macro_f1")):
    assert abs(want[k] - got[g]) < 1e-6, (k, want[k], got[g])
print("eval vs sklearn: maxdiff %.2g" % max(abs(want[k] - got[g]) for k, g in
      (("waf", "waf"), ("acc", "accuracy"), ("macro", "macro_f1"))))
PY
[ "$(head -1 sub.csv)" = "name,discrete" ] || fail "submission header"
[ "$(wc -l <sub.csv)" -eq 301 ] || fail "submission rows"

# The same through a labels store.
"$MER" import-labels -q labels.csv -o labels.safetensors
expect_exit 0 "$MER" eval --pred pred.csv --labels labels.safetensors --out got2.json
cmp got.json got2.json || fail "CSV and store labels disagree"

# Valence columns: MSE against scikit-learn, CCC against its definition in numpy.
"$MER_PYTHON" - <<'PY'
import json
import numpy as np
from sklearn.metrics import mean_squared_error
rng = np.random.default_rng(5)
t = rng.normal(size=200) * 2
v = t * 0.7 + rng.normal(size=200)
with open("val.csv", "w") as f:
    f.write("name,p_a,p_b,prediction,label,valence,valence_label\n")
    for i in range(200):
        lab = "" if i % 10 == 0 else "%.6f" % t[i]   # every tenth row has no valence label
        f.write(f"s{i},0.5,0.5,a,a,{v[i]:.6f},{lab}\n")
keep = np.arange(200) % 10 != 0
tt, vv = np.round(t[keep], 6), np.round(v[keep], 6)
ccc = 2 * np.cov(tt, vv, bias=True)[0, 1] / (tt.var() + vv.var() + (tt.mean() - vv.mean()) ** 2)
json.dump({"mse": mean_squared_error(tt, vv), "ccc": ccc, "n": int(keep.sum())}, open("vwant.json", "w"))
PY
expect_exit 0 "$MER" eval --pred val.csv --out vgot.json
expect_match out '^valence: MSE [0-9.]+  CCC [0-9.]+  \(180 samples\)$'
"$MER_PYTHON" - <<'PY'
import json
want = json.load(open("vwant.json"))
got = list(json.load(open("vgot.json")).values())[0]["valence"]
assert got["n"] == want["n"], got
for k in ("mse", "ccc"):
    assert abs(got[k] - want[k]) < 1e-9, (k, got[k], want[k])
PY

# Bad input.
expect_exit 2 "$MER" eval
expect_exit 2 "$MER" eval --pred a --run b
printf 'name,p_a,p_b,prediction\nx,0.5,0.5,c\n' >bad.csv
expect_exit 1 "$MER" eval --pred bad.csv
expect_err_line "^mer eval: 'bad.csv':2: prediction 'c' is not one of the p_ classes"
head -3 labels.csv >short.csv
expect_exit 1 "$MER" eval --pred pred.csv --labels short.csv
expect_err_line "no label for sample 's2'"
done_testing
