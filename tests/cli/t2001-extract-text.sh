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
expect_exit 2 "$MER" extract video tr.csv -o x.safetensors
expect_match err "unknown kind 'video'"
expect_exit 1 "$MER" extract text tr.csv -o en.safetensors
expect_err_line "^mer extract: 'en.safetensors' exists"
[ ! -e x.safetensors ] && [ -z "$(find . -name '*.partial')" ] || fail "output left by a failed run"
done_testing
