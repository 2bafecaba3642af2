#!/usr/bin/env bash
# mer train refuses bad configs and data with one line naming the file or key, exit 1 or 2,
# and leaves no run directory behind.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import -q "$S/features/Baichuan-13B-UTT" --labels "$S/label-disdim.csv" -o text-train.safetensors 2>/dev/null >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
printf '{"data": {"video": "video.safetensors", "labels": "labels.safetensors"}, "train": {"epochs": 2}}\n' >ok.json

expect_exit 2 "$MER" train
expect_match err '^mer train: no --config given'
expect_exit 2 "$MER" train --config ok.json --bogus
expect_exit 1 "$MER" train --config missing.json
expect_err_line "^mer train: 'missing.json': cannot open"
expect_exit 1 "$MER" train --config ok.json --set train.epochz=3
expect_err_line "train.epochz.*unknown key"
expect_exit 1 "$MER" train --config ok.json --set data.video=nope.safetensors --out r
expect_err_line "^mer train: --set data.video=nope.safetensors: '$PWD/nope.safetensors': cannot open: No such file or directory$"
[ ! -e r ] || fail "a failed run left its directory"
# A store that lacks the test samples: named, with a hint.
expect_exit 1 "$MER" train --config ok.json --set data.video=text-train.safetensors --out r
expect_err_line "text-train.safetensors' covers 0 of the 122 samples of split 'test' in"
expect_exit 1 "$MER" train --config ok.json --set train.batch_size=1000 --out r2
expect_err_line "batch_size 1000 is larger than fold-0's"
expect_exit 1 "$MER" train --config ok.json --set data.train_split=dev --out r3
expect_err_line "split 'dev' has no labeled samples"
expect_exit 1 "$MER" train --config ok.json --set data.labels=video.safetensors --out r4
expect_err_line "not a labels store"
expect_exit 1 "$MER" train --config ok.json --device cuda:0 --out r5
expect_err_line "cuda:0"
# NaN in features: named by sample and modality, or zeroed with data.nan=zero.
mkdir nan
cp "$S"/features/clip-vit-large-patch14-UTT/*.npy nan/
"$MER_PYTHON" -c "
import numpy as np
x = np.load('nan/sample_00000007.npy'); x[3] = np.nan; np.save('nan/sample_00000007.npy', x)"
"$MER" import -q nan -o nan.safetensors >/dev/null
expect_exit 1 "$MER" train --config ok.json --set data.video=nan.safetensors --out r6
expect_err_line "sample 'sample_00000007': video: non-finite value at column 3"
expect_exit 0 "$MER" train --config ok.json --set data.video=nan.safetensors --set data.nan=zero \
  --set train.epochs=1 --out r6 -q
# A priors store of the wrong dimension (must be 3 priors side by side).
"$MER" import -q "$S/features/chinese-hubert-large-FRA" -o p64.safetensors >/dev/null
expect_exit 1 "$MER" train --config ok.json --set data.priors=p64.safetensors --out r7
expect_err_line "must be \[N, 3 \* P\].*got dimension 64"
done_testing
