#!/usr/bin/env bash
# mer query --rpm: requests are spaced evenly (a token bucket of one), retries included;
# without a limit, --concurrency requests run at once.
. "$MER_SRC/tests/cli/lib.sh"
. "$MER_SRC/tests/mock/mock.sh"
start_mock

write_requests req.jsonl r1 r2 r3 'r4|500,ok' r5
expect_exit 0 "$MER" query -q req.jsonl -o resp.jsonl --endpoint "$endpoint" --rpm 120 \
  --concurrency 4 --backoff-ms 1
expect_match out "to send 5: 5 answered, 0 failed; 6 requests \(1 retries\)"
check_answered resp.jsonl r1 r2 r3 'r4|500,ok' r5
"$MER_PYTHON" - <<'PY' || fail "--rpm 120 was not respected"
import json
t = sorted(json.loads(l)["t"] for l in open("mock.log"))
gaps = [b - a for a, b in zip(t, t[1:])]
print("span %.2f s, smallest gap %.3f s" % (t[-1] - t[0], min(gaps)))
assert len(t) == 6 and t[-1] - t[0] >= 2.4, t
assert min(gaps) >= 0.45, gaps
PY

# No limit: four slow requests overlap.
: >mock.log
write_requests par.jsonl 'p1|slow:0.8' 'p2|slow:0.8' 'p3|slow:0.8' 'p4|slow:0.8'
expect_exit 0 "$MER" query -q par.jsonl -o par.out --endpoint "$endpoint" --concurrency 4
"$MER_PYTHON" - <<'PY' || fail "--concurrency 4 did not overlap requests"
import json
t = sorted(json.loads(l)["t"] for l in open("mock.log"))
assert len(t) == 4 and t[-1] - t[0] < 1.2, t  # one at a time: 2.4 s
PY
check_answered par.out 'p1|slow:0.8' 'p2|slow:0.8' 'p3|slow:0.8' 'p4|slow:0.8'
done_testing
