#!/usr/bin/env bash
# mer extract audio on the bundled sample clips, end to end:
#   - fbank and MFCC, frame level, against torchaudio.compliance.kaldi on the PCM that the
#     ffmpeg CLI decodes (-ac 1 -ar 16000 -rematrix_maxval 1 -f f32le: stereo downmixed to the
#     mean of the channels, as MERTools' 16-bit WAV step does), every frame of every clip, <= 1e-3;
#     utterance level = the mean of those frames; --pool mean,std = their mean and std;
#   - a TorchScript backbone (the tiny random encoder, exported here) against the same module
#     in Python, cut, normalized and layer-pooled as MERTools does, <= 1e-5;
#   - eGeMAPS: 88 finite columns per clip, the class signal in F0;
#   - the broken clips: each reported by name and reason, the summary counting each reason;
#     --strict fails on the first one and writes nothing;
#   - a name,path CSV instead of a directory, --labels, shards joined by the reader, --jobs 2
#     the same store as --jobs 1; one-line errors for bad options.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"
clips="$MER_SRC/data/sample/clips"

expect_exit 0 "$MER" extract audio "$clips" --level frame -o fb.safetensors --jobs 2
expect_match out "^extracted fbank of 61 samples \[D = 80, frame level\] into 'fb.safetensors' \(4 skipped, 0 missing, 0 extra; [0-9]+ s of audio at [0-9]+x realtime\)$"
grep 'warning' err >warnings
cat >expect <<EOF
mer extract: warning: '$clips/broken_empty.mp4': empty file (skipped)
mer extract: warning: '$clips/broken_no_audio.mp4': no audio stream (skipped)
mer extract: warning: '$clips/broken_not_media.mp4': not a media file (Invalid data found when processing input: moov atom not found) (skipped)
mer extract: warning: '$clips/broken_truncated.mp4': truncated (Invalid data found when processing input: moov atom not found) (skipped)
mer extract: warning: skipped 4 of 65 samples that could not be read: 1 empty file, 1 not a media file, 1 truncated, 1 no audio stream
EOF
expect_same expect warnings
expect_exit 0 "$MER" extract audio -q "$clips" --features mfcc --level frame -o mfcc.safetensors
expect_exit 0 "$MER" extract audio -q "$clips" -o fb-utt.safetensors --jobs 1
expect_exit 0 "$MER" extract audio -q "$clips" -o fb-ms.safetensors --pool mean,std

"$MER_PYTHON" - "$clips" <<'PY' || fail "fbank/MFCC differ from torchaudio's"
import glob, json, subprocess, sys, numpy as np, torch, torchaudio, store_interop as st
clips = sys.argv[1]
def pcm(name):
    path = glob.glob(clips + "/" + name + ".*")[0]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", "16000", "-rematrix_maxval", "1",
                          "-f", "f32le", "-"], check=True, capture_output=True).stdout
    return torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy())[None]
K = torchaudio.compliance.kaldi
utt = st.load("fb-utt.safetensors")[1]["features"]
ms = st.load("fb-ms.safetensors")[1]["features"]
worst = {}
for kind, path, fn in (("fbank", "fb.safetensors", lambda w: K.fbank(w, num_mel_bins=80, dither=0.0)),
                       ("mfcc", "mfcc.safetensors", lambda w: K.mfcc(w, use_energy=True, dither=0.0))):
    m, t = st.load(path)
    ids, off, x = json.loads(m["mer.ids"]), t["offsets"], t["features"]
    prov = json.loads(m["mer.provenance"])["extractor"]
    assert prov["features"] == kind and prov["rate"] == 16000 and "libavcodec" in prov["decoder"], prov
    for i, name in enumerate(ids):
        w = pcm(name)
        want, want64 = fn(w).numpy(), fn(w.double()).numpy()
        got = x[off[i]:off[i + 1]]
        assert got.shape == want.shape, (kind, name, got.shape, want.shape)
        # torchaudio's own float32 rounding (its distance to float64) can pass 1e-3 in the
        # quiet bins of loud frames: there the bound is that distance + 1e-4
        err = float(np.abs(got - want).max())
        assert err <= max(1e-3, float(np.abs(want - want64).max()) + 1e-4), (kind, name, err)
        worst[kind] = max(worst.get(kind, 0), err)
        worst[kind + "64"] = max(worst.get(kind + "64", 0), float(np.abs(got - want64).max()))
        if kind == "fbank":
            assert np.abs(utt[i] - want.mean(0)).max() < 1e-3, name
            assert np.abs(ms[i, :80] - want.mean(0)).max() < 1e-3, name
            assert np.abs(ms[i, 80:] - want.std(0)).max() < 1e-3, name
    assert worst[kind + "64"] <= 1e-4, (kind, worst[kind + "64"])
print("max abs difference against torchaudio float32: fbank %.2e, mfcc %.2e; float64: fbank "
      "%.2e, mfcc %.2e" % (worst["fbank"], worst["mfcc"], worst["fbank64"], worst["mfcc64"]))
PY
n_checks=$((n_checks + 1))

# a TorchScript backbone: the tiny random encoder, against the same module in Python
"$MER_PYTHON" "$MER_SRC/scripts/export-backbone.py" --tiny-random tiny.pt >/dev/null
expect_exit 0 "$MER" extract audio -q "$clips" --features torchscript:tiny.pt --level frame \
  --batch 4 -o ts.safetensors
"$MER_PYTHON" - "$clips" <<'PY' || fail "the backbone's features differ from Python's"
import glob, json, subprocess, sys, numpy as np, torch, store_interop as st
import backbone_tiny as bt
clips = sys.argv[1]
model = torch.jit.load("tiny.pt")
m, t = st.load("ts.safetensors")
ids, off, x = json.loads(m["mer.ids"]), t["offsets"], t["features"]
prov = json.loads(m["mer.provenance"])["extractor"]
assert prov["model_checksum"] == bt.checksum("tiny.pt"), prov
worst = 0
for i, name in enumerate(ids):
    path = glob.glob(clips + "/" + name + ".*")[0]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", "16000", "-rematrix_maxval", "1",
                          "-f", "f32le", "-"], check=True, capture_output=True).stdout
    cfg = (0, [-4, -3, -2, -1], "sum", "auto", "pad", 10)
    want = bt.clip_frames(model, np.frombuffer(raw, dtype=np.float32), cfg)
    got = x[off[i]:off[i + 1]]
    assert got.shape == want.shape, (name, got.shape, want.shape)
    worst = max(worst, float(np.abs(got - want).max()))
assert worst <= 1e-5, worst
print("max abs difference against Python torch: %.2e" % worst)
PY
n_checks=$((n_checks + 1))

# eGeMAPS: 88 finite functionals; F0 follows the class (sad lowest, surprise highest)
expect_exit 0 "$MER" extract audio -q "$clips" --features egemaps -o eg.safetensors
"$MER_PYTHON" - "$clips" <<'PY' || fail "eGeMAPS store"
import csv, json, sys, numpy as np, store_interop as st
m, t = st.load("eg.safetensors")
x, ids = t["features"], json.loads(m["mer.ids"])
assert x.shape == (61, 88) and np.isfinite(x).all(), x.shape
label = {r["name"]: r["label"] for r in csv.DictReader(open(sys.argv[1] + "/manifest.csv"))}
f0 = {}
for i, n in enumerate(ids):
    f0.setdefault(label[n], []).append(x[i, 0])
means = {k: float(np.mean(v)) for k, v in f0.items() if k}
assert min(means, key=means.get) == "sad" and max(means, key=means.get) == "surprise", means
PY
n_checks=$((n_checks + 1))

# --strict: the first broken clip ends the run, nothing written
expect_exit 1 "$MER" extract audio -q --strict "$clips" -o strict.safetensors
expect_err_line "^mer extract: '$clips/broken_empty.mp4': empty file$"
[ ! -e strict.safetensors ] && [ ! -e strict.safetensors.partial ] || fail "left output"

# a name,path CSV (relative paths from its folder), --labels, shards, --jobs
mkdir list && cp "$clips"/clip_00[1-6].* list/
printf 'name,path\nb,clip_002.mp4\na,clip_001.mp4\nc,clip_006.avi\n' >list/list.csv
expect_exit 0 "$MER" extract audio list/list.csv -o csv.safetensors
expect_match out "^extracted fbank of 3 samples"
printf 'name,label\nclip_003,sad\nclip_001,happy\nzz,sad\n' >lab.csv
expect_exit 0 "$MER" extract audio list -o lab.safetensors --labels lab.csv
expect_match out "\(0 skipped, 1 missing, 4 extra;"
expect_exit 0 "$MER" extract audio -q "$clips" -o parts --shard 0/2 --jobs 1
expect_exit 0 "$MER" extract audio -q "$clips" -o parts --shard 1/2 --jobs 2
"$MER_PYTHON" - <<'PY' || fail "csv, labels, shards or jobs"
import json, numpy as np, store_interop as st
m, t = st.load("csv.safetensors")
assert json.loads(m["mer.ids"]) == ["b", "a", "c"]
m2, t2 = st.load("fb-utt.safetensors")
ids2 = json.loads(m2["mer.ids"])
assert (t["features"][1] == t2["features"][ids2.index("clip_001")]).all()
m, t = st.load("lab.safetensors")
assert json.loads(m["mer.ids"]) == ["clip_003", "clip_001"]
rows = {}
for p in ("parts/part-00000.safetensors", "parts/part-00001.safetensors"):
    m, t = st.load(p)
    for n, r in zip(json.loads(m["mer.ids"]), t["features"]):
        rows[n] = r
assert sorted(rows) == sorted(ids2)
assert all((rows[n] == t2["features"][i]).all() for i, n in enumerate(ids2))
PY
n_checks=$((n_checks + 1))
expect_exit 0 "$MER" info parts

# bad options and inputs: one line (usage errors add a hint)
expect_exit 1 "$MER" extract audio "$clips" --features wav2vec -o x.safetensors
expect_err_line "^mer extract: --features 'wav2vec': expected fbank, mfcc, egemaps or torchscript:<model.pt>$"
expect_exit 1 "$MER" extract audio "$clips" --param num_mel_bins=2 -o x.safetensors
expect_err_line "^mer extract: --param 'num_mel_bins=2': "
expect_exit 1 "$MER" extract audio "$clips" --param frobnicate=1 -o x.safetensors
expect_err_line "^mer extract: --param 'frobnicate=1': "
expect_exit 1 "$MER" extract audio "$clips" --features egemaps --param num_mel_bins=40 -o x.safetensors
expect_err_line "^mer extract: --param is for fbank and mfcc, not egemaps$"
expect_exit 1 "$MER" extract audio nowhere -o x.safetensors
expect_err_line "^mer extract: 'nowhere': no such clips directory or list$"
expect_exit 1 "$MER" extract audio "$clips" --features torchscript:missing.pt -o x.safetensors
expect_err_line "^mer extract: 'missing.pt'"
expect_exit 2 "$MER" extract audio "$clips" --level word -o x.safetensors
expect_match err "^mer extract: --level 'word': expected utt or frame$"
[ ! -e x.safetensors ] || fail "output left by a failed run"
done_testing
