#!/usr/bin/env bash
# mer extract video on the bundled sample clips, end to end:
#   - the frames MERTools' uniform sampling picks (--frames 4), decoded by the ffmpeg CLI, through
#     skimage (rgb2gray, resize to 64x64, hog), colour moments and motion, against mer's frame
#     rows (--level frame) and its pooled rows (mean, std, motion stats);
#   - the broken clips: each reported with its reason (broken_no_video has no video stream);
#   - --faces: MERTools' face stacks ([T, H, W, 3] uint8, B,G,R) give the same rows as the same
#     frames in a clip would; --openface-csv: OpenFace CSVs into their functionals;
#   - bad options: one line each.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"
clips="$MER_SRC/data/sample/clips"

expect_exit 0 "$MER" extract video "$clips" --frames 4 -o v.safetensors
expect_match out "^extracted hog of 61 samples \[D = 3549\] into 'v.safetensors' \(4 skipped, 0 missing, 0 extra\)$"
expect_match err "^mer extract: warning: '$clips/broken_no_video.mp4': no video stream \(skipped\)$"
expect_match err "^mer extract: warning: skipped 4 of 65 samples that could not be read: 1 empty file, 1 not a media file, 1 truncated, 1 no video stream$"
expect_exit 0 "$MER" extract video -q "$clips" --frames 4 --level frame -o vf.safetensors --jobs 2

"$MER_PYTHON" - "$clips" <<'PY' || fail "video rows differ from skimage's"
import glob, json, subprocess, sys, numpy as np, store_interop as st
import hog_skimage as hs
from skimage.color import rgb2gray
from skimage.transform import resize
clips = sys.argv[1]
m, t = st.load("vf.safetensors")
ids, off, x = json.loads(m["mer.ids"]), t["offsets"], t["features"]
pm, pt = st.load("v.safetensors")
assert json.loads(pm["mer.ids"]) == ids
worst = worst_pooled = 0
for i, name in enumerate(ids[:12]):
    path = glob.glob(clips + "/" + name + ".*")[0]
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", path],
                           check=True, capture_output=True, text=True).stdout.split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    n = len(frames)
    step = n / min(4, n)                       # MERTools: np.arange(0, n, step), as int
    idx = [int(k * step) for k in range(min(4, n))]
    idx += [idx[-1]] * (4 - len(idx))
    rows, prev = [], None
    for k in idx:
        row, prev = hs.frame_features(frames[k], resize(rgb2gray(frames[k]), (64, 64)), prev)
        rows.append(row)
    rows = np.array(rows)
    got = x[off[i]:off[i + 1]]
    assert got.shape == rows.shape, (name, got.shape, rows.shape)
    worst = max(worst, float(np.abs(got - rows).max()))
    feats, motion = rows[:, :-1], rows[1:, -1]
    dh = feats.shape[1] - 9
    pooled = np.concatenate([feats[:, :dh].mean(0), feats[:, :dh].std(0), feats[:, dh:].mean(0),
                             feats[:, dh:].std(0), [motion.mean(), motion.std(), motion.max()]])
    worst_pooled = max(worst_pooled, float(np.abs(pt["features"][i] - pooled).max()))
assert worst < 1e-4 and worst_pooled < 1e-4, (worst, worst_pooled)
prov = json.loads(pm["mer.provenance"])["extractor"]
assert prov["features"] == "hog" and prov["frames"] == 4 and "libavcodec" in prov["decoder"], prov
print("max abs difference against ffmpeg + skimage: frame rows %.2e, pooled rows %.2e"
      % (worst, worst_pooled))
PY
n_checks=$((n_checks + 1))

# a TorchScript image backbone (the tiny random CNN, exported here): frames preprocessed as
# torchvision does (CLIP's resize, crop and mean/std), frames of several clips in one forward,
# against the same module in Python on the same frames
"$MER_PYTHON" "$MER_SRC/scripts/export-backbone.py" --kind image --tiny-random tiny.pt >/dev/null
# (--threads 1: the CNN's batch norm otherwise starts libgomp threads, whose TLS makes
# LeakSanitizer's tracer crash at exit in the ASan suite; one thread is what the oracle uses)
expect_exit 0 "$MER" extract video -q "$clips" --features torchscript:tiny.pt --frames 4 \
  --level frame --batch 6 --threads 1 -o ts.safetensors
"$MER_PYTHON" - "$clips" <<'PY' || fail "the image backbone's features differ from Python's"
import glob, json, subprocess, sys, numpy as np, torch, store_interop as st
import image_tiny as it
clips = sys.argv[1]
model = torch.jit.load("tiny.pt")
m, t = st.load("ts.safetensors")
ids, off, x = json.loads(m["mer.ids"]), t["offsets"], t["features"]
prov = json.loads(m["mer.provenance"])["extractor"]
assert prov["model_checksum"] == it.checksum("tiny.pt"), prov
worst = 0
for i, name in enumerate(ids[:10]):
    path = glob.glob(clips + "/" + name + ".*")[0]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 96, 96, 3)
    n = len(frames)
    idx = [int(k * n / 4) for k in range(4)]
    batch = torch.stack([it.preprocess(frames[k].copy(), (0, 224, 224, "bicubic", True, "clip"))
                         for k in idx])
    with torch.no_grad():
        want = model(batch).numpy()
    got = x[off[i]:off[i + 1]]
    assert got.shape == want.shape, (name, got.shape, want.shape)
    worst = max(worst, float(np.abs(got - want).max()))
assert worst <= 1e-5, worst
print("max abs difference against Python torch (image backbone): %.2e" % worst)
PY
n_checks=$((n_checks + 1))

# --faces: a face stack holding a clip's sampled frames (B,G,R, as MERTools writes them) gives
# the clip's frame rows; --openface-csv: the functionals of success=1 frames
mkdir -p faces/clip_001 of
"$MER_PYTHON" - "$clips" <<'PY' || fail "could not make the face fixtures"
import subprocess, sys, numpy as np
raw = subprocess.run(["ffmpeg", "-v", "error", "-i", sys.argv[1] + "/clip_001.mp4", "-f",
                      "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
frames = np.frombuffer(raw, np.uint8).reshape(-1, 96, 96, 3)
n = len(frames)
idx = [int(k * n / 4) for k in range(4)]
np.save("faces/clip_001/clip_001.npy", frames[idx][..., ::-1].copy())
cols = ["frame", "face_id", "timestamp", "confidence", "success"]
cols += ["gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x",
         "gaze_angle_y", "pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"]
aus_r = ["AU%02d_r" % a for a in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)]
aus_c = ["AU%02d_c" % a for a in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 28, 45)]
cols += aus_r + aus_c
rng = np.random.default_rng(1)
with open("of/clip_001.csv", "w") as f:
    f.write(", ".join(cols) + "\n")
    for r in range(6):
        v = rng.random(len(cols))
        v[4] = 0 if r == 2 else 1
        f.write(", ".join("%.6f" % a for a in v) + "\n")
PY
echo clip_001 >one.txt
expect_exit 0 "$MER" extract video -q "$clips" --faces faces --level frame --ids one.txt \
  -o faces.safetensors
"$MER_PYTHON" - <<'PY' || fail "face-stack rows differ from the clip's"
import json, numpy as np, store_interop as st
a = st.load("faces.safetensors")[1]["features"]
m, t = st.load("vf.safetensors")
i = json.loads(m["mer.ids"]).index("clip_001")
b = t["features"][t["offsets"][i]:t["offsets"][i + 1]]
assert a.shape == b.shape and np.abs(a - b).max() == 0, (a.shape, b.shape)
PY
n_checks=$((n_checks + 1))
expect_exit 0 "$MER" extract video "$clips" --openface-csv of -o of.safetensors
expect_match out "^extracted openface of 1 samples \[D = 80\]"
expect_match err "warning: skipped 64 of 65 samples that could not be read: 64 no OpenFace CSV \(the first ones are named above\)$"
"$MER_PYTHON" - <<'PY' || fail "OpenFace functionals differ from numpy's"
import csv, numpy as np, store_interop as st
rows = [{k.strip(): float(v) for k, v in r.items()} for r in
        csv.DictReader(open("of/clip_001.csv"), skipinitialspace=True)]
ok = [r for r in rows if r["success"] == 1]
x = st.load("of.safetensors")[1]["features"][0]
assert abs(x[0] - np.mean([r["AU01_r"] for r in ok])) < 1e-5, x[0]
PY
n_checks=$((n_checks + 1))

# --missing mask: a clip without a video stream is reported as missing, and --strict goes on
printf 'clip_001\nbroken_no_video\n' >two.txt
expect_exit 1 "$MER" extract video -q --strict "$clips" --ids two.txt -o strict.safetensors
expect_err_line "^mer extract: '$clips/broken_no_video.mp4': no video stream$"
expect_exit 0 "$MER" extract video --strict --missing mask "$clips" --ids two.txt -o masked.safetensors
expect_match err "^mer extract: warning: '$clips/broken_no_video.mp4': no video stream \(missing: train with data.missing=mask\) \(skipped\)$"
expect_match out "^extracted hog of 1 samples"

# bad options: one line
expect_exit 1 "$MER" extract video "$clips" --features clip -o x.safetensors
expect_err_line "^mer extract: --features 'clip': expected hog or torchscript:<model.pt>"
expect_exit 1 "$MER" extract video "$clips" --param orientations=0 -o x.safetensors
expect_err_line "^mer extract: --param 'orientations=0': "
expect_exit 1 "$MER" extract video "$clips" --pool max -o x.safetensors
expect_err_line "^mer extract: --pool does not apply to video features"
expect_exit 1 "$MER" extract video "$clips" --openface-csv of --level frame -o x.safetensors
expect_err_line "^mer extract: --openface-csv gives one row of functionals per clip"
expect_exit 1 "$MER" extract video "$clips" --missing drop -o x.safetensors
expect_err_line "^mer extract: --missing 'drop': expected skip or mask$"
[ ! -e x.safetensors ] || fail "output left by a failed run"
done_testing
