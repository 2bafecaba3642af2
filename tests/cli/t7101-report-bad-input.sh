#!/usr/bin/env bash
# mer report refuses what it cannot average, with one line naming the file or both runs: other
# class lists or labels, malformed metrics.json or config.json, no runs, a baseline that matches
# no row or several; a half-finished run is listed, not averaged; usage errors exit 2.
. "$MER_SRC/tests/cli/lib.sh"

# run DIR MODE SEED [CLASSES] [FLIP]: a finished run with 4 labeled cv samples.
run() {
  local d=$1 mode=$2 seed=$3 classes=${4:-a,b} flip=${5:-}
  mkdir -p "$d/predictions"
  printf '{"model": {"prior": {"mode": "%s"}}, "train": {"seed": %s}}\n' "$mode" "$seed" >"$d/config.json"
  local c1=${classes%,*} c2=${classes#*,}
  local l4=$c2
  [ -n "$flip" ] && l4=$c1
  {
    echo "name,p_$c1,p_$c2,prediction,label"
    echo "s1,0.9,0.1,$c1,$c1"
    echo "s2,0.2,0.8,$c2,$c2"
    echo "s3,0.6,0.4,$c1,$c2"
    echo "s4,0.3,0.7,$c2,$l4"
  } >"$d/predictions/cv.csv"
  local pc="{\"$c1\": {\"f1\": 0.5}, \"$c2\": {\"f1\": 0.5}}"
  printf '{"cv": {"n": 4, "waf": 0.%s, "accuracy": 0.75, "macro_f1": 0.7, "per_class": %s}, "test": {}}\n' \
    "$((5 + seed))" "$pc" >"$d/metrics.json"
}
run s/none-0 none 0
run s/none-1 none 1
run s/gate-0 gate 0
run s/gate-1 gate 1

expect_exit 0 "$MER" report s
expect_match out '^model\.prior\.mode +cv n +cv WAF'
expect_match out '^gate +2 +0\.5500 ± 0\.0707\*?'

# A half-finished run: listed as incomplete, not averaged.
mkdir -p s/gate-2 && cp s/gate-0/config.json s/gate-2/ && sed -i 's/"seed": 0/"seed": 2/' s/gate-2/config.json
expect_exit 0 "$MER" report s --format json
expect_match out '"incomplete":[[:space:]]+\["s/gate-2"\]'
expect_exit 0 "$MER" report s
expect_match out '^incomplete \(no metrics.json, not averaged\): s/gate-2$'
expect_match out '^gate +2 '

# Different class lists, different labels: refused, naming both runs.
run other/x none 5 a,c
expect_exit 1 "$MER" report s other
expect_err_line "^mer report: 's/gate-0' and 'other/x' have different class lists: class 1 is 'b' and 'c'$"
rm -rf other && run other/x none 5 a,b flip
expect_exit 1 "$MER" report s other/x
expect_err_line "^mer report: 's/gate-0' and 'other/x' have different label sets: sample 's4' is 'b' and 'a'$"
rm -rf other && run other/x none 5 && sed -i '$d' other/x/predictions/cv.csv
expect_exit 1 "$MER" report s other/x
expect_err_line "^mer report: 's/gate-0' and 'other/x' have different label sets: 4 and 3 labeled samples"

# Malformed metrics.json and config.json: one line naming the file (and the line or key).
rm -rf other && run other/x none 5 && printf '{"cv": {"waf": 0.5,\n "accuracy": }\n' >other/x/metrics.json
expect_exit 1 "$MER" report s other/x
expect_err_line "^mer report: 'other/x/metrics.json':2: malformed JSON$"
echo '{"cv": {"waf": "high"}}' >other/x/metrics.json
expect_exit 1 "$MER" report s other/x
expect_err_line "^mer report: 'other/x/metrics.json': key 'cv.waf': expected a number$"
run other/x none 5 && echo '{"train": {"seed": -1}}' >other/x/config.json
expect_exit 1 "$MER" report other/x
expect_err_line "^mer report: 'other/x/config.json': key 'train.seed': expected an integer >= 0$"
rm -rf other && run other/x none 5 && rm other/x/predictions/cv.csv
expect_exit 1 "$MER" report s other/x
expect_err_line "^mer report: 'other/x/predictions/cv.csv': cannot open: No such file or directory$"

# No runs.
mkdir empty
expect_exit 1 "$MER" report empty
expect_err_line "^mer report: 'empty': no run directory here or one level below"
expect_exit 1 "$MER" report nowhere
expect_err_line "^mer report: 'nowhere': no such directory$"
expect_exit 1 "$MER" report s/none-0/config.json
expect_err_line "^mer report: 's/none-0/config.json': not a directory"

# Baselines that match no row, several rows, or name no key.
expect_exit 1 "$MER" report s --baseline model.prior.mode=concat
expect_err_line "^mer report: --baseline 'model.prior.mode=concat' matches none of the 2 rows$"
expect_exit 1 "$MER" report s --baseline train.seed=0
expect_err_line "^mer report: --baseline 'train.seed=0' matches 2 rows, expected one"
expect_exit 1 "$MER" report s --baseline model.prior=none
expect_err_line "^mer report: --baseline: 'model.prior' is not a config key of these runs$"
expect_exit 1 "$MER" report s --baseline mode
expect_err_line "^mer report: --baseline: 'mode': expected key=value$"
expect_exit 0 "$MER" report s --baseline model.prior.mode=none
expect_match out '^none +2 .* baseline'
# A list value as the baseline: its commas do not split the spec, and spaces do not matter.
for m in l1 l2; do
  for seed in 0 1; do
    run "ls/$m-$seed" none "$seed"
  done
done
sed -i 's/"mode": "none"}/"mode": "none", "modalities": ["audio", "text"]}/' ls/l1-*/config.json
sed -i 's/"mode": "none"}/"mode": "none", "modalities": ["audio"]}/' ls/l2-*/config.json
expect_exit 0 "$MER" report ls --baseline 'model.prior.modalities=["audio","text"],model.prior.mode=none'
expect_match out '^\["audio","text"\] +2 .*baseline'
expect_exit 0 "$MER" report ls --baseline 'model.prior.modalities=[ "audio" ]'
expect_match out '^\["audio"\] +2 .*baseline'

# Usage errors.
expect_exit 2 "$MER" report
expect_match err "^mer report: give at least one run or sweep directory$"
expect_exit 2 "$MER" report s --format html
expect_match err "^mer report: --format: unknown format 'html'"
expect_exit 2 "$MER" report s --resamples 0
expect_match err "^mer report: option '--resamples'"
done_testing
