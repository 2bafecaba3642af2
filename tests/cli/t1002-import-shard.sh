#!/usr/bin/env bash
# mer import --shard i/n: parts written one by one, index.json last, the reader joins them,
# reruns resume, --force redoes; -o dir/ without --shard is a one-part store.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"

mkdir npy
"$MER_PYTHON" - <<'PY'
import numpy as np
for i in range(7):
    np.save(f"npy/v{i}.npy", np.arange(4, dtype=np.float32) + 10 * i)
PY
expect_exit 0 "$MER" import -q npy -o whole.safetensors

# Shard 0 of 3: its part and the index; the store is not complete yet.
expect_exit 0 "$MER" import npy -o parts --shard 0/3
expect_match out "^imported 3 samples \[D = 4\] into 'parts/part-00000.safetensors'$"
[ -f parts/index.json ] || fail "no index.json after shard 0"
expect_exit 1 "$MER" info parts
expect_err_line "^mer info: 'parts/index.json': part 'part-00001.safetensors' is missing \(a shard not finished yet\?\)$"
expect_exit 0 "$MER" import -q npy -o parts --shard 2/3
expect_exit 0 "$MER" import -q npy -o parts --shard 1/3
expect_exit 0 "$MER" info parts
expect_match out '^  parts: 3 \(index.json\)$'
expect_match out '^  samples: 7 \(v0, v3, v6, \.\.\.\)$'
expect_match out '^  dimension: 4$'
expect_match out '^  checksum: ok$'
[ "$(grep -c '^    checksum: ok (xxh64:' out)" -eq 3 ] || fail "not 3 verified parts"

# The parts together hold what one import holds.
"$MER_PYTHON" - <<'PY' || fail "the shards do not add up to the whole"
import json
import numpy as np
import store_interop as st
meta, whole = st.load("whole.safetensors")
rows = dict(zip(json.loads(meta["mer.ids"]), whole["features"]))
seen = {}
index = json.load(open("parts/index.json"))
assert index["mer.format"] == "mer-store-index" and len(index["parts"]) == 3, index
for name in index["parts"]:
    m, t = st.load(f"parts/{name}")
    seen.update(zip(json.loads(m["mer.ids"]), t["features"]))
assert sorted(seen) == sorted(rows), (sorted(seen), sorted(rows))
assert all(np.array_equal(seen[k], rows[k]) for k in rows)
PY

# A rerun keeps a finished part; --force writes it again.
cp parts/part-00001.safetensors before
expect_exit 0 "$MER" import npy -o parts --shard 1/3
expect_match out "^'parts/part-00001.safetensors' exists: part 1 of 3 already done \(--force redoes it\)$"
cmp -s before parts/part-00001.safetensors || fail "a finished part was rewritten"
sleep 1 # the provenance time has a resolution of one second
expect_exit 0 "$MER" import -q --force npy -o parts --shard 1/3
cmp -s before parts/part-00001.safetensors && fail "--force did not rewrite the part"
expect_exit 0 "$MER" info parts

# More shards than samples: empty parts are fine.
expect_exit 0 "$MER" import npy -o many --shard 8/9
expect_match out "^imported 0 samples \[D = 0\] into 'many/part-00008.safetensors'$"
for i in 0 1 2 3 4 5 6 7; do
  expect_exit 0 "$MER" import -q npy -o many --shard $i/9
done
expect_exit 0 "$MER" info many
expect_match out '^  samples: 7 '

# Frame-level shards next to one whose inputs all have one frame.
mkdir fra
"$MER_PYTHON" - <<'PY'
import numpy as np
for i, t in enumerate([3, 1, 2, 1]):
    np.save(f"fra/f{i}.npy", np.full((t, 2), i, dtype=np.float32))
PY
expect_exit 0 "$MER" import --pool none fra -o mixed --shard 0/2
expect_match out "frame level"
expect_exit 0 "$MER" import -q --pool none fra -o mixed --shard 1/2
expect_exit 0 "$MER" info mixed
expect_match out '^  dimension: 2, frame level$'

# -o dir/ without --shard: one part, its index.
expect_exit 0 "$MER" import npy -o onepart/
expect_match out "into 'onepart/part-00000.safetensors'"
expect_exit 0 "$MER" info onepart
expect_match out '^  parts: 1 \(index.json\)$'
[ -z "$(find . -name '*.tmp.*')" ] || fail "temporaries left: $(find . -name '*.tmp.*')"
done_testing
