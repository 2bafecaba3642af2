#!/usr/bin/env bash
# mer sweep slurm --per-fold on a real one-node Slurm (tests/cli/slurm_lib.sh): 2 members x 2
# folds run as a folds array (task i*2+k: fold k of member i) and a gather array after it
# (--dependency=afterany); every member finishes, each metrics.json byte-equal to the same grid
# run locally by mer sweep run --deterministic. Then, with the controller down, mer sweep slurm
# is one line naming sbatch, exit 1. The daemons stop at the end, whatever happened; the whole
# test runs under timeout(1). Skips (exit 77, one line why) only where the daemons cannot run.
[ -n "${MER_SLURM_BOUNDED:-}" ] || MER_SLURM_BOUNDED=1 exec timeout -k 30 260 bash "$0" "$@"
. "$MER_SRC/tests/cli/lib.sh"
. "$MER_SRC/tests/cli/slurm_lib.sh"
trap slurm_stop EXIT
trap 'exit 143' TERM INT HUP
t0=$SECONDS
sample_stores video text
cat >base.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 2, "patience": 0, "folds": 2}}
JSON
printf 'model.hidden = 8, 32\n' >grid.txt
members="hidden=8 hidden=32"
slurm_start "$tmp/slurm"
echo "cluster up in $((SECONDS - t0)) s"

# 1. The folds' job and the gather after it.
expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out sw --per-fold \
  --cpus-per-task 1 --deterministic
cat out
expect_match out '^submitted job [0-9]+: 0-3 \(4 folds of 2 members\)$'
expect_match out '^submitted job [0-9]+: 0-1 \(2 of 2 members, after job [0-9]+\)$'
fjob=$(sed -nE '1s/^submitted job ([0-9]+):.*/\1/p' out)
gjob=$(sed -nE '2s/^submitted job ([0-9]+):.*/\1/p' out)
[ -n "$fjob" ] && [ -n "$gjob" ] && [ "$fjob" != "$gjob" ] || fail "job ids '$fjob' '$gjob'"
printf '%s\n' "$fjob 0-3 folds" "$gjob 0-1 after $fjob" >want.jobs
expect_same want.jobs sw/slurm/jobs.txt
# Slurm holds the gather for the folds' job.
n_checks=$((n_checks + 1))
_slurm_job_lines "$gjob" | grep -q "Dependency=afterany:${fjob}" ||
  fail "job $gjob has no dependency on $fjob: $(_slurm_job_lines "$gjob" | grep -oE 'Dependency=[^ ]+')"
slurm_wait_job "$fjob" 150 || fail "folds job $fjob did not finish"
slurm_wait_job "$gjob" 120 || fail "gather job $gjob did not finish"
slurm_task_states "$fjob" >got.tasks
sed 's/^/  folds task /' got.tasks
printf '%s COMPLETED 0:0\n' 0 1 2 3 >want.tasks
expect_same want.tasks got.tasks
slurm_task_states "$gjob" >got.tasks
sed 's/^/  gather task /' got.tasks
printf '%s COMPLETED 0:0\n' 0 1 >want.tasks
expect_same want.tasks got.tasks
for t in 0 1 2 3; do
  i=$((t / 2)) k=$((t % 2))
  expect_match "sw/slurm/mer-folds-sw_${fjob}_$t.out" "^member $i \(.*\) fold $k finished$"
done
for i in 0 1; do
  expect_match "sw/slurm/mer-sweep-sw_${gjob}_$i.out" "^member $i \(.*\) finished$"
done
expect_exit 0 "$MER" sweep status sw
sed 's/^/  /' out
expect_match out '^2 members: 2 finished, 0 interrupted, 0 failed, 0 new$'
echo "folds $fjob and gather $gjob done, $((SECONDS - t0)) s since start"
slurm_stop

# 2. The controller down: one line naming sbatch, exit 1 (sbatch gives up by itself).
printf 'seed = 0..1\n' >grid2.txt
s=$SECONDS
expect_exit 1 timeout 60 "$MER" sweep slurm grid2.txt --config base.json --out down --per-fold
expect_err_line '^mer sweep: sbatch: error: .*\(exit 1\)$'
sed 's/^/  /' err
echo "  sbatch gave up after $((SECONDS - s)) s"

# 3. The same grid run locally: every member's metrics.json byte-equal.
expect_exit 0 "$MER" sweep run grid.txt --config base.json --out local --jobs 2 --deterministic
for m in $members; do
  n_checks=$((n_checks + 1))
  cmp "sw/$m/metrics.json" "local/$m/metrics.json" || fail "member $m: metrics differ"
done
echo "whole test $((SECONDS - t0)) s"
done_testing
