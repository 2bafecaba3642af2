#!/usr/bin/env bash
# mer train on the bundled sample: a run directory with every output, a model that clearly
# beats the majority class, and bit-identical results for the same seed.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"

"$MER" import -q "$S/features/chinese-hubert-large-FRA" -o audio.safetensors >/dev/null
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import -q "$S/features/Baichuan-13B-UTT" -o text.safetensors >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
cat >cfg.json <<'JSON'
{"data": {"audio": "audio.safetensors", "video": "video.safetensors", "text": "text.safetensors",
          "labels": "labels.safetensors"},
 "model": {"hidden": 32}, "train": {"epochs": 8, "patience": 0, "folds": 3}}
JSON

expect_exit 0 "$MER" train --config cfg.json --out run1 --threads 1
expect_match out '^cross-validated \(out-of-fold\) on .train.: WAF 0\.[0-9]+'
for f in config.json folds.json metrics.json predictions/cv.csv predictions/test.csv \
  fold-0/model.safetensors fold-0/log.jsonl fold-2/log.jsonl; do
  [ -s "run1/$f" ] || fail "run1/$f is missing"
done
[ "$(wc -l <run1/fold-1/log.jsonl)" -eq 8 ] || fail "expected 8 epochs in the log"
expect_match run1/fold-1/log.jsonl '"ce": [0-9.]+, "inter": [0-9.]+, "intra": [0-9.]+'
expect_exit 0 "$MER" info run1/fold-0/model.safetensors
expect_match out 'kind: model'

# Clearly better than always predicting the majority class (WAF ~0.1 on this sample).
"$MER_PYTHON" - run1/metrics.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["cv"]["waf"] > 0.5, m["cv"]["waf"]
assert m["test"]["test"]["waf"] > 0.5, m["test"]["test"]["waf"]
PY

# Same seed, same everything; another seed, other folds.
expect_exit 0 "$MER" train --config cfg.json --out run2 --threads 1 -q
cmp run1/metrics.json run2/metrics.json || fail "same seed gave different metrics"
cmp run1/fold-0/model.safetensors run2/fold-0/model.safetensors || fail "weights differ"
expect_exit 0 "$MER" train --config cfg.json --out run3 --seed 5 -q
cmp -s run1/folds.json run3/folds.json && fail "another seed gave the same folds"

# Both engines (train.engine): the plain-C step and libtorch's autograd each clearly beat the
# majority class; their runs differ only by their dropout draws. c asks for the CPU.
expect_exit 0 "$MER" train --config cfg.json --out runt --set train.engine=torch -q
"$MER_PYTHON" - run1/metrics.json runt/metrics.json <<'PY'
import json, sys
c, t = (json.load(open(p)) for p in sys.argv[1:])
assert t["cv"]["waf"] > 0.5 and abs(c["cv"]["waf"] - t["cv"]["waf"]) < 0.1, (c["cv"], t["cv"])
PY
expect_exit 1 "$MER" train --config cfg.json --out runx --set train.engine=c --device cuda
expect_err_line "^mer train: train.engine=c runs on the CPU only"

# The valence head: a valence term in the log, MSE and CCC in metrics.json and predictions.
expect_exit 0 "$MER" train --config cfg.json --out runv --set model.valence_head=true \
  --set train.epochs=3 -q
expect_match runv/fold-0/log.jsonl '"valence": [0-9.]+'
head -1 runv/predictions/test.csv | grep -q ',valence,valence_label$' || fail "no valence columns"
"$MER_PYTHON" - runv/metrics.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for part in (m["cv"], m["test"]["test"]):
    v = part["valence"]
    assert v["n"] > 100 and v["mse"] > 0 and -1 <= v["ccc"] <= 1, v
PY

# A finished run is not overwritten by accident; --print-config resolves without training.
expect_exit 1 "$MER" train --config cfg.json --out run1
expect_err_line "^mer train: 'run1' already holds a run"
expect_exit 0 "$MER" train --config cfg.json --print-config --set train.lr=0.01
expect_match out '"lr":[[:space:]]+0.01'
done_testing
