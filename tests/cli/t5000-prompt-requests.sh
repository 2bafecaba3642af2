#!/usr/bin/env bash
# mer prompt writes Gemini requests: checked by Python (the oracle) line by line: the key order,
# both formats, base64 that decodes to the clip's bytes, MIME types, file_data for clips over
# --max-inline-mb, placeholders filled, the response schema, shards that partition the rows,
# byte-identical reruns.
. "$MER_SRC/tests/cli/lib.sh"

# Six samples; quoted fields with a comma, a quote, a line break; an empty subtitle; URIs.
cat >ds.csv <<'EOF'
name,chinese,english,file_uri
a1,你好,"Hello, ""world""",
b2,"多行
字幕",Two lines,https://generativelanguage.googleapis.com/v1beta/files/b2
c3,,Empty Chinese,
d4,再见,Bye,https://generativelanguage.googleapis.com/v1beta/files/d4
e5,好,Good,
f6,走,Go,https://generativelanguage.googleapis.com/v1beta/files/f6
g7,长,Long,https://generativelanguage.googleapis.com/v1beta/files/g7
h8,空,Empty clip,
EOF
# Characters JSON must escape: a tab, a backslash, a control character.
sed -i 's/^c3,,Empty Chinese,$/c3,,Empty\tChinese \\ \x01,/' ds.csv
mkdir clips
# Sizes around --max-inline-mb 0.0001 (100 bytes of base64 = 75 raw bytes): e5 is exactly at the
# limit (inline), d4, f6 and g7 are over it (sent by URI); g7 spans several read chunks when inlined
# (48 KiB each), h8 is empty.
"$MER_PYTHON" - <<'EOF'
import random
r = random.Random(5000)
for name, n in [("a1.mp4", 1), ("b2.avi", 5), ("c3.wav", 30), ("d4.webm", 200), ("e5.mov", 75),
                ("f6.mkv", 76), ("g7.mp4", 150001), ("h8.wav", 0)]:
    open("clips/" + name, "wb").write(bytes(r.randrange(256) for _ in range(n)))
open("clips/a1.wav", "wb").write(b"not this one: .mp4 comes first")
EOF
printf 'N={name}|S={subtitle}|E={subtitle_en}|Z={subtitle_zh}|C={classes}|{{name}|{"json": 1}|{ x }|{\n' >t.txt

# The oracle: checks a requests file against the dataset, the clips and the options.
cat >check.py <<'EOF'
import base64, csv, json, os, sys
path, fmt, limit, model, temp, classes, sub = sys.argv[1:8]
limit, temp, classes = float(limit), float(temp), classes.split(",")
rows = list(csv.DictReader(open("ds.csv", encoding="utf-8", newline="")))
if len(sys.argv) > 8:  # shard i/n
    i, n = map(int, sys.argv[8].split("/"))
    rows = rows[i::n]
mimes = {"mp4": "video/mp4", "avi": "video/avi", "wav": "audio/wav", "webm": "video/webm",
         "mov": "video/mov", "mkv": "video/x-matroska"}
def scores():
    return {"type": "OBJECT", "description": "a percentage per emotion, summing to 100",
            "properties": {c: {"type": "NUMBER"} for c in classes},
            "required": classes, "propertyOrdering": classes}
lines = open(path, encoding="utf-8").read().split("\n")
assert lines[-1] == "", "no final newline"
lines = lines[:-1]
assert len(lines) == len(rows), (len(lines), len(rows))
n_inline = n_uri = 0
for line, row in zip(lines, rows):
    o = json.loads(line)
    if fmt == "batch":
        assert list(o) == ["key", "request"], list(o)
        req = o["request"]
        assert list(req) == ["contents", "generationConfig"], list(req)
    else:
        assert list(o) == ["key", "model", "contents", "generationConfig"], list(o)
        assert o["model"] == (model if model.startswith("models/") else "models/" + model)
        req = o
    assert o["key"] == row["name"]
    (content,) = req["contents"]
    assert content["role"] == "user"
    parts = content["parts"]
    want = "N=%s|S=%s|E=%s|Z=%s|C=%s|{name}|{\"json\": 1}|{ x }|{\n" % (
        row["name"], row[sub], row["english"], row["chinese"], ", ".join(classes))
    assert parts[-1] == {"text": want}, (parts[-1], want)
    clip = [f for f in sorted(os.listdir("clips")) if f.startswith(row["name"] + ".")]
    clip = [f for f in clip if not f.endswith(".wav") or len(clip) == 1][0]
    data = open("clips/" + clip, "rb").read()
    mime = mimes[clip.rsplit(".", 1)[1]]
    if len(base64.b64encode(data)) <= limit * 1e6:
        assert parts[0] == {"inline_data": {"mime_type": mime, "data": base64.b64encode(data).decode()}}
        assert list(parts[0]["inline_data"]) == ["mime_type", "data"]
        assert base64.b64decode(parts[0]["inline_data"]["data"]) == data
        n_inline += 1
    else:
        assert parts[0] == {"file_data": {"mime_type": mime, "file_uri": row["file_uri"]}}, parts[0]
        n_uri += 1
    assert len(parts) == 2
    gc = req["generationConfig"]
    assert list(gc) == ["temperature", "responseMimeType", "responseSchema"], list(gc)
    assert gc["temperature"] == temp and gc["responseMimeType"] == "application/json"
    s = gc["responseSchema"]
    keys = ["visual", "acoustic", "textual", "reasoning", "label", "scores", "contribution"]
    assert s["type"] == "OBJECT" and list(s["properties"]) == keys
    assert s["required"] == keys and s["propertyOrdering"] == keys
    for m in keys[:3]:
        p = s["properties"][m]
        assert p["type"] == "OBJECT" and p["required"] == ["reasoning", "scores"]
        assert p["properties"]["reasoning"] == {"type": "STRING"}
        assert p["properties"]["scores"] == scores()
    assert s["properties"]["reasoning"]["type"] == "STRING"
    label = s["properties"]["label"]
    assert label["type"] == "STRING" and label["enum"] == classes and label["format"] == "enum"
    assert s["properties"]["scores"] == scores()
    contrib = s["properties"]["contribution"]
    assert list(contrib["properties"]) == keys[:3] and contrib["required"] == keys[:3]
    assert all(v == {"type": "NUMBER"} for v in contrib["properties"].values())
print("ok %d lines, %d inline, %d file_data" % (len(lines), n_inline, n_uri))
EOF

DEFAULT_CLASSES=worried,happy,neutral,angry,surprise,sad
prompt() {
  "$MER" prompt --dataset ds.csv --clips clips --template t.txt --uri-column file_uri \
    --max-inline-mb 0.0001 "$@"
}
oracle() {
  n_checks=$((n_checks + 1))
  "$MER_PYTHON" check.py "$@" >oracle.out || fail "oracle rejected '$1'"
}

# Batch format, defaults otherwise.
expect_exit 0 prompt -o batch.jsonl
expect_match out "^wrote 8 requests \(batch format, gemini-2.5-flash\) to 'batch.jsonl', 0.0 MB: 5 inline, 3 file_data, 0 text-only$"
oracle batch.jsonl batch 0.0001 gemini-2.5-flash 0.2 $DEFAULT_CLASSES chinese
expect_match oracle.out '^ok 8 lines, 5 inline, 3 file_data$'

# Requests format, every option that shapes a request.
expect_exit 0 prompt -o req.jsonl --format requests --model gemini-2.5-pro --temperature 0.7 \
  --classes 'joy, anger,calm' --subtitle-column english
oracle req.jsonl requests 0.0001 gemini-2.5-pro 0.7 joy,anger,calm english
expect_exit 0 prompt -o req2.jsonl --format requests --model models/x-1
oracle req2.jsonl requests 0.0001 models/x-1 0.2 $DEFAULT_CLASSES chinese
# A generous limit inlines everything.
expect_exit 0 prompt -o big.jsonl --max-inline-mb 20
oracle big.jsonl batch 20 gemini-2.5-flash 0.2 $DEFAULT_CLASSES chinese
expect_match oracle.out '^ok 8 lines, 8 inline, 0 file_data$'

# Deterministic: a second run is byte-identical.
expect_exit 0 prompt -o batch2.jsonl -q
[ ! -s out ] || fail "--quiet printed: $(cat out)"
cmp batch.jsonl batch2.jsonl || fail "two runs differ"
# Numbers are written in their shortest exact form.
expect_match batch.jsonl '"generationConfig":\{"temperature":0.2,"responseMimeType"'

# Shards partition the rows: shard i holds rows i, i+n, ..., the same bytes as the full run.
for i in 0 1 2 3; do
  expect_exit 0 prompt -o shard$i.jsonl --shard $i/4
  oracle shard$i.jsonl batch 0.0001 gemini-2.5-flash 0.2 $DEFAULT_CLASSES chinese $i/4
done
"$MER_PYTHON" - <<'EOF' || fail "shards do not partition the full run"
full = open("batch.jsonl").read().splitlines()
shards = [open("shard%d.jsonl" % i).read().splitlines() for i in range(4)]
assert sorted(sum(shards, [])) == sorted(full)
for i, s in enumerate(shards):
    assert s == full[i::4], i
EOF

# --schema replaces the built-in schema (written compact); --print-schema shows the built-in one.
expect_exit 0 "$MER" prompt --print-schema
"$MER_PYTHON" -c '
import json, sys
s = json.load(open("out"))
line = json.loads(open("batch.jsonl").readline())
assert s == line["request"]["generationConfig"]["responseSchema"]
' || fail "--print-schema differs from the schema in the requests"
printf '{\n  "type": "OBJECT",\n  "properties": {"label": {"type": "STRING"}}\n}\n' >schema.json
expect_exit 0 prompt -o custom.jsonl --schema schema.json
expect_match custom.jsonl '"responseSchema":\{"type":"OBJECT","properties":\{"label":\{"type":"STRING"\}\}\}\}\}\}$'

# Text-only requests: no clip part at all; --allow-missing gives one to a row without a clip.
expect_exit 0 "$MER" prompt --dataset ds.csv --text-only --template t.txt -o text.jsonl
expect_match out ': 0 inline, 0 file_data, 8 text-only$'
rm clips/c3.wav
expect_exit 0 prompt -o missing.jsonl --allow-missing
expect_match out ': 4 inline, 3 file_data, 1 text-only$'
"$MER_PYTHON" -c '
import json
for line in open("text.jsonl"):
    parts = json.loads(line)["request"]["contents"][0]["parts"]
    assert len(parts) == 1 and list(parts[0]) == ["text"], parts
parts = json.loads(open("missing.jsonl").read().splitlines()[2])["request"]["contents"][0]["parts"]
assert len(parts) == 1 and list(parts[0]) == ["text"], parts
' || fail "text-only requests hold more than the text"

# The shipped templates parse, and fill from the sample transcripts; each built in is the
# file's bytes (from a directory without configs/). en and zh ask to watch the clip: with clips
# (empty .wav files named after the rows); en-text and zh-text are their text-only versions.
mkdir -p elsewhere sclips
"$MER_PYTHON" - "$MER_SRC/data/sample/transcripts.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
for r in rows[::100]:
    open("sclips/%s.wav" % r["name"], "wb").write(b"RIFF")
PY
for lang in en zh en-text zh-text; do
  case $lang in *-text) media=--text-only ;; *) media="--clips $PWD/sclips" ;; esac
  expect_exit 0 "$MER" prompt --dataset "$MER_SRC/data/sample/transcripts.csv" $media \
    --template "$MER_SRC/configs/prompts/$lang.txt" -o $lang.jsonl --shard 0/100
  expect_match out "^wrote 7 requests "
  "$MER_PYTHON" -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
text = o["request"]["contents"][0]["parts"][-1]["text"]
assert "样本 0001" in text and "worried, happy, neutral, angry, surprise, sad" in text, text
assert "{" + "subtitle}" not in text and "{" + "classes}" not in text
# only a request with a clip asks to watch and listen to it
watch = "Watch and listen" in text or "观看并聆听" in text
assert watch == (not sys.argv[1].endswith("-text.jsonl")), (sys.argv[1], text[:80])
' $lang.jsonl || fail "the $lang template was not filled"
  (cd elsewhere && "$MER" prompt --dataset "$MER_SRC/data/sample/transcripts.csv" $media \
    --template $lang -o ../$lang-builtin.jsonl --shard 0/100 >/dev/null) ||
    fail "--template $lang failed outside the repository"
  cmp -s $lang.jsonl $lang-builtin.jsonl || fail "the built-in $lang template differs from the file"
done
# --text-only with en or zh (en, the default) takes its text-only version.
(cd elsewhere && "$MER" prompt --dataset "$MER_SRC/data/sample/transcripts.csv" --text-only \
  -o ../default.jsonl --shard 0/100 >/dev/null) || fail "the default template failed"
cmp -s en-text.jsonl default.jsonl || fail "--text-only did not take the built-in en-text"
(cd elsewhere && "$MER" prompt --dataset "$MER_SRC/data/sample/transcripts.csv" --text-only \
  --template zh -o ../zh-default.jsonl --shard 0/100 >/dev/null) || fail "--template zh failed"
cmp -s zh-text.jsonl zh-default.jsonl || fail "--text-only --template zh did not take zh-text"
# --allow-missing: the rows without a clip get the text-only version, the others the clip one.
rm "sclips/$(ls sclips | head -1)"
(cd elsewhere && "$MER" prompt --dataset "$MER_SRC/data/sample/transcripts.csv" \
  --clips ../sclips --allow-missing -o ../mixed.jsonl --shard 0/100 >/dev/null) ||
  fail "--allow-missing failed"
"$MER_PYTHON" - <<'PY' || fail "--allow-missing mixed the templates up"
import json
for line in open("mixed.jsonl"):
    parts = json.loads(line)["request"]["contents"][0]["parts"]
    assert ("Watch and listen" in parts[-1]["text"]) == (len(parts) == 2), parts[-1]["text"][:80]
PY
n_checks=$((n_checks + 1))
done_testing
