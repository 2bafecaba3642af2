#!/usr/bin/env bash
# The Slurm harness (tests/cli/slurm_lib.sh) on a real one-node cluster: a throttled array job
# runs every task, at most two at once; a task cancelled mid-run is rerun alone with
# sbatch --array=<id>; a requeued task is released at once and runs again; the daemons stop at
# the end, whatever happened. Skips (exit 77, one line why) only where Slurm cannot run here.
# The whole test is bounded: it runs itself under timeout(1), whose signal reaches the daemons
# and leaves slurm_stop 30 s (ctest's own limit is 300 s).
[ -n "${MER_SLURM_BOUNDED:-}" ] || MER_SLURM_BOUNDED=1 exec timeout -k 30 260 bash "$0" "$@"
. "$MER_SRC/tests/cli/lib.sh"
. "$MER_SRC/tests/cli/slurm_lib.sh"
trap slurm_stop EXIT
trap 'exit 143' TERM INT HUP
t0=$SECONDS
slurm_start "$tmp/slurm"
echo "cluster up in $((SECONDS - t0)) s"

# task.sh NAME: one array task. It counts the tasks of its array running beside it (at most
# two under %2), sleeps long when slow.NAME.<task> exists (for scancel to catch it running),
# and writes res/NAME.<task> last, so a task that did not finish leaves no output.
mkdir -p res running log
cat >task.sh <<'SH'
#!/bin/bash
set -eu
t=$SLURM_ARRAY_TASK_ID
touch "running/$1.$t"
ls running | grep -c "^$1\." >>"conc.$1"
if [ -e "slow.$1.$t" ]; then sleep 120; else sleep 1; fi
rm -f "running/$1.$t"
echo "$1 task $t of $SLURM_ARRAY_JOB_ID restart ${SLURM_RESTART_COUNT:-0}" >"res/$1.$t.part"
mv "res/$1.$t.part" "res/$1.$t"
SH
chmod +x task.sh

# 1. --array=0-3%2: four outputs, four COMPLETED, never more than two at once.
expect_exit 0 sbatch --parsable --array=0-3%2 -J harness -o 'log/%x_%A_%a.out' task.sh a
a=$(cat out)
slurm_wait_job "$a" 60 || fail "array $a did not finish"
printf '%s COMPLETED 0:0\n' 0 1 2 3 >want.a
slurm_task_states "$a" >got.a
expect_same want.a got.a
for t in 0 1 2 3; do
  expect_match "res/a.$t" "^a task $t of $a restart 0$"
  [ -f "log/harness_${a}_$t.out" ] || fail "no log/harness_${a}_$t.out"
done
n_checks=$((n_checks + 1))
most=$(sort -n conc.a | tail -n1)
[ "$most" -le 2 ] || fail "--array=0-3%2 let $most tasks run at once"
echo "array $a: 4 tasks in $((SECONDS - t0)) s since start"

# 2. Task 2 of a second array is cancelled while it runs; the rest complete. A rerun submits
# only the id without output, and it completes.
touch slow.b.2
expect_exit 0 sbatch --parsable --array=0-3%2 -J harness -o 'log/%x_%A_%a.out' task.sh b
b=$(cat out)
for ((i = 0; i < 300; i++)); do
  [ "$(slurm_task_state "${b}_2")" = RUNNING ] && [ -e running/b.2 ] && break
  sleep 0.1
done
[ "$(slurm_task_state "${b}_2")" = RUNNING ] || fail "task ${b}_2 never ran"
expect_exit 0 scancel "${b}_2"
slurm_wait_job "$b" 60 || fail "array $b did not finish"
slurm_task_states "$b" >got.b
printf '0 COMPLETED 0:0\n1 COMPLETED 0:0\n3 COMPLETED 0:0\n' >want.b
grep -v '^2 ' got.b >got.b3 || true
expect_same want.b got.b3
expect_match got.b '^2 CANCELLED [0-9]+:[0-9]+$'
todo=$(for t in 0 1 2 3; do [ -e "res/b.$t" ] || echo "$t"; done | paste -sd, -)
n_checks=$((n_checks + 1))
[ "$todo" = 2 ] || fail "outputs missing for '$todo', expected 2"
rm slow.b.2
expect_exit 0 sbatch --parsable --array="$todo" -J harness -o 'log/%x_%A_%a.out' task.sh b
b2=$(cat out)
slurm_wait_job "$b2" 60 || fail "rerun $b2 did not finish"
echo "2 COMPLETED 0:0" >want.b2
slurm_task_states "$b2" >got.b2
expect_same want.b2 got.b2
expect_match res/b.2 "^b task 2 of $b2 restart 0$"
for t in 0 1 3; do expect_match "res/b.$t" "^b task $t of $b restart 0$"; done
echo "array $b: task 2 cancelled, rerun as $b2, in $((SECONDS - t0)) s since start"

# 3. slurm_requeue: a finished task runs again now (not after Slurm's two-minute hold).
expect_exit 0 slurm_requeue "${a}_1"
slurm_wait_job "$a" 60 || fail "requeued task ${a}_1 did not finish"
expect_match res/a.1 "^a task 1 of $a restart 1$"
slurm_task_states "$a" >got.a
expect_same want.a got.a
echo "task ${a}_1 requeued and rerun in $((SECONDS - t0)) s since start"

# 4. The daemons stop, and a second stop is harmless.
slurm_stop
n_checks=$((n_checks + 1))
! slurm_running || fail "a daemon is still running after slurm_stop"
slurm_stop
echo "stopped; whole test $((SECONDS - t0)) s"
done_testing
