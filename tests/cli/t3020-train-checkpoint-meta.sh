#!/usr/bin/env bash
# Numbers read back from a checkpoint or a fold's predictions are checked before they are used:
# an epoch of 1e300 (or NaN, or junk) is an error naming the file and the key, never a cast out
# of range and never an empty "mer train: " line.
. "$MER_SRC/tests/cli/lib.sh"
sample_stores video
printf '{"data": {"video": "video.safetensors", "labels": "labels.safetensors"}, "model": {"hidden": 16}, "train": {"epochs": 2, "folds": 2, "patience": 0}}\n' >cfg.json
expect_exit 0 "$MER" train --config cfg.json --out run -q
cp -r run pristine

# set FILE KEY VALUE: rewrites one metadata value (the checksum covers the data only)
set_meta() {
  "$MER_PYTHON" - "$@" <<'PY'
import json, struct, sys
path, key, value = sys.argv[1:]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["__metadata__"][key] = value
text = json.dumps(h).encode()
text += b" " * (-len(text) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + b[8 + n:])
PY
}

# resume_fails KEY VALUE MESSAGE: fold 0 unfinished, its checkpoint's KEY set to VALUE
resume_fails() {
  rm -rf run
  cp -r pristine run
  rm run/fold-0/predictions.safetensors
  set_meta run/fold-0/checkpoint.safetensors "$1" "$2"
  expect_exit 1 "$MER" train --resume --out run -q
  expect_err_line "^mer train: 'run/fold-0/checkpoint.safetensors': metadata '$1' $3"
}
resume_fails epoch 1e300 "is 1.0000000000000001e\+300, outside 0 to 2147483647 \(file damaged, or not written by this mer\?\)$"
resume_fails epoch -3 "is -3, outside 0 to 2147483647"
resume_fails epoch 2.5 "is 2.5, not a whole number$"
resume_fails epoch nan "is 'nan', not a finite number$"
resume_fails best_epoch 3 "is 3, outside 0 to 2 "
resume_fails steps 12x "is '12x', not a finite number$"
resume_fails optim_steps 1e20 "is 1e\+20, outside 0 to 9007199254740992"
resume_fails best_waf 7 "is 7, outside -1 to 1"
resume_fails train_seconds inf "is 'inf', not a finite number$"

# a finished fold's predictions: the same checks
rm -rf run
cp -r pristine run
set_meta run/fold-1/predictions.safetensors best_epoch 1e300
expect_exit 1 "$MER" train --resume --out run -q
expect_err_line "^mer train: 'run/fold-1/predictions.safetensors': metadata 'best_epoch' is 1.0000000000000001e\+300, outside 0 to 2147483647"
done_testing
