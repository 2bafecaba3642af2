#!/usr/bin/env bash
# mer query against the local mock: both input forms, the key stripped from the body, the
# API key only in its header, answers in the Batch API output form, resume, bad input found
# before anything is sent, --shard.
. "$MER_SRC/tests/cli/lib.sh"
. "$MER_SRC/tests/mock/mock.sh"
start_mock

keys="a b c d 中文-e f"
write_requests req.jsonl $keys

# No key in the environment: one line, nothing sent, no file made.
(
  unset GEMINI_API_KEY
  expect_exit 1 "$MER" query req.jsonl -o resp.jsonl --endpoint "$endpoint"
  expect_err_line "^mer query: GEMINI_API_KEY is not set \(the API key is read from the environment only\)$"
)
[ ! -s mock.log ] || fail "a request was sent without an API key"
[ ! -e resp.jsonl ] || fail "a responses file was made without an API key"
GEMINI_API_KEY= expect_exit 1 "$MER" query req.jsonl -o resp.jsonl --endpoint "$endpoint"
expect_err_line "GEMINI_API_KEY is not set"

# Usage errors.
expect_exit 2 "$MER" query req.jsonl
expect_exit 2 "$MER" query -o resp.jsonl
expect_exit 2 "$MER" query req.jsonl -o resp.jsonl --concurrency x
expect_exit 2 "$MER" query req.jsonl -o resp.jsonl --concurrency 0
expect_match err "^mer query: option '--concurrency': expected an integer in \\[1, 1024\\], got '0'$"
expect_exit 2 "$MER" query req.jsonl -o resp.jsonl --timeout 0
expect_match err "^mer query: option '--timeout': expected a number in \\(0, 1000000\\], got '0'$"
[ ! -e resp.jsonl ] || fail "a bad option made a responses file"

expect_exit 0 "$MER" query -q req.jsonl -o resp.jsonl --endpoint "$endpoint" --model mock-model
expect_match out "^'req.jsonl': 6 keys; 0 answered before; to send 6: 6 answered, 0 failed; 6 requests \(0 retries\) -> 'resp.jsonl'$"
[ ! -s err ] || fail "unexpected stderr: $(cat err)"
check_answered resp.jsonl $keys
# Every request reached the model's URL with the right key and content type, as a JSON body
# without the "key" (or "model") member.
"$MER_PYTHON" - <<'PY' || fail "the requests the mock got are not as sent"
import json
log = [json.loads(l) for l in open("mock.log")]
assert len(log) == 6, len(log)
for e in log:
    assert e["auth_ok"] and e["json"] and not e["key_member"] and not e["model_member"], e
    assert e["path"] == "/v1beta/models/mock-model:generateContent", e["path"]
    assert e["content_type"] == "application/json", e
PY
# The response is the endpoint's body, verbatim, on one line.
"$MER_PYTHON" - <<'PY' || fail "the response object is not the endpoint's body"
import json
o = json.loads(open("resp.jsonl").readline())
assert set(o) == {"key", "response"}, o
r = o["response"]
assert r["modelVersion"] == "mock-1" and r["usageMetadata"]["totalTokenCount"] == 15, r
assert "笑容" in r["candidates"][0]["content"]["parts"][0]["text"]
PY

# A rerun sends nothing: every key has its answer.
expect_exit 0 "$MER" query req.jsonl -o resp.jsonl --endpoint "$endpoint"
expect_match out "; 6 answered before; to send 0: 0 answered"
[ "$(log_count)" -eq 6 ] || fail "the rerun sent requests"
# New keys in the input: only they are sent.
write_requests req2.jsonl $keys g h
expect_exit 0 "$MER" query -q req2.jsonl -o resp.jsonl --endpoint "$endpoint"
expect_match out "^'req2.jsonl': 8 keys; 6 answered before; to send 2: 2 answered"
[ "$(log_count)" -eq 8 ] || fail "expected 8 requests in all, got $(log_count)"
check_answered resp.jsonl $keys g h

# The API key appears nowhere but in the header.
for f in resp.jsonl out err; do
  ! grep -qF "$GEMINI_API_KEY" "$f" || fail "the API key leaked into '$f'"
done

# Bad input lines: file:line, nothing sent, no responses file.
printf '{"key": "a", "contents": []}\n{"key": "b", "contents": [\n' >bad1.jsonl
printf '{"key": "a", "contents": []}\n\n{"contents": []}\n' >bad2.jsonl
printf '{"key": 7, "contents": []}\n' >bad3.jsonl
printf '{"key": "x", "contents": []}\n{"key": "y", "request": {}}\n{"key": "z"}\n{"key": "x", "request": {}}\n' >bad4.jsonl
printf '{"key": "x", "request": "text"}\n' >bad5.jsonl
printf '[1, 2]\n' >bad6.jsonl
before=$(log_count)
expect_exit 1 "$MER" query bad1.jsonl -o bad.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'bad1.jsonl':2: not JSON$"
expect_exit 1 "$MER" query bad2.jsonl -o bad.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'bad2.jsonl':3: no \"key\" member$"
expect_exit 1 "$MER" query bad3.jsonl -o bad.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'bad3.jsonl':1: \"key\" is not a string$"
expect_exit 1 "$MER" query bad4.jsonl -o bad.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'bad4.jsonl':4: key 'x' repeats line 1$"
expect_exit 1 "$MER" query bad5.jsonl -o bad.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'bad5.jsonl':1: \"request\" is not an object$"
expect_exit 1 "$MER" query bad6.jsonl -o bad.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'bad6.jsonl':1: not a JSON object$"
expect_exit 1 "$MER" query missing.jsonl -o bad.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'missing.jsonl': cannot open: No such file or directory$"
[ "$(log_count)" -eq "$before" ] || fail "bad input was sent"
[ ! -e bad.jsonl ] || fail "bad input made a responses file"

# A responses file with a line mer query did not write is left alone.
printf '{"key": "a", "response": {}}\n{"something": "else"}\n' >foreign.jsonl
cp foreign.jsonl foreign.before
expect_exit 1 "$MER" query req.jsonl -o foreign.jsonl --endpoint "$endpoint"
expect_err_line "^mer query: 'foreign.jsonl':2: not a response line"
expect_same foreign.before foreign.jsonl

# A Batch API output line with "status" instead of "error" counts as a failed key.
printf '{"key": "a", "status": {"code": 13, "message": "internal"}}\n' >batch.jsonl
write_requests one-a.jsonl a
expect_exit 0 "$MER" query -q one-a.jsonl -o batch.jsonl --endpoint "$endpoint" --no-retry-failed
expect_match out "; 0 answered before, 1 failed before \(not resent\); to send 0:"

# A 50 MB request line (a clip inline) goes out whole.
"$MER_PYTHON" - <<'PY'
import json
req = {"contents": [{"parts": [{"text": "big"}, {"inline_data": {"mime_type": "video/mp4",
       "data": "QUJD" * (50 << 18)}}]}]}
with open("big.jsonl", "w") as f:
    f.write(json.dumps({"key": "big", "request": req}) + "\n")
PY
expect_exit 0 "$MER" query -q big.jsonl -o big.out --endpoint "$endpoint"
check_answered big.out big
rm big.jsonl

# --shard i/n: every n-th key of the input from the i-th; the shards add up to the whole.
expect_exit 0 "$MER" query -q req2.jsonl -o s0.jsonl --endpoint "$endpoint" --shard 0/3
expect_match out "^'req2.jsonl': 8 keys, 3 in shard 0/3; 0 answered before; to send 3: 3 answered"
check_answered s0.jsonl a d g
expect_exit 0 "$MER" query -q req2.jsonl -o s1.jsonl --endpoint "$endpoint" --shard 1/3
check_answered s1.jsonl b 中文-e h
expect_exit 0 "$MER" query -q req2.jsonl -o s2.jsonl --endpoint "$endpoint" --shard 2/3
check_answered s2.jsonl c f
expect_exit 2 "$MER" query req2.jsonl -o s3.jsonl --endpoint "$endpoint" --shard 3/3

# A wrong key: 403 is final (no retries), one error line per key, exit 1.
write_requests one.jsonl p q
before=$(log_count)
GEMINI_API_KEY=wrong expect_exit 1 "$MER" query -q one.jsonl -o denied.jsonl --endpoint "$endpoint"
expect_match out "to send 2: 0 answered, 2 failed; 2 requests \(0 retries\)"
expect_match out "^failed: HTTP 403 2$"
expect_err_line "^mer query: 2 of 2 keys failed \(their error lines are in 'denied.jsonl'; a rerun retries them\)$"
[ "$(log_count)" -eq $((before + 2)) ] || fail "a 403 was retried"
expect_match denied.jsonl '^\{"key":"p","error":\{"code":403,"message":"mock error 403","status":"PERMISSION_DENIED"\}\}$'
! grep -q wrong denied.jsonl out err || fail "the API key leaked"
# The right key on a rerun: the failed keys are sent again and answered.
expect_exit 0 "$MER" query -q one.jsonl -o denied.jsonl --endpoint "$endpoint"
expect_match out "to send 2: 2 answered"
check_answered denied.jsonl p q
done_testing
