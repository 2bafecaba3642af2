#!/usr/bin/env bash
# mer ingest on generated answers for the bundled sample: every kind of answer (plain, fenced,
# Chinese keys, list scores, a missing modality, blocked, error, truncated, no JSON) lands in
# the right status; the priors store holds exactly the scores, contributions, reliabilities
# and hash embeddings that a Python reimplementation computes; mer train takes the priors and
# the pseudo-labels.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"

"$MER_PYTHON" - "$S/manifest.csv" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
classes = ["worried", "happy", "neutral", "angry", "surprise", "sad"]  # the prompt's order
zh = {"worried": "担心", "happy": "开心", "neutral": "中性", "angry": "生气", "surprise": "惊讶",
      "sad": "悲伤"}
cues = {"worried": "a furrowed brow and a trembling voice", "happy": "a broad smile, bright eyes",
        "neutral": "a relaxed face, flat tone", "angry": "a clenched jaw, a loud sharp tone",
        "surprise": "raised eyebrows, a sudden gasp", "sad": "tears and a low, slow voice"}

def scores(label, peak):
    return {c: (peak if c == label else (100 - peak) // 5) for c in classes}

def answer(i, truth):
    label = truth if i % 3 else classes[(classes.index(truth) + 1) % 6]
    mods = {}
    for k, m in enumerate(["visual", "acoustic", "textual"]):
        lab = truth if (i + k) % 4 else label
        mods[m] = {"reasoning": f"{m} shows {cues[lab]} (clip {i})", "scores": scores(lab, 50 + 10 * k)}
    a = dict(mods, reasoning=f"overall {label}", label=label, scores=scores(label, 60),
             contribution={"visual": 50, "acoustic": 30, "textual": 20})
    return a

def line(key, text, finish="STOP"):
    return json.dumps({"key": key, "response": {"candidates": [
        {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": finish}]}},
        ensure_ascii=False)

out = []
with open("semi.csv", "w") as f:
    f.write("name,label,split\n")
    for i, r in enumerate(rows):
        f.write(f"{r['name']},{'' if r['split'] == 'test' else r['label']},"
                f"{'unlabeled' if r['split'] == 'test' else 'train'}\n")
truth = {}
for i, r in enumerate(rows):
    key, kind, a = r["name"], i % 20, answer(i, r["label"])
    truth[key] = {"kind": kind, "split": "unlabeled" if r["split"] == "test" else "train",
                  "answer": json.loads(json.dumps(a))}
    if kind == 3:
        del truth[key]["answer"]["textual"]
    if kind == 0:
        out.append(line(key, "Here you go:\n```json\n" + json.dumps(a, indent=1)[:-1] + ",}\n```\nDone."))
    elif kind == 1:
        z = {"视觉": {"推理过程": a["visual"]["reasoning"], "分数": {zh[c]: v for c, v in a["visual"]["scores"].items()}},
             "声学": {"推理过程": a["acoustic"]["reasoning"], "得分": a["acoustic"]["scores"]},
             "文本": {"推理过程": a["textual"]["reasoning"], "分数": a["textual"]["scores"]},
             "推理过程": a["reasoning"], "情绪": zh[a["label"]], "分数": a["scores"],
             "贡献度": {"视觉": 50, "声学": 30, "文本": 20}}
        out.append(line(key, json.dumps(z, ensure_ascii=False)))
    elif kind == 2:
        for m in ["visual", "acoustic", "textual"]:
            a[m]["scores"] = [a[m]["scores"][c] / 100 for c in classes]
        out.append(line(key, json.dumps(a)))
    elif kind == 3:
        del a["textual"]
        out.append(line(key, json.dumps(a)))
    elif kind == 4:
        out.append(json.dumps({"key": key, "response": {"promptFeedback": {"blockReason": "SAFETY"}}}))
    elif kind == 5:
        out.append(json.dumps({"key": key, "error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}))
    elif kind == 6:
        out.append(line(key, json.dumps(a)[:100], "MAX_TOKENS"))
    elif kind == 7:
        out.append(line(key, "I cannot determine the emotion."))
    else:
        out.append(line(key, json.dumps(a)))
# sample 0 answered again (the last answer wins), an unknown key, a blank line, lines that
# are no answers, and a last line cut short
dup = answer(0, rows[0]["label"]); dup["label"] = "surprise"
out.append(line(rows[0]["name"], json.dumps(dup)))
out.append(line("no_such_clip", json.dumps(answer(1, "happy"))))
out.append("")
out.append("this is not JSON")
out.append(json.dumps({"response": {}}))
truth[rows[0]["name"]]["answer"]["label"] = "surprise"
json.dump(truth, open("truth.json", "w"))
open("responses.jsonl", "w").write("\n".join(out) + "\n" + line("x", "{}")[:30])
PY
"$MER" import-labels -q semi.csv -o labels.safetensors

expect_exit 0 "$MER" ingest responses.jsonl --labels labels.safetensors -o priors.safetensors \
  --pseudo-labels pseudo.safetensors
cat out
expect_match out '^ingest: 632 lines in 1 file; 626 of 626 samples answered \(1 unknown keys, 1 duplicates, 3 failed lines\)$'
expect_match out '^status: parsed 468, partial 32, blocked 63, error 32, failed 31, no_answer 0$'
expect_match out '^reasons: .*blockReason SAFETY 32'
expect_match out '^  overall +[0-9]+ +0\.[0-9]+ +0\.[0-9]+$'
[ -s ingest-report.json ] || fail "no ingest-report.json"
ls | grep -q '\.tmp' && fail "a temporary file was left"

# the store and report against a Python reimplementation
"$MER_PYTHON" - "$MER_SRC/tests/oracle" <<'PY'
import json, struct, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import textenc_hash as th

def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    dt = {"F32": "<f4", "I64": "<i8", "U8": "u1"}
    t = {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                          dtype=dt[v["dtype"]]).reshape(v["shape"]) for k, v in h.items()}
    return t, meta

t, meta = load("priors.safetensors")
ids, classes = json.loads(meta["mer.ids"]), json.loads(meta["mer.classes"])
assert meta["mer.kind"] == "priors" and t["prior"].shape == (626, 3, 263), t["prior"].shape
truth = json.load(open("truth.json"))
mods = ["acoustic", "visual", "textual"]
# the hash encoder, fitted on the reasoning of the train split's usable answers
fit_texts = [tr["answer"][m]["reasoning"] for tr in truth.values()
             if tr["split"] == "train" and tr["kind"] not in (4, 5, 6, 7)
             for m in mods if m in tr["answer"]]
idf, default_idf = th.fit(fit_texts)
checked = embedded = 0
for i, name in enumerate(ids):
    kind, a = truth[name]["kind"], truth[name]["answer"]
    if kind in (4, 5, 6, 7):
        assert not t["present"][i].any() and not t["prior"][i].any(), (i, name)
        assert t["status"][i] == {4: 3, 5: 4, 6: 3, 7: 5}[kind]
        assert t["llm_label"][i] == -1
        continue
    assert t["status"][i] == (2 if kind == 3 else 1)
    assert t["llm_label"][i] == classes.index(a["label"])
    for m_i, m in enumerate(mods):
        row = t["prior"][i, m_i]
        if m not in a:
            assert kind == 3 and not row.any() and t["present"][i, m_i] == 0
            continue
        s = a[m]["scores"]
        tot = sum(s.values())
        want = np.array([s[c] / tot for c in classes], dtype=np.float32)
        assert np.allclose(row[256:262], want, atol=1e-6), (name, m, row[256:262], want)
        assert abs(row[262] - {"visual": .5, "acoustic": .3, "textual": .2}[m]) < 1e-6
        srt = sorted(want, reverse=True)
        agree = 1.0 if int(np.argmax(want)) == classes.index(a["label"]) else 0.5
        r = agree * (0.5 + 0.5 * (srt[0] - srt[1]))
        assert abs(t["reliability"][i, m_i] - r) < 1e-5, (name, m, t["reliability"][i, m_i], r)
        assert t["present"][i, m_i] == (r >= 0.3)
        if i < 60:
            emb = th.encode(a[m]["reasoning"], 256, idf, default_idf)
            assert np.abs(row[:256] - emb).max() < 1e-5, (name, m, np.abs(row[:256] - emb).max())
            embedded += 1
        checked += 1
assert checked > 1000 and embedded > 100, (checked, embedded)
# the duplicate: the last answer (label surprise) won
assert classes[t["llm_label"][0]] == "surprise"
rep = json.load(open("ingest-report.json"))
assert rep["unknown_keys"] == {"examples": ["no_such_clip"], "count": 1}, rep["unknown_keys"]
assert rep["duplicate_keys"]["count"] == 1
assert [(l["line"], l["reason"]) for l in rep["failed_lines"]] == [
    (630, "not valid JSON (a truncated line?)"), (631, 'no "key" string'),
    (632, "not valid JSON (a truncated line?)")], rep["failed_lines"]
assert rep["missing"] == {"textual": 32}, rep["missing"]
assert rep["status"]["blocked"] == 63 and rep["reasons"]["finishReason MAX_TOKENS"] == 31
assert rep["zero_shot"]["overall"]["labeled"] == 504
assert len(rep["reliability"]["visual"]["histogram"]) == 10
# pseudo-labels: the LLM's label on unlabeled clips only, with the overall reliability
p, pm = load("pseudo.safetensors")
assert pm["mer.kind"] == "labels" and p["reliability"].shape == (626,)
for i, name in enumerate(ids):
    if truth[name]["split"] == "train":
        assert p["label"][i] == -1
    elif truth[name]["kind"] not in (4, 5, 6, 7):
        assert p["label"][i] == t["llm_label"][i] and p["reliability"][i] > 0
print("checked", checked, "traces,", embedded, "embeddings")
PY

# deterministic: the same data section (checksum) on a second run
expect_exit 0 "$MER" ingest -q responses.jsonl --labels labels.safetensors -o p2.safetensors \
  --report r2.json
[ ! -s out ] || fail "-q printed something"
"$MER" info priors.safetensors | grep checksum >c1
"$MER" info p2.safetensors | grep checksum >c2
expect_same c1 c2

# existing outputs are kept unless --force
expect_exit 1 "$MER" ingest responses.jsonl --labels labels.safetensors -o priors.safetensors
expect_err_line "^mer ingest: 'priors.safetensors' exists \(--force overwrites it\)$"
expect_exit 0 "$MER" ingest -q --force responses.jsonl --labels labels.safetensors \
  -o priors.safetensors --min-reliability 0.9 --dim 32
"$MER_PYTHON" -c "
import json, struct
b = open('priors.safetensors', 'rb').read(); n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); assert h['prior']['shape'] == [626, 3, 39], h['prior']
assert h['__metadata__']['mer.min_reliability'] == '0.9'"

# mer train takes the priors (and the pseudo-labels for stage 1)
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import -q "$S/features/Baichuan-13B-UTT" -o text.safetensors >/dev/null
cat >cfg.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors",
          "priors": "p2.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 2, "patience": 0, "folds": 2,
 "pretrain": {"enabled": true, "pseudo_labels": "pseudo.safetensors", "epochs": 1,
              "min_reliability": 0.3}}}
JSON
expect_exit 0 "$MER" train --config cfg.json --out run --threads 1 -q
[ -s run/metrics.json ] || fail "no metrics from training with priors"
[ "$(wc -l <run/fold-0/pretrain.jsonl)" -eq 1 ] || fail "expected 1 stage-1 epoch"
done_testing
