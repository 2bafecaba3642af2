#!/usr/bin/env bash
# mer eval scores what it is given, or refuses: predictions missing part of the labeled split
# (unless --subset, which reports n of N), a sample on two rows, probabilities that are not
# finite numbers, a column given twice; it scores plain submissions (name,discrete, as mer and
# MERTools write them); labels stores are told by content, whatever their name.
. "$MER_SRC/tests/cli/lib.sh"

"$MER_PYTHON" - <<'PY'
import csv, json
import numpy as np
from sklearn.metrics import accuracy_score, f1_score
classes = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
rng = np.random.default_rng(7)
n_train, n_test = 50, 122
t = rng.choice(6, size=n_train + n_test, p=[.3, .25, .2, .1, .1, .05])
p = np.where(rng.random(n_train + n_test) < .7, t, rng.integers(0, 6, n_train + n_test))
names = ["s%d" % i for i in range(n_train + n_test)]
with open("labels.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "label", "valence", "split"])
    for i, name in enumerate(names):
        w.writerow([name, classes[t[i]], 0, "train" if i < n_train else "test"])
def predictions(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name"] + ["p_" + c for c in classes] + ["prediction", "label"])
        for i in rows:
            probs = np.full(6, 0.1); probs[p[i]] = 0.5
            w.writerow([names[i]] + ["%.3f" % v for v in probs] + [classes[p[i]], ""])
test = list(range(n_train, n_train + n_test))
predictions("test.csv", test)
predictions("part.csv", test[:20])
# A submission as MERTools writes it (pandas' to_csv(index=False): name,discrete).
with open("sub.csv", "w", newline="") as f:
    f.write("name,discrete\n" + "".join("%s,%s\n" % (names[i], classes[p[i]]) for i in test))
with open("subpart.csv", "w", newline="") as f:
    f.write("name,discrete\n" + "".join("%s,%s\n" % (names[i], classes[p[i]]) for i in test[:20]))
score = lambda rows: {"waf": f1_score(t[rows], p[rows], average="weighted"),
                      "accuracy": accuracy_score(t[rows], p[rows]),
                      "macro_f1": f1_score(t[rows], p[rows], average="macro")}
json.dump({"all": score(test), "part": score(test[:20])}, open("want.json", "w"))
PY
"$MER" import-labels -q labels.csv -o labels.safetensors
cp labels.safetensors labels.st
cp labels.safetensors store-named.csv

# Complete predictions score; a labels store is read as one whatever its name.
expect_exit 0 "$MER" eval --pred test.csv --labels labels.csv -o all-csv.json
expect_match out '^WAF 0\.[0-9]{4} .*\(122 samples\)$'
for store in labels.safetensors labels.st store-named.csv; do
  expect_exit 0 "$MER" eval --pred test.csv --labels "$store" -o "all-$store.json"
  cmp all-csv.json "all-$store.json" || fail "labels from '$store' disagree with the CSV's"
done

# 20 of the 122 test samples: an error, unless --subset, which says so.
expect_exit 1 "$MER" eval --pred part.csv --labels labels.csv
expect_err_line "^mer eval: 'part.csv': no prediction for sample 's70' \('labels.csv':72\), nor for 101 more of the 122 labeled samples there \(--subset scores only the samples given\)$"
expect_exit 1 "$MER" eval --pred part.csv --labels labels.st
expect_err_line "^mer eval: 'part.csv': no prediction for sample 's70' \('labels.st'\), nor for 101 more"
expect_exit 0 "$MER" eval --pred part.csv --labels labels.st --subset -o part.json
expect_match out '^WAF 0\.[0-9]{4} .*\(20 of 122 samples\)$'
"$MER_PYTHON" - <<'PY'
import json
want = json.load(open("want.json"))
for path, key, n in (("all-csv.json", "all", 122), ("part.json", "part", 20)):
    got = list(json.load(open(path)).values())[0]
    assert got["n"] == n and got.get("of", n if key == "all" else None) == (122 if key == "part" else n), got
    for k in ("waf", "accuracy", "macro_f1"):
        assert abs(got[k] - want[key][k]) < 1e-9, (path, k, got[k], want[key][k])
PY

# A sample on two rows, probabilities that are not numbers, a column given twice.
{ head -3 test.csv; sed -n 2p test.csv; } >dup.csv
expect_exit 1 "$MER" eval --pred dup.csv
expect_err_line "^mer eval: 'dup.csv':4: sample 's50' again \(first on line 2\)$"
for bad in nan inf -inf 1e999 abc "" 1.5 -0.1; do
  { head -2 test.csv; sed -n 3p test.csv | awk -F, -v OFS=, -v b="$bad" '{$4 = b; print}'; } >bad.csv
  expect_exit 1 "$MER" eval --pred bad.csv
  expect_err_line "^mer eval: 'bad.csv':3: column 'p_happy': '$bad' is not a probability \(a finite number from 0 to 1\)$"
done
sed '1s/p_sad/p_angry/' test.csv >dupcol.csv
expect_exit 1 "$MER" eval --pred dupcol.csv
expect_err_line "^mer eval: 'dupcol.csv':1: column 'p_angry' appears twice \(columns 3 and 5\)$"

# Submissions (name,discrete): scored as the predictions are, with the same checks.
expect_exit 0 "$MER" eval --pred sub.csv --labels labels.safetensors -o sub.json
expect_match out '\(122 samples\)$'
expect_exit 0 "$MER" eval --pred sub.csv --labels labels.csv -o sub-csv.json
"$MER_PYTHON" - <<'PY'
import json
a = list(json.load(open("all-csv.json")).values())[0]
for path in ("sub.json", "sub-csv.json"):
    b = list(json.load(open(path)).values())[0]
    for k in ("n", "waf", "accuracy", "macro_f1", "confusion"):
        assert a[k] == b[k], (path, k, a[k], b[k])
PY
expect_exit 1 "$MER" eval --pred subpart.csv --labels labels.safetensors
expect_err_line "no prediction for sample 's70'"
expect_exit 0 "$MER" eval --pred subpart.csv --labels labels.safetensors --subset
expect_match out '\(20 of 122 samples\)$'
expect_exit 1 "$MER" eval --pred sub.csv
expect_err_line "^mer eval: 'sub.csv': no labeled predictions to score \(give --labels\)$"
sed '5s/,[a-z]*$/,bored/' sub.csv >subbad.csv
expect_exit 1 "$MER" eval --pred subbad.csv --labels labels.safetensors
expect_err_line "^mer eval: 'subbad.csv':5: prediction 'bored' is not a class of 'labels.safetensors'$"
{ cat sub.csv; sed -n 3p sub.csv; } >subdup.csv
expect_exit 1 "$MER" eval --pred subdup.csv --labels labels.safetensors
expect_err_line "^mer eval: 'subdup.csv':124: sample 's51' again \(first on line 3\)$"
printf 'name,other\nx,y\n' >neither.csv
expect_exit 1 "$MER" eval --pred neither.csv
expect_err_line "^mer eval: 'neither.csv':1: expected p_<class> columns"

# Outputs follow the one overwrite rule: an existing file needs --force, a directory never.
expect_exit 1 "$MER" eval --pred test.csv --labels labels.st -o all-csv.json
expect_err_line "^mer eval: 'all-csv.json' exists \(--force overwrites it\)$"
expect_exit 1 "$MER" eval --pred test.csv --labels labels.st --submission sub.csv
expect_err_line "^mer eval: 'sub.csv' exists \(--force overwrites it\)$"
mkdir adir
expect_exit 1 "$MER" eval --pred test.csv --labels labels.st --submission adir --force
expect_err_line "^mer eval: 'adir' is a directory"
expect_exit 0 "$MER" eval --pred test.csv --labels labels.st -o new.json --submission s2.csv
expect_exit 0 "$MER" eval --pred test.csv --labels labels.st -o all-csv.json --submission s2.csv \
  --force
cmp sub.csv s2.csv || fail "the submission differs from the one written by Python"
done_testing
