#!/usr/bin/env bash
# Stage-1 pre-training (train.pretrain) on the pseudo-labels of unlabeled clips, then the
# supervised folds: its own log, deterministic, and clear errors when it cannot run.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER_PYTHON" - "$S/manifest.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open("semi.csv", "w") as f, open("pseudo.csv", "w") as g:
    f.write("name,label,split\n")
    g.write("name,label\n")
    for i, r in enumerate(rows):
        if r["split"] == "test":  # the test clips play the unlabeled pool
            f.write(f"{r['name']},,unlabeled\n")
            g.write(f"{r['name']},{r['label'] if i % 4 else 'neutral'}\n")
        else:
            f.write(f"{r['name']},{r['label']},train\n")
PY
"$MER" import-labels -q semi.csv -o semi.safetensors
"$MER" import-labels -q pseudo.csv -o pseudo.safetensors
cat >cfg.json <<'JSON'
{"data": {"video": "video.safetensors", "labels": "semi.safetensors"},
 "model": {"hidden": 32}, "train": {"epochs": 4, "patience": 0, "folds": 3,
 "pretrain": {"enabled": true, "pseudo_labels": "pseudo.safetensors", "epochs": 3}}}
JSON

expect_exit 0 "$MER" train --config cfg.json --out run1 --threads 1 -q
[ "$(wc -l <run1/fold-0/pretrain.jsonl)" -eq 3 ] || fail "expected 3 stage-1 epochs"
expect_match run1/fold-2/pretrain.jsonl '"samples": 122, "loss": [0-9.]+'
[ "$(wc -l <run1/fold-0/log.jsonl)" -eq 4 ] || fail "expected 4 supervised epochs"
expect_exit 0 "$MER" train --config cfg.json --out run2 --threads 1 -q
cmp run1/metrics.json run2/metrics.json || fail "pre-training is not deterministic"
expect_exit 0 "$MER" train --config cfg.json --out run3 --set train.pretrain.enabled=false -q
cmp -s run1/fold-0/model.safetensors run3/fold-0/model.safetensors && fail "stage 1 changed nothing"

expect_exit 1 "$MER" train --config cfg.json --out r4 --set train.pretrain.pseudo_labels=
expect_err_line "stage-1 pre-training needs a labels store of pseudo-labels"
expect_exit 1 "$MER" train --config cfg.json --out r5 --set train.batch_size=200
expect_err_line "122 unlabeled clips have a pseudo-label with reliability >= 0.8, fewer than a batch"
# Reliabilities are stored in float: a clip at exactly the threshold (0.7 in float) is taken.
# The sample's Gemini answers give pseudo-labels with reliabilities; numpy counts the clips.
"$MER" ingest -q "$S/responses.jsonl" --labels semi.safetensors -o pri.safetensors \
  --pseudo-labels rel.safetensors
want=$("$MER_PYTHON" - rel.safetensors <<'PY'
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
t = json.loads(raw[8:8 + n])["reliability"]
assert t["dtype"] == "F32", t
a, b = t["data_offsets"]
rel = np.frombuffer(raw[8 + n + a:8 + n + b], "<f4")
assert (rel == np.float32(0.7)).any(), "no clip at the threshold: the check would prove nothing"
print(int((rel >= np.float32(0.7)).sum()))
PY
)
expect_exit 0 "$MER" train --config cfg.json --out r6 --threads 1 -q --set train.batch_size=8 \
  --set train.pretrain.pseudo_labels=rel.safetensors --set train.pretrain.min_reliability=0.7 \
  --set train.pretrain.epochs=1
expect_match r6/fold-0/pretrain.jsonl "\"samples\": $want,"
done_testing
