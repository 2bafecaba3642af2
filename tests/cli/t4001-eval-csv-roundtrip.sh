#!/usr/bin/env bash
# Every CSV mer writes reads back: sample names with commas, quotes, line breaks, spaces and
# non-ASCII text go through import, import-labels and train, and then mer eval reads mer's own
# predictions and submission files (and Python's csv module finds the same names in them).
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"

# The sample with some clips renamed (train and test ones), features and manifest alike.
"$MER_PYTHON" - "$S" <<'PY'
import csv, os, shutil, sys
src = sys.argv[1]
odd = {"sample_00000001": "a,b", "sample_00000002": 'say "hi"', "sample_00000003": "two\nlines",
       "sample_00000004": "中文,名字 \"引号\"", "sample_00000019": " lead and trail ",
       "sample_00000020": "comma, \"quote\"\r\nand CRLF"}
for d in ("chinese-hubert-large-FRA", "clip-vit-large-patch14-UTT", "Baichuan-13B-UTT"):
    os.makedirs(d)
    for f in os.listdir(os.path.join(src, "features", d)):
        name = f[:-4]
        shutil.copy(os.path.join(src, "features", d, f), os.path.join(d, odd.get(name, name) + ".npy"))
with open(os.path.join(src, "manifest.csv"), newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
with open("manifest.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    for r in rows:
        r["name"] = odd.get(r["name"], r["name"])
        w.writerow(r)
PY
"$MER" import -q --labels manifest.csv chinese-hubert-large-FRA -o audio.safetensors >/dev/null
"$MER" import -q --labels manifest.csv clip-vit-large-patch14-UTT -o video.safetensors >/dev/null
"$MER" import -q --labels manifest.csv Baichuan-13B-UTT -o text.safetensors >/dev/null
"$MER" import-labels -q manifest.csv -o labels.safetensors
cat >cfg.json <<'JSON'
{"data": {"audio": "audio.safetensors", "video": "video.safetensors", "text": "text.safetensors",
          "labels": "labels.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 2, "patience": 0, "folds": 2}}
JSON
expect_exit 0 "$MER" train --config cfg.json --out run --threads 1 -q

# Python's csv module reads the same names back from every CSV mer wrote.
"$MER_PYTHON" - <<'PY'
import csv
def names(path, split=None):
    with open(path, newline="", encoding="utf-8") as f:
        return sorted(r["name"] for r in csv.DictReader(f) if split is None or r["split"] == split)
want = {s: names("manifest.csv", s) for s in ("train", "test")}
assert "two\nlines" in want["train"] and "comma, \"quote\"\r\nand CRLF" in want["test"]
for path, split in (("run/predictions/cv.csv", "train"), ("run/predictions/test.csv", "test"),
                    ("run/submission-test.csv", "test")):
    got = names(path)
    assert got == want[split], (path, set(got) ^ set(want[split]))
print("names read back by Python: ok")
PY

# mer eval reads them too: the run's own, and with the labels store and the label CSV.
expect_exit 0 "$MER" eval --run run
expect_match out '^WAF 0\.[0-9]+ .*\(504 samples\)$'
expect_exit 0 "$MER" eval --run run --split test --submission sub.csv
expect_match out '\(122 samples\)$'
cmp sub.csv run/submission-test.csv || fail "eval's submission differs from train's"
expect_exit 0 "$MER" eval --pred run/predictions/test.csv --labels labels.safetensors -o m1.json
expect_exit 0 "$MER" eval --pred run/predictions/test.csv --labels manifest.csv -o m2.json
cmp m1.json m2.json || fail "labels store and label CSV disagree"
# The submission (name,discrete) scores as the predictions file does.
expect_exit 0 "$MER" eval --pred run/submission-test.csv --labels labels.safetensors -o m3.json
"$MER_PYTHON" - <<'PY'
import json
a, b = (list(json.load(open(p)).values())[0] for p in ("m1.json", "m3.json"))
for k in ("waf", "accuracy", "macro_f1", "n"):
    assert a[k] == b[k], (k, a[k], b[k])
PY
done_testing
