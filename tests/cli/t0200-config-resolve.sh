#!/usr/bin/env bash
# mer config: defaults, a file, --set overrides, -o, and one-line errors naming the key.
. "$MER_SRC/tests/cli/lib.sh"

# The defaults, three ways; valid JSON with the paper's values.
expect_exit 0 "$MER" config
cp out defaults.json
expect_exit 0 "$MER" config --defaults
expect_same defaults.json out
expect_exit 0 "$MER" config --print-config
expect_same defaults.json out
"$MER_PYTHON" - defaults.json <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["model"]["hidden"] == 256 and c["model"]["encoder_layers"] == 2, c["model"]
assert c["model"]["prior"]["mode"] == "cross_attention"
assert c["loss"]["lambda_inter"] == 0.35 and c["loss"]["lambda_intra"] == 0.1
assert c["loss"]["tau"] == 0.1 and c["loss"]["ce"] == "plain"
t = c["train"]
assert (t["optimizer"], t["lr"], t["weight_decay"]) == ("adam", 1e-3, 1e-5), t
assert (t["batch_size"], t["epochs"], t["folds"]) == (32, 100, 5), t
EOF
n_checks=$((n_checks + 1))

# A file, then --set in order; -o alone writes and prints nothing.
cat >run.json <<'EOF'
{
  "train": {"lr": 1e-4, "epochs": 20},
  "model": {"prior": {"mode": "gate"}}
}
EOF
expect_exit 0 "$MER" config --config run.json --set train.epochs=30 --set train.epochs=40 \
  --set 'model.prior.modalities=["text"]' --set data.audio=features/a.safetensors -o resolved.json
[ ! -s out ] || fail "-o without --print-config printed something"
expect_match resolved.json '^    "epochs": 40,$'
expect_match resolved.json '^    "lr": 0.0001,$'
expect_match resolved.json '^      "modalities": \["text"\],$'
expect_match resolved.json '^      "mode": "gate",$'
# (a path given with --set is taken against the working directory, and recorded absolute)
expect_match resolved.json "^    \"audio\": \"$PWD/features/a.safetensors\",\$"
expect_match resolved.json '^    "folds": 5,$'
# The resolved config reads back to itself.
expect_exit 0 "$MER" config -c resolved.json --print-config -o again.json
expect_same resolved.json again.json
expect_same resolved.json out

# "extends": a base file relative to the config.
mkdir -p sub
echo '{"train": {"seed": 7, "lr": 0.5}}' >sub/base.json
echo '{"extends": "base.json", "train": {"lr": 0.25}}' >sub/top.json
expect_exit 0 "$MER" config -c sub/top.json
expect_match out '^    "seed": 7,$'
expect_match out '^    "lr": 0.25,$'

# Errors: one line, exit 1, naming the source and the key; no output file.
expect_exit 1 "$MER" config --set train.epochs=abc -o never.json
expect_err_line '^mer config: --set train.epochs=abc: expected integer, got string$'
[ ! -e never.json ] || fail "a failed config wrote never.json"
expect_exit 1 "$MER" config --set loss.tauu=0.2
expect_err_line "^mer config: --set loss.tauu=0.2: unknown key \(did you mean 'loss.tau'\?\)$"
expect_exit 1 "$MER" config --set model.dropout=1.5
expect_err_line '^mer config: --set model.dropout=1.5: expected number in \[0, 1\), got 1.5$'
echo '{"loss": {"tauu": 0.2}}' >typo.json
expect_exit 1 "$MER" config --config typo.json -o never.json
expect_err_line "^mer config: 'typo.json': key 'loss.tauu': unknown key \(did you mean 'loss.tau'\?\)$"
[ ! -e never.json ] || fail "a failed config wrote never.json"
echo '{"train": {"lr": "fast"}}' >type.json
expect_exit 1 "$MER" config --config type.json
expect_err_line "^mer config: 'type.json': key 'train.lr': expected number, got string$"
printf '{\n  "train": {\n    "lr": 1e-3,\n  }\n}\n' >comma.json
expect_exit 1 "$MER" config --config comma.json
expect_err_line "^mer config: 'comma.json':4:3: JSON syntax error at '}'$"
expect_exit 1 "$MER" config --config absent.json
expect_err_line "^mer config: 'absent.json': cannot open: No such file or directory$"
printf '{"data": {"audio": "caf\351"}}' >latin1.json
expect_exit 1 "$MER" config --config latin1.json
expect_err_line "^mer config: 'latin1.json':1:24: invalid UTF-8 \(byte 0xe9\)$"

# Usage errors: exit 2.
expect_exit 2 "$MER" config extra
expect_match err "^mer config: unexpected argument 'extra'$"
expect_exit 2 "$MER" config --doc --set train.lr=1
expect_match err '^mer config: --doc goes alone$'
expect_exit 2 "$MER" config --defaults --config run.json
expect_exit 2 "$MER" config --set
done_testing
