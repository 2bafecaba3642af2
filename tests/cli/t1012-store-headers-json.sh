#!/usr/bin/env bash
# Every header mer writes is JSON that Python's json.loads takes as it is: strict UTF-8, no NaN
# or Infinity, and under the safetensors library's 10^8-byte bound at this size. Written here:
# features (one file, sharded), labels, priors and pseudo-labels, checkpoints, fold
# predictions and models, with non-ASCII names in the mix.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import -q "$S/features/Baichuan-13B-UTT" -o parts --shard 0/2 >/dev/null
"$MER" import -q "$S/features/Baichuan-13B-UTT" -o parts --shard 1/2 >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
printf 'name,label\nclip-\303\251t\303\251,happy\n\344\275\240\345\245\275,sad\n' >utf8.csv
"$MER" import-labels -q utf8.csv -o utf8.safetensors --split "$(printf 'd\303\251v')"
"$MER" ingest -q "$S/responses.jsonl" --labels labels.safetensors -o priors.safetensors \
  --pseudo-labels pseudo.safetensors
printf '{"data": {"video": "video.safetensors", "text": "parts", "labels": "labels.safetensors", "priors": "priors.safetensors"}, "model": {"hidden": 8}, "train": {"epochs": 1, "folds": 2}}\n' >cfg.json
"$MER" train -q -c cfg.json --out run
"$MER_PYTHON" - <<'PY'
import glob, json, struct
def refuse(name):
    raise ValueError(f"{name} is not JSON")
files = sorted(glob.glob("**/*.safetensors", recursive=True))
assert len(files) >= 12, files
for path in files:
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    assert n < 10**8, (path, n)
    h = json.loads(b[8:8 + n], parse_constant=refuse)  # bytes: strict UTF-8
    for k, v in h["__metadata__"].items():
        if v[:1] in "[{":
            json.loads(v, parse_constant=refuse)
for path in glob.glob("**/*.json", recursive=True) + glob.glob("**/*.jsonl", recursive=True):
    for line in (open(path, "rb").read().splitlines() if path.endswith("l") else [open(path, "rb").read()]):
        json.loads(line, parse_constant=refuse)
print(len(files), "headers")
PY
done_testing
