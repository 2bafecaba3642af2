#!/usr/bin/env bash
# kill -9 in the middle of mer train, then --resume: the same weights and metrics, bit for bit,
# as a run never interrupted; --jobs 2 (two worker processes) and three --shard workers give
# them too; a resumed run whose config changed is refused, naming the keys.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import -q "$S/features/Baichuan-13B-UTT" -o text.safetensors >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
cat >cfg.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 32}, "train": {"epochs": 40, "patience": 0, "folds": 3}}
JSON

expect_exit 0 "$MER" train --config cfg.json --out whole --threads 1 -q

"$MER" train --config cfg.json --out cut --threads 1 -q &
pid=$!
for _ in $(seq 1 600); do # wait for fold-1's first checkpoint: the kill lands mid-run
  [ -e cut/fold-1/checkpoint.safetensors ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ -e cut/fold-1/checkpoint.safetensors ] || fail "no checkpoint appeared"
expect_exit 0 "$MER" train --resume --out cut --threads 1 -q
for f in metrics.json predictions/cv.csv predictions/test.csv fold-0/model.safetensors \
  fold-1/model.safetensors fold-2/model.safetensors; do
  cmp "whole/$f" "cut/$f" || fail "resumed run differs in $f"
done
[ "$(wc -l <cut/fold-1/log.jsonl)" -eq 40 ] || fail "the resumed log should hold 40 epochs"

expect_exit 0 "$MER" train --config cfg.json --out jobs --threads 2 --jobs 2 -q
cmp whole/metrics.json jobs/metrics.json || fail "--jobs 2 gave other metrics"

# Workers of a sharded run (as a Slurm array runs them) share one directory; --resume gathers.
for j in 0 1 2; do
  expect_exit 0 "$MER" train --config cfg.json --out sharded --shard "$j/3" --threads 1 -q
done
expect_exit 0 "$MER" train --resume --out sharded -q
cmp whole/metrics.json sharded/metrics.json || fail "sharded folds gave other metrics"

expect_exit 1 "$MER" train --resume --out cut --set train.lr=0.01
expect_err_line "the config changed since the run started \(train.lr\); resume refused"
expect_exit 1 "$MER" train --resume --out nowhere
expect_err_line "'nowhere' holds no run to resume"
expect_exit 2 "$MER" train --resume
done_testing
