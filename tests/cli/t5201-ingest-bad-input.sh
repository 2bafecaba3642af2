#!/usr/bin/env bash
# mer ingest on bad input: usage errors exit 2; a missing or broken input exits 1 with one line
# naming it and writes nothing; bad lines (truncated, invalid UTF-8, not JSON, a 50 MB line)
# are counted with their line numbers and the run goes on.
. "$MER_SRC/tests/cli/lib.sh"

printf 'name,label\na,happy\nb,sad\nc,\n' >labels.csv
"$MER" import-labels -q labels.csv -o labels.safetensors
ok='{"visual": {"reasoning": "smiling", "scores": {"happy": 80, "sad": 20}}, "label": "happy"}'
line() { # key answer-text
  "$MER_PYTHON" -c 'import json, sys; print(json.dumps({"key": sys.argv[1], "response": {"candidates": [{"content": {"parts": [{"text": sys.argv[2]}]}, "finishReason": "STOP"}]}}))' "$1" "$2"
}
line a "$ok" >good.jsonl

nothing_written() {
  [ ! -e out.safetensors ] && [ ! -e ingest-report.json ] || fail "a failed run wrote an output"
  ls | grep -q '\.tmp' && fail "a failed run left a temporary file"
  return 0
}

# usage
expect_exit 2 "$MER" ingest good.jsonl -o out.safetensors
expect_match err "no labels store given"
expect_exit 2 "$MER" ingest --labels labels.safetensors -o out.safetensors
expect_match err "no responses file given"
expect_exit 2 "$MER" ingest good.jsonl --labels labels.safetensors
expect_match err "no output given"
expect_exit 2 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors --dim 0
expect_match err "^mer ingest: option '--dim': expected an integer >= 1, got '0'$"
expect_exit 2 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --min-reliability 1.5
expect_match err "^mer ingest: option '--min-reliability': expected a number in \\[0, 1\\], got '1.5'$"
nothing_written

# missing and broken inputs
expect_exit 1 "$MER" ingest good.jsonl --labels absent.safetensors -o out.safetensors
expect_err_line "^mer ingest: 'absent.safetensors': .*No such file"
expect_exit 1 "$MER" ingest absent.jsonl --labels labels.safetensors -o out.safetensors
expect_err_line "^mer ingest: 'absent.jsonl': cannot open: No such file or directory$"
expect_exit 1 "$MER" ingest good.jsonl --labels labels.csv -o out.safetensors
expect_err_line "^mer ingest: 'labels.csv': "
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o good.jsonl --force
expect_err_line "^mer ingest: 'good.jsonl' is both an input and an output$"
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --encoder bert
expect_err_line "^mer ingest: unknown text encoder 'bert' \(expected hash, "
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --encoder precomputed:absent.jsonl
expect_err_line "^mer ingest: 'absent.jsonl': cannot open"
printf '{"key": "a", "modality": "visual", "embedding": [1, 2]}\n{"key": "b", "modality": "visual", "embedding": [1]}\n' >emb.jsonl
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --encoder precomputed:emb.jsonl
expect_err_line "^mer ingest: 'emb.jsonl':2: embedding of 1 numbers, expected 2$"
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --config absent.json
expect_err_line "absent.json"
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --score-order happy,sad
expect_err_line "^mer ingest: --score-order: 2 classes listed, the labels store has 6$"
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --score-order happy,sad,happy
expect_err_line "^mer ingest: --score-order: 'happy' is listed twice$"
expect_exit 1 "$MER" ingest good.jsonl --labels labels.safetensors -o out.safetensors \
  --score-order happy,joy
expect_err_line "^mer ingest: --score-order: 'joy' is not a class of the labels store$"
nothing_written

# scores as a list follow --score-order (here the labels store's own order)
line a '{"visual": {"reasoning": "x", "scores": [0, 0, 3, 1, 0, 0]}, "label": "happy"}' >list.jsonl
expect_exit 0 "$MER" ingest list.jsonl --labels labels.safetensors -o list.safetensors \
  --report list.json --score-order neutral,angry,happy,sad,worried,surprise
"$MER_PYTHON" - <<'PY'
import json, struct
import numpy as np
b = open("list.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); o = 8 + n + h["prior"]["data_offsets"][0]
p = np.frombuffer(b[o:o + 4 * 3 * 3 * 263], dtype="<f4").reshape(3, 3, 263)
assert np.allclose(p[0, 1, 256:262], [0, 0, .75, .25, 0, 0]), p[0, 1, 256:262]
PY

# nothing usable: an error, no output
{ echo 'garbage'; line zz "$ok"; line b "no json here"; } >bad.jsonl
expect_exit 1 "$MER" ingest bad.jsonl --labels labels.safetensors -o out.safetensors
expect_err_line "^mer ingest: no answer for a sample of 'labels.safetensors' could be parsed \(3 lines read, 1 failed, 1 with unknown keys\)$"
nothing_written

# bad lines among good ones: counted, reported with their line numbers, the rest kept
{
  line a "$ok"
  printf '{"key": "b", "response": {"candidates": [{"content": {"parts": [{"text": "\377"}]}}]}}\n'
  echo '[1, 2, 3]'
  head -c 40 good.jsonl
} >mixed.jsonl
expect_exit 0 "$MER" ingest mixed.jsonl --labels labels.safetensors -o out.safetensors
expect_match out '^ingest: 4 lines in 1 file; 1 of 3 samples answered \(0 unknown keys, 0 duplicates, 3 failed lines\)$'
expect_match out 'reasons: invalid UTF-8 1, not a JSON object 1, not valid JSON \(a truncated line\?\) 1'
"$MER_PYTHON" - <<'PY'
import json
r = json.load(open("ingest-report.json"))
got = [(l["file"], l["line"], l["reason"]) for l in r["failed_lines"]]
assert got == [("mixed.jsonl", 2, "invalid UTF-8 at byte 75"), ("mixed.jsonl", 3, "not a JSON object"),
               ("mixed.jsonl", 4, "not valid JSON (a truncated line?)")], got
assert r["status"]["no_answer"] == 2
PY

# a 50 MB line (an answer drowned in prose) and a 50 MB line of garbage: linear, no crash
"$MER_PYTHON" - <<'PY'
import json
ok = {"visual": {"reasoning": "smiling", "scores": {"happy": 80, "sad": 20}}, "label": "happy"}
text = "x" * (50 << 20) + json.dumps(ok)
braces = "{" * (10 << 20)  # every opening tried (up to a bound), none closes
with open("big.jsonl", "w") as f:
    f.write(json.dumps({"key": "a", "response": {"candidates": [{"content": {"parts": [{"text": text}]}}]}}) + "\n")
    f.write("[" * (50 << 20) + "\n")
    f.write(json.dumps({"key": "b", "response": {"candidates": [{"content": {"parts": [{"text": json.dumps(ok)}]}}]}}) + "\n")
    f.write(json.dumps({"key": "c", "response": {"candidates": [{"content": {"parts": [{"text": braces}]}}]}}) + "\n")
PY
expect_exit 0 timeout 60 "$MER" ingest big.jsonl --labels labels.safetensors -o big.safetensors \
  --report big.json
expect_match out '^status: parsed 0, partial 2, blocked 0, error 0, failed 1, no_answer 0$'
expect_match out 'reasons: no JSON object in the answer 1, not valid JSON \(a truncated line\?\) 1$'
rm -f big.jsonl
done_testing
