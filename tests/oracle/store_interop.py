#!/usr/bin/env python3
"""Interop oracle for mer's feature store (include/mer/store.h), in numpy + json only.

Safetensors is 8 bytes of little-endian header length N, N bytes of JSON, then the data; so
this script reads and writes it by hand, and recomputes mer's checksum (XXH64, seed 0, over
the data section) with its own pure-Python XXH64.

    store_interop.py selftest              XXH64 against the published test vectors
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
import struct
import sys

import numpy as np

M64 = (1 << 64) - 1
P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
P4, P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    return (_rotl((acc + lane * P2) & M64, 31) * P1) & M64


def _merge(h, v):
    return (((h ^ _round(0, v)) * P1) + P4) & M64


def xxh64(data, seed=0):
    """XXH64 as the spec (xxhash_spec.md) describes it, one byte string at a time."""
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], int.from_bytes(data[i + 8 * k:i + 8 * k + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h = _merge(h, v[k])
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


def selftest():
    vectors = [(b"", 0, 0xEF46DB3751D8E999), (b"a", 0, 0xD24EC4F1A98C6E5B),
               (b"abc", 0, 0x44BC2CF5AD770999),
               (b"Nobody inspects the spammish repetition", 0, 0xFBCEA83C8A378BF1)]
    bad = [(d, hex(xxh64(d, s)), hex(want)) for d, s, want in vectors if xxh64(d, s) != want]
    for d, got, want in bad:
        print(f"xxh64({d!r}) = {got}, expected {want}")
    return 1 if bad else 0


DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def write_file(path, tensors, metadata, order=None):
    """tensors: [(name, dtype name, array)] in data order; the header lists them in order."""
    header, data, off = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, arr in tensors:
        raw = np.ascontiguousarray(arr, dtype=DTYPES[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data += raw
    if order:
        header = {k: header[k] for k in order}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    return data


def foreign_tensors():
    return [("weight", "F32", np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1),
            ("half", "F16", np.array([1, -2, 0.5, 65504], dtype=np.float16)),
            ("index", "I64", np.array([-1, 0, 1 << 40], dtype=np.int64)),
            ("bytes", "U8", np.array([0, 1, 2, 254, 255], dtype=np.uint8)),
            ("empty", "F32", np.zeros((0, 4), dtype=np.float32)),
            ("scalar", "F64", np.array(3.25, dtype=np.float64))]


def write_foreign(path):
    # The header lists the tensors in another order than their data, as the spec allows.
    write_file(path, foreign_tensors(), {"format": "pt"},
               order=["__metadata__", "index", "scalar", "weight", "empty", "bytes", "half"])
    return 0


def write_mer(path):
    x = (np.arange(18, dtype=np.float32).reshape(6, 3) / 4 - 2).astype(np.float16)
    offsets = np.array([0, 1, 4, 6], dtype=np.int64)
    tensors = [("features", "F16", x), ("offsets", "I64", offsets)]
    data = b"".join(np.ascontiguousarray(a, dtype=DTYPES[d]).tobytes() for _, d, a in tensors)
    meta = {"mer.format": "mer-store", "mer.version": "1", "mer.kind": "features",
            "mer.ids": json.dumps(["a", "b", "c"]),
            "mer.provenance": json.dumps({"command": "store_interop.py write-mer"}),
            "mer.checksum": "xxh64:%016x" % xxh64(data)}
    write_file(path, tensors, meta)
    return 0


def check(path):
    """What test_store.c's interop case writes; see there."""
    errors = []
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    if n % 8:
        errors.append(f"header length {n} is not a multiple of 8")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    at = 0
    for b, e, k in spans:
        if b != at:
            errors.append(f"tensor {k} starts at {b}, expected {at}")
        at = e
    if at != len(data):
        errors.append(f"tensors cover {at} bytes of a {len(data)}-byte data section")
    want_sum = "xxh64:%016x" % xxh64(data)
    if meta.get("mer.checksum") != want_sum:
        errors.append(f"mer.checksum {meta.get('mer.checksum')} but the data hashes to {want_sum}")
    for key, want in [("mer.format", "mer-store"), ("mer.version", "1"),
                      ("note", "h\u00e9llo \"quoted\"\n\ttab")]:
        if meta.get(key) != want:
            errors.append(f"metadata {key} is {meta.get(key)!r}, expected {want!r}")

    def tensor(name):
        v = header[name]
        b, e = v["data_offsets"]
        return np.frombuffer(data[b:e], dtype=DTYPES[v["dtype"]]).reshape(v["shape"])

    expect = {"features": np.arange(6, dtype=np.float32).reshape(3, 2) * 1.5 - 1,
              "half": np.array([0.5, -1, 2], dtype=np.float16),
              "ids64": np.array([-5, 1 << 50], dtype=np.int64)}
    for name, want in expect.items():
        if name not in header:
            errors.append(f"no tensor {name}")
            continue
        got = tensor(name)
        if header[name]["dtype"] != {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16",
                                     np.dtype("<i8"): "I64"}[want.dtype.newbyteorder("<")]:
            errors.append(f"{name}: dtype {header[name]['dtype']}")
        if got.shape != want.shape or not np.array_equal(got, want):
            errors.append(f"{name}: {got.tolist()} != {want.tolist()}")
    for e in errors:
        print(f"{path}: {e}")
    if not errors:
        print(f"{path}: ok ({len(header)} tensors, {want_sum})")
    return 1 if errors else 0


def load(path):
    """(metadata dict, {name: numpy array}); raises ValueError on a bad layout or checksum."""
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    at, arrays = 0, {}
    for name, v in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        b, e = v["data_offsets"]
        if b != at:
            raise ValueError(f"{path}: tensor {name} starts at {b}, expected {at}")
        arrays[name] = np.frombuffer(data[b:e], dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
        at = e
    if at != len(data):
        raise ValueError(f"{path}: tensors cover {at} of {len(data)} data bytes")
    if "mer.checksum" in meta and meta["mer.checksum"] != "xxh64:%016x" % xxh64(data):
        raise ValueError(f"{path}: checksum mismatch")
    return meta, arrays


def print_checksum(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    print("xxh64:%016x" % xxh64(blob[8 + n:]))
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
