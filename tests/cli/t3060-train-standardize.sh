#!/usr/bin/env bash
# data.standardize: training on the stores with it gives byte-identical models, predictions and
# metrics to training without it on stores that numpy standardized the same way (each column's
# mean and std over the training split's rows only, accumulated in order in float64, applied in
# float32): the statistics come from the train split alone, and nothing else changes.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"
sample_stores video text
"$MER_PYTHON" - <<'PY' || fail "could not standardize the stores in numpy"
import json, os, numpy as np, store_interop as st
lm, lt = st.load("labels.safetensors")
names = json.loads(lm["mer.ids"])
train = set(n for n, s in zip(names, lt["split"]) if json.loads(lm["mer.splits"])[s] == "train")
for m in ("video", "text"):
    meta, t = st.load(m + ".safetensors")
    ids, x = json.loads(meta["mer.ids"]), t["features"].astype(np.float32)
    rows = x[[i for i, n in enumerate(ids) if n in train]].astype(np.float64)
    s = np.cumsum(rows, axis=0)[-1]              # in row order, as the C loop adds
    q = np.cumsum(rows * rows, axis=0)[-1]
    mean = s / len(rows)
    var = q / len(rows) - mean * mean
    shift = mean.astype(np.float32)
    scale = np.where(var > 1e-12, np.sqrt(np.maximum(var, 0)), 1.0).astype(np.float32)
    os.makedirs("std-" + m)
    for i, n in enumerate(ids):
        np.save("std-%s/%s.npy" % (m, n), ((x[i] - shift) / scale).astype(np.float32))
PY
n_checks=$((n_checks + 1))
expect_exit 0 "$MER" import -q std-video -o std-video.safetensors
expect_exit 0 "$MER" import -q std-text -o std-text.safetensors
cat >base.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 32, "prior": {"mode": "none"}},
 "train": {"epochs": 4, "patience": 0, "folds": 3, "seed": 0}}
JSON
expect_exit 0 "$MER" train -q --config base.json --set data.standardize=true --deterministic \
  --threads 1 --out a
expect_exit 0 "$MER" train -q --config base.json --set data.video=std-video.safetensors \
  --set data.text=std-text.safetensors --deterministic --threads 1 --out b
for f in fold-0/model.safetensors fold-2/model.safetensors metrics.json predictions/cv.csv \
  predictions/test.csv; do
  n_checks=$((n_checks + 1))
  cmp -s "a/$f" "b/$f" || fail "a/$f and b/$f differ"
done
# and it does change training: without it the raw stores give another model
expect_exit 0 "$MER" train -q --config base.json --deterministic --threads 1 --out c
n_checks=$((n_checks + 1))
! cmp -s a/fold-0/model.safetensors c/fold-0/model.safetensors || fail "data.standardize had no effect"
done_testing
