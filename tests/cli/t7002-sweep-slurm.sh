#!/usr/bin/env bash
# mer sweep slurm without a cluster: --dry-run writes the array script and prints sbatch's
# command for the unfinished members only; the script's task runs its member as a Slurm task
# would; sbatch missing or failing is one line, exit 1; a stand-in sbatch gets the array and
# its job id is printed. (Testing against a real Slurm is a test of its own.)
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

# Another grid into the same directory is refused before anything is submitted.
printf 'seed = 0..2\n' >other.txt
PATH="$PWD/bin:$PATH" expect_exit 1 "$MER" sweep slurm other.txt --config base.json --out sw
expect_err_line "^mer sweep: 'sw/sweep.json': the sweep there was made from grid '$PWD/grid.txt'"
done_testing
