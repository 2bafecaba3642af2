#!/usr/bin/env bash
# mer import of utterance-level .npy files: values, ids, provenance, f16, overwrite rules,
# usage errors, and nothing left behind by a failure.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"

# MERTools' utterance level: [D] or [1, D]; float16/32/64; either byte order.
mkdir npy
"$MER_PYTHON" - <<'PY'
import numpy as np
rng = np.random.default_rng(1)
dts = ["<f4", "<f2", "<f8", ">f4", ">f8"]
for i in range(10):
    x = rng.standard_normal(6).astype(dts[i % len(dts)])
    np.save(f"npy/sample_{i:03d}.npy", x if i % 2 else x[None])
open("npy/notes.txt", "w").write("not a feature file\n")
PY

expect_exit 0 "$MER" import npy -o stores/u.safetensors
expect_match out "^imported 10 samples \[D = 6\] into 'stores/u.safetensors'$"
expect_match err '^import: 10/10 files, .* took '   # the progress line (not a TTY: plain)
"$MER_PYTHON" - <<'PY' || fail "the store does not hold the .npy values"
import glob, json, os, re
import numpy as np
import store_interop as st
meta, t = st.load("stores/u.safetensors")         # checks layout and checksum too
names = sorted(os.path.basename(p)[:-4] for p in glob.glob("npy/*.npy"))
assert json.loads(meta["mer.ids"]) == names, meta["mer.ids"]
assert meta["mer.kind"] == "features" and meta["mer.format"] == "mer-store", meta
assert set(t) == {"features"} and t["features"].dtype == np.float32, t
want = np.stack([np.load(f"npy/{n}.npy").reshape(-1).astype(np.float32) for n in names])
assert np.array_equal(t["features"], want), (t["features"], want)
p = json.loads(meta["mer.provenance"])
assert p["command"] == "mer import npy -o stores/u.safetensors", p
assert p["input"] == os.path.abspath("npy") and p["pool"] == "mean" and p["dtype"] == "f32", p
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["time"]), p
assert re.fullmatch(r"\d+\.\d+\.\d+", p["mer_version"]), p
PY

# An existing output is refused (and left as it was) unless --force.
cp stores/u.safetensors before
expect_exit 1 "$MER" import -q npy -o stores/u.safetensors --dtype f16
expect_err_line "^mer import: 'stores/u.safetensors' exists \(--force overwrites it\)$"
cmp -s before stores/u.safetensors || fail "the existing store was changed"

# float16, quietly.
expect_exit 0 "$MER" import -q --force --dtype f16 npy -o stores/u.safetensors
[ ! -s err ] || fail "-q but stderr: $(cat err)"
"$MER_PYTHON" - <<'PY' || fail "the f16 store does not hold the .npy values"
import numpy as np
import store_interop as st
meta, t = st.load("stores/u.safetensors")
x = t["features"]
assert x.dtype == np.float16 and x.shape == (10, 6), x.dtype
want = np.stack([np.load(f"npy/sample_{i:03d}.npy").reshape(-1).astype(np.float32)
                 for i in range(10)]).astype(np.float16)
assert np.array_equal(x, want), (x, want)
PY
expect_exit 0 "$MER" info stores/u.safetensors
expect_match out '^    features     F16  \[10, 6\]$'

# Input problems: one line, exit 1, no output and no temporaries.
mkdir empty
expect_exit 1 "$MER" import -q empty -o e.safetensors
expect_err_line "^mer import: 'empty': no .npy files to import$"
expect_exit 1 "$MER" import -q nonexistent -o e.safetensors
expect_err_line "^mer import: 'nonexistent': not a directory of .npy files$"
expect_exit 1 "$MER" import -q npy -o /dev/null/x.safetensors
expect_err_line "^mer import: '/dev/null(/x.safetensors)?': "
[ ! -e e.safetensors ] || fail "output left after a failure"

# Usage errors: exit 2, nothing written.
expect_exit 2 "$MER" import npy
expect_match err "^mer import: no -o given$"
expect_exit 2 "$MER" import -o x.safetensors
expect_match err "^mer import: expected one input directory$"
expect_exit 2 "$MER" import npy npy -o x.safetensors
expect_exit 2 "$MER" import npy -o x.safetensors --pool median
expect_match err "^mer import: --pool 'median': expected mean, max or none$"
expect_exit 2 "$MER" import npy -o x.safetensors --dtype f64
expect_match err "^mer import: --dtype 'f64': expected f32 or f16$"
expect_exit 2 "$MER" import npy -o x.safetensors --shard 2/2
expect_exit 2 "$MER" import npy -o x.safetensors --frobnicate
expect_match err "^mer import: unknown option '--frobnicate'$"
expect_exit 2 "$MER" import npy -o x.safetensors --ids a --labels b
expect_match err "^mer import: --ids and --labels both fix the samples: give one$"
[ ! -e x.safetensors ] || fail "output written after a usage error"
[ -z "$(find . -name '*.tmp.*')" ] || fail "temporaries left: $(find . -name '*.tmp.*')"
done_testing
