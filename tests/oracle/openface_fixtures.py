"""Fixtures for test_openface: face stacks (.npy), OpenFace-like BMP crops and CSVs, and what
mer must read from them, computed with numpy. Usage: openface_fixtures.py DIR"""
import os
import struct
import sys

import numpy as np

AU_R = ["AU%02d_r" % a for a in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)]
AU_C = ["AU%02d_c" % a for a in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 28, 45)]
POSE = ["pose_T" + a for a in "xyz"] + ["pose_R" + a for a in "xyz"]
GAZE = ["gaze_%d_%s" % (e, a) for e in (0, 1) for a in "xyz"] + ["gaze_angle_x", "gaze_angle_y"]
# (columns, has std) in the order of the functionals, as include/mer/openface.h documents it
GROUPS = [(AU_R, True), (AU_C, False), (POSE, True), (GAZE, True)]


def write_bmp(path, rgb, top_down=False, bits=24, compression=0, truncate=0):
    h, w, _ = rgb.shape
    stride = (w * 3 + 3) // 4 * 4
    rows = np.zeros((h, stride), np.uint8)
    rows[:, : w * 3] = rgb[:, :, ::-1].reshape(h, w * 3)
    if not top_down:
        rows = rows[::-1]
    data = rows.tobytes()
    info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, bits, compression,
                       len(data), 2835, 2835, 0, 0)
    head = b"BM" + struct.pack("<IHHI", 14 + 40 + len(data), 0, 0, 54)
    blob = head + info + data
    with open(path, "wb") as f:
        f.write(blob[: len(blob) - truncate])


def faces(d, rng):
    stack = rng.integers(0, 256, size=(5, 6, 7, 3), dtype=np.uint8)  # B, G, R as MERTools
    np.save(os.path.join(d, "stack.npy"), stack)
    stack[:, :, :, ::-1].tofile(os.path.join(d, "stack_rgb.raw"))
    os.makedirs(os.path.join(d, "ff", "s1"))
    np.save(os.path.join(d, "ff", "s1", "s1.npy"), stack)
    np.save(os.path.join(d, "shape3.npy"), np.zeros((16, 112, 112), np.uint8))
    np.save(os.path.join(d, "float.npy"), np.zeros((2, 4, 4, 3), np.float32))
    np.save(os.path.join(d, "chan4.npy"), np.zeros((2, 4, 4, 4), np.uint8))
    np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(np.zeros((2, 4, 4, 3), np.uint8)))
    np.save(os.path.join(d, "none.npy"), np.zeros((0, 8, 8, 3), np.uint8))
    np.save(os.path.join(d, "nolist.npy"), [])  # MERTools' stack when no face was found
    with open(os.path.join(d, "stack.npy"), "rb") as f:
        blob = f.read()
    with open(os.path.join(d, "truncated.npy"), "wb") as f:
        f.write(blob[:-10])

    # crops: odd width (row padding), one top-down, names out of byte order (natural order)
    crops = rng.integers(0, 256, size=(4, 5, 7, 3), dtype=np.uint8)
    al = os.path.join(d, "ff", "s2_aligned")
    os.makedirs(al)
    names = ["frame_det_00_000001.bmp", "frame_det_00_000002.bmp", "frame_det_00_000009.bmp",
             "frame_det_00_000010.bmp"]
    for i, n in enumerate(names):
        write_bmp(os.path.join(al, n), crops[i], top_down=(i == 1))
    with open(os.path.join(al, "notes.txt"), "w") as f:
        f.write("not a frame\n")
    crops.tofile(os.path.join(d, "crops_rgb.raw"))
    # unpadded numbers: natural order must put 9 before 10
    nat = os.path.join(d, "natural")
    os.makedirs(nat)
    for i, n in enumerate(["f_10.bmp", "f_9.bmp"]):
        write_bmp(os.path.join(nat, n), crops[i])

    for name, kw in [("bits32", dict(bits=32)), ("rle", dict(compression=1)),
                     ("short", dict(truncate=9))]:
        bd = os.path.join(d, "bad_" + name)
        os.makedirs(bd)
        write_bmp(os.path.join(bd, "frame_det_00_000001.bmp"), crops[0], **kw)
    sd = os.path.join(d, "bad_size")
    os.makedirs(sd)
    write_bmp(os.path.join(sd, "frame_det_00_000001.bmp"), crops[0])
    write_bmp(os.path.join(sd, "frame_det_00_000002.bmp"), crops[0][:4])
    os.makedirs(os.path.join(d, "empty_aligned"))


def csv_table(rng, n):
    cols = ["frame", "face_id", "timestamp", "confidence", "success"]
    cols += GAZE[:6] + GAZE[6:] + ["eye_lmk_x_0", "eye_lmk_y_0"] + POSE
    cols += ["x_0", "x_1", "y_0", "y_1", "p_scale"] + AU_R + AU_C
    vals = {}
    vals["frame"] = np.arange(1, n + 1)
    vals["face_id"] = np.zeros(n)
    vals["timestamp"] = np.arange(n) * 0.04
    vals["confidence"] = rng.uniform(0, 1, n)
    vals["success"] = np.ones(n)
    vals["success"][[1, 4, 5]] = 0
    for c in cols:
        if c not in vals:
            vals[c] = rng.uniform(-2, 5, n)
    for c in AU_R:
        vals[c] = np.round(rng.uniform(0, 5, n), 2)
    for c in AU_C:
        vals[c] = rng.integers(0, 2, n).astype(float)
    vals["pose_Tz"] = rng.uniform(400, 600, n)
    return cols, vals


def write_csv(path, cols, vals, n, drop=None):
    keep = [c for c in cols if c != drop]
    with open(path, "w") as f:
        f.write(", ".join(keep) + "\n")
        for i in range(n):
            f.write(", ".join("%.6g" % vals[c][i] if c not in ("frame", "face_id", "success")
                              else "%d" % vals[c][i] for c in keep) + "\n")


def functionals(vals, n):
    ok = vals["success"] == 1
    out, names = [], []
    for group, std in GROUPS:
        x = np.stack([np.array([float("%.6g" % v) for v in vals[c][:n]]) for c in group], 1)[ok]
        out += list(x.mean(0))
        names += [c + "_mean" for c in group]
        if std:
            out += list(x.std(0))
            names += [c + "_std" for c in group]
    return np.array(out), names


def csvs(d, rng):
    n = 12
    cols, vals = csv_table(rng, n)
    write_csv(os.path.join(d, "s1.csv"), cols, vals, n)
    os.makedirs(os.path.join(d, "of", "s3"))
    write_csv(os.path.join(d, "of", "s3", "s3.csv"), cols, vals, n)
    ref, names = functionals(vals, n)
    ref.astype(np.float64).tofile(os.path.join(d, "s1_functionals.f64"))
    with open(os.path.join(d, "names.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    write_csv(os.path.join(d, "missing.csv"), cols, vals, n, drop="AU45_c")
    vals["success"][:] = 0
    write_csv(os.path.join(d, "failed.csv"), cols, vals, n)
    vals["success"][:] = 1
    with open(os.path.join(d, "s1.csv")) as f:
        lines = f.read().split("\n")
    parts = lines[3].split(", ")
    parts[cols.index("pose_Tx")] = "abc"
    lines[3] = ", ".join(parts)
    with open(os.path.join(d, "badvalue.csv"), "w") as f:
        f.write("\n".join(lines))


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(13)
    faces(d, rng)
    csvs(d, rng)


main()
