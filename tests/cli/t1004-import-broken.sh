#!/usr/bin/env bash
# mer import with broken .npy files: each reported by name and skipped, the count printed;
# --strict fails on the first with one line and leaves no output or partial file.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"

mkdir npy
"$MER_PYTHON" - <<'PY'
import numpy as np
for i in range(5):
    np.save(f"npy/ok{i}.npy", np.full(4, i, dtype=np.float32))
blob = open("npy/ok0.npy", "rb").read()
open("npy/b_truncated.npy", "wb").write(blob[:-6])        # data cut short
open("npy/c_text.npy", "w").write("name,value\n")        # not a .npy at all
np.save("npy/d_ints.npy", np.arange(4))                   # int64
np.save("npy/p_wide.npy", np.zeros(5, dtype=np.float32))  # D = 5, the others have 4
PY
expect_exit 0 "$MER" import npy -o s.safetensors
expect_match out "^imported 5 samples \[D = 4\] into 's.safetensors' \(4 unreadable, 0 missing, 0 extra\)$"
grep -v '^import: ' err >warnings
cat >expect <<'EOF'
mer import: warning: 'npy/b_truncated.npy': shape needs 16 bytes of data, the file has 10 (truncated) (skipped)
mer import: warning: 'npy/c_text.npy': byte 0: not a .npy file (bad magic) (skipped)
mer import: warning: 'npy/d_ints.npy': dtype '<i8' is not float16, float32 or float64 (skipped)
mer import: warning: 'npy/p_wide.npy': dimension 5, but the first sample ('ok0') has 4 (skipped)
mer import: warning: skipped 4 of 9 samples that could not be read
EOF
expect_same expect warnings
expect_match err '^import: 9/9 files, '
"$MER_PYTHON" -c '
import json, store_interop as st
m, t = st.load("s.safetensors")
assert json.loads(m["mer.ids"]) == ["ok%d" % i for i in range(5)], m["mer.ids"]
assert t["features"][:, 0].tolist() == [0, 1, 2, 3, 4]' || fail "the readable samples"

# --strict: the first bad file ends the run; one line; no output, no temporaries.
expect_exit 1 "$MER" import -q --strict npy -o strict.safetensors
expect_err_line "^mer import: 'npy/b_truncated.npy': shape needs 16 bytes of data, the file has 10 \(truncated\)$"
[ ! -e strict.safetensors ] || fail "output written by a failed --strict run"
# ... also into a sharded store: no part, no index.
expect_exit 1 "$MER" import -q --strict npy -o sharded --shard 0/1
expect_exit 1 "$MER" import -q --strict npy -o sharded/
[ ! -e sharded/part-00000.safetensors ] && [ ! -e sharded/index.json ] || fail "part left"

# Nothing readable at all.
mkdir bad
cp npy/c_text.npy npy/d_ints.npy bad/
expect_exit 1 "$MER" import -q bad -o bad.safetensors
expect_match err "^mer import: 'bad': none of the 2 samples could be read$"
[ ! -e bad.safetensors ] || fail "output written with no samples"
[ -z "$(find . -name '*.tmp.*')" ] || fail "temporaries left: $(find . -name '*.tmp.*')"
done_testing
