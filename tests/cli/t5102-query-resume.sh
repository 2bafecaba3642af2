#!/usr/bin/env bash
# mer query killed mid-run: kill -9 leaves only whole lines, a rerun sends just the keys
# without an answer, an incomplete last line (another tool's crash) is cut away with a
# warning; Ctrl-C stops sending and keeps the file whole; one writer per file.
. "$MER_SRC/tests/cli/lib.sh"
. "$MER_SRC/tests/mock/mock.sh"
start_mock

keys=$(for i in $(seq -w 1 12); do printf 'k%s|slow:0.25 ' "$i"; done)
write_requests req.jsonl $keys

# wait_lines FILE N: until FILE has at least N lines (or 10 s).
wait_lines() {
  for _ in $(seq 200); do
    [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  fail "'$1' did not reach $2 lines"
}

"$MER" query -q req.jsonl -o resp.jsonl --endpoint "$endpoint" --concurrency 2 >/dev/null 2>&1 &
pid=$!
wait_lines resp.jsonl 4
kill -9 $pid
wait $pid 2>/dev/null || true
first=$(wc -l <resp.jsonl)
[ "$first" -lt 12 ] || fail "the run finished before it was killed"
sent_first=$(log_count)
"$MER_PYTHON" - <<'PY' || fail "the killed run left a broken file"
import json
data = open("resp.jsonl", "rb").read()
assert data.endswith(b"\n")
for line in data.decode().splitlines():
    assert "response" in json.loads(line)
PY

# Another tool crashed mid-line: the rerun cuts the partial line off and says so.
printf '{"key": "k12|slow:0.25", "respo' >>resp.jsonl
expect_exit 0 "$MER" query -q req.jsonl -o resp.jsonl --endpoint "$endpoint" --concurrency 4
expect_err_line "^mer query: warning: 'resp.jsonl': removed an incomplete last line \(31 bytes\)$"
expect_match out "; $first answered before; to send $((12 - first)): $((12 - first)) answered, 0 failed"
check_answered resp.jsonl $keys
# Keys answered before the kill were not sent again (at most the ones in flight were).
"$MER_PYTHON" - "$sent_first" "$first" <<'PY' || fail "the rerun resent answered keys"
import json, sys
log = [json.loads(l)["key"] for l in open("mock.log")]
second = log[int(sys.argv[1]):]
before = {json.loads(l)["key"] for l in open("resp.jsonl").readlines()[: int(sys.argv[2])]}
assert len(second) == len(set(second)), second
assert not before & set(second), before & set(second)
assert len(log) <= 12 + 2, len(log)  # at most the two in flight were sent twice
PY

# Ctrl-C: no new requests, the ones in flight end and are written, exit 1 with a count.
keys2=$(for i in $(seq -w 1 8); do printf 'i%s|slow:0.4 ' "$i"; done)
write_requests int.jsonl $keys2
"$MER" query -q int.jsonl -o int.out --endpoint "$endpoint" --concurrency 1 >int.stdout 2>int.err &
pid=$!
wait_lines int.out 1
kill -INT $pid
rc=0
wait $pid || rc=$?
[ "$rc" -eq 1 ] || fail "interrupted run exited $rc"
grep -Eq "^mer query: interrupted: [0-9]+ keys not answered \(a rerun sends them\)$" int.err ||
  fail "no interrupted message: $(cat int.err)"
n=$(wc -l <int.out)
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "$n answers after Ctrl-C (1 to 3 expected)"
grep -q "to send 8: $n answered, 0 failed, $((8 - n)) not answered (interrupted)" int.stdout ||
  fail "summary: $(cat int.stdout)"
expect_exit 0 "$MER" query -q int.jsonl -o int.out --endpoint "$endpoint" --concurrency 4
check_answered int.out $keys2

# Two runs on one file at once: the second is refused, the file untouched.
write_requests slow.jsonl 'z1|slow:1.5'
"$MER" query -q slow.jsonl -o lock.out --endpoint "$endpoint" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ "$(log_count 'z1|slow:1.5')" -ge 1 ] && break; sleep 0.05; done
expect_exit 1 "$MER" query -q slow.jsonl -o lock.out --endpoint "$endpoint"
expect_err_line "^mer query: 'lock.out': in use by another mer query \(give each shard its own responses file\)$"
wait $pid || fail "the first run failed"
check_answered lock.out 'z1|slow:1.5'
done_testing
