#!/usr/bin/env bash
# mer query under faults: 429s, 5xx, dropped connections, malformed and slow bodies all end
# answered; Retry-After (seconds and HTTP-date) is waited out; a server that never answers is
# bounded by --timeout; keys that keep failing get error lines; reruns retry them (or not).
. "$MER_SRC/tests/cli/lib.sh"
. "$MER_SRC/tests/mock/mock.sh"
echo '{"planned": ["503", "drop", "ok"]}' >plan.json
start_mock --plan plan.json

# Every transient fault, then an answer. The key tells the mock what to do per attempt (or
# the plan does, for "planned").
keys="ok 429|429,ok 500|500,500,ok 502|502,ok 503|503,ok 504|504,ok drop|drop,drop,ok
bad|malformed,ok slow|slow:0.3,ok mix|429,drop,500,malformed,ok planned"
write_requests faults.jsonl $keys
expect_exit 0 "$MER" query -q faults.jsonl -o faults.out --endpoint "$endpoint" --backoff-ms 20 \
  --concurrency 3
# (libcurl itself resends a request once when a reused connection turns out dead, so mer
# counts 21 to 26 requests; the mock counts 26.)
expect_match out "to send 11: 11 answered, 0 failed; 2[1-6] requests \(1[0-5] retries\)"
check_answered faults.out $keys
[ "$(log_count)" -eq 26 ] || fail "not 26 requests in all: $(log_count)"
[ "$(log_count planned)" -eq 3 ] || fail "planned: not 3 attempts"
[ "$(log_count 'mix|429,drop,500,malformed,ok')" -eq 5 ] || fail "mix: not 5 attempts"

# Retry-After: 2 seconds, and an HTTP-date 2 seconds ahead (a date has a one-second grain),
# and Google's RetryInfo in the body, although the backoff alone would retry within 20 ms.
write_requests ra.jsonl 'secs|429:2,ok' 'date|429date:2,ok' 'svc|503:1,ok' 'info|429info:1.5,ok'
expect_exit 0 "$MER" query -q ra.jsonl -o ra.out --endpoint "$endpoint" --backoff-ms 20
expect_match out "to send 4: 4 answered, 0 failed; 8 requests \(4 retries\)"
"$MER_PYTHON" - <<'PY' || fail "Retry-After was not honoured"
import json
t = {}
for l in open("mock.log"):
    e = json.loads(l)
    t.setdefault(e["key"], []).append(e["t"])
gap = {k.split("|")[0]: v[1] - v[0] for k, v in t.items() if len(v) == 2}
print("retry-after gaps:", {k: round(v, 2) for k, v in gap.items()})
assert 1.95 <= gap["secs"] < 3.5, gap
assert 0.95 <= gap["date"] < 3.5, gap
assert 0.95 <= gap["svc"] < 2.5, gap
assert 1.45 <= gap["info"] < 3, gap
PY

# Faults that never stop: error lines after --retries retries, the last fault reported.
write_requests stuck.jsonl 'fine' 'e500|500' 'e429|429' 'e400|400' 'garbled|malformed' 'cut|drop'
expect_exit 1 "$MER" query -q stuck.jsonl -o stuck.out --endpoint "$endpoint" --backoff-ms 10 \
  --retries 2
expect_match out "to send 6: 1 answered, 5 failed; 14 requests \(8 retries\)"
expect_match out "^failed: "
for r in "HTTP 500 1" "HTTP 429 1" "HTTP 400 1" "malformed 1" "connection 1"; do
  grep -q "$r" out || fail "'$r' not in the summary: $(cat out)"
done
expect_err_line "^mer query: 5 of 6 keys failed \(their error lines are in 'stuck.out'; a rerun retries them\)$"
[ "$(log_count 'e500|500')" -eq 3 ] || fail "e500: not 1 + 2 retries"
[ "$(log_count 'e400|400')" -eq 1 ] || fail "a 400 was retried"
expect_match stuck.out '^\{"key":"e500\|500","error":\{"code":500,"message":"mock error 500","status":"INTERNAL"\}\}$'
expect_match stuck.out '^\{"key":"e429\|429","error":\{"code":429,"message":"mock error 429","status":"RESOURCE_EXHAUSTED"\}\}$'
expect_match stuck.out '^\{"key":"garbled\|malformed","error":\{"code":200,"message":"[^"]*not a JSON object","status":"DATA_LOSS"\}\}$'
expect_match stuck.out '^\{"key":"cut\|drop","error":\{"code":0,"message":"[^"]+","status":"UNAVAILABLE"\}\}$'
check_answered stuck.out fine

# --no-retry-failed: a rerun leaves the failed keys be; a plain rerun sends them again.
before=$(log_count)
expect_exit 0 "$MER" query -q stuck.jsonl -o stuck.out --endpoint "$endpoint" --no-retry-failed
expect_match out "; 1 answered before, 5 failed before \(not resent\); to send 0:"
[ "$(log_count)" -eq "$before" ] || fail "--no-retry-failed sent requests"
expect_exit 1 "$MER" query -q stuck.jsonl -o stuck.out --endpoint "$endpoint" --retries 0
expect_match out "; 1 answered before; to send 5: 0 answered, 5 failed; 5 requests \(0 retries\)"

# A server that never answers: each attempt ends at --timeout, the key fails with code 0.
write_requests hang.jsonl 'stall|hang' 'quick'
start=$(date +%s.%N)
expect_exit 1 "$MER" query -q hang.jsonl -o hang.out --endpoint "$endpoint" --timeout 0.5 \
  --retries 1 --backoff-ms 10
elapsed=$("$MER_PYTHON" -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
"$MER_PYTHON" -c "import sys; assert 1.0 <= float(sys.argv[1]) < 5, sys.argv[1]" "$elapsed" ||
  fail "the hanging key took ${elapsed}s (2 attempts of 0.5 s expected)"
expect_match out "^failed: timeout 1$"
expect_match hang.out '^\{"key":"stall\|hang","error":\{"code":0,"message":"Timeout was reached","status":"DEADLINE_EXCEEDED"\}\}$'
check_answered hang.out quick
[ "$(log_count 'stall|hang')" -eq 2 ] || fail "stall: not 2 attempts"

# Nothing listening: connection errors, retried, then error lines; the file stays whole.
write_requests gone.jsonl x y
expect_exit 1 "$MER" query -q gone.jsonl -o gone.out --endpoint "http://127.0.0.1:1/x" \
  --retries 1 --backoff-ms 10
expect_match out "^failed: connection 2$"
check_answered gone.out
for f in faults.out ra.out stuck.out hang.out gone.out out err; do
  ! grep -qF "$GEMINI_API_KEY" "$f" || fail "the API key leaked into '$f'"
done
done_testing
