#!/usr/bin/env bash
# mer ingest --encoder torchscript:<model.pt>: a tiny BERT-like model exported by
# tests/oracle/tiny_bert.py (vocab.txt beside it); the stored embeddings equal what the same
# model gives in Python, and the prior size follows the model's.
. "$MER_SRC/tests/cli/lib.sh"

"$MER_PYTHON" "$MER_SRC/tests/oracle/tiny_bert.py" bert >/dev/null
printf 'name,label\na,happy\nb,sad\nc,angry\n' >labels.csv
"$MER" import-labels -q labels.csv -o labels.safetensors
"$MER_PYTHON" - <<'PY'
import json
texts = {"a": ("He smiles and says ok.", "她开心地笑了", "said the man"),
         "b": ("tears, a low voice", "声音颤抖", "Unbelievable!")}
with open("responses.jsonl", "w") as f:
    for k, (v, a, t) in texts.items():
        ans = {"visual": {"reasoning": v, "scores": {"happy": 60, "sad": 40}},
               "acoustic": {"reasoning": a, "scores": {"happy": 50, "sad": 50}},
               "textual": {"reasoning": t, "scores": {"happy": 90, "sad": 10}},
               "label": "happy", "contribution": {"visual": 1, "acoustic": 1, "textual": 2}}
        f.write(json.dumps({"key": k, "response": {"candidates": [{"content": {"parts": [
            {"text": json.dumps(ans, ensure_ascii=False)}]}, "finishReason": "STOP"}]}},
            ensure_ascii=False) + "\n")
    json.dump(texts, open("texts.json", "w"))
PY
expect_exit 0 "$MER" ingest responses.jsonl --labels labels.safetensors -o priors.safetensors \
  --encoder torchscript:bert/model/model.pt
expect_match out '^priors: \[3, 3, 39\] \(torchscript:bert/model/model.pt encoder, embedding 32 \+ 6 scores \+ contribution\)$'
"$MER_PYTHON" - "$MER_SRC/tests/oracle" <<'PY'
import json, struct, sys
import numpy as np
import torch
sys.path.insert(0, sys.argv[1])
import tiny_bert

b = open("priors.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
o = 8 + n + h["prior"]["data_offsets"][0]
prior = np.frombuffer(b[o:o + 4 * 3 * 3 * 39], dtype="<f4").reshape(3, 3, 39)
vocab = {t: i for i, t in enumerate(open("bert/model/vocab.txt").read().split("\n")[:-1])}
model = torch.jit.load("bert/model/model.pt")
texts = json.load(open("texts.json"))
worst = 0
for i, key in enumerate(["a", "b"]):
    v, a, t = texts[key]
    for m, text in enumerate([a, v, t]):  # store order: audio, video, text
        ids = tiny_bert.encode(text.encode(), vocab, 128)
        with torch.no_grad():
            want = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.int64)).numpy().ravel()
        worst = max(worst, float(np.abs(prior[i, m, :32] - want).max()))
assert worst < 1e-5, worst
assert not prior[2].any()
print("torchscript embeddings vs Python: maxdiff %.3g" % worst)
PY
expect_exit 1 "$MER" ingest responses.jsonl --labels labels.safetensors -o p2.safetensors \
  --encoder torchscript:bert/model/model.pt --dim 16
expect_err_line "^mer ingest: 'bert/model/model.pt': the encoder gives 32 numbers, but a dimension of 16 was asked for$"
expect_exit 1 "$MER" ingest responses.jsonl --labels labels.safetensors -o p2.safetensors \
  --encoder torchscript:absent/model.pt
expect_err_line "^mer ingest: .*absent/"
[ ! -e p2.safetensors ] || fail "a failed run wrote its output"
done_testing
