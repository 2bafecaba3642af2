#!/usr/bin/env python3
"""Writes .npy files for tests/unit/test_npy.c with numpy, and what mer must make of them.

    store_npy.py DIR

DIR/cases.txt has one line per file:
    ok NAME ROWS COLS        NAME.npy decodes to a ROWS x COLS float32 matrix, whose
                             little-endian bytes numpy wrote to NAME.expect
    bad NAME TEXT...         reading NAME.npy fails, and the message contains TEXT
"""
import os
import struct
import sys

import numpy as np


def expect(out, name, arr2d):
    m = np.ascontiguousarray(arr2d, dtype="<f4")
    m.tofile(os.path.join(out, name + ".expect"))
    return f"ok {name} {m.shape[0]} {m.shape[1]}"


def good_cases(out):
    rng = np.random.default_rng(7)
    lines = []

    def save(name, arr, rows_cols, version=None, fortran=None):
        path = os.path.join(out, name + ".npy")
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
        lines.append(expect(out, name, np.asarray(arr, dtype=np.float64).reshape(rows_cols)
                            .astype(np.float32) if arr.dtype != np.float16
                            else arr.astype(np.float32).reshape(rows_cols)))

    x = rng.standard_normal((4, 3))
    for dt in ("<f2", "<f4", "<f8", ">f2", ">f4", ">f8"):
        tag = ("be_" if dt[0] == ">" else "") + dt[1:]
        save(f"utt_{tag}", x[0].astype(dt), (1, 3))                          # [D]
        save(f"utt1_{tag}", x[:1].astype(dt), (1, 3))                        # [1, D]
        save(f"fra_{tag}", x.astype(dt), (4, 3))                             # [T, D]
        save(f"fra_fortran_{tag}", np.asfortranarray(x.astype(dt)), (4, 3))  # Fortran order
    save("batch_f4", x[None].astype("<f4"), (4, 3))                          # [1, T, D]
    save("batch2_f4", x[None, None].astype("<f4"), (4, 3))                   # [1, 1, T, D]
    save("v2_f4", x.astype("<f4"), (4, 3), version=(2, 0))
    save("v3_f4", x.astype("<f4"), (4, 3), version=(3, 0))
    save("wide_f4", rng.standard_normal((2, 1024)).astype("<f4"), (2, 1024))
    save("one_f8", np.array([[2.5]]), (1, 1))
    special = np.array([0.0, -0.0, np.inf, -np.inf, 65504, 6.1e-5, 6e-8, 1e-8, 1e30, -1e-30])
    save("special_f8", special, (1, 10))
    save("special_f4", special.astype("<f4"), (1, 10))
    with np.errstate(over="ignore"):
        save("special_f2", special.astype("<f2"), (1, 10))  # overflow -> inf, subnormals, 0
    save("nan_f4", np.array([np.nan, 1.0], dtype="<f4"), (1, 2))
    return lines


def raw_npy(header, data=b"", version=1, magic=b"\x93NUMPY"):
    """A .npy with a header text of our choosing (padded as numpy pads it)."""
    text = header.encode("latin1")
    pre = 10 if version == 1 else 12
    pad = -(pre + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    size = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return magic + bytes([version, 0]) + size + text + data


def bad_cases(out):
    lines = []

    def put(name, blob, text):
        with open(os.path.join(out, name + ".npy"), "wb") as f:
            f.write(blob)
        lines.append(f"bad {name} {text}")

    good = np.arange(12, dtype="<f4").reshape(3, 4)
    path = os.path.join(out, "tmp.npy")
    np.save(path, good)
    blob = open(path, "rb").read()
    os.remove(path)
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
    d = good.tobytes()
    put("truncated_data", blob[:-5], "(truncated)")
    put("truncated_data_all", blob[:len(blob) - len(d)], "shape needs 48 bytes of data, the file has 0")
    put("truncated_header", blob[:40], "byte 8: header length")
    put("tiny", blob[:5], "byte 0: not a .npy file")
    put("empty_file", b"", "byte 0: not a .npy file")
    put("bad_magic", b"\x93NUMPX" + blob[6:], "bad magic")
    put("bad_version", blob[:6] + b"\x04" + blob[7:], "byte 6: unsupported .npy version 4")
    put("v2_short", blob[:6] + b"\x02\x00\x10", "truncated header")
    put("not_dict", raw_npy("[1, 2, 3]", d), "byte 10: header is not a Python dict literal")
    put("unknown_key", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'foo': 1}", d),
        "unknown header key 'foo'")
    put("dup_key", raw_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}", d),
        "header key 'descr' appears twice")
    put("no_shape", raw_npy("{'descr': '<f4', 'fortran_order': False}", d), "header lacks 'shape'")
    put("no_descr", raw_npy("{'fortran_order': False, 'shape': (3, 4)}", d), "header lacks 'descr'")
    put("bad_bool", raw_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (3, 4)}", d),
        "fortran_order must be True or False")
    put("bad_shape", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': [3, 4]}", d),
        "shape must be a tuple of sizes")
    put("neg_shape", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4)}", d),
        "shape must be a tuple of sizes")
    put("huge_shape", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904)}", d),
        "shape is too large")
    put("many_dims", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", d),
        "more than 8 dimensions")
    put("after_dict", raw_npy(hdr + " junk", d), "text after the header dict")
    put("no_comma", raw_npy("{'descr': '<f4' 'fortran_order': False, 'shape': (3, 4)}", d),
        "expected ',' or '}' in the header")
    put("unterminated", raw_npy("{'descr': '<f4", d), "'descr' must be a dtype string")
    put("descr_junk", raw_npy("{'descr': '<f4x', 'fortran_order': False, 'shape': (3, 4)}", d),
        "unsupported 'descr' '<f4x'")
    put("descr_unicode", raw_npy("{'descr': '<U3', 'fortran_order': False, 'shape': (3, 4)}", d),
        "unsupported 'descr' '<U3'")
    put("f16_bytes", raw_npy("{'descr': '<f16', 'fortran_order': False, 'shape': (3,)}", d),
        "dtype '<f16' is not float16, float32 or float64")
    np.save(path, np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    put("structured", open(path, "rb").read(), "'descr' must be a dtype string")
    for name, arr, text in [("int64", np.arange(4), "dtype '<i8' is not float16"),
                            ("complex", np.zeros(3, dtype="<c8"), "dtype '<c8' is not float16"),
                            ("bool", np.zeros(3, dtype=bool), "dtype '|b1' is not float16"),
                            ("empty_rows", np.zeros((0, 4), dtype="<f4"), "empty array"),
                            ("empty_cols", np.zeros((4, 0), dtype="<f4"), "empty array"),
                            ("rank3", np.zeros((2, 3, 4), dtype="<f4"), "expected shape [D], [1, D] or [T, D], got 3"),
                            ("scalar", np.array(1.5, dtype="<f4"), "got 0 dimensions")]:
        np.save(path, arr)
        put(name, open(path, "rb").read(), text)
    os.remove(path)
    return lines


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    lines = good_cases(out) + bad_cases(out)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
