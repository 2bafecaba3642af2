#!/usr/bin/env bash
# A data.* store of the wrong kind is named once ("'p': no 'features' tensor", not "'p': 'p':
# ..."), and a MERTools folder of .npy files given where a store goes says what it is and how
# to make the store.
. "$MER_SRC/tests/cli/lib.sh"
printf 'name,label\na,happy\nb,sad\n' >labels.csv
"$MER" import-labels -q labels.csv -o labels.safetensors
mkdir npy
"$MER_PYTHON" -c "import numpy as np; np.save('npy/a.npy', np.ones((2, 3), np.float32))"
printf '{"data": {"video": "labels.safetensors", "labels": "labels.safetensors"}}\n' >kind.json
printf '{"data": {"audio": "npy", "labels": "labels.safetensors"}}\n' >npy.json

expect_exit 1 "$MER" train -c kind.json --out r
expect_err_line "^mer train: '([^']*/)?labels.safetensors': no 'features' tensor$"
expect_exit 1 "$MER" train -c npy.json --out r
expect_err_line "^mer train: '([^']*/)?npy' is a directory of .npy files, not a store \(make a store with mer import\)$"
[ ! -e r ] || fail "a failed run left its directory"
done_testing
