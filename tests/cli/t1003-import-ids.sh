#!/usr/bin/env bash
# mer import --ids FILE: the set and order of samples; missing and extra names reported.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"

mkdir npy
"$MER_PYTHON" - <<'PY'
import numpy as np
for name in ["alpha", "bravo", "charlie", "delta", "echo"]:
    np.save(f"npy/{name}.npy", np.full(3, len(name), dtype=np.float32))
PY
# CRLF and blank lines are fine; "zulu" and "yankee" have no file; "bravo" is not listed.
printf 'echo\r\ncharlie\n\nzulu\nalpha\nyankee\ndelta\n' >ids.txt

expect_exit 0 "$MER" import --ids ids.txt npy -o s.safetensors
expect_match out "^imported 4 samples \[D = 3\] into 's.safetensors' \(0 unreadable, 2 missing, 1 extra\)$"
cat >expect <<'EOF'
mer import: warning: 2 names in 'ids.txt' have no .npy in 'npy': 'zulu', 'yankee'
mer import: warning: 1 .npy files in 'npy' are not in 'ids.txt' (left out): 'bravo'
EOF
grep -v '^import: ' err >warnings || true # (without -q, which prints nothing: a progress line)
expect_same expect warnings
"$MER_PYTHON" - <<'PY' || fail "ids order or values"
import json
import store_interop as st
meta, t = st.load("s.safetensors")
ids = json.loads(meta["mer.ids"])
assert ids == ["echo", "charlie", "alpha", "delta"], ids
assert t["features"][:, 0].tolist() == [len(n) for n in ids], t["features"]
assert json.loads(meta["mer.provenance"])["ids"] == "ids.txt"
PY

# --strict: a missing name fails the run, nothing is written.
expect_exit 1 "$MER" import -q --strict --ids ids.txt npy -o strict.safetensors
expect_err_line "^mer import: 2 names in 'ids.txt' have no .npy in 'npy', e.g. 'zulu'$"
[ ! -e strict.safetensors ] || fail "output written by a failed --strict run"

# A list that is itself wrong.
printf 'alpha\nbravo\nalpha\n' >dup.txt
expect_exit 1 "$MER" import -q --ids dup.txt npy -o dup.safetensors
expect_err_line "^mer import: 'dup.txt': duplicate name 'alpha'$"
expect_exit 1 "$MER" import -q --ids nosuch.txt npy -o x.safetensors
expect_err_line "^mer import: 'nosuch.txt': cannot open: No such file or directory$"
printf 'zulu\n' >none.txt
expect_exit 1 "$MER" import -q --ids none.txt npy -o x.safetensors
expect_match err "^mer import: 'npy': none of the names in 'none.txt' has a .npy file$"
[ ! -e dup.safetensors ] && [ ! -e x.safetensors ] || fail "output left after a failure"
done_testing
