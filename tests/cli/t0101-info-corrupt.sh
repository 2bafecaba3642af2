#!/usr/bin/env bash
# mer info on damaged stores: a flipped data byte, truncation, a lying header, a bad part.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1

mkdir npy
"$MER_PYTHON" - <<'PY'
import numpy as np
for i in range(6):
    np.save(f"npy/s{i}.npy", np.linspace(-1, 1, 8, dtype=np.float32) * (i + 1))
PY
expect_exit 0 "$MER" import -q npy -o good.safetensors
expect_exit 0 "$MER" info good.safetensors
expect_match out '^  checksum: ok \(xxh64:[0-9a-f]{16}\)$'
size=$(wc -c <good.safetensors)
hlen=$(od -An -tu8 -N8 good.safetensors | tr -d ' ')
data=$((8 + hlen))

# One byte of the data section overwritten by hand: the structure still parses, the
# checksum does not match; info shows the file, says FAILED, one error line, exit 1.
cp good.safetensors flipped.safetensors
printf '\x00' | dd of=flipped.safetensors bs=1 seek=$((data + 17)) conv=notrunc 2>/dev/null
cmp -s good.safetensors flipped.safetensors && fail "the byte was already 0"
expect_exit 1 "$MER" info flipped.safetensors
expect_err_line "^mer info: 'flipped.safetensors': checksum mismatch: the data section \(192 bytes\) hashes to xxh64:[0-9a-f]{16} but the header says xxh64:[0-9a-f]{16} \(file corrupted\)$"
expect_match out '^  checksum: FAILED$'
expect_match out '^    features     F32  \[6, 8\]$'
expect_exit 1 "$MER" info --json flipped.safetensors
expect_match out '"checksum":"failed","error":"'"'flipped.safetensors': checksum mismatch"
# ... and a healthy file next to it still reads, the exit code is still 1.
expect_exit 1 "$MER" info good.safetensors flipped.safetensors
expect_err_line "checksum mismatch"
expect_match out '^  checksum: ok'

# Truncated: in the data section, inside the header, inside the length.
for cut in $((size - 1)) $((data + 3)) $((data - 5)) 20 7 0; do
  head -c "$cut" good.safetensors >cut.safetensors
  expect_exit 1 "$MER" info cut.safetensors
  expect_err_line "^mer info: 'cut.safetensors': "
  [ ! -s out ] || fail "stdout for a file that does not parse: $(cat out)"
done
head -c $((size - 4)) good.safetensors >cut.safetensors
expect_exit 1 "$MER" info cut.safetensors
expect_err_line "data_offsets \[0, 192\] exceed the data section of 188 bytes \(truncated\?\)$"
head -c 40 good.safetensors >cut.safetensors
expect_exit 1 "$MER" info cut.safetensors
expect_err_line "^mer info: 'cut.safetensors': byte 0: header length $hlen, but only 32 bytes follow \(truncated"

# A header that lies: the length field says one byte less (the JSON loses its last byte).
cp good.safetensors lie.safetensors
printf "$(printf '\\x%02x' $(((hlen - 1) & 255)))" |
  dd of=lie.safetensors bs=1 seek=0 conv=notrunc 2>/dev/null
expect_exit 1 "$MER" info lie.safetensors
expect_err_line "^mer info: 'lie.safetensors': "

# A sharded store with one damaged part: the part is named, the rest is listed.
expect_exit 0 "$MER" import -q npy -o sharded --shard 0/2
expect_exit 0 "$MER" import -q npy -o sharded --shard 1/2
part=sharded/part-00001.safetensors
phlen=$(od -An -tu8 -N8 $part | tr -d ' ')
printf '\x7f' | dd of=$part bs=1 seek=$((8 + phlen + 2)) conv=notrunc 2>/dev/null
expect_exit 1 "$MER" info sharded
expect_err_line "^mer info: '$part': checksum mismatch"
expect_match out '^  part-00000.safetensors$'
expect_match out '^  checksum: FAILED$'
rm $part
expect_exit 1 "$MER" info sharded
expect_err_line "^mer info: 'sharded/index.json': part 'part-00001.safetensors' is missing"
done_testing
