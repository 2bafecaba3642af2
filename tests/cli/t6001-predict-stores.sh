#!/bin/bash
# mer predict from ready stores: MERTools features imported from .npy files (no extractor
# recorded) are taken as given, and predict the run's test split as mer train did, valence
# head and probability ensemble included; a store imported for a modality the run lacks, and
# a modality with neither a store nor an extractor to run again, are refused.
. "$(dirname "$0")/lib.sh"
sample_stores video text
cat >c.json <<JSON
{ "data": { "video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors",
            "standardize": true },
  "model": { "hidden": 32, "valence_head": true },
  "eval": { "ensemble": "probs" },
  "train": { "epochs": 3, "folds": 3, "seed": 1, "batch_size": 8 } }
JSON
expect_exit 0 "$MER" train --config c.json --out run --deterministic --threads 1 -q
"$MER_PYTHON" -c "
import csv
print('\n'.join(r['name'] for r in csv.DictReader(open('$MER_SRC/data/sample/manifest.csv')) if r['split'] == 'test'))" >test-names
# only the test split's rows of the stores: the run's own stores hold every split's
expect_exit 0 "$MER" predict --run run --video video.safetensors --text text.safetensors \
  --threads 1 -o all.csv
"$MER_PYTHON" - run/predictions/test.csv all.csv <<'PY'
import csv, sys
train = {r["name"]: r for r in csv.DictReader(open(sys.argv[1]))}
pred = {r["name"]: r for r in csv.DictReader(open(sys.argv[2]))}
cols = [c for c in next(iter(train.values())) if c not in ("label", "valence_label")]
assert list(next(iter(pred.values())).keys()) == cols, (list(next(iter(pred.values())).keys()), cols)
assert "valence" in cols
bad = [n for n in train if any(pred[n][c] != train[n][c] for c in cols)]
assert not bad, "differ: %s" % bad
print(len(train), "equal")
PY
n_checks=$((n_checks + 1))

expect_exit 1 "$MER" predict --run run --video video.safetensors --audio text.safetensors -o x.csv
expect_err_line "^mer predict: 'text.safetensors': the run was not trained on audio features$"
mkdir clips && touch clips/a.mp4
expect_exit 1 "$MER" predict --run run --text text.safetensors -o x.csv clips
expect_err_line "^mer predict: video: the run's store '.*video.safetensors' was not made by an extractor mer predict can run again \(none recorded\); give a store made as it was \(--video STORE\)$"
[ ! -e x.csv ] || fail "a refused prediction left x.csv"
done_testing
