#!/usr/bin/env bash
# What training shows: every epoch's loss, validation WAF and best so far; with --jobs, every
# fold's progress while the workers train; at the end, a labelled test split's metrics beside
# the cross-validated ones. (MER_PROGRESS_INTERVAL=0: a plain line per update, as a log gets.)
. "$MER_SRC/tests/cli/lib.sh"
sample_stores text
cat >cfg.json <<'JSON'
{"data": {"text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 12, "patience": 0, "folds": 3}}
JSON
export MER_PROGRESS_INTERVAL=0
expect_exit 0 "$MER" train --config cfg.json --out one --threads 1
num='[0-9]+\.[0-9]{4}'
expect_match err "^fold-0 \(1 of 3\): 3/12 epochs, .*, loss $num  val WAF $num  best WAF $num \(epoch [0-9]+\)$"
expect_match err "^fold-2 \(3 of 3\): 12/12 epochs, .*took"
expect_match out "^cross-validated \(out-of-fold\) on 'train': WAF $num  accuracy $num  macro-F1 $num$"
expect_match out "^test split 'test' \(122 samples, fold ensemble\): WAF $num  accuracy $num  macro-F1 $num$"
# The test line's numbers are metrics.json's.
"$MER_PYTHON" - one/metrics.json out <<'PY' || fail "the printed test metrics differ from metrics.json"
import json, re, sys
m = json.load(open(sys.argv[1]))["test"]["test"]
line = [l for l in open(sys.argv[2]) if l.startswith("test split 'test'")][0]
waf, acc, mf1 = map(float, re.findall(r"(?:WAF|accuracy|macro-F1) ([0-9.]+)", line))
assert abs(waf - m["waf"]) < 6e-5 and abs(acc - m["accuracy"]) < 6e-5, (line, m)
assert abs(mf1 - m["macro_f1"]) < 6e-5, (line, m)
PY

expect_exit 0 "$MER" train --config cfg.json --out two --threads 2 --jobs 2
expect_match err "^training: [0-9]+/36 epochs, .*f0 [0-9]+ f1 [0-9]+ f2 [0-9]+"
expect_match err "^training: 36/36 epochs, .*took .*f0 done f1 done f2 done  best val WAF $num$"
expect_match out "^test split 'test' \(122 samples"
expect_exit 0 "$MER" train --config cfg.json --out three -q
[ ! -s err ] || fail "-q printed progress"
done_testing
