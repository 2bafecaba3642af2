#!/usr/bin/env bash
# mer train joins its stores by sample name and class name, never by position, and refuses
# stores that do not belong together, naming both sides: priors ingested against another
# labels store, priors with other classes, a modality missing for a whole split (also with
# data.missing=mask), pseudo-labels of other samples. Priors whose classes are the labels' in
# another order are reordered: training on them gives what priors ingested in that order give.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o video.safetensors >/dev/null
"$MER" import-labels -q "$S/manifest.csv" -o labels.safetensors
"$MER" import-labels -q "$S/label-disdim.csv" -o labels-train.safetensors
"$MER" import-labels -q "$S/manifest.csv" -o labels-rev.safetensors \
  --classes surprise,worried,sad,happy,angry,neutral
sed 's/,worried,/,anxious,/' "$S/manifest.csv" >other.csv
"$MER" import-labels -q other.csv -o labels-other.safetensors \
  --classes neutral,angry,happy,sad,anxious,surprise
ingest() { "$MER" ingest "$S/responses.jsonl" --labels "$1" -o "$2" --dim 16 >/dev/null; }
ingest labels.safetensors priors.safetensors
ingest labels-train.safetensors priors-train.safetensors
ingest labels-rev.safetensors priors-rev.safetensors
ingest labels-other.safetensors priors-other.safetensors
cat >cfg.json <<'JSON'
{"data": {"video": "video.safetensors", "labels": "labels.safetensors",
          "priors": "priors.safetensors"},
 "model": {"hidden": 16}, "train": {"epochs": 2, "patience": 0, "folds": 2}}
JSON
train() { expect_exit "$1" "$MER" train --config cfg.json --threads 1 -q "${@:2}"; }

# (a) Priors ingested against the labels without the test clips: the test clips would get no
# priors (WAF falls without a word). Refused, with both stores and the split named.
train 1 --set data.priors=priors-train.safetensors --out r1
expect_err_line "^mer train: '([^']*/)?priors-train.safetensors' covers 504 of the 626 samples of '([^']*/)?labels.safetensors'; 0 of the 122 of split 'test': ingest the answers against this labels store \(mer ingest --labels '([^']*/)?labels.safetensors'\)$"
[ ! -e r1 ] || fail "a refused run left its directory"

# (b) The same classes in another order: the scores are reordered by class name, so priors
# ingested against labels.safetensors train exactly as those ingested against labels-rev do.
train 0 --set data.labels=labels-rev.safetensors --set data.priors=priors-rev.safetensors --out r2
train 0 --set data.labels=labels-rev.safetensors --set data.priors=priors.safetensors --out r3
expect_same r2/predictions/test.csv r3/predictions/test.csv
expect_same r2/predictions/cv.csv r3/predictions/cv.csv
# Other classes: refused, both lists named.
train 1 --set data.priors=priors-other.safetensors --out r4
expect_err_line "priors-other.safetensors' has classes \[neutral,angry,happy,sad,anxious,surprise\], not those of '([^']*/)?labels.safetensors' \[neutral,angry,happy,sad,worried,surprise\]"

# (c) A modality missing for a whole split is the wrong store, not missing samples: refused
# even with data.missing=mask (which the missing-samples hint suggests).
"$MER" import -q "$S/features/Baichuan-13B-UTT" --labels "$S/label-disdim.csv" -o text-train.safetensors >/dev/null 2>&1
grep ',test$' "$S/manifest.csv" | cut -d, -f1 >test-names.txt
"$MER" import -q "$S/features/Baichuan-13B-UTT" --ids test-names.txt -o text-test.safetensors >/dev/null 2>&1
for missing in error mask; do
  train 1 --set data.text=text-train.safetensors --set data.missing=$missing --out r5
  expect_err_line "text-train.safetensors' covers 0 of the 122 samples of split 'test' in '([^']*/)?labels.safetensors' \(no text features there: import them, or leave data.text out\)$"
  train 1 --set data.text=text-test.safetensors --set data.missing=$missing --out r5
  expect_err_line "text-test.safetensors' covers 0 of the 504 samples of split 'train' in"
done
train 1 --set data.video=text-test.safetensors --set data.labels=labels-train.safetensors \
  --set data.priors= --set data.missing=mask --out r5
expect_err_line "text-test.safetensors' covers 0 of the 504 samples of '([^']*/)?labels-train.safetensors' \(no video features there"
[ ! -e r5 ] || fail "a refused run left its directory"
# A few missing samples are still masked on request.
head -n 600 "$S/manifest.csv" | tail -n +2 | cut -d, -f1 >most.txt
"$MER" import -q "$S/features/Baichuan-13B-UTT" --ids most.txt -o text-most.safetensors >/dev/null 2>&1
train 1 --set data.text=text-most.safetensors --out r6
expect_err_line "text-most.safetensors': 27 of 626 samples have no text features: 'sample_00000600', .* \(hint: --set data.missing=mask masks them\)$"
train 0 --set data.text=text-most.safetensors --set data.missing=mask --out r6

# (d) Pseudo-labels of other samples: refused.
printf 'name,label\nz1,happy\nz2,sad\n' >z.csv
"$MER" import-labels -q z.csv -o pseudo-other.safetensors
train 1 --set train.pretrain.enabled=true --set train.pretrain.pseudo_labels=pseudo-other.safetensors --out r7
expect_err_line "pseudo-other.safetensors' covers 0 of the 626 samples of '([^']*/)?labels.safetensors'"
done_testing
