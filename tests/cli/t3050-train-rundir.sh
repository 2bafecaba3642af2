#!/usr/bin/env bash
# A run directory belongs to one mer train at a time (a second is refused, naming the first's
# pid; kill -9 frees it); --force clears what mer wrote there and nothing else; --resume
# removes the temporary files of writers that were killed.
. "$MER_SRC/tests/cli/lib.sh"
sample_stores text
cat >cfg.json <<'JSON'
{"data": {"text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 3, "patience": 0, "folds": 5}}
JSON

# Another process holds the lock (POSIX record locks, as mer takes them): refused, named.
mkdir held
"$MER_PYTHON" - held <<'PY' &
import fcntl, os, sys, time
fd = os.open(os.path.join(sys.argv[1], ".mer-lock"), os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
open(os.path.join(sys.argv[1], "locked"), "w").close()
time.sleep(60)
PY
holder=$!
for _ in $(seq 1 200); do [ -e held/locked ] && break; sleep 0.05; done
expect_exit 1 "$MER" train --config cfg.json --out held --threads 1 -q
expect_err_line "^mer train: 'held' is in use: the run is held by another mer \(pid $holder\)$"
expect_exit 1 "$MER" train --config cfg.json --out held --shard 1/2 --threads 1 -q
expect_err_line "'held' is in use: the run is held by another mer \(pid $holder\)"
kill -9 "$holder"
wait "$holder" 2>/dev/null || true
expect_exit 0 "$MER" train --config cfg.json --out held --threads 1 -q # kill -9 freed it

# Two real trainings on one directory: while the first runs, the second is refused.
"$MER" train --config cfg.json --set train.epochs=20 --out race --threads 1 -q &
first=$!
for _ in $(seq 1 600); do [ -e race/fold-0/log.jsonl ] && break; sleep 0.05; done
kill -STOP "$first" # holds it mid-run, however fast this machine trains
expect_exit 1 "$MER" train --config cfg.json --out race --force --threads 1 -q
expect_err_line "'race' is in use: the run is held by another mer \(pid $first\)"
expect_exit 1 "$MER" train --resume --out race --threads 1 -q
expect_err_line "'race' is in use"
kill -CONT "$first"
wait "$first" || fail "the first training failed"
[ -e race/metrics.json ] || fail "the first training left no metrics"
# Started at the same moment into a new directory: exactly one of the two trains, and the
# refused one's clean-up never takes the directory from under the other.
for t in 1 2 3 4 5; do
  "$MER" train --config cfg.json --out "same$t" --threads 1 -q 2>"same$t.err1" &
  a=$!
  "$MER" train --config cfg.json --out "same$t" --threads 1 -q 2>"same$t.err2" &
  b=$!
  ra=0 rb=0
  wait "$a" || ra=$?
  wait "$b" || rb=$?
  [ $((ra + rb)) -eq 1 ] || { cat "same$t.err1" "same$t.err2" >&2; fail "trial $t: exits $ra and $rb"; }
  # (refused while the other runs, or after it finished, on a loaded machine)
  grep -Eq "'same$t' (is in use: the run is held by another mer \(pid [0-9]+\)|already holds a run)" \
    "same$t.err1" "same$t.err2" || fail "trial $t: the refusal is not the run's lock or its run"
  [ -e "same$t/metrics.json" ] || fail "trial $t: the run that trained left no metrics"
done
# A refused run into a new directory leaves no directory behind.
expect_exit 1 "$MER" train --config cfg.json --set data.text=nosuch.safetensors --out fresh -q
[ ! -e fresh ] || fail "a refused run left 'fresh' behind"

# --force over a 5-fold run with 3 folds: fold-3 and fold-4 go; a user's files stay.
echo "mine" >held/notes.txt
echo "mine" >held/fold-4/notes.txt
cp held/fold-4/model.safetensors held/fold-4/keep.safetensors
expect_exit 0 "$MER" train --config cfg.json --set train.folds=3 --out held --force --threads 1 -q
[ ! -e held/fold-3 ] || fail "--force left fold-3 of the old run"
for f in model.safetensors checkpoint.safetensors predictions.safetensors log.jsonl; do
  [ ! -e "held/fold-4/$f" ] || fail "--force left fold-4/$f of the old run"
done
[ -e held/notes.txt ] && [ -e held/fold-4/notes.txt ] && [ -e held/fold-4/keep.safetensors ] ||
  fail "--force removed a file mer did not write"
expect_match held/folds.json '"k":[[:space:]]*3'

# kill -9 between write and rename leaves <file>.tmp.<pid>: --resume removes a dead writer's,
# never a live one's.
sh -c 'exit 0' &
dead=$!
wait "$dead"
touch "held/fold-1/checkpoint.safetensors.tmp.$dead" "held/predictions/cv.csv.tmp.$dead" \
  "held/metrics.json.tmp.$dead" "held/fold-1/model.safetensors.tmp.$$"
expect_exit 0 "$MER" train --resume --out held --threads 1 -q
for f in fold-1/checkpoint.safetensors predictions/cv.csv metrics.json; do
  [ ! -e "held/$f.tmp.$dead" ] || fail "--resume left $f.tmp.$dead of a dead writer"
done
[ -e "held/fold-1/model.safetensors.tmp.$$" ] || fail "--resume removed a live writer's file"
done_testing
