#!/usr/bin/env bash
# Path-valued keys resolve against the directory of the config file that sets them (a --set's
# against the working directory), are recorded absolute in the run's config.json, and a path
# that cannot be opened is named with its key and its config.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
mkdir -p proj/configs proj/stores elsewhere
"$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o proj/stores/video.safetensors
"$MER" import-labels -q "$S/manifest.csv" -o proj/stores/labels.safetensors
cat >proj/configs/base.json <<'JSON'
{"data": {"labels": "../stores/labels.safetensors"}, "train": {"epochs": 1, "folds": 2}}
JSON
cat >proj/configs/run.json <<'JSON'
{"extends": "base.json", "data": {"video": "../stores/video.safetensors"}}
JSON
proj=$(cd proj && pwd -P)

# From any directory, the same files; mer config prints them absolute.
for dir in . elsewhere proj/configs; do
  (cd $dir && "$MER" config --config "$proj/configs/run.json") >out 2>err ||
    fail "mer config from '$dir': $(cat err)"
  expect_match out "^    \"video\": \"$proj/stores/video.safetensors\",$"
  expect_match out "^    \"labels\": \"$proj/stores/labels.safetensors\",$"
done
cd elsewhere
expect_exit 0 "$MER" train --config ../proj/configs/run.json --out run --threads 1 -q
expect_match run/config.json "^    \"video\": \"$proj/stores/video.safetensors\",$"
expect_match run/config.json "^    \"labels\": \"$proj/stores/labels.safetensors\",$"
cd ..
# Resume compares absolute paths on both sides: from another directory, with the config or
# with the run's own config.json, it continues the same run.
expect_exit 0 "$MER" train --config proj/configs/run.json --out elsewhere/run --resume -q
expect_exit 0 "$MER" train --out elsewhere/run --resume -q
# A --set path is the working directory's.
expect_exit 0 "$MER" config --config proj/configs/run.json --set data.video=stores/v.safetensors
expect_match out "^    \"video\": \"$PWD/stores/v.safetensors\",$"

# A path that cannot be opened: the config, the key and the resolved path, nothing written.
printf '{"extends": "base.json", "data": {"video": "../stores/nope.safetensors"}}\n' >proj/configs/bad.json
expect_exit 1 "$MER" train --config proj/configs/bad.json --out bad
expect_err_line "^mer train: 'proj/configs/bad.json': key 'data.video': '$proj/stores/nope.safetensors': cannot open: No such file or directory$"
printf '{"data": {"labels": "labels.safetensors"}}\n' >proj/configs/nolabels.json
expect_exit 1 "$MER" train --config proj/configs/nolabels.json --out bad
expect_err_line "^mer train: 'proj/configs/nolabels.json': key 'data.labels': '$proj/configs/labels.safetensors': cannot open: No such file or directory$"
# ... in a base config: the base is named.
printf '{"extends": "nolabels.json", "data": {"video": "../stores/video.safetensors"}}\n' >proj/configs/top.json
expect_exit 1 "$MER" train --config proj/configs/top.json --out bad
expect_err_line "^mer train: 'proj/configs/nolabels.json': key 'data.labels': "
expect_exit 1 "$MER" train --config proj/configs/run.json --set data.priors=p.safetensors --out bad
expect_err_line "^mer train: --set data.priors=p.safetensors: '$PWD/p.safetensors': cannot open: No such file or directory$"
[ ! -e bad ] || fail "a refused config left a run directory"

# ingest takes prior.encoder's file against its config too.
printf '{"prior": {"encoder": "precomputed:emb.jsonl"}}\n' >proj/configs/enc.json
expect_exit 1 "$MER" ingest "$S/responses.jsonl" --labels proj/stores/labels.safetensors \
  -o priors.safetensors --config proj/configs/enc.json
expect_err_line "^mer ingest: 'proj/configs/enc.json': key 'prior.encoder': '$proj/configs/emb.jsonl': cannot open: No such file or directory$"

# The shipped configs name paths relative to configs/, so they work from any directory.
(cd elsewhere && "$MER" config --config "$MER_SRC/configs/sample.json") >out || fail "sample.json"
root=$(cd "$MER_SRC" && pwd -P)
expect_match out "^    \"audio\": \"$root/(configs/\\.\\./)?out/demo/audio.safetensors\",$"
done_testing
