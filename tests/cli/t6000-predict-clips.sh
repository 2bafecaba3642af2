#!/bin/bash
# mer predict on held-out clips from their raw files: the sample clips' stores (audio, video,
# text, priors) built as scripts/demo does, a deterministic run trained on them, then the test split's clips (copied
# with their transcripts and answers) predicted again from scratch. Its predictions must equal
# mer train's own test-split predictions to the last digit; ready stores give the same; a store
# made with other extractor options, a run without a stores record, one missing a fold model and
# a run whose text store was made again since are refused with one line, exit 1, and no
# predictions file.
. "$(dirname "$0")/lib.sh"
clips=$MER_SRC/data/sample/clips

"$MER" extract audio -q "$clips" -o audio.safetensors 2>/dev/null
"$MER" extract video -q "$clips" --frames 8 -o video.safetensors 2>/dev/null
"$MER" extract text -q "$clips/transcripts.csv" --column english -o text.safetensors
"$MER" import-labels -q "$clips/manifest.csv" -o labels.safetensors
"$MER" ingest -q "$clips/responses.jsonl" --labels labels.safetensors -o priors.safetensors
cat >clips.json <<JSON
{ "data": { "audio": "audio.safetensors", "video": "video.safetensors", "text": "text.safetensors",
            "labels": "labels.safetensors", "priors": "priors.safetensors",
            "missing": "mask", "standardize": true },
  "model": { "hidden": 64, "dropout": 0.3 },
  "train": { "epochs": 4, "folds": 3, "seed": 0, "batch_size": 8 } }
JSON
expect_exit 0 "$MER" train --config clips.json --out run --deterministic --threads 1 -q
[ -f run/stores.json ] && [ -f run/standardize.safetensors ] || fail "no stores record"

# the test split's raw clips, transcripts and answers, in a directory of their own
mkdir new
"$MER_PYTHON" - "$clips" new <<'PY'
import csv, json, shutil, sys, os
src, out = sys.argv[1:]
test = [r["name"] for r in csv.DictReader(open(os.path.join(src, "manifest.csv"))) if r["split"] == "test"]
for f in os.listdir(src):
    if os.path.splitext(f)[0] in test:
        shutil.copy(os.path.join(src, f), out)
rows = list(csv.DictReader(open(os.path.join(src, "transcripts.csv"), encoding="utf-8")))
with open("new-transcripts.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=rows[0].keys())
    w.writeheader()
    w.writerows(r for r in rows if r["name"] in test)
with open("new-responses.jsonl", "w", encoding="utf-8") as f:
    for line in open(os.path.join(src, "responses.jsonl"), encoding="utf-8"):
        if line.strip() and json.loads(line).get("key") in test:
            f.write(line)
print(len(test))
PY

# the same rows, with the train's test predictions' columns but label
same_as_train() {
  "$MER_PYTHON" - run/predictions/test.csv "$1" <<'PY'
import csv, sys
train = {r["name"]: r for r in csv.DictReader(open(sys.argv[1]))}
pred = list(csv.DictReader(open(sys.argv[2])))
assert pred and len(pred) == len(train), (len(pred), len(train))
cols = [c for c in next(iter(train.values())) if c != "label"]
assert list(pred[0].keys()) == cols, (list(pred[0].keys()), cols)
bad = [r["name"] for r in pred if any(r[c] != train[r["name"]][c] for c in cols)]
assert not bad, "differ: %s" % bad
print(len(pred), "equal")
PY
}

expect_exit 0 "$MER" predict --run run new --transcripts new-transcripts.csv \
  --responses new-responses.jsonl --threads 1 -o raw.csv
expect_match out "predicted 18 clips into 'raw.csv'"
n_checks=$((n_checks + 1))
same_as_train raw.csv >&2 || fail "predictions from raw clips differ from mer train's"

# ready stores (the run's own) and clip files one by one: the same
expect_exit 0 "$MER" predict --run run --audio audio.safetensors --video video.safetensors \
  --text text.safetensors --priors priors.safetensors --threads 1 -o ready.csv new/*
n_checks=$((n_checks + 1))
same_as_train ready.csv >&2 || fail "predictions from ready stores differ from mer train's"

# without answers the priors are masked: predictions still come, for every clip
expect_exit 0 "$MER" predict --run run new --transcripts new-transcripts.csv --threads 1 \
  -o masked.csv -q
[ "$(wc -l <masked.csv)" -eq 19 ] || fail "masked priors: $(wc -l <masked.csv) lines"

# a store made with other extractor options is refused, naming both
"$MER" extract audio -q "$clips" --param num_mel_bins=40 -o audio40.safetensors 2>/dev/null
expect_exit 1 "$MER" predict --run run --audio audio40.safetensors --text text.safetensors \
  -o other.csv new
expect_err_line "^mer predict: 'audio40.safetensors': made with extractor params.num_mel_bins 40, the run's audio store '.*/audio.safetensors' with 80$"
[ ! -e other.csv ] || fail "a refused prediction left other.csv"

# a run from an older mer (no stores record), a run missing a fold model
cp -r run old && rm old/stores.json
expect_exit 1 "$MER" predict --run old new -o old.csv
expect_err_line "^mer predict: 'old/stores.json': no such file: the run does not record its stores"
cp -r run nofold && rm nofold/fold-1/model.safetensors
expect_exit 1 "$MER" predict --run nofold new -o nofold.csv
expect_err_line "^mer predict: 'nofold/fold-1/model.safetensors': no such fold model"
[ ! -e old.csv ] && [ ! -e nofold.csv ] || fail "a refused run left a predictions file"

# text from new transcripts needs them; an existing output is not overwritten
expect_exit 1 "$MER" predict --run run new -o notext.csv
expect_err_line "^mer predict: text: no transcripts given"
expect_exit 1 "$MER" predict --run run new --transcripts new-transcripts.csv -o raw.csv
expect_err_line "raw.csv"
expect_exit 2 "$MER" predict new

# the run's text store made again since (other transcripts): its saved IDF is not the run's
"$MER" extract text -q "$clips/transcripts.csv" --column chinese -o text.safetensors --force
expect_exit 1 "$MER" predict --run run new --transcripts new-transcripts.csv -o changed.csv
expect_err_line "^mer predict: '.*/text.safetensors': checksum xxh64:[0-9a-f]+, but the run was trained on xxh64:[0-9a-f]+ \(its text store"
done_testing
