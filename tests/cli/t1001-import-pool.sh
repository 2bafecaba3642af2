#!/usr/bin/env bash
# mer import of frame-level [T, D] .npy files: --pool mean, max and none against numpy.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"

# T from 1 to 7 frames, float16/32/64, C and Fortran order.
mkdir fra
"$MER_PYTHON" - <<'PY'
import numpy as np
rng = np.random.default_rng(2)
for i in range(9):
    x = (rng.standard_normal((1 + i % 7, 5)) * 3).astype(["<f4", "<f2", "<f8"][i % 3])
    np.save(f"fra/clip{i}.npy", np.asfortranarray(x) if i % 2 else x)
PY

for pool in mean max none; do
  expect_exit 0 "$MER" import --pool $pool fra -o $pool.safetensors
done
expect_match out "^imported 9 samples \[D = 5, frame level\] into 'none.safetensors'$"
"$MER_PYTHON" - <<'PY' || fail "pooled features differ from numpy's"
import json
import numpy as np
import store_interop as st
frames = [np.load(f"fra/clip{i}.npy").astype(np.float32) for i in range(9)]
for pool, f in [("mean", lambda x: x.astype(np.float64).mean(0)), ("max", lambda x: x.max(0))]:
    meta, t = st.load(f"{pool}.safetensors")
    assert set(t) == {"features"} and t["features"].shape == (9, 5), (pool, t)
    want = np.stack([f(x) for x in frames]).astype(np.float32)
    err = np.abs(t["features"] - want).max()
    assert err <= 1e-6 * max(1, np.abs(want).max()), (pool, err)
    assert json.loads(meta["mer.provenance"])["pool"] == pool
meta, t = st.load("none.safetensors")
assert t["offsets"].tolist() == np.cumsum([0] + [len(x) for x in frames]).tolist(), t["offsets"]
assert np.array_equal(t["features"], np.concatenate(frames)), "frames differ"
PY
expect_exit 0 "$MER" info none.safetensors
expect_match out '^    features     F32  \[31, 5\]$'
expect_match out '^    offsets      I64  \[10\]$'

# --pool none on utterance-level inputs stays utterance level (no offsets).
mkdir utt
"$MER_PYTHON" -c 'import numpy as np; [np.save(f"utt/u{i}.npy", np.ones((1, 3), "<f4") * i) for i in range(3)]'
expect_exit 0 "$MER" import --pool none utt -o utt.safetensors
expect_match out "^imported 3 samples \[D = 3\] into 'utt.safetensors'$"
expect_exit 0 "$MER" info utt.safetensors
expect_match out '^    features     F32  \[3, 3\]$'
grep -q offsets out && fail "offsets in an utterance-level store"

# A NaN frame: max keeps it (as numpy does), mean too.
mkdir nan
"$MER_PYTHON" -c 'import numpy as np; np.save("nan/a.npy", np.array([[1, 2], [np.nan, 5], [3, 4]], "<f4"))'
expect_exit 0 "$MER" import -q --pool max nan -o nan.safetensors
"$MER_PYTHON" -c '
import numpy as np, store_interop as st
x = st.load("nan.safetensors")[1]["features"]
assert np.isnan(x[0, 0]) and x[0, 1] == 5, x' || fail "max over a NaN frame"
done_testing
