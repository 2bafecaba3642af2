#!/usr/bin/env bash
# Every failure says what went wrong: over a battery of failing commands (missing, empty,
# truncated and wrong-kind inputs for each command), stderr's error line is never empty after
# "mer <cmd>: " (an error path that records no message prints "internal error: no message
# recorded", which is itself a failure here).
. "$MER_SRC/tests/cli/lib.sh"

printf 'name,label\na,happy\nb,sad\n' >labels.csv
"$MER" import-labels -q labels.csv -o labels.safetensors
mkdir npy empty
"$MER_PYTHON" -c "import numpy as np; np.save('npy/a.npy', np.ones((2, 3), np.float32))"
"$MER" import -q npy -o feat.safetensors >/dev/null
head -c 100 labels.safetensors >truncated.safetensors
: >empty.txt
echo 'not json' >bad.json
printf '{"data": {"video": "feat.safetensors", "labels": "labels.safetensors"}}\n' >cfg.json
printf '{"data": {"video": "labels.safetensors", "labels": "labels.safetensors"}}\n' >kind.json
printf '{"data": {"video": "npy", "labels": "labels.safetensors"}}\n' >npydir.json

n=0
# fails CMD...: exits non-zero, and every "mer <cmd>: " line on stderr says something
fails() {
  local rc=0
  timeout 60 "$@" >out 2>err || rc=$?
  n_checks=$((n_checks + 1))
  [ "$rc" -ne 0 ] || fail "'$*' succeeded"
  [ "$rc" -ne 124 ] || fail "'$*' hung"
  [ -s err ] || fail "'$*' failed without a word"
  if grep -Eq '^mer [a-z-]+: *$|no message recorded' err; then
    cat err >&2
    fail "'$*' printed an empty error"
  fi
  n=$((n + 1))
}

for st in absent.safetensors truncated.safetensors empty.txt labels.csv npy empty; do
  fails "$MER" info "$st"
  fails "$MER" ingest labels.csv --labels "$st" -o o.safetensors
  fails "$MER" eval --pred labels.csv --labels "$st"
done
for f in absent.csv empty.txt bad.json truncated.safetensors npy; do
  fails "$MER" import-labels "$f" -o o.safetensors
  fails "$MER" config -c "$f"
  fails "$MER" train -c "$f" --out r
  fails "$MER" ingest "$f" --labels labels.safetensors -o o.safetensors
  fails "$MER" import npy --ids "$f" -o o.safetensors
  fails "$MER" prompt "$f" -o req.jsonl
  [ "$f" = empty.txt ] || fails env GEMINI_API_KEY=x "$MER" query "$f" -o resp.jsonl # (none to send)
done
fails "$MER" import empty -o o.safetensors
fails "$MER" import absent -o o.safetensors
fails "$MER" train -c kind.json --out r
fails "$MER" train -c npydir.json --out r
fails "$MER" train -c cfg.json --resume --out absent-run
fails "$MER" eval absent-run
fails "$MER" info
fails "$MER" nosuch
# a checkpoint whose epoch is out of range (once printed "mer train: " and nothing more)
S="$MER_SRC/data/sample"
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o sample.safetensors
printf '{"data": {"video": "video.safetensors", "labels": "sample.safetensors"}, "model": {"hidden": 8}, "train": {"epochs": 1, "folds": 2}}\n' >run.json
"$MER" train -c run.json --out run -q
rm run/fold-0/predictions.safetensors
"$MER_PYTHON" - <<'PY'
import json, struct
path = "run/fold-0/checkpoint.safetensors"
b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); h["__metadata__"]["epoch"] = "1e300"
t = json.dumps(h).encode(); t += b" " * (-len(t) % 8)
open(path, "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
fails "$MER" train --resume --out run
[ "$n" -ge 60 ] || fail "only $n commands ran"
done_testing
