#!/usr/bin/env bash
# Reading mer's files from Python (python/mer_store.py, python/mer_model.py): stores round-trip
# (mer writes -> Python reads and rewrites the same bytes; Python writes -> `mer info` verifies
# -> Python reads back), and a trained run is reproduced in PyTorch: every fold model loaded
# from fold-K/model.safetensors and the run's config.json, the data joined from the stores the
# config names, the fold-averaged probabilities equal predictions/<split>.csv to 1e-5.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
export PYTHONPATH="$MER_SRC/python"

"$MER" import -q "$S/features/chinese-hubert-large-FRA" -o audio.safetensors >/dev/null
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import -q --dtype f16 "$S/features/Baichuan-13B-UTT" -o text.safetensors >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
"$MER" ingest -q "$S/responses.jsonl" --labels labels.safetensors -o priors.safetensors

# mer -> Python -> mer: Python reads each store and writes it again, byte for byte; then writes
# stores of its own: a video store without every 7th sample, the audio store in 3 shards, a
# labels store with names mer's CSV reader would need quoting for.
"$MER_PYTHON" - "$MER_SRC/include/mer/store.h" <<'PY'
import re, sys
import numpy as np
import mer_store as ms

limit = re.search(r"#define MER_ST_MAX_HEADER\s+\(*(?:\(size_t\))?(\d+)[uUlL]*\)?\s*<<\s*(\d+)",
                  open(sys.argv[1]).read())
assert limit, "no MER_ST_MAX_HEADER in store.h"
assert ms.MAX_HEADER == int(limit.group(1)) << int(limit.group(2)), "header limits differ"
same = lambda a, b: open(a, "rb").read() == open(b, "rb").read()
lab = ms.read_labels("labels.safetensors")
prov = ms.read_file("labels.safetensors").meta["mer.provenance"]
ms.write_labels("labels2.safetensors", lab.names, lab.class_names(), lab.classes,
                lab.split_names(), lab.valence, provenance=prov)
assert same("labels.safetensors", "labels2.safetensors"), "labels store differs"
for name, dtype in (("audio", "f32"), ("text", "f16")):
    s = ms.open_store(f"{name}.safetensors")
    ms.write_features(f"{name}2.safetensors", s.ids, s.matrix(), dtype=dtype,
                      provenance=s.meta["mer.provenance"])
    assert same(f"{name}.safetensors", f"{name}2.safetensors"), f"{name} store differs"
f = ms.read_file("priors.safetensors")
ms.write_file("priors2.safetensors", list(f.tensors.items()), f.meta)
assert same("priors.safetensors", "priors2.safetensors"), "priors store differs"
p = ms.read_priors("priors.safetensors")
ms.write_priors("priors3.safetensors", p.names, p.prior, p.reliability, p.present, p.classes,
                **p.extra)
# The same priors with the classes listed in reverse, their scores too: joined by class name,
# they are the same priors.
d, k = p.embedding_dim, len(p.classes)
rev = p.prior.copy()
rev[:, :, d:d + k] = p.prior[:, :, d:d + k][:, :, ::-1]
ms.write_priors("priors-rev.safetensors", p.names, rev, p.reliability, p.present,
                p.classes[::-1], **p.extra, extra_meta={"mer.embedding_dim": str(d)})

v = ms.open_store("video.safetensors")
keep = [i for i in range(v.n) if i % 7]
ms.write_features("py-video.safetensors", [v.ids[i] for i in keep], v.matrix()[keep])
a = ms.open_store("audio.safetensors")
ms.write_sharded_features("py-audio", a.ids, a.matrix(), 3, dtype="f16")
ms.write_labels("py-labels.safetensors", ['a,b', 'say "hi"', "line\nbreak", "情绪"],
                ["happy", "", "sad", "happy"], ["happy", "sad"], ["train", "test", "train", "x"])
np.savez("expect.npz", video=v.matrix()[keep])
PY
expect_exit 0 "$MER" info py-video.safetensors py-audio py-labels.safetensors priors3.safetensors \
  priors-rev.safetensors
[ "$(grep -c '^ *checksum: ok (xxh64:[0-9a-f]\{16\})$' out)" -eq 7 ] || fail "not 7 checksums ok"
expect_match out '^  parts: 3 \(index.json\)$'
expect_match out '^  samples: 536 '
"$MER_PYTHON" - <<'PY'
import numpy as np
import mer_store as ms

e = np.load("expect.npz")
v, a = ms.open_store("py-video.safetensors"), ms.open_store("py-audio")
assert v.kind == "features" and np.array_equal(v.matrix(), e["video"])
assert len(a.parts) == 3 and a.ids[:2] == ["sample_00000001", "sample_00000004"]
orig = ms.open_store("audio.safetensors")  # sample i went to part i % 3
assert sorted(a.ids) == sorted(orig.ids) and a.ids[209] == orig.ids[1]
want = orig.matrix()[[orig.row(n) for n in a.ids]].astype(np.float16).astype(np.float32)
assert np.array_equal(a.matrix(), want), "sharded audio differs"
lab = ms.read_labels("py-labels.safetensors")
assert lab.names == ['a,b', 'say "hi"', "line\nbreak", "情绪"], lab.names
assert lab.label.tolist() == [0, -1, 1, 0] and lab.splits == ["train", "test", "x"]
assert np.isnan(lab.valence).all()
for bad in ([""], ["../up"], [".hidden"], ["-x"]):
    try:
        ms.write_labels("bad.safetensors", ["s"], [None], ["happy"], bad)
        raise SystemExit(f"split {bad} was accepted")
    except ValueError:
        pass
PY

# A damaged file: mer info and the Python reader both refuse it, naming the checksum.
cp py-video.safetensors flipped.safetensors
printf '\x01' | dd of=flipped.safetensors bs=1 seek=$(($(wc -c <flipped.safetensors) - 3)) \
  conv=notrunc 2>/dev/null
expect_exit 1 "$MER" info flipped.safetensors
expect_err_line "checksum mismatch"
"$MER_PYTHON" - <<'PY'
import mer_store as ms
try:
    ms.open_store("flipped.safetensors")
    raise SystemExit("a flipped byte was not noticed")
except ms.StoreError as e:
    assert "'flipped.safetensors': checksum mismatch" in str(e), e
PY

# The runs: trained on the Python-written stores (a masked modality, a sharded store), priors
# weighted by reliability; then mer's predictions recomputed in PyTorch.
cat >cfg.json <<'JSON'
{"data": {"audio": "py-audio", "video": "py-video.safetensors", "text": "text.safetensors",
          "labels": "labels.safetensors", "priors": "priors.safetensors", "missing": "mask"},
 "model": {"hidden": 32}, "train": {"epochs": 4, "patience": 0, "folds": 3}}
JSON
expect_exit 0 "$MER" train --config cfg.json --out run1 --threads 1 --deterministic -q
expect_exit 0 "$MER" train --config cfg.json --out run2 --threads 1 --deterministic -q \
  --set model.prior.mode=gate --set model.valence_head=true --set eval.ensemble=probs \
  --set prior.scale_by_reliability=false --set prior.min_reliability=0.6 \
  --set 'model.prior.modalities=["video","text"]' --set data.audio= \
  --set model.fusion.attention_norm=none --set model.encoder_layers=1
# The same stores named by absolute paths, loaded from another directory.
expect_exit 0 "$MER" train --config cfg.json --out run3 --threads 1 --deterministic -q \
  --set model.prior.mode=film --set "data.video=$PWD/video.safetensors" \
  --set "data.labels=$PWD/labels.safetensors" --set "data.priors=$PWD/priors.safetensors" \
  --set "data.audio=$PWD/py-audio" --set "data.text=$PWD/text.safetensors"
# Priors whose classes come in another order: mer and Python join them by class name.
expect_exit 0 "$MER" train --config cfg.json --out run4 --threads 1 --deterministic -q \
  --set data.priors=priors-rev.safetensors
cmp run1/predictions/test.csv run4/predictions/test.csv || fail "priors joined by position"

cat >check.py <<'PY'
import csv, os, sys
import numpy as np
import mer_model

run_dir, root = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
run = mer_model.load_run(run_dir, root=root)
assert len(run.models) == 3 and all(not m.training for m in run.models)
worst = 0.0
for split in ("test", "cv"):
    rows = list(csv.DictReader(open(os.path.join(run_dir, "predictions", split + ".csv"),
                                    newline="", encoding="utf-8")))
    if split == "cv":
        names, z = run.cv_logits()
        valence = None
    else:
        names, z, valence = run.logits(split)
    p = mer_model._softmax(z)
    assert names == [r["name"] for r in rows], f"{split}: other samples or order"
    want = np.array([[float(r["p_" + c]) for c in run.data.classes] for r in rows])
    worst = max(worst, float(np.abs(p - want).max()))
    assert [run.data.classes[k] for k in p.argmax(1)] == [r["prediction"] for r in rows]
    if valence is not None:
        got = np.array([float(r["valence"]) for r in rows])
        assert np.abs(valence - got).max() < 1e-5, np.abs(valence - got).max()
assert worst < 1e-5, f"{run_dir}: probabilities differ by {worst}"
one = mer_model.load_fold(run_dir, 1)
assert all(np.array_equal(a.detach(), b.detach())
           for a, b in zip(one.parameters(), run.models[1].parameters()))
print(f"{run_dir}: {run.models[0].mode}, modalities {run.data.modalities}, max diff {worst:.2g}")
PY
expect_exit 0 "$MER_PYTHON" check.py run1
expect_match out '^run1: cross_attention, modalities \[.audio., .video., .text.\]'
expect_exit 0 "$MER_PYTHON" check.py run2
expect_match out "^run2: gate, modalities \['video', 'text'\]"
mkdir elsewhere
expect_exit 0 "$MER_PYTHON" check.py run4
(cd elsewhere && expect_exit 0 "$MER_PYTHON" ../check.py ../run3) || fail "absolute paths"
expect_match elsewhere/out '^../run3: film'
# A store without any sample of a split is refused, as mer refuses it (with data.missing=mask
# the whole split would lose that modality without a word).
"$MER_PYTHON" - <<'PY'
import json
import mer_model, mer_store as ms
s, lab = ms.open_store("video.safetensors"), ms.read_labels("labels.safetensors")
keep = [i for i, sp in enumerate(lab.split_names()) if sp == "train"]
ms.write_features("video-train.safetensors", [lab.names[i] for i in keep],
                  s.matrix()[[s.row(lab.names[i]) for i in keep]])
cfg = json.load(open("run1/config.json"))
cfg["data"]["video"] = "video-train.safetensors"
try:
    mer_model.load_data(cfg)
    raise SystemExit("a video store without the test split was accepted")
except ms.StoreError as e:
    assert str(e) == "'video-train.safetensors' covers 0 of the 122 samples of split 'test'", e
PY

# Relative data.* paths (mer's older config.json, or one edited by hand) are taken against the
# working directory, or against root=.
cp -r run1 run1rel
"$MER_PYTHON" - <<'PY'
import json, os
cfg = json.load(open("run1rel/config.json"))
for k in ("audio", "video", "text", "labels", "priors"):
    cfg["data"][k] = os.path.basename(cfg["data"][k])
json.dump(cfg, open("run1rel/config.json", "w"))
PY
expect_exit 0 "$MER_PYTHON" check.py run1rel
(cd elsewhere && expect_exit 0 "$MER_PYTHON" ../check.py ../run1rel ..) || fail "root="
(cd elsewhere && expect_exit 1 "$MER_PYTHON" ../check.py ../run1rel) || fail "relative to cwd"
grep -q "No such file or directory: 'labels.safetensors'" elsewhere/err ||
  fail "expected a missing store from another directory"
done_testing
