#!/usr/bin/env bash
# mer info: a healthy store (text and --json), a foreign file, several paths, usage errors.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
oracle="$MER_SRC/tests/oracle/store_interop.py"
version=$("$MER" --version | head -1 | cut -d' ' -f2)

mkdir npy
"$MER_PYTHON" - <<'PY'
import numpy as np
for i in range(4):
    np.save(f"npy/clip_{i}.npy", np.arange(3, dtype=np.float32) + i)
PY
expect_exit 0 "$MER" import -q npy -o s.safetensors
sum=$("$MER_PYTHON" "$oracle" checksum s.safetensors)

expect_exit 0 "$MER" info s.safetensors
[ ! -s err ] || fail "stderr not empty: $(cat err)"
grep -v '^    time: ' out >actual
cat >expect <<EOF
s.safetensors
  format: mer-store v1 (safetensors)
  kind: features
  samples: 4 (clip_0, clip_1, clip_2, ...)
  tensors:
    features     F32  [4, 3]
  provenance:
    command: mer import -q npy -o s.safetensors
    mer_version: $version
    input: $PWD/npy
    pool: mean
    dtype: f32
    shard: 0/1
  checksum: ok ($sum)
EOF
expect_same expect actual
expect_match out '^    time: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# --json: one object per path, one per line.
expect_exit 0 "$MER" info --json s.safetensors s.safetensors
[ "$(wc -l <out)" -eq 2 ] || fail "expected 2 JSON lines"
"$MER_PYTHON" - <<'PY' || fail "--json output is not what was expected"
import json
for line in open("out"):
    o = json.loads(line)
    assert o["path"] == "s.safetensors" and o["format"] == "mer-store" and o["version"] == "1", o
    assert o["kind"] == "features" and o["samples"] == 4, o
    assert o["ids_head"] == ["clip_0", "clip_1", "clip_2"], o
    assert o["tensors"] == [{"name": "features", "dtype": "F32", "shape": [4, 3]}], o
    assert o["provenance"]["pool"] == "mean" and o["checksum"] == "ok", o
PY

# A file that other tools wrote: readable, no checksum to verify.
"$MER_PYTHON" "$oracle" write-foreign foreign.safetensors
expect_exit 0 "$MER" info foreign.safetensors
cat >expect <<EOF
foreign.safetensors
  format: safetensors (not written by mer)
  tensors:
    weight       F32  [2, 3]
    half         F16  [4]
    index        I64  [3]
    bytes        U8   [5]
    empty        F32  [0, 4]
    scalar       F64  []
  metadata:
    format: pt
  checksum: none (not written by mer)
EOF
expect_same expect out

# Several paths: each is described; a bad one is one line on stderr and exit 1.
expect_exit 1 "$MER" info s.safetensors missing.safetensors foreign.safetensors
expect_err_line "^mer info: 'missing.safetensors': cannot open: No such file or directory$"
expect_match out '^s.safetensors$'
expect_match out '^foreign.safetensors$'
expect_exit 1 "$MER" info --json missing.safetensors
expect_match out "\"error\":\"'missing.safetensors': cannot open"
mkdir notastore
expect_exit 1 "$MER" info notastore
expect_err_line "^mer info: 'notastore': not a store: no index.json in the directory"
printf 'hello' >short.safetensors
expect_exit 1 "$MER" info short.safetensors
expect_err_line "^mer info: 'short.safetensors': 5 bytes, too short for a safetensors file"

# Usage errors.
expect_exit 2 "$MER" info
expect_match err "^mer info: no store given$"
expect_exit 2 "$MER" info --frobnicate s.safetensors
expect_match err "^mer info: unknown option '--frobnicate'$"
expect_exit 0 "$MER" info --help
expect_match out '^usage: mer info'
done_testing
