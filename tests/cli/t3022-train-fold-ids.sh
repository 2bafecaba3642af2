#!/usr/bin/env bash
# A finished fold's predictions (fold-K/predictions.safetensors) name the samples of their rows:
# mer.ids for the out-of-fold rows (the fold's samples in folds.json, in cv.csv's order) and
# mer.ids:test/<split> for each split's. --resume takes a fold in only when they are the run's
# samples, and refuses one from other data naming the file; a fold file written before the names
# were stored (no mer.ids) is still taken in on its shapes.
. "$MER_SRC/tests/cli/lib.sh"
sample_stores video
printf '{"data": {"video": "video.safetensors", "labels": "labels.safetensors"}, "model": {"hidden": 16}, "train": {"epochs": 2, "folds": 2, "patience": 0}}\n' >cfg.json
expect_exit 0 "$MER" train --config cfg.json --out run -q
cp -r run pristine

# The names stored are the run's: fold K's samples in cv.csv's order, each split's in its CSV's.
"$MER_PYTHON" - run <<'PY' || fail "fold files do not name their samples"
import csv, json, os, struct, sys
run = sys.argv[1]
folds = json.load(open(os.path.join(run, "folds.json")))["folds"]
cv = [r["name"] for r in csv.DictReader(open(os.path.join(run, "predictions", "cv.csv")))]
test = [r["name"] for r in csv.DictReader(open(os.path.join(run, "predictions", "test.csv")))]
for k in range(2):
    b = open(os.path.join(run, "fold-%d" % k, "predictions.safetensors"), "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    m = h["__metadata__"]
    ids = json.loads(m["mer.ids"])
    assert ids == [s for s in cv if folds[s] == k], k
    assert len(ids) == h["oof"]["shape"][0], k
    assert json.loads(m["mer.ids:test/test"]) == test, k
PY

# edit FILE KEY [VALUE]: rewrites one metadata value, or drops the key without a value
edit_meta() {
  "$MER_PYTHON" - "$@" <<'PY'
import json, struct, sys
path, key, value = sys.argv[1], sys.argv[2], sys.argv[3:]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
if value:
    h["__metadata__"][key] = value[0]
else:
    del h["__metadata__"][key]
text = json.dumps(h).encode()
text += b" " * (-len(text) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + b[8 + n:])
PY
}
# swapped FILE KEY: the JSON list stored under KEY, its first two names swapped
swapped() {
  "$MER_PYTHON" - "$@" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
ids = json.loads(json.loads(b[8:8 + n])["__metadata__"][sys.argv[2]])
ids[0], ids[1] = ids[1], ids[0]
print(json.dumps(ids))
PY
}
first() { "$MER_PYTHON" -c 'import json, sys; print(json.loads(sys.argv[1])[int(sys.argv[2])])' "$@"; }

# Out-of-fold rows of other samples (same count): refused, naming the file, the row and both names.
rm -rf run
cp -r pristine run
f=run/fold-1/predictions.safetensors
ids=$(swapped "$f" mer.ids)
edit_meta "$f" mer.ids "$ids"
expect_exit 1 "$MER" train --resume --out run -q
expect_err_line "^mer train: '$f': tensor 'oof' row 0 is sample '$(first "$ids" 0)' \(mer.ids\), this run's is '$(first "$ids" 1)': the fold was trained on other data$"

# The same for a split's rows.
rm -rf run
cp -r pristine run
ids=$(swapped "$f" mer.ids:test/test)
edit_meta "$f" mer.ids:test/test "$ids"
expect_exit 1 "$MER" train --resume --out run -q
expect_err_line "^mer train: '$f': tensor 'test/test' row 0 is sample '$(first "$ids" 0)' \(mer.ids:test/test\), this run's is '$(first "$ids" 1)': the fold was trained on other data$"

# The run's names but one short, and a value that is not a list.
rm -rf run
cp -r pristine run
ids=$(swapped "$f" mer.ids)
n=$("$MER_PYTHON" -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$ids")
edit_meta "$f" mer.ids "$("$MER_PYTHON" -c 'import json, sys; v = json.loads(sys.argv[1]); v[0], v[1] = v[1], v[0]; print(json.dumps(v[:-1]))' "$ids")"
expect_exit 1 "$MER" train --resume --out run -q
expect_err_line "^mer train: '$f': tensor 'oof' names $((n - 1)) samples \(mer.ids\), this run's has $n: the fold was trained on other data$"
edit_meta "$f" mer.ids 'x'
expect_exit 1 "$MER" train --resume --out run -q
expect_err_line "^mer train: '$f': metadata 'mer.ids' is not a JSON array of sample names$"

# Fold files without names (as mer wrote them before): taken in, the outputs as before.
rm -rf run
cp -r pristine run
for k in 0 1; do
  edit_meta run/fold-$k/predictions.safetensors mer.ids
  edit_meta run/fold-$k/predictions.safetensors mer.ids:test/test
done
expect_exit 0 "$MER" train --resume --out run -q
for out in metrics.json predictions/cv.csv predictions/test.csv submission-test.csv; do
  cmp -s pristine/$out run/$out || fail "$out differs after resuming from fold files without names"
done
done_testing
