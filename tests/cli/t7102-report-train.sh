#!/usr/bin/env bash
# mer report over real runs: 2 settings x 2 seeds of a tiny config on the bundled sample
# (as t3000 trains), with a baseline; its cells are the runs' own metrics.json numbers.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"

"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import -q "$S/features/Baichuan-13B-UTT" -o text.safetensors >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
cat >cfg.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors", "labels": "labels.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 3, "patience": 0, "folds": 2}}
JSON
for lam in 0 0.35; do
  for seed in 0 1; do
    expect_exit 0 "$MER" train --config cfg.json --out "runs/l$lam-s$seed" --threads 1 -q \
      --seed $seed --set loss.lambda_inter=$lam
  done
done

expect_exit 0 "$MER" report runs --baseline loss.lambda_inter=0 --per-class
cat out
expect_match out '^loss\.lambda_inter +cv n +cv WAF'
expect_match out '^0 +2 .* baseline'
expect_match out '^0\.35 +2 +0\.[0-9]{4} ± 0\.[0-9]{4}'
expect_match out 'test F1 worried'
expect_exit 0 "$MER" report runs --baseline loss.lambda_inter=0 --format json -o report.json
"$MER_PYTHON" - report.json runs <<'PY' || fail "report.json does not hold the runs' metrics"
import json, sys, statistics
r = json.load(open(sys.argv[1]))
assert r["keys"] == ["loss.lambda_inter"], r["keys"]
assert r["sets"] == ["cv", "test"], r["sets"]
for row in r["rows"]:
    lam = row["keys"]["loss.lambda_inter"]
    assert row["seeds"] == [0, 1]
    for s in ("cv", "test"):
        ms = [json.load(open("%s/l%s-s%d/metrics.json" % (sys.argv[2], lam, seed))) for seed in (0, 1)]
        v = [m["cv"]["waf"] if s == "cv" else m["test"][s]["waf"] for m in ms]
        c = row["sets"][s]["waf"]
        assert c["values"] == v and abs(c["mean"] - statistics.mean(v)) < 1e-12, (c, v)
        assert abs(c["std"] - statistics.stdev(v)) < 1e-12, (c, v)
    if not row["baseline"]:
        b = row["vs_baseline"]["cv"]
        assert b["pairing"] == "seed" and b["pairs"] == 2 and 0 <= b["p"] <= 1, b
        assert b["ci95"][0] <= b["ci95"][1], b
PY
# --plots: one chart per set, one bar per row and class (the SVG's metadata says what was drawn)
expect_exit 0 "$MER" report runs --plots plots -o table.txt
"$MER_PYTHON" - plots <<'PY' || fail "mer report --plots drew the wrong charts"
import json, sys, xml.etree.ElementTree as ET
from skimage import io
for s in ("cv", "test"):
    root = ET.parse("%s/f1-%s.svg" % (sys.argv[1], s)).getroot()
    m = json.loads(root.find("{http://www.w3.org/2000/svg}metadata").text)
    assert m["bars"] == 2 * 6, m
    desc = root.find("{http://www.w3.org/2000/svg}desc").text
    assert "lambda_inter=0.35" in desc and "worried" in desc, desc
    png = io.imread("%s/f1-%s.png" % (sys.argv[1], s))
    assert png.shape[0] == 600 and png.shape[1] == 800, png.shape
PY
expect_exit 1 "$MER" report runs --plots plots
expect_err_line "f1-cv.svg.*(exists|force)"
done_testing
