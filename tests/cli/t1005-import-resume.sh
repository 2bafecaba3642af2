#!/usr/bin/env bash
# The store builder under mer import: killed with -9 after some checkpoint chunks, a rerun
# resumes after the last one and gives the same store as an uninterrupted run; a rerun with
# other options is refused (--force starts over); a second writer is refused while the first
# holds the output; --jobs 2 gives the same store as one thread; --pool mean,std is not
# import's. (The kill and the stop come at a known chunk through MER_TEST_SIGNAL_AFTER_CHUNKS.)
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"

mkdir npy
"$MER_PYTHON" - <<'PY'
import numpy as np
rng = np.random.default_rng(5)
for i in range(1000):
    t = 1 + i % 7
    np.save(f"npy/s{i:04d}.npy", rng.standard_normal((t, 6)).astype(np.float32))
open("npy/s0500.npy", "wb").write(b"broken")
PY
# the same tensors and ids (the provenance, which has the time and arguments, aside)
same_store() {
  "$MER_PYTHON" - "$1" "$2" <<'PY' || fail "'$2' differs from '$1'"
import sys, store_interop as st
(ma, ta), (mb, tb) = st.load(sys.argv[1]), st.load(sys.argv[2])
assert ma["mer.ids"] == mb["mer.ids"]
assert sorted(ta) == sorted(tb)
for k in ta:
    assert ta[k].dtype == tb[k].dtype and (ta[k] == tb[k]).all(), k
PY
  n_checks=$((n_checks + 1))
}

expect_exit 0 "$MER" import npy -o ref.safetensors --pool none
expect_match out "^imported 999 samples \[D = 6, frame level\] into 'ref.safetensors' \(1 unreadable"
[ ! -e ref.safetensors.partial ] || fail "the checkpoints of a finished run are left"

# kill -9 after the third chunk of 100: the chunks stay, no store; the rerun resumes.
got=0
MER_TEST_SIGNAL_AFTER_CHUNKS="3 KILL" "$MER" import -q npy -o run.safetensors --pool none \
  --checkpoint-every 100 >out 2>err || got=$?
[ "$got" -eq 137 ] || fail "the killed run exited $got"
[ ! -e run.safetensors ] || fail "a killed run left a store"
[ -e run.safetensors.partial/chunk-00002.safetensors ] || fail "no checkpoint chunks"
expect_exit 0 "$MER" import npy -o run.safetensors --pool none --checkpoint-every 100
expect_match out "^imported 999 samples .* \(1 unreadable, 0 missing, 0 extra\)$"
same_store ref.safetensors run.safetensors
[ ! -e run.safetensors.partial ] || fail "checkpoints left after the resumed run"
# the resumed run started at sample 300 (the progress counts from there)
expect_match err "^import: 1000/1000 files"

# another --pool after a kill: refused, named; --force starts over
MER_TEST_SIGNAL_AFTER_CHUNKS="2 KILL" "$MER" import -q npy -o other.safetensors --pool none \
  --checkpoint-every 100 >out 2>err || true
expect_exit 1 "$MER" import -q npy -o other.safetensors --pool mean --checkpoint-every 100
expect_err_line "^mer import: 'other.safetensors.partial' holds an interrupted run with other samples or options \(use --force to start over\)$"
expect_exit 0 "$MER" import -q npy -o other.safetensors --pool mean --force
[ ! -e other.safetensors.partial ] || fail "checkpoints left after --force"

# a second writer while the first holds the output (stopped after its first chunk)
MER_TEST_SIGNAL_AFTER_CHUNKS="1 STOP" "$MER" import -q npy -o held.safetensors \
  --checkpoint-every 100 >held.out 2>held.err &
pid=$!
for _ in $(seq 100); do
  [ "$(ps -o stat= -p $pid | cut -c1)" = T ] && break
  sleep 0.1
done
expect_exit 1 "$MER" import -q npy -o held.safetensors --checkpoint-every 100
expect_err_line "^mer import: 'held.safetensors' is being written by another mer \(pid $pid\)$"
kill -CONT $pid
wait $pid || fail "the stopped import failed after it went on"
[ -s held.safetensors ] || fail "no store from the stopped import"

# --jobs 2 (threads reading ahead, taken in order) gives the same store
expect_exit 0 "$MER" import -q npy -o jobs.safetensors --pool none --jobs 2 --checkpoint-every 64
same_store ref.safetensors jobs.safetensors

# mean,std exists for the extractors, not for import
expect_exit 2 "$MER" import -q npy -o x.safetensors --pool mean,std
expect_match err "^mer import: --pool 'mean,std': expected mean, max or none$"
done_testing
