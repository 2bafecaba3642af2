#!/usr/bin/env bash
# Sweep benchmark (called by scripts/bench sweep; not a test: numbers only). In one run on this
# machine, the same 8-member sweep over the bundled sample's MERTools features (4 settings x
# 2 seeds; 5 folds, 10 epochs, hidden 64): mer sweep run --jobs 1 (one member at a time, all
# cores each), then --jobs 2 (two at once, the cores split), in MER_BENCH_ROUNDS alternating
# rounds; prints members/minute of each and their ratio (target >= 1.8x on 2 cores).
# Usage: bench/sweep.sh MER WORKDIR
set -euo pipefail
mer=$1 work=$2
root=$(cd "$(dirname "$0")/.." && pwd)
S="$root/data/sample"
mkdir -p "$work"
cd "$work"
if [ ! -s labels.safetensors ]; then
  "$mer" import -q "$S/features/chinese-hubert-large-FRA" --pool mean -o audio.safetensors >/dev/null
  "$mer" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
  "$mer" import -q "$S/features/Baichuan-13B-UTT" -o text.safetensors >/dev/null
  "$mer" import-labels -q "$S/manifest.csv" -o labels.safetensors
fi
cat >base.json <<'JSON'
{"data": {"audio": "audio.safetensors", "video": "video.safetensors", "text": "text.safetensors",
          "labels": "labels.safetensors"},
 "model": {"hidden": 64, "prior": {"mode": "none"}},
 "train": {"epochs": 10, "patience": 0, "folds": 5, "keep_checkpoints": false}}
JSON
cat >grid.txt <<'GRID'
setting ce:       loss.lambda_inter = 0;    loss.lambda_intra = 0
setting ce+inter: loss.lambda_inter = 0.35; loss.lambda_intra = 0
setting ce+intra: loss.lambda_inter = 0;    loss.lambda_intra = 0.1
setting bdcl:     loss.lambda_inter = 0.35; loss.lambda_intra = 0.1
seed = 0..1
GRID
rounds=${MER_BENCH_ROUNDS:-1}
t1_all=() t2_all=()
for r in $(seq 1 "$rounds"); do
  for jobs in 1 2; do
    rm -rf "sweep-$jobs"
    start=$(date +%s.%N)
    "$mer" sweep run grid.txt --config base.json --out "sweep-$jobs" --jobs "$jobs" -q >/dev/null
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
    [ "$jobs" = 1 ] && t1_all+=("$secs") || t2_all+=("$secs")
  done
  printf 'round %d: --jobs 1 %.1f s, --jobs 2 %.1f s\n' "$r" "${t1_all[-1]}" "${t2_all[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
t1=$(median "${t1_all[@]}") t2=$(median "${t2_all[@]}")
awk -v n="$(nproc)" -v a="$t1" -v b="$t2" 'BEGIN { printf "sweep of 8 members on %d cores: " \
  "--jobs 1 %.1f members/min, --jobs 2 %.1f members/min: %.2fx\n", n, 480 / a, 480 / b, a / b }'
sizes=$(du -sk sweep-2 | cut -f1)
echo "the sweep's directory without checkpoints: $((sizes / 1024)) MB"
