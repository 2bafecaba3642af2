#!/usr/bin/env bash
# Options and keys out of range are usage errors (exit 2) or config errors naming the key,
# checked once: in the option table (opt.h) and the config schema (config.c).
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
printf '{"data": {"video": "video.safetensors", "labels": "labels.safetensors"}, "train": {"epochs": 1}}\n' >ok.json

# usage_error PATTERN CMD...: exit 2, the message line, then the hint line; no run directory.
usage_error() {
  local pattern=$1
  shift
  expect_exit 2 "$@"
  expect_match err "$pattern"
  [ "$(wc -l <err)" -eq 2 ] || fail "expected the message and a hint, got: $(cat err)"
  [ ! -e r ] || fail "'$*' left a run directory"
}

# --fold names a fold below train.folds (known once the config is loaded).
usage_error "^mer train: option '--fold': expected an integer in \[0, 4\] \(train.folds is 5\), got '5'$" \
  "$MER" train --config ok.json --fold 5 --out r
usage_error "^mer train: option '--fold': expected an integer in \[0, 2\] \(train.folds is 3\), got '3'$" \
  "$MER" train --config ok.json --set train.folds=3 --fold 3 --out r
usage_error "^mer train: option '--fold': expected an integer in \[0, 31\], got '-2'$" \
  "$MER" train --config ok.json --fold -2 --out r
usage_error "^mer train: option '--seed': expected an integer >= 0, got '-5'$" \
  "$MER" train --config ok.json --seed -5 --out r
usage_error "^mer train: option '--jobs': expected an integer in \[1, 32\], got '0'$" \
  "$MER" train --config ok.json --jobs 0 --out r
usage_error "^mer train: option '--threads': expected an integer in \[1, 1024\], got '100000'$" \
  "$MER" train --config ok.json --threads 100000 --out r
usage_error "^mer train: option '--threads': expected an integer in \[1, 1024\], got '0'$" \
  "$MER" train --config ok.json -j0 --out r
usage_error "^mer train: option '--shard': '5/6' trains no fold \(train.folds is 5\)$" \
  "$MER" train --config ok.json --shard 5/6 --out r
# A bad shard is quoted whole.
usage_error "^mer train: option '--shard': '5/2': expected a shard as i/n with 0 <= i < n$" \
  "$MER" train --config ok.json --shard 5/2 --out r
usage_error "^mer import: option '--shard': '1/0': expected a shard as i/n with 0 <= i < n$" \
  "$MER" import "$S/features/clip-vit-large-patch14-UTT" -o parts --shard 1/0

# Every command's numeric options, through the same table.
usage_error "^mer query: option '--retries': expected an integer >= 0, got '-1'$" \
  "$MER" query x.jsonl -o y.jsonl --retries -1
usage_error "^mer query: option '--rpm': expected a number >= 0, got '-3'$" \
  "$MER" query x.jsonl -o y.jsonl --rpm -3
usage_error "^mer query: option '--connect-timeout': expected a number in \(0, 1000000\], got '0'$" \
  "$MER" query x.jsonl -o y.jsonl --connect-timeout 0
usage_error "^mer prompt: option '--temperature': expected a number in \[0, 2\], got '3'$" \
  "$MER" prompt --dataset "$S/transcripts.csv" --text-only -o req.jsonl --temperature 3
usage_error "^mer prompt: option '--max-inline-mb': expected a number >= 0, got '-1'$" \
  "$MER" prompt --dataset "$S/transcripts.csv" --text-only -o req.jsonl --max-inline-mb -1
usage_error "^mer ingest: option '--dim': expected an integer >= 1, got '-1'$" \
  "$MER" ingest "$S/responses.jsonl" --labels labels.safetensors -o p.safetensors --dim -1
[ ! -e req.jsonl ] && [ ! -e p.safetensors ] || fail "a refused option wrote an output"

# A key's range is the schema's: mer config refuses what mer train refuses, with one message.
expect_exit 1 "$MER" config --set train.folds=100000
expect_err_line "^mer config: --set train.folds=100000: expected integer in \[2, 32\], got 100000$"
expect_exit 1 "$MER" train --config ok.json --set train.folds=100000 --out r
expect_err_line "^mer train: --set train.folds=100000: expected integer in \[2, 32\], got 100000$"
echo '{"train": {"folds": 1}}' >folds.json
expect_exit 1 "$MER" config --config folds.json
expect_err_line "^mer config: 'folds.json': key 'train.folds': expected integer in \[2, 32\], got 1$"
expect_exit 0 "$MER" config --set train.folds=32

# eval.splits must name splits of the data: an error naming the key and listing them.
expect_exit 1 "$MER" train --config ok.json --set 'eval.splits=["nosuch"]' --out r
expect_err_line "^mer train: --set eval.splits=\[\"nosuch\"\]: the data has no split 'nosuch' \(its splits: 'train', 'test'\)$"
[ ! -e r ] || fail "a refused eval.splits left a run directory"
printf '{"extends": "ok.json", "eval": {"splits": ["test", "test"]}}\n' >twice.json
expect_exit 1 "$MER" train --config twice.json --out r
expect_err_line "^mer train: 'twice.json': key 'eval.splits': split 'test' is listed twice$"
[ ! -e r ] || fail "a refused eval.splits left a run directory"

# In range, they run: one fold of five, its own predictions only.
expect_exit 0 "$MER" train --config ok.json --fold 4 --threads 1 --seed 3 --out r -q
expect_match r/config.json '^    "seed": 3,$'
[ -e r/fold-4/model.safetensors ] && [ ! -e r/fold-0 ] || fail "--fold 4 trained other folds"
done_testing
