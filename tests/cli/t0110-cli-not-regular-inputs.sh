#!/usr/bin/env bash
# Inputs that are not regular files: a FIFO (which would block forever), /dev/zero (which never
# ends) and a directory are each refused at once with one line saying what they are, whatever
# kind of input they stand for (label CSV, config, store, responses, requests, embeddings, ids);
# a line longer than the bound is an error naming file:line, not a 2 GB allocation.
. "$MER_SRC/tests/cli/lib.sh"

mkfifo fifo
mkdir adir
printf 'name,label\na,happy\nb,sad\n' >labels.csv
"$MER" import-labels -q labels.csv -o labels.safetensors
"$MER_PYTHON" -c 'import json; print(json.dumps({"key": "a", "response": {"candidates": [{"content": {"parts": [{"text": json.dumps({"visual": {"reasoning": "smiling", "scores": {"happy": 80, "sad": 20}}, "label": "happy"})}]}, "finishReason": "STOP"}]}}))' >good.jsonl
mkdir npy
"$MER_PYTHON" -c "import numpy as np; np.save('npy/a.npy', np.ones((2, 3), np.float32))"

# refused CMD...: exits 1 within 10 s with one line "mer <cmd>: 'fifo' is a FIFO, ..." (or the
# directory's or device's line); a hang fails instead of hanging the suite.
refused() {
  local what=$1
  shift
  expect_exit 1 timeout 10 "$@"
  case $what in
  fifo) expect_err_line "^mer [a-z-]+: 'fifo' is a FIFO, not a regular file \(mer reads files, not streams\)$" ;;
  dir) expect_err_line "^mer [a-z-]+: 'adir' is a directory \(expected a file\)$" ;;
  zero) expect_err_line "^mer [a-z-]+: '/dev/zero' is a device, not a regular file \(mer reads files, not streams\)$" ;;
  esac
}

for w in fifo dir zero; do
  f=$w
  [ $w = dir ] && f=adir
  [ $w = zero ] && f=/dev/zero
  refused $w "$MER" import-labels "$f" -o out.safetensors                        # label CSV
  refused $w "$MER" config -c "$f"                                               # config
  refused $w "$MER" train -c "$f" --out run                                      # config
  refused $w "$MER" ingest "$f" --labels labels.safetensors -o out.safetensors   # responses
  refused $w "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
    --encoder precomputed:"$f"                                                   # embeddings
  refused $w "$MER" import npy --ids "$f" -o out.safetensors                      # ids list
  refused $w "$MER" import npy --labels "$f" -o out.safetensors                   # label CSV
  refused $w env GEMINI_API_KEY=x "$MER" query "$f" -o responses.jsonl            # requests
  refused $w "$MER" eval --pred "$f" --labels labels.safetensors                  # predictions
  [ $w = dir ] && continue # (a directory is a sharded store: below)
  refused $w "$MER" info "$f"                                                    # store
  refused $w "$MER" ingest good.jsonl --labels "$f" -o out.safetensors           # labels store
done
# the responses file mer query appends to
refused fifo env GEMINI_API_KEY=x "$MER" query good.jsonl -o fifo
[ ! -e out.safetensors ] && [ ! -e run ] || fail "a refused input left an output"

# a directory given as a store says what it lacks, or what it is
expect_exit 1 "$MER" info adir
expect_err_line "^mer info: 'adir': not a store: no index.json in the directory"
expect_exit 1 "$MER" info npy
expect_err_line "^mer info: 'npy' is a directory of .npy files, not a store \(make a store with mer import\)$"

# a line over the bound (64 MiB) is an error naming the file and line, for every line reader
{
  cat good.jsonl
  head -c $((65 << 20)) /dev/zero | tr '\0' x
} >long.jsonl
expect_exit 1 "$MER" ingest long.jsonl --labels labels.safetensors -o out.safetensors
expect_err_line "^mer ingest: 'long.jsonl':2: line longer than 67108864 bytes$"
{
  echo '{"key": "a", "modality": "visual", "embedding": [1, 2]}'
  tail -n +2 long.jsonl
} >emb.jsonl
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --encoder precomputed:emb.jsonl
expect_err_line "^mer ingest: 'emb.jsonl':2: line longer than 67108864 bytes$"
cp good.jsonl responses.jsonl
tail -n +2 long.jsonl >>responses.jsonl
echo >>responses.jsonl
expect_exit 1 env GEMINI_API_KEY=x "$MER" query good.jsonl -o responses.jsonl
expect_err_line "^mer query: 'responses.jsonl':2: line longer than 67108864 bytes$"
done_testing
