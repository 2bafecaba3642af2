#!/usr/bin/env bash
# mer sweep run on the bundled sample: members two at a time, each the same run as its own
# mer train; a rerun runs nothing; a member killed mid-run is resumed and only it reruns; a
# failed member is listed with its log's last line (exit 1); train.keep_checkpoints=false.
. "$MER_SRC/tests/cli/lib.sh"
sample_stores video text
cat >base.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 3, "patience": 0, "folds": 2}}
JSON
printf 'loss.lambda_inter = 0, 0.35\nseed = 0..1\n' >grid.txt

expect_exit 0 "$MER" sweep run grid.txt --config base.json --out sw --jobs 2
expect_match err '^4 of 4 members to run, 2 at a time, [0-9]+ threads? each$'
[ "$(grep -c '^started ' err)" -eq 4 ] && [ "$(grep -c '^finished ' err)" -eq 4 ] ||
  fail "expected 4 started and 4 finished lines"
expect_match out '^4 members: 0 finished before, 4 now, 0 failed$'
for m in lambda_inter=0_seed=0 lambda_inter=0_seed=1 lambda_inter=0.35_seed=0 lambda_inter=0.35_seed=1; do
  [ -s "sw/$m/metrics.json" ] && [ -e "sw/logs/$m.log" ] || fail "member $m has no metrics or log"
  [ "$(cat "sw/logs/$m.exit")" = 0 ] || fail "member $m: exit not recorded"
done
"$MER_PYTHON" - sw/lambda_inter=0.35_seed=1 <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/sweep-member.json"))
assert m["index"] == 3 and m["overrides"] == ["loss.lambda_inter=0.35", "train.seed=1"], m
c = json.load(open(sys.argv[1] + "/config.json"))
assert c["loss"]["lambda_inter"] == 0.35 and c["train"]["seed"] == 1, c
PY
# A member is the run its plan line makes.
"$MER" sweep plan grid.txt --config base.json --out sw >plan 2>/dev/null
[ ! -s plan ] || fail "plan lists finished members"
expect_exit 0 "$MER" train --config base.json --set loss.lambda_inter=0.35 --set train.seed=1 \
  --out alone --threads 1 -q
cmp alone/metrics.json "sw/lambda_inter=0.35_seed=1/metrics.json" || fail "member differs from its mer train"

# A rerun runs nothing.
expect_exit 0 "$MER" sweep run grid.txt --config base.json --out sw --jobs 2
expect_match err '^0 of 4 members to run'
expect_match out '^4 members: 4 finished before, 0 now, 0 failed$'

# kill -9 of a member mid-run: the sweep goes on with the others, lists it, exits 1; a rerun
# resumes it alone and ends where an uninterrupted run ends.
sed 's/"epochs": 3/"epochs": 400/' base.json >long.json # long enough to be killed mid-run
printf 'seed = 0..1\n' >kill.txt
"$MER" sweep run kill.txt --config long.json --out swk --jobs 1 --threads 1 >kill.out 2>kill.err &
sweep=$!
victim="" log=swk/seed=0/fold-0/log.jsonl
for _ in $(seq 1 1200); do # until the member has trained two epochs (at most a minute)
  if [ -s "$log" ] && [ "$(wc -l <"$log")" -ge 2 ]; then
    victim=$(pgrep -P "$sweep" || true)
    break
  fi
  sleep 0.05
done
[ -n "$victim" ] || fail "member seed=0 never started training"
kill -9 "$victim"
wait "$sweep" && fail "a sweep with a killed member exited 0"
grep -q '^failed   seed=0 (killed by signal 9)' kill.err || { cat kill.err; fail "no failed line"; }
expect_match kill.out '^  seed=0 \(signal 9\): '
expect_match kill.out '^2 members: 0 finished before, 1 now, 1 failed$'
expect_exit 0 "$MER" sweep status swk
expect_match out '^   0  failed      seed=0 \(signal 9\)'
expect_match out '^   1  finished    seed=1$'
expect_exit 0 "$MER" sweep plan kill.txt --config long.json --out swk
expect_match out "^mer train .* --out swk/seed=0 --resume$"
[ "$(wc -l <out)" -eq 1 ] || fail "plan lists more than the killed member"
cp swk/seed=1/metrics.json seed1.before
expect_exit 0 "$MER" sweep run kill.txt --config long.json --out swk --jobs 2
expect_match err '^1 of 2 members to run'
expect_match err '^started  seed=0 \(resuming\)$'
cmp seed1.before swk/seed=1/metrics.json || fail "a finished member was run again"
expect_exit 0 "$MER" train --config long.json --set train.seed=0 --out straight --threads 1 -q
cmp straight/metrics.json swk/seed=0/metrics.json || fail "the resumed member differs from a straight run"

# A member that fails is listed with its log's last line; the others finish; exit 1.
cat >fail.txt <<'GRID'
setting ok:
setting broken: data.priors = "no-such-priors.safetensors"
GRID
expect_exit 1 "$MER" sweep run fail.txt --config base.json --out swf -q
expect_err_line "^mer sweep: 1 of 2 members failed \(listed above; rerun to retry them\)$"
expect_match out "^  broken \(exit 1\): mer train: .*no-such-priors.safetensors': cannot open: No such file or directory$"
expect_match out '^2 members: 0 finished before, 1 now, 1 failed$'
[ -s swf/ok/metrics.json ] || fail "the good member did not finish"

# train.keep_checkpoints=false: a finished member keeps no optimizer checkpoint, and what
# mer eval needs is all there.
printf 'train.keep_checkpoints = true, false\n' >keep.txt
expect_exit 0 "$MER" sweep run keep.txt --config base.json --out swc -q --jobs 2
[ -e swc/keep_checkpoints=true/fold-1/checkpoint.safetensors ] || fail "checkpoint missing with true"
[ ! -e swc/keep_checkpoints=false/fold-0/checkpoint.safetensors ] &&
  [ ! -e swc/keep_checkpoints=false/fold-1/checkpoint.safetensors ] || fail "checkpoints kept with false"
[ -s swc/keep_checkpoints=false/fold-1/model.safetensors ] || fail "model removed"
expect_exit 0 "$MER" eval --run swc/keep_checkpoints=false
kept=$(du -sk swc/keep_checkpoints=true | cut -f1) dropped=$(du -sk swc/keep_checkpoints=false | cut -f1)
[ "$dropped" -lt "$kept" ] || fail "no smaller without checkpoints ($dropped KB vs $kept KB)"
echo "run directory: $kept KB with checkpoints, $dropped KB without"
# --shard: each shard runs its members and says what it left to the others; a sweep's named
# settings name mer report's rows (and pick its baseline).
printf 'setting ce: loss.lambda_inter = 0\nsetting inter: loss.lambda_inter = 0.35\n' >set.txt
expect_exit 0 "$MER" sweep run set.txt --config base.json --out sws --shard 0/2 -q
expect_match out '^2 members: 0 finished before, 1 now, 0 failed, 1 left to the other shards$'
expect_exit 0 "$MER" sweep run set.txt --config base.json --out sws --shard 1/2 -q
expect_match out '^2 members: 1 finished before, 1 now, 0 failed$'
expect_match sws/ce/sweep-member.json '"setting":[[:space:]]*"ce"'
expect_exit 0 "$MER" report sws --baseline setting=ce
expect_match out '^setting +loss\.lambda_inter +cv n'
expect_match out '^ce +0 +1 .*baseline'
expect_match out '^inter +0\.35 +1 '
done_testing
