#!/usr/bin/env bash
# Sample names are text: a .npy whose file name is not valid UTF-8 (a Latin-1 'café') is
# skipped and reported by its escaped name like an unreadable sample (--strict fails on it),
# so the store's header stays JSON that Python's json.loads reads; a path that is not UTF-8
# in the command line is kept in the provenance escaped.
. "$MER_SRC/tests/cli/lib.sh"

mkdir npy
"$MER_PYTHON" - <<'PY'
import os
import numpy as np
for name in [b"a", b"caf\xc3\xa9", b"caf\xe9"]:  # ASCII, UTF-8 'café', Latin-1 'café'
    with open(os.path.join(b"npy", name + b".npy"), "wb") as f:
        np.save(f, np.ones((2, 3), np.float32))
PY
expect_exit 0 "$MER" import npy -o s.safetensors
expect_match err "^mer import: warning: 'npy/caf\\\\xe9.npy': the file name is not valid UTF-8 \(sample names are text; rename it\) \(skipped\)$"
expect_match out '^imported 2 samples .*\(1 unreadable, 0 missing, 0 extra\)'
expect_exit 1 "$MER" import --strict npy -o strict.safetensors
expect_match err "^mer import: 'npy/caf\\\\xe9.npy': the file name is not valid UTF-8 \(sample names are text; rename it\)$"
[ ! -e strict.safetensors ] || fail "--strict wrote a store"

# a directory whose name is Latin-1: read, and named in the provenance with \xNN
mkdir "$(printf 'd\351')"
cp npy/a.npy "$(printf 'd\351')/"
expect_exit 0 "$MER" import -q "$(printf 'd\351')" -o d.safetensors
"$MER_PYTHON" - <<'PY'
import json, struct
def header(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n])  # bytes: decoded as strict UTF-8
h = header("s.safetensors")
assert json.loads(h["__metadata__"]["mer.ids"]) == ["a", "caf\u00e9"], h["__metadata__"]["mer.ids"]
p = json.loads(header("d.safetensors")["__metadata__"]["mer.provenance"])
assert p["command"].startswith("mer import -q d\\xe9 "), p["command"]
PY
done_testing
