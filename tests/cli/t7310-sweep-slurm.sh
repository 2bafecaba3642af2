#!/usr/bin/env bash
# mer sweep slurm on a real one-node Slurm (tests/cli/slurm_lib.sh): a sweep of 4 members runs
# as an array job one task at a time; one task cancelled while still pending leaves its member
# new and the others finished; a rerun submits only that member, and then all are finished;
# mer report over the Slurm sweep equals (numbers and keys, run paths aside) the report over the
# same grid run locally by mer sweep run --deterministic. The daemons stop at the end, whatever
# happened; the whole test runs under timeout(1). Skips (exit 77, one line why) only where the
# daemons cannot run here.
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
printf 'model.hidden = 8, 32\nseed = 0..1\n' >grid.txt
members="hidden=8_seed=0 hidden=8_seed=1 hidden=32_seed=0 hidden=32_seed=1"
slurm_start "$tmp/slurm"
echo "cluster up in $((SECONDS - t0)) s"

# status_is DIR WANT...: `mer sweep status DIR` has exactly these member lines, and says so.
status_is() {
  local dir=$1
  shift
  expect_exit 0 "$MER" sweep status "$dir"
  sed 's/^/  /' out
  printf '%s\n' "$@" >want.status
  head -n4 out >got.status
  expect_same want.status got.status
}

# 1. The sweep as one array job, one task at a time (%1): tasks 1-3 wait while task 0 runs, so
# task 3 is cancelled while it is still PENDING, before anything of member 3 can have run.
expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out sw --cpus-per-task 1 \
  --max-running 1 --deterministic
cat out
expect_match out '^submitted job [0-9]+: 0-3%1 \(4 of 4 members\)$'
job=$(sed -E 's/^submitted job ([0-9]+):.*/\1/' out)
expect_match sw/slurm/jobs.txt "^$job 0-3%1$"
n_checks=$((n_checks + 1))
state=$(slurm_task_state "${job}_3")
[ "$state" = PENDING ] || fail "task ${job}_3 is '$state', not PENDING, before its cancel"
expect_exit 0 scancel "${job}_3"
n_checks=$((n_checks + 1))
state=$(slurm_task_state "${job}_3")
[ -z "$state" ] || fail "Slurm still knows task ${job}_3 after its cancel ($state)"
echo "  after scancel ${job}_3: $(_slurm_job_lines "$job" | grep -oE '(ArrayTaskId|JobState)=[^ ]+' |
  paste -sd' ')"
slurm_wait_job "$job" 120 || fail "array $job did not finish"
# A pending task that is cancelled never starts: Slurm drops it from the array (no jobcomp line).
slurm_task_states "$job" >got.tasks
sed 's/^/  task /' got.tasks
printf '%s COMPLETED 0:0\n' 0 1 2 >want.tasks
expect_same want.tasks got.tasks
for t in 0 1 2; do
  expect_match "sw/slurm/mer-sweep-sw_${job}_$t.out" "^member $t \(.*\): mer train with 1 thread, "
  expect_match "sw/slurm/mer-sweep-sw_${job}_$t.out" "^member $t \(.*\) finished$"
done
[ ! -e "sw/slurm/mer-sweep-sw_${job}_3.out" ] || fail "the cancelled task 3 ran"
status_is sw "   0  finished    hidden=8_seed=0" "   1  finished    hidden=8_seed=1" \
  "   2  finished    hidden=32_seed=0" "   3  new         hidden=32_seed=1"
expect_match out '^4 members: 3 finished, 0 interrupted, 0 failed, 1 new$'
echo "array $job: task 3 cancelled while pending, $((SECONDS - t0)) s since start"

# 2. A rerun submits only the missing member, and it completes; the others are left as they are.
cp sw/hidden=8_seed=0/metrics.json m0.before
expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out sw --cpus-per-task 1 \
  --max-running 1 --deterministic
cat out
expect_match out '^submitted job [0-9]+: 3%1 \(1 of 4 members\)$'
job2=$(sed -E 's/^submitted job ([0-9]+):.*/\1/' out)
[ "$job2" != "$job" ] || fail "the rerun reused job id $job"
printf '%s 0-3%%1\n%s 3%%1\n' "$job" "$job2" >want.jobs
expect_same want.jobs sw/slurm/jobs.txt
slurm_wait_job "$job2" 120 || fail "rerun $job2 did not finish"
echo "3 COMPLETED 0:0" >want.tasks2
slurm_task_states "$job2" >got.tasks2
sed 's/^/  task /' got.tasks2
expect_same want.tasks2 got.tasks2
expect_match "sw/slurm/mer-sweep-sw_${job2}_3.out" '^member 3 \(hidden=32_seed=1\) finished$'
cmp m0.before sw/hidden=8_seed=0/metrics.json || fail "a finished member was run again"
status_is sw "   0  finished    hidden=8_seed=0" "   1  finished    hidden=8_seed=1" \
  "   2  finished    hidden=32_seed=0" "   3  finished    hidden=32_seed=1"
expect_match out '^4 members: 4 finished, 0 interrupted, 0 failed, 0 new$'
# A third run has nothing to submit.
expect_exit 0 "$MER" sweep slurm grid.txt --config base.json --out sw --cpus-per-task 1 \
  --max-running 1 --deterministic
cat out
expect_match out '^all 4 members are finished: nothing to submit$'
expect_same want.jobs sw/slurm/jobs.txt
echo "rerun $job2: member 3 done, $((SECONDS - t0)) s since start"
slurm_stop

# 3. The same grid run locally, two members at a time: its report equals the Slurm sweep's.
expect_exit 0 "$MER" sweep run grid.txt --config base.json --out local --jobs 2 --deterministic
sed 's/^/  /' err out
expect_match out '^4 members: 0 finished before, 4 now, 0 failed$'
for m in $members; do
  cmp "sw/$m/metrics.json" "local/$m/metrics.json" || fail "member $m: metrics differ"
done
expect_exit 0 "$MER" report sw --format json -o sw.json
expect_exit 0 "$MER" report local --format json -o local.json
"$MER_PYTHON" - sw.json local.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
# The run paths differ by their sweep directory only; everything else is equal, exactly.
for r in a["rows"] + b["rows"]:
    r["runs"] = [p.split("/", 1)[1] for p in r["runs"]]
assert a["incomplete"] == b["incomplete"] == [], (a["incomplete"], b["incomplete"])
assert len(a["rows"]) == 2 and all(r["sets"]["cv"]["waf"]["n"] == 2 for r in a["rows"]), a
# The rows differ, and so do a row's seeds: equal reports say something.
cv = [r["sets"]["cv"]["waf"] for r in a["rows"]]
assert cv[0]["mean"] != cv[1]["mean"] and all(w["std"] > 0 for w in cv), cv
for ra, rb in zip(a["rows"], b["rows"]):
    assert ra["keys"] == rb["keys"], (ra["keys"], rb["keys"])
    for s in ra["sets"]:
        for m in ("waf", "accuracy", "macro_f1"):
            x, y = ra["sets"][s][m], rb["sets"][s][m]
            assert x["values"] == y["values"] and x["mean"] == y["mean"] and x["std"] == y["std"], (
                ra["keys"], s, m, x, y)
assert a == b, "the reports differ beyond the run paths"
print("  json reports equal: %d rows, sets %s, keys %s" % (len(a["rows"]), a["sets"], a["keys"]))
PY
n_checks=$((n_checks + 1))
expect_exit 0 "$MER" report sw --format markdown -o sw.md
expect_exit 0 "$MER" report local --format markdown -o local.md
sed 's#local/#sw/#g' local.md >local-as-sw.md
expect_same sw.md local-as-sw.md
echo "mer report sw --format markdown:"
cat sw.md
echo "whole test $((SECONDS - t0)) s"
done_testing
