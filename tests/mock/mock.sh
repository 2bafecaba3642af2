# Helpers for the mer query tests (sourced after tests/cli/lib.sh): start the mock Gemini
# endpoint on 127.0.0.1, stop it when the test exits, write request files.

# start_mock [--plan FILE]: starts tests/mock/gemini_mock.py, logging to ./mock.log; sets
# $endpoint (with {model} left for mer to fill in) and $mock_pid. Nothing leaves the machine.
start_mock() {
  rm -f mock.port
  MOCK_API_KEY=$MOCK_API_KEY "$MER_PYTHON" "$MER_SRC/tests/mock/gemini_mock.py" \
    --port-file mock.port --log mock.log "$@" &
  mock_pid=$!
  trap 'kill $mock_pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    [ -s mock.port ] && break
    sleep 0.1
  done
  [ -s mock.port ] || fail "the mock server did not start"
  touch mock.log
  endpoint="http://127.0.0.1:$(cat mock.port)/v1beta/models/{model}:generateContent"
}

# write_requests FILE KEY...: one request per key; odd lines in the Batch API form
# {"key", "request"}, even lines as a request with "key" and "model" members (as mer prompt
# --format requests writes them). The mock reads its
# behaviour from the key (see gemini_mock.py).
write_requests() {
  "$MER_PYTHON" - "$@" <<'PY'
import json, sys
path, keys = sys.argv[1], sys.argv[2:]
with open(path, "w", encoding="utf-8") as f:
    for i, k in enumerate(keys):
        req = {"contents": [{"role": "user", "parts": [{"text": k}, {"text": "说说情绪"}]}],
               "generationConfig": {"temperature": 0, "responseMimeType": "application/json"}}
        line = {"key": k, "request": req} if i % 2 == 0 else dict(req, key=k, model="models/x")
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
PY
}

# The tests never talk to a proxy, whatever the environment says.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
MOCK_API_KEY="test-key-$$-not-a-real-key"
export GEMINI_API_KEY=$MOCK_API_KEY

# check_answered FILE KEY...: FILE ends with a newline, every line is a JSON object, and each
# KEY has exactly one "response" line whose answer text echoes the key; no other keys.
check_answered() {
  n_checks=$((n_checks + 1))
  "$MER_PYTHON" - "$@" <<'PY' || fail "'$1' does not hold exactly one answer per key"
import collections, json, sys
path, keys = sys.argv[1], sys.argv[2:]
data = open(path, "rb").read()
assert not data or data.endswith(b"\n"), "no trailing newline"
answers = collections.Counter()
for n, line in enumerate(data.decode().splitlines(), 1):
    o = json.loads(line)
    if "response" in o:
        text = o["response"]["candidates"][0]["content"]["parts"][0]["text"]
        assert json.loads(text)["key"] == o["key"], (n, o["key"])
        answers[o["key"]] += 1
    else:
        assert set(o["error"]) == {"code", "message", "status"}, (n, o)
want = collections.Counter(keys)
assert answers == want, (sorted(answers.items()), sorted(want.items()))
PY
}

# log_count [KEY]: requests the mock got (for KEY).
log_count() {
  "$MER_PYTHON" -c '
import json, sys
key = sys.argv[1] if len(sys.argv) > 1 else None
print(sum(1 for l in open("mock.log") if key is None or json.loads(l)["key"] == key))' "$@"
}
