#!/usr/bin/env bash
# mer sweep plan: one copy-pasteable mer train line per member, named from its overrides;
# sweep.json records the grid; every bad grid is one line naming the grid's file and line.
. "$MER_SRC/tests/cli/lib.sh"

echo '{"data": {"audio": "a.st", "video": "v.st"}, "model": {"hidden": 8}, "train": {"epochs": 1, "folds": 2}}' >base.json
cat >grid.txt <<'GRID'
# priors x loss x seeds
model.prior.mode = none, cross_attention   # two injection modes
loss.lambda_inter = 0, 0.35
seed = 0..2
GRID
expect_exit 0 "$MER" sweep plan grid.txt --config base.json --out sw
[ "$(wc -l <out)" -eq 12 ] || fail "expected 12 members, got $(wc -l <out)"
head -1 out >first
echo "mer train --config $PWD/base.json --set model.prior.mode=none --set loss.lambda_inter=0 \
--set train.seed=0 --out sw/mode=none_lambda_inter=0_seed=0" >want
expect_same want first
expect_match out '^mer train .* --out sw/mode=cross_attention_lambda_inter=0.35_seed=2$'
[ "$(sed 's/.*--out //' out | sort -u | wc -l)" -eq 12 ] || fail "member names are not unique"
"$MER_PYTHON" - sw/sweep.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["mer.format"] == "sweep" and s["config_checksum"].startswith("xxh64:"), s
assert len(s["members"]) == 12 and "seed = 0..2" in s["grid_text"], s
assert s["members"][5]["overrides"] == ["model.prior.mode=none", "loss.lambda_inter=0.35",
                                        "train.seed=2"], s["members"][5]
PY
# The plan is stable: the same grid into the same directory gives the same lines.
expect_exit 0 "$MER" sweep plan grid.txt --config base.json --out sw
head -1 out >again
expect_same first again

# Named settings: one more axis; quoted, bracketed values; names made filesystem-safe;
# keys that share a last part are told apart by more of their key.
cat >settings.txt <<'GRID'
setting all:
setting text-only: data.audio = ""; data.video = ""
model.prior.modalities = ["audio", "text"], ["video"]
model.prior.heads = 2
GRID
expect_exit 0 "$MER" sweep plan settings.txt --config base.json --out sw2
[ "$(wc -l <out)" -eq 4 ] || fail "expected 4 members"
expect_match out "--set 'model.prior.modalities=\[\"audio\", \"text\"\]' --set model.prior.heads=2 --out sw2/all_modalities=audio\+text$"
expect_match out "^mer train .* --set 'data.audio=\"\"' --set 'data.video=\"\"' .* --out sw2/text-only_modalities=video$"
printf 'model.prior.heads = 1, 2\nmodel.encoder_layers = 1\nmodel.hidden = 4, 8\n' >same.txt
expect_exit 0 "$MER" sweep plan same.txt --config base.json --out sw3
expect_match out '--out sw3/heads=1_hidden=4$'
# Long names are cut and end in a hash; still unique.
printf 'data.train_split = %s, %s\n' "$(printf 'x%.0s' $(seq 100))" "$(printf 'x%.0s' $(seq 99))y" >long.txt
expect_exit 0 "$MER" sweep plan long.txt --config base.json --out sw4
[ "$(sed 's/.*--out sw4\///' out | awk '{ print length($0) }' | sort -u)" = 80 ] || fail "long names not cut to 80"
[ "$(sed 's/.*--out //' out | sort -u | wc -l)" -eq 2 ] || fail "cut names collide"

# Bad grids: one line naming the file and line, exit 1.
bad() { # bad LINE PATTERN: grid.bad as given on stdin is refused at that line
  cat >grid.bad
  expect_exit 1 "$MER" sweep plan grid.bad --config base.json --out bad
  expect_err_line "^mer sweep: 'grid.bad':$1: $2"
  [ ! -e bad ] || fail "a refused grid left a sweep directory"
}
printf 'seed = 0, 1\nloss.tauu = 0.1\n' | bad 2 "key 'loss.tauu': unknown key \(did you mean 'loss.tau'\?\)"
printf '# x\ntrain.epochs = 1, abc\n' | bad 2 "key 'train.epochs': expected integer, got string"
printf 'model.dropout = 0.1, 1.5\n' | bad 1 "key 'model.dropout': expected number in \[0, 1\), got 1.5"
printf 'model.prior.mode = none, gatee\n' | bad 1 "key 'model.prior.mode': "
printf 'seed = 0\nloss.tau =\n' | bad 2 "axis 'loss.tau' has no values"
printf 'loss.tau = 0.1,,0.2\n' | bad 1 "axis 'loss.tau' has an empty value \(value 2\)"
printf 'seed = 0..1\ntrain.seed = 3\n' | bad 2 "key 'train.seed' is already varied on line 1"
printf 'seed = 3..1\n' | bad 1 "range '3..1' is empty"
printf 'seed = 1, 1\n' | bad 1 "value '1' is given twice"
printf 'loss.tau = 0.1, 0.10\n' | bad 1 "members 'tau=0.1' and 'tau=0.10' are the same run"
printf 'setting a: loss.tau = 0.1\nsetting b: loss.tau = 0.1\n' | bad 2 "members 'a' and 'b' are the same run"
printf 'setting a: loss.tau = 0.1\nsetting a: loss.tau = 0.2\n' | bad 2 "setting 'a' is already defined on line 1"
printf 'setting ../x: loss.tau = 0.1\n' | bad 1 "setting name '../x': expected letters"
printf 'setting a: loss.tau = 0.1; loss.tau = 0.2\n' | bad 1 "setting 'a' sets 'loss.tau' twice"
printf 'setting a: loss.tau\n' | bad 1 "setting 'a': expected 'key = value', got 'loss.tau'"
printf 'loss.tau = 0.1, 0.2\nsetting a: loss.tau = 0.3\n' | bad 2 "key 'loss.tau' is already varied on line 1"
printf 'just words\n' | bad 1 "expected 'key = value, ...'"
printf '# nothing\n' >grid.bad
expect_exit 1 "$MER" sweep plan grid.bad --config base.json --out bad
expect_err_line "^mer sweep: 'grid.bad': no axes"

# A sweep directory made from another grid or base config is refused, naming both.
printf 'seed = 0..3\n' >other.txt
expect_exit 1 "$MER" sweep plan other.txt --config base.json --out sw
expect_err_line "^mer sweep: 'sw/sweep.json': the sweep there was made from grid '$PWD/grid.txt' and config '$PWD/base.json', not from grid '$PWD/other.txt' and config '$PWD/base.json' \(the members differ\)"
echo '{"model": {"hidden": 9}, "train": {"epochs": 1, "folds": 2}}' >base2.json
expect_exit 1 "$MER" sweep run grid.txt --config base2.json --out sw
expect_err_line "not from grid '$PWD/grid.txt' and config '$PWD/base2.json' \(the base config differs\)"

# Usage errors: exit 2.
expect_exit 2 "$MER" sweep plan grid.txt --out sw
expect_match err "no --config"
expect_exit 2 "$MER" sweep frobnicate
expect_match err "unknown subcommand 'frobnicate'"
expect_exit 2 "$MER" sweep run grid.txt --config base.json --out sw --jobs 0
done_testing
