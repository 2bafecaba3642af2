#!/usr/bin/env bash
# mer extract text: one transcript column through the hash encoder, row for row as the Python
# oracle of that encoder computes it (IDF fitted on the file's non-empty transcripts); empty
# transcripts are zeros and counted; --labels fixes the set and order; bad input is one line.
. "$MER_SRC/tests/cli/lib.sh"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$MER_SRC/tests/oracle"

cat >tr.csv <<'CSV'
name,chinese,english
a,我今天很开心,"I am so happy today, really"
b,别烦我！,Leave me alone!
c,,
d,我有点担心明天的考试,"I'm a little worried about tomorrow's exam"
e,天啊，真没想到,"Oh my, I did not expect that"
CSV
expect_exit 0 "$MER" extract text tr.csv --column english --dim 64 -o en.safetensors
expect_match out "^extracted hash of 5 samples \[D = 64\] into 'en.safetensors' \(0 skipped, 0 missing, 0 extra\)$"
expect_match out "^1 empty transcripts were written as zeros$"
expect_exit 0 "$MER" extract text -q tr.csv --dim 64 -o zh.safetensors
"$MER_PYTHON" - <<'PY' || fail "the rows differ from the oracle's"
import csv, json, numpy as np, store_interop as st, textenc_hash as th
rows = list(csv.DictReader(open("tr.csv", encoding="utf-8")))
for col, path in (("english", "en.safetensors"), ("chinese", "zh.safetensors")):
    meta, t = st.load(path)
    assert json.loads(meta["mer.ids"]) == [r["name"] for r in rows]
    texts = [r[col] for r in rows]
    idf, unseen = th.fit([x for x in texts if x.strip()])
    for i, x in enumerate(texts):
        want = th.encode(x, 64, idf, unseen) if x.strip() else np.zeros(64, np.float32)
        err = np.abs(t["features"][i] - want).max()
        assert err < 1e-6, (col, i, err)
    prov = json.loads(meta["mer.provenance"])
    assert prov["extractor"] == {"extractor": "text", "encoder": "hash", "column": col, "dim": 64}
print("hash rows agree with the oracle")
PY
n_checks=$((n_checks + 1))

# a TorchScript encoder that returns every layer's hidden states: the last four summed and
# averaged over the tokens without [CLS] and [SEP] (MERTools' text features), as Python does it
mkdir ts
cat >export.py <<'PY'
import torch, tiny_bert as tb
from torch import nn
from typing import List
tokens = tb.make_vocab()
open("ts/vocab.txt", "w").write("".join(t + "\n" for t in tokens))
torch.manual_seed(0)
class Layered(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.emb = nn.Embedding(n, 16)
        self.layers = nn.ModuleList([nn.Linear(16, 16) for _ in range(5)])
    def forward(self, input_ids, attention_mask) -> List[torch.Tensor]:
        h = self.emb(input_ids) * attention_mask[..., None]
        out = [h]
        for l in self.layers:
            h = torch.tanh(l(h))
            out.append(h)
        return out
torch.jit.script(Layered(len(tokens))).save("ts/model.pt")
PY
"$MER_PYTHON" export.py || fail "could not export the layered encoder" # (script needs a file)
expect_exit 0 "$MER" extract text tr.csv --column english --encoder torchscript:ts/model.pt -o ts.safetensors
expect_match out "^extracted torchscript:ts/model.pt of 5 samples \[D = 16\]"
"$MER_PYTHON" - <<'PY' || fail "the layered encoder's rows differ from Python's"
import csv, torch, numpy as np, store_interop as st, tiny_bert as tb
vocab = {t: i for i, t in enumerate(tb.make_vocab())}
model = torch.jit.load("ts/model.pt")
m, t = st.load("ts.safetensors")
worst = 0
for i, r in enumerate(csv.DictReader(open("tr.csv", encoding="utf-8"))):
    ids = tb.encode(r["english"].encode(), vocab, 128)
    x = torch.tensor([ids])
    with torch.no_grad():
        hs = model(x, torch.ones_like(x))
    want = torch.stack(hs[-4:]).sum(0)[0, 1:-1].mean(0).numpy() if len(ids) > 2 else np.zeros(16)
    worst = max(worst, float(np.abs(t["features"][i] - want).max()))
assert worst < 1e-5, worst
print("layered TorchScript encoder: max abs difference %.2e" % worst)
PY
n_checks=$((n_checks + 1))

# --labels: the label CSV's names, in its order; a name without a transcript is missing
printf 'name,discrete,valence\nd,worried,-1\nb,angry,-2\nzz,happy,1\n' >labels.csv
expect_exit 0 "$MER" extract text tr.csv --labels labels.csv -o sel.safetensors
expect_match out "\(0 skipped, 1 missing, 3 extra\)$"
expect_match err "warning: 1 names in 'labels.csv' have no transcript in 'tr.csv': 'zz'$"
"$MER_PYTHON" -c '
import json, store_interop as st
m, t = st.load("sel.safetensors")
assert json.loads(m["mer.ids"]) == ["d", "b"], m["mer.ids"]' || fail "the --labels order"

# bad input: one line each
expect_exit 1 "$MER" extract text tr.csv --column french -o x.safetensors
expect_err_line "^mer extract: 'tr.csv':1: no 'french' column \(--column names the transcript column\)$"
expect_exit 1 "$MER" extract text missing.csv -o x.safetensors
expect_err_line "^mer extract: 'missing.csv'"
printf 'name,english\na,"unterminated\n' >bad.csv
expect_exit 1 "$MER" extract text bad.csv --column english -o x.safetensors
expect_err_line "^mer extract: 'bad.csv':2"
printf 'name,english\na,one\na,two\n' >dup.csv
expect_exit 1 "$MER" extract text dup.csv --column english -o x.safetensors
expect_err_line "^mer extract: 'dup.csv': sample 'a' is listed twice$"
expect_exit 2 "$MER" extract text tr.csv
expect_exit 2 "$MER" extract image tr.csv -o x.safetensors
expect_match err "unknown kind 'image'"
expect_exit 1 "$MER" extract text tr.csv -o en.safetensors
expect_err_line "^mer extract: 'en.safetensors' exists"
[ ! -e x.safetensors ] && [ -z "$(find . -name '*.partial')" ] || fail "output left by a failed run"
done_testing
