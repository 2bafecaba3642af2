#!/usr/bin/env bash
# The README's walk through the MER2024 release ("MER2024, from the release to a submission"):
# its commands and its config, taken from the README as written, run on a copy of data/sample
# laid out as the release is (label-disdim.csv with the labeled clips only, the test clips as a
# list of names, MERTools' feature folders, and the answers mer query would have written). Only
# the mer train line gets more: fewer epochs and folds. Then the old way (test names appended
# to label-disdim.csv with empty labels) is a warning in import-labels and in train.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
mkdir -p release/features
cp "$S/label-disdim.csv" "$S/responses.jsonl" release/
{ echo name; grep ',test$' "$S/manifest.csv" | cut -d, -f1; } >release/test-names.csv
ln -s "$S/features/chinese-hubert-large-FRA" release/features/chinese-hubert-large-FRA
ln -s "$S/features/clip-vit-large-patch14-UTT" release/features/clip-vit-large-patch14-UTT
ln -s "$S/features/Baichuan-13B-UTT" release/features/Baichuan-13B-Base-UTT

# The section's first sh block (continuation lines joined) and its json block.
"$MER_PYTHON" - "$MER_SRC/README.md" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
sec = text.split("\n## MER2024, from the release to a submission\n", 1)[1].split("\n## ", 1)[0]
sh = re.search(r"```sh\n(.*?)```", sec, re.S).group(1).replace("\\\n", " ")
open("walk.sh", "w").write(sh)
open("release/mer2024-run.json", "w").write(re.search(r"```json\n(.*?)```", sec, re.S).group(1))
PY
[ "$(grep -c '^mer ' walk.sh)" -eq 7 ] || fail "expected 7 mer commands in the README's walk"
cd release
while read -r cmd; do
  [ -n "$cmd" ] || continue
  case "$cmd" in mer\ *) ;; *) fail "not a mer command in the walk: $cmd" ;; esac
  extra=()
  case "$cmd" in "mer train "*) extra=(--set train.epochs=3 --set train.folds=2 --threads 1 -q) ;; esac
  # shellcheck disable=SC2086 # the README's words, split as a shell would
  set -- ${cmd#mer }
  expect_exit 0 "$MER" "$@" "${extra[@]}"
  grep -q 'warning' err && { cat err >&2; fail "'$cmd' warned"; }
done <../walk.sh
expect_match out '^== cv$'
expect_match out '^WAF [0-9.]+  accuracy [0-9.]+  macro-F1 [0-9.]+  \(504 samples\)$'
# The test clips got predictions and the submission, in MER2024's format.
[ -s runs/mer2024/predictions/test1.csv ] || fail "no test1 predictions"
sub=runs/mer2024/submission-test1.csv
[ "$(head -1 $sub)" = name,discrete ] || fail "$sub: not name,discrete"
tail -n +2 $sub | cut -d, -f1 | sort >got
tail -n +2 test-names.csv | sort >want
expect_same want got
tail -n +2 $sub | cut -d, -f2 | grep -Evx 'neutral|angry|happy|sad|worried|surprise' &&
  fail "$sub: a label that is not a class"
cd ..

# The old way: test names appended with empty labels land in split train. A warning, on stderr,
# through the library's warning path, in import-labels and in train (which then writes no
# test predictions).
{ cat "$S/label-disdim.csv"; tail -n +2 release/test-names.csv | sed 's/$/,,/'; } >appended.csv
expect_exit 0 "$MER" import-labels -q appended.csv -o appended.safetensors
expect_err_line "^mer import-labels: warning: 'appended.csv': 122 of the 626 samples of the training split 'train' are unlabeled: training skips them and writes no predictions or submission for them \(give test clips their own split: mer import-labels --test-names FILE\)$"
printf '{"data": {"video": "release/stores/video.safetensors", "labels": "appended.safetensors"}, "train": {"epochs": 1, "folds": 2}}\n' >old.json
expect_exit 0 "$MER" train --config old.json --out old -q --threads 1
expect_err_line "^mer train: warning: '([^']*/)?appended.safetensors': 122 of the 626 samples of the training split 'train' are unlabeled"
[ ! -e old/predictions/test1.csv ] || fail "unexpected test predictions"
done_testing
