#!/usr/bin/env bash
# A labels store of a million samples is written and read back: writer and reader share one
# header limit (MER_ST_MAX_HEADER), and a million names of 110 bytes (a 115 MB header, over
# the 100 MiB that the reader used to take) fit in it.
. "$MER_SRC/tests/cli/lib.sh"

"$MER_PYTHON" - <<'PY'
with open("big.csv", "w") as f:
    f.write("name,label,valence,split\n")
    pad = "x" * 96
    f.writelines(f"clip_{i:07d}_{pad},{('happy', 'sad', '')[i % 3]},0.5,{('train', 'test1')[i % 2]}\n"
                 for i in range(1000000))
PY
expect_exit 0 "$MER" import-labels -q big.csv -o big.safetensors
expect_exit 0 "$MER" info big.safetensors
expect_match out '1000000'
expect_exit 0 "$MER" info --json big.safetensors
"$MER_PYTHON" - <<'PY'
import json, struct
b = open("big.safetensors", "rb")
n = struct.unpack("<Q", b.read(8))[0]
assert n > 100 << 20, n  # over the old limit: this test covers the shared one
h = json.loads(b.read(n))
ids = json.loads(h["__metadata__"]["mer.ids"])
assert len(ids) == 1000000 and ids[999999].startswith("clip_0999999_"), len(ids)
PY
rm -f big.csv big.safetensors # (250 MB)
done_testing
