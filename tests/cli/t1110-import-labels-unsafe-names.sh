#!/usr/bin/env bash
# Split and class names become file names (predictions/<split>.csv): a name that could climb
# out of the run directory is refused where it comes in (label CSV, --classes, --split,
# --test-split, a labels store from another writer, data.train_split, eval.splits), with one
# line naming the file and line or key, and nothing is written outside the run directory.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
mkdir work
cd work

# A label CSV whose split climbs out: refused at its line, no store written.
{ head -4 "$S/manifest.csv"; echo "sample_00000004,angry,-2.66,../../../escape/pwned"; } >esc.csv
expect_exit 1 "$MER" import-labels esc.csv -o esc.safetensors
expect_err_line "^mer import-labels: 'esc.csv':5: split '../../../escape/pwned': may not start with '\.' \(names become file names\)$"
[ ! -e esc.safetensors ] || fail "an unsafe split was imported"
printf 'name,label,split\na,happy,runs/x\n' >slash.csv
expect_exit 1 "$MER" import-labels slash.csv -o s.safetensors
expect_err_line "^mer import-labels: 'slash.csv':2: split 'runs/x': character '/' is not allowed"

# Names given on the command line: usage errors.
expect_exit 2 "$MER" import-labels "$S/label-disdim.csv" -o x.safetensors --split ../up
expect_match err "^mer import-labels: --split: split '\.\./up': may not start with '\.'"
expect_exit 2 "$MER" import-labels "$S/label-disdim.csv" -o x.safetensors --classes 'a,b/c'
expect_match err "^mer import-labels: --classes: class 'b/c': character '/' is not allowed"
printf 'name\nsample_00000004\n' >names.txt
expect_exit 2 "$MER" import-labels "$S/label-disdim.csv" -o x.safetensors --test-names names.txt \
  --test-split ../t
expect_match err "^mer import-labels: --test-split: split '\.\./t': may not start with '\.'"
[ ! -e x.safetensors ] || fail "a usage error wrote x.safetensors"

# A labels store from another writer with that split (mer's header edited; the checksum covers
# the data only): every reader refuses it, and mer train writes nothing outside its run.
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
"$MER_PYTHON" - <<'PY'
import json, struct
b = open("labels.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["__metadata__"]["mer.splits"] = json.dumps(["train", "../../../escape/pwned"])
t = json.dumps(h).encode()
t += b" " * (-len(t) % 8)
open("hostile.safetensors", "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
mkdir -p runs
printf '{"data": {"video": "video.safetensors", "labels": "hostile.safetensors"}, "train": {"epochs": 1, "folds": 2}}\n' >h.json
expect_exit 1 "$MER" train --config h.json --out runs/h -q
expect_err_line "hostile.safetensors': metadata 'mer.splits': split '../../../escape/pwned': may not start with '\.'"
expect_exit 1 "$MER" ingest "$S/responses.jsonl" --labels hostile.safetensors -o p.safetensors
expect_err_line "metadata 'mer.splits': split '../../../escape/pwned'"
[ ! -e ../escape ] && [ ! -e ../../escape ] && [ ! -e ../../../escape ] ||
  fail "mer wrote outside the run directory"
[ ! -e runs/h ] || fail "a refused run left its directory"

# Split names a config gives.
printf '{"data": {"video": "video.safetensors", "labels": "labels.safetensors"}, "train": {"epochs": 1, "folds": 2}}\n' >ok.json
expect_exit 1 "$MER" train --config ok.json --set 'eval.splits=["../../up"]' --out runs/e -q
expect_err_line "^mer train: key 'eval.splits': split '\.\./\.\./up': may not start with '\.'"
expect_exit 1 "$MER" train --config ok.json --set data.train_split=a/b --out runs/t -q
expect_err_line "^mer train: key 'data.train_split': split 'a/b': character '/' is not allowed"
# A split named cv would overwrite the out-of-fold predictions.
sed 's/,test$/,cv/' "$S/manifest.csv" >cv.csv
"$MER" import-labels -q cv.csv -o cv.safetensors
expect_exit 1 "$MER" train --config ok.json --set data.labels=cv.safetensors --out runs/cv -q
expect_err_line "split 'cv' would overwrite the out-of-fold predictions \(predictions/cv.csv\)"
done_testing
