#!/usr/bin/env python3
"""Interop oracle for mer's feature store (include/mer/store.h), in numpy + json only.

The reader, writer and XXH64 are python/mer_store.py's (the module users read mer's files
with), so what is tested here is what users get. Safetensors is 8 bytes of little-endian
header length N, N bytes of JSON, then the data; mer's checksum is XXH64, seed 0, over the
data section.

    store_interop.py selftest              mer_store's pure-Python XXH64 against the published
                                           test vectors
    store_interop.py write-foreign OUT     a file as other tools write it (no mer.* keys)
    store_interop.py write-mer OUT         a mer feature store: frame level, F16, checksum
    store_interop.py check PATH            a file written by test_store.c: layout, values,
                                           checksum; prints what differs and exits 1
    store_interop.py checksum PATH         prints "xxh64:<hex>" of PATH's data section

The CLI tests import it (PYTHONPATH=tests/oracle) for load(), which reads any safetensors
file into (metadata, {name: array}) and checks the layout and mer.checksum on the way.

The contents are fixed here and in tests/unit/test_store.c (interop cases): change both.
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import mer_store  # noqa: E402
from mer_store import load, xxh64  # noqa: E402,F401  (load: what the CLI tests use)


def selftest():
    vectors = [(b"", 0, 0xEF46DB3751D8E999), (b"a", 0, 0xD24EC4F1A98C6E5B),
               (b"abc", 0, 0x44BC2CF5AD770999),
               (b"Nobody inspects the spammish repetition", 0, 0xFBCEA83C8A378BF1)]
    bad = [(d, hex(xxh64(d, s, pure=True)), hex(want)) for d, s, want in vectors
           if xxh64(d, s, pure=True) != want]
    for d, got, want in bad:
        print(f"xxh64({d!r}) = {got}, expected {want}")
    return 1 if bad else 0


def foreign_tensors():
    return [("weight", "F32", np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1),
            ("half", "F16", np.array([1, -2, 0.5, 65504], dtype=np.float16)),
            ("index", "I64", np.array([-1, 0, 1 << 40], dtype=np.int64)),
            ("bytes", "U8", np.array([0, 1, 2, 254, 255], dtype=np.uint8)),
            ("empty", "F32", np.zeros((0, 4), dtype=np.float32)),
            ("scalar", "F64", np.array(3.25, dtype=np.float64))]


def write_foreign(path):
    # mer_store's encoding without mer's keys, then the header lists the tensors in another
    # order than their data, as the spec allows.
    blob = mer_store.encode(foreign_tensors(), {"format": "pt"}, mer=False)
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    order = ["__metadata__", "index", "scalar", "weight", "empty", "bytes", "half"]
    text = json.dumps({k: header[k] for k in order}).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + blob[8 + n:])
    return 0


def write_mer(path):
    x = (np.arange(18, dtype=np.float32).reshape(6, 3) / 4 - 2).astype(np.float16)
    offsets = np.array([0, 1, 4, 6], dtype=np.int64)
    mer_store.write_features(path, ["a", "b", "c"], x, offsets, dtype="f16",
                             provenance={"command": "store_interop.py write-mer"})
    return 0


def check(path):
    """What test_store.c's interop case writes; see there."""
    errors = []
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    if n % 8:
        errors.append(f"header length {n} is not a multiple of 8")
    data = blob[8 + n:]
    want_sum = mer_store.checksum(data)
    try:
        f = mer_store.parse(blob, path, verify=False)  # the layout: tensors tile the data
        meta, tensors = f.meta, f.tensors
    except mer_store.StoreError as e:
        errors.append(str(e))
        meta, tensors, f = {}, {}, None
    if meta.get("mer.checksum") != want_sum:
        errors.append(f"mer.checksum {meta.get('mer.checksum')} but the data hashes to {want_sum}")
    for key, want in [("mer.format", "mer-store"), ("mer.version", "1"),
                      ("note", "h\u00e9llo \"quoted\"\n\ttab")]:
        if meta.get(key) != want:
            errors.append(f"metadata {key} is {meta.get(key)!r}, expected {want!r}")

    expect = {"features": np.arange(6, dtype=np.float32).reshape(3, 2) * 1.5 - 1,
              "half": np.array([0.5, -1, 2], dtype=np.float16),
              "ids64": np.array([-5, 1 << 50], dtype=np.int64)}
    names = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64"}
    for name, want in expect.items():
        if name not in tensors:
            errors.append(f"no tensor {name}")
            continue
        got = tensors[name]
        if f.dtypes[name] != names[want.dtype.newbyteorder("<")]:
            errors.append(f"{name}: dtype {f.dtypes[name]}")
        if got.shape != want.shape or not np.array_equal(got, want):
            errors.append(f"{name}: {got.tolist()} != {want.tolist()}")
    for e in errors:
        print(f"{path}: {e}")
    if not errors:
        print(f"{path}: ok ({len(tensors)} tensors, {want_sum})")
    return 1 if errors else 0


def print_checksum(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    print(mer_store.checksum(blob[8 + n:]))
    return 0


def main(argv):
    if argv[1:2] == ["selftest"]:
        return selftest()
    verbs = {"write-foreign": write_foreign, "write-mer": write_mer, "check": check,
             "checksum": print_checksum}
    if len(argv) == 3 and argv[1] in verbs:
        return verbs[argv[1]](argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
