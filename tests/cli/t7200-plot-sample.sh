#!/usr/bin/env bash
# mer plot on the bundled sample: a short run's confusion (counts, row-normalised), learning
# curves, calibration (ECE against numpy to 1e-9), the priors' reliability histogram of an
# ingest report, per-class F1 bars, and mer eval --plots. Each SVG parses as XML and carries its
# title, labels and counts; each PNG decodes at its size and is not blank; same input, same
# bytes.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
check() { "$MER_PYTHON" "$MER_SRC/tests/oracle/plot_check.py" "$@" || fail "plot_check.py $*"; }
classes=(neutral angry happy sad worried surprise)

sample_stores video text
"$MER" ingest -q "$S/responses.jsonl" --labels labels.safetensors -o priors.safetensors
cat >cfg.json <<'JSON'
{"data": {"video": "video.safetensors", "text": "text.safetensors",
          "labels": "labels.safetensors", "priors": "priors.safetensors"},
 "model": {"hidden": 32}, "loss": {"lambda_inter": 0.35},
 "train": {"epochs": 6, "patience": 0, "folds": 3}}
JSON
"$MER" train --config cfg.json --out run --threads 1 -q >/dev/null

# confusion: 36 cells, class names on the axes
expect_exit 0 "$MER" plot confusion run -o p
check svg p/confusion.svg confusion "confusion matrix" "${classes[@]}" "true class" \
  "predicted class" meta:cells=36 meta:normalize=false
check png p/confusion.png 800 600
expect_exit 0 "$MER" plot confusion run/predictions/test.csv -o p --normalize --format svg
check svg p/confusion-norm.svg confusion "confusion matrix (row-normalised)" "${classes[@]}" \
  meta:normalize=true
[ ! -e p/confusion-norm.png ] || fail "--format svg wrote a PNG"
"$MER_PYTHON" - <<'PY'
import json, xml.etree.ElementTree as ET
m = json.loads(ET.parse("p/confusion-norm.svg").getroot().find("{http://www.w3.org/2000/svg}metadata").text)
for row in m["values"]:
    assert abs(sum(row) - 1) < 1e-9 or sum(row) == 0, row
print("row-normalised: every row sums to 1")
PY

# the same input gives the same bytes; an existing file is kept unless --force
cp p/confusion.png first.png
cp p/confusion.svg first.svg
expect_exit 1 "$MER" plot confusion run -o p
expect_err_line "^mer plot: 'p/confusion.svg' exists \(--force overwrites it\)$"
expect_exit 0 "$MER" plot confusion run -o p --force
cmp first.png p/confusion.png || fail "PNG differs for the same input"
cmp first.svg p/confusion.svg || fail "SVG differs for the same input"

# learning curves: one panel per loss term the log has, and val_waf; one line per fold
expect_exit 0 "$MER" plot curves run -o p --width 1000 --height 700
terms=$("$MER_PYTHON" -c 'import json; r = json.loads(open("run/fold-0/log.jsonl").readline())
print(",".join(k for k in r if k not in ("epoch", "lr", "seconds") and not k.startswith(("train_", "val_"))))')
panels=$("$MER_PYTHON" -c "import json; print(json.dumps('$terms'.split(',') + ['val_waf']))")
check svg p/curves.svg curves "learning curves" "fold 0" "fold 1" "fold 2" val_waf \
  ${terms//,/ } "meta:panels=$panels" meta:series=3
check png p/curves.png 1000 700
expect_exit 0 "$MER" plot curves run/fold-1/log.jsonl -o one.svg --keys ce,val_acc --title "fold 1"
check svg one.svg curves "fold 1" ce val_acc log 'meta:panels=["ce", "val_acc"]' meta:series=1

# calibration: the ECE printed agrees with numpy's
expect_exit 0 "$MER" plot calibration run -o p
expect_match out '^ECE 0\.[0-9]{12} \(15 bins, [0-9]+ samples, accuracy'
ece=$(sed -n 's/^ECE \([0-9.]*\) .*/\1/p' out)
check ece run/predictions/cv.csv 15 "$ece"
check svg p/calibration.svg calibration "$(sed -n 's/^<title>\(.*\)<\/title>$/\1/p' p/calibration.svg)" \
  accuracy samples meta:bins=15
check png p/calibration.png 800 600
expect_exit 0 "$MER" plot calibration run --split test --bins 7 -o cal7.png
ece=$(sed -n 's/^ECE \([0-9.]*\) .*/\1/p' out)
check ece run/predictions/test.csv 7 "$ece"
check png cal7.png 800 600

# the priors' reliability: one panel per trace of the report, the threshold drawn
expect_exit 0 "$MER" plot reliability ingest-report.json -o p
traces=$("$MER_PYTHON" -c 'import json; r = json.load(open("ingest-report.json"))["reliability"]
print(" ".join(k for k, v in r.items() if isinstance(v, dict)))')
n=$(echo $traces | wc -w)
[ "$n" -ge 3 ] || fail "the report has $n traces"
check svg p/reliability.svg histograms "reliability of the priors" "min_reliability 0.30"
"$MER_PYTHON" - $traces <<'PY'
import json, sys, xml.etree.ElementTree as ET
m = json.loads(ET.parse("p/reliability.svg").getroot().find("{http://www.w3.org/2000/svg}metadata").text)
rel = json.load(open("ingest-report.json"))["reliability"]
assert [p["name"].split(" ")[0] for p in m["panels"]] == sys.argv[1:], m["panels"]
for p in m["panels"]:
    assert p["counts"] == rel[p["name"].split(" ")[0]]["histogram"], p
print("reliability: %d panels, the report's histograms" % len(m["panels"]))
PY
check png p/reliability.png 800 600

# per-class F1 bars: one bar per run and class
cp -r run run2
expect_exit 0 "$MER" plot f1 run run2/metrics.json --split test -o p
check svg p/f1.svg bars "per-class F1" "${classes[@]}" run run2 meta:bars=12
check png p/f1.png 800 600

# mer eval --plots: confusion, row-normalised confusion and calibration of what it scores
expect_exit 0 "$MER" eval --run run --split test --plots ev
expect_match out "^wrote plots to 'ev' \(test-confusion, test-confusion-norm, test-calibration"
for f in test-confusion test-confusion-norm test-calibration; do
  check png "ev/$f.png" 800 600
done
check svg ev/test-confusion.svg confusion "confusion matrix" "${classes[@]}" meta:cells=36
done_testing
