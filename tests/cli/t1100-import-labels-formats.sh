#!/usr/bin/env bash
# mer import-labels: MER2024's label-disdim.csv and a manifest into a labels store, with the
# summary table; the store read back by Python (header + raw data, no safetensors package).
. "$MER_SRC/tests/cli/lib.sh"

# Reads a labels store and prints one line per sample: name label valence split.
cat >dump.py <<'EOF'
import json, math, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
meta = head.pop("__metadata__")
data = raw[8 + n:]
def col(name, fmt):
    t = head[name]
    b, e = t["data_offsets"]
    return struct.unpack("<%d%s" % (t["shape"][0], fmt), data[b:e])
ids, classes, splits = (json.loads(meta[k]) for k in ("mer.ids", "mer.classes", "mer.splits"))
assert meta["mer.kind"] == "labels", meta
print("classes", " ".join(classes))
for name, k, v, s in zip(ids, col("label", "q"), col("valence", "f"), col("split", "q")):
    print(name, classes[k] if k >= 0 else "-", "nan" if math.isnan(v) else "%g" % v, splits[s])
EOF

# MER2024 layout (quoted field, CRLF, an unlabeled test row).
printf 'name,discrete,valence\r\nsample_1,neutral,-0.5\r\nsample_2,happy,3.25\r\n"sample_3",surprise,\r\nsample_4,,\r\n' >disdim.csv
expect_exit 0 "$MER" import-labels disdim.csv -o labels.safetensors
cat >expect <<'EOF'
imported 4 samples from 'disdim.csv' (MER2024 label-disdim.csv layout) into 'labels.safetensors'
split  neutral  angry  happy    sad  worried  surprise  unlabeled  total
train        1      0      1      0        0         1          1      4
EOF
expect_same expect out
"$MER_PYTHON" dump.py labels.safetensors >actual
cat >expect <<'EOF'
classes neutral angry happy sad worried surprise
sample_1 neutral -0.5 train
sample_2 happy 3.25 train
sample_3 surprise nan train
sample_4 - nan train
EOF
expect_same expect actual
expect_exit 0 "$MER" info labels.safetensors
expect_match out 'kind: labels'
expect_match out 'command: mer import-labels disdim.csv -o labels.safetensors'

# Manifest layout with splits, own classes, --split for rows without one, -q.
cat >manifest.csv <<'EOF'
name,label,split,valence
a,pos,test1,
b,neg,,1
c,neg,test2,-1
d,,test1,
EOF
expect_exit 0 "$MER" import-labels --classes 'neg, pos' --split dev manifest.csv -o m.safetensors
cat >expect <<'EOF'
imported 4 samples from 'manifest.csv' (manifest layout) into 'm.safetensors'
split    neg    pos  unlabeled  total
test1      0      1          1      2
dev        1      0          0      1
test2      1      0          0      1
all        2      1          1      4
EOF
expect_same expect out
"$MER_PYTHON" dump.py m.safetensors >actual
cat >expect <<'EOF'
classes neg pos
a pos nan test1
b neg 1 dev
c neg -1 test2
d - nan test1
EOF
expect_same expect actual
expect_exit 0 "$MER" import-labels -q manifest.csv -o m.safetensors --force --classes neg,pos
[ ! -s out ] || fail "-q printed something"

# The bundled sample data.
expect_exit 0 "$MER" import-labels "$MER_SRC/data/sample/label-disdim.csv" -o sample.safetensors
expect_match out '^imported 504 samples from .* \(MER2024 label-disdim.csv layout\)'
expect_match out '^train      125    121    104     73       62        19          0    504$'
expect_exit 0 "$MER" import-labels "$MER_SRC/data/sample/manifest.csv" -o sample-m.safetensors
expect_match out '^test        30     29     25     18       15         5          0    122$'
expect_match out '^all        155    150    129     91       77        24          0    626$'
done_testing
