#!/usr/bin/env bash
# mer sweep slurm without a cluster: --dry-run writes the array script and prints sbatch's
# command for the unfinished members only; the script's task runs its member as a Slurm task
# would; sbatch missing or failing is one line, exit 1; a stand-in sbatch gets the array and
# its job id is printed; --per-fold writes a folds script (task i*F+k: fold k of member i) and
# submits it, then the gather (the members' script) after it with --dependency=afterany; a fold
# task trains its fold alone, and the gather the rest. (A real Slurm is a test of its own.)
. "$MER_SRC/tests/cli/lib.sh"
sample_stores video text
cat >base.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 2, "patience": 0, "folds": 2}}
JSON
printf 'model.prior.mode = none, gate\nseed = 0..2\n' >grid.txt

expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out sw --dry-run --max-running 2 \
  --partition debug --time 0:10:00 --gres gpu:1 --cpus-per-task 2 --sbatch-arg=--mem=1G
echo "sbatch --parsable --array=0-5%2 $PWD/sw/slurm/sweep.sbatch" >want
expect_same want out
script=sw/slurm/sweep.sbatch
[ -x "$script" ] || fail "the script is not executable"
for l in '#SBATCH --partition=debug' '#SBATCH --time=0:10:00' '#SBATCH --gres=gpu:1' \
  '#SBATCH --cpus-per-task=2' '#SBATCH --mem=1G' "#SBATCH --output=$PWD/sw/slurm/%x_%A_%a.out"; do
  grep -qxF -- "$l" "$script" || fail "no '$l' in the script"
done
expect_match "$script" "^exec $MER sweep task $PWD/sw \"\\\$SLURM_ARRAY_TASK_ID\"$"

# Task 4 as Slurm runs it (from the script, in another directory): member 4 finishes.
(cd / && SLURM_ARRAY_TASK_ID=4 SLURM_CPUS_PER_TASK=1 sh "$OLDPWD/$script") >task.out 2>&1 ||
  { cat task.out; fail "the array task failed"; }
expect_match task.out '^member 4 \(mode=gate_seed=1\): mer train with 1 thread, log '
expect_match task.out '^member 4 \(mode=gate_seed=1\) finished$'
[ -s sw/mode=gate_seed=1/metrics.json ] || fail "task 4 left no metrics"
expect_exit 0 "$MER" sweep task sw 4
expect_match out '^member 4 \(mode=gate_seed=1\) is finished$'
expect_exit 1 "$MER" sweep task sw 6
expect_err_line "^mer sweep: member '6': expected an index below 6$"

# Only the unfinished members are submitted.
expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out sw --dry-run
expect_match out "^sbatch --parsable --array=0-3,5 $PWD/sw/slurm/sweep.sbatch$"

# sbatch missing, sbatch failing, sbatch answering.
PATH=/nonexistent expect_exit 1 "$MER" sweep slurm grid.txt --config base.json --out sw
expect_err_line "^mer sweep: sbatch: not found on PATH"
mkdir bin
printf '#!/bin/sh\necho "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2\nexit 1\n' >bin/sbatch
chmod +x bin/sbatch
PATH="$PWD/bin:$PATH" expect_exit 1 "$MER" sweep slurm grid.txt --config base.json --out sw
expect_err_line "^mer sweep: sbatch: error: Batch job submission failed: Invalid partition name specified \(exit 1\)$"
printf '#!/bin/sh\necho "$@" >"%s/sbatch.args"\necho "4242;mertest"\n' "$PWD" >bin/sbatch
PATH="$PWD/bin:$PATH" expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out sw \
  --max-running 3
expect_match out '^submitted job 4242: 0-3,5%3 \(5 of 6 members\)$'
echo "--parsable --array=0-3,5%3 $PWD/sw/slurm/sweep.sbatch" >want
expect_same want sbatch.args
expect_match sw/slurm/jobs.txt '^4242 0-3,5%3$'

# --per-fold: a folds array (task i*F+k: fold k of member i) and a gather array after it.
expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out pf --dry-run --per-fold \
  --max-running 2 --cpus-per-task 1
printf '%s\n' "sbatch --parsable --array=0-11%2 $PWD/pf/slurm/folds.sbatch" \
  "sbatch --parsable --dependency=afterany:<folds-job-id> --array=0-5%2 $PWD/pf/slurm/sweep.sbatch" >want
expect_same want out
folds=pf/slurm/folds.sbatch
[ -x "$folds" ] || fail "the folds script is not executable"
expect_match "$folds" '^F=2$'
expect_match "$folds" '^#SBATCH --cpus-per-task=1$'
expect_match "$folds" "^exec $MER sweep task $PWD/pf \\\$\\(\\(SLURM_ARRAY_TASK_ID / F\\)\\) --fold \\\$\\(\\(SLURM_ARRAY_TASK_ID % F\\)\\)$"
expect_match pf/slurm/sweep.sbatch "^exec $MER sweep task $PWD/pf \"\\\$SLURM_ARRAY_TASK_ID\"$"
# Tasks 8 and 9 (member 4's folds) as Slurm runs them: the folds, and no outputs yet.
for t in 8 9; do
  (cd / && SLURM_ARRAY_TASK_ID=$t SLURM_CPUS_PER_TASK=1 sh "$OLDPWD/$folds") >task.out 2>&1 ||
    { cat task.out; fail "fold task $t failed"; }
  k=$((t % 2))
  expect_match task.out "^member 4 \(mode=gate_seed=1\) fold $k of 2: mer train with 1 thread, log $PWD/pf/logs/mode=gate_seed=1.fold-$k.log$"
  expect_match task.out "^member 4 \(mode=gate_seed=1\) fold $k finished$"
  [ -e "pf/mode=gate_seed=1/fold-$k/predictions.safetensors" ] || fail "fold task $t left no fold $k"
done
[ ! -e pf/mode=gate_seed=1/metrics.json ] || fail "a fold task wrote the member's outputs"
expect_exit 0 "$MER" sweep task pf 4 --fold 1
expect_match out '^member 4 \(mode=gate_seed=1\) fold 1 is finished$'
expect_exit 0 "$MER" sweep task pf 4 --fold 2
expect_match out '^member 4 \(mode=gate_seed=1\) has 2 folds: no fold 2 to train$'
# Member 4's folds are not submitted again; its gather still is.
expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out pf --dry-run --per-fold
expect_match out "^sbatch --parsable --array=0-7,10-11 $PWD/pf/slurm/folds.sbatch$"
expect_match out "^sbatch --parsable --dependency=afterany:<folds-job-id> --array=0-5 $PWD/pf/slurm/sweep.sbatch$"
# The gather (task 4 of sweep.sbatch) trains nothing again and writes the outputs: the same
# metrics as member 4 trained whole by one task above.
(cd / && SLURM_ARRAY_TASK_ID=4 SLURM_CPUS_PER_TASK=1 sh "$OLDPWD/pf/slurm/sweep.sbatch") >task.out 2>&1 ||
  { cat task.out; fail "the gather task failed"; }
expect_match task.out '^member 4 \(mode=gate_seed=1\) finished$'
n_checks=$((n_checks + 1))
cmp pf/mode=gate_seed=1/metrics.json sw/mode=gate_seed=1/metrics.json ||
  fail "per-fold member 4's metrics differ from the whole member's"
# Both jobs submitted (the stand-in's ids count up): the gather depends on the folds' job.
printf '#!/bin/sh\necho "$@" >>"%s/sbatch.pf"\necho $((5000 + $(wc -l <"%s/sbatch.pf")))\n' \
  "$PWD" "$PWD" >bin/sbatch
PATH="$PWD/bin:$PATH" expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out pf --per-fold
printf '%s\n' 'submitted job 5001: 0-7,10-11 (10 folds of 5 members)' \
  'submitted job 5002: 0-3,5 (5 of 6 members, after job 5001)' >want
expect_same want out
printf '%s\n' "--parsable --array=0-7,10-11 $PWD/pf/slurm/folds.sbatch" \
  "--parsable --dependency=afterany:5001 --array=0-3,5 $PWD/pf/slurm/sweep.sbatch" >want
expect_same want sbatch.pf
printf '%s\n' '5001 0-7,10-11 folds' '5002 0-3,5 after 5001' >want
expect_same want pf/slurm/jobs.txt
# A gather refused after its folds' job went in: one line that says so, exit 1.
printf '#!/bin/sh\ncase "$*" in *--dependency*) echo "sbatch: error: Job dependency problem" >&2; exit 1;; esac\necho 6001\n' >bin/sbatch
PATH="$PWD/bin:$PATH" expect_exit 1 "$MER" sweep slurm grid.txt --config base.json --out pf --per-fold
expect_err_line "^mer sweep: sbatch: error: Job dependency problem \(exit 1\); the folds' job 6001 is submitted "
expect_match out '^submitted job 6001: 0-7,10-11 \(10 folds of 5 members\)$'
# A fold whose task never ran (cancelled, say) is trained by the gather: member 0, fold 0 only.
(cd / && SLURM_ARRAY_TASK_ID=0 SLURM_CPUS_PER_TASK=1 sh "$OLDPWD/$folds") >task.out 2>&1 ||
  { cat task.out; fail "fold task 0 failed"; }
[ ! -e pf/mode=none_seed=0/fold-1 ] || fail "fold task 0 trained fold 1"
(cd / && SLURM_ARRAY_TASK_ID=0 SLURM_CPUS_PER_TASK=1 sh "$OLDPWD/pf/slurm/sweep.sbatch") >task.out 2>&1 ||
  { cat task.out; fail "the gather task 0 failed"; }
expect_match task.out '^member 0 \(mode=none_seed=0\) finished$'
[ -e pf/mode=none_seed=0/fold-1/predictions.safetensors ] || fail "the gather left fold 1 untrained"
[ -s pf/mode=none_seed=0/metrics.json ] || fail "the gather wrote no metrics"

# Another grid into the same directory is refused before anything is submitted.
printf 'seed = 0..2\n' >other.txt
PATH="$PWD/bin:$PATH" expect_exit 1 "$MER" sweep slurm other.txt --config base.json --out sw
expect_err_line "^mer sweep: 'sw/sweep.json': the sweep there was made from grid '$PWD/grid.txt'"
done_testing
