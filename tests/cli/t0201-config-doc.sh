#!/usr/bin/env bash
# configs/README.md documents every key: its table is what `mer config --doc` prints; and the
# shipped configs resolve, configs/mer2024.json to the paper's values.
. "$MER_SRC/tests/cli/lib.sh"

expect_exit 0 "$MER" config --doc
mv out doc.md
sed -n '/^<!-- keys:begin/,/^<!-- keys:end/p' "$MER_SRC/configs/README.md" | sed '1d;$d' >readme.md
[ -s readme.md ] || fail "configs/README.md has no <!-- keys:begin --> ... <!-- keys:end --> block"
diff -u readme.md doc.md >&2 ||
  fail "configs/README.md's key table differs from 'mer config --doc' (paste its output there)"
n_checks=$((n_checks + 1))

for cfg in "$MER_SRC"/configs/*.json "$MER_SRC"/configs/*/*.json; do
  [ -e "$cfg" ] || continue
  expect_exit 0 "$MER" config --config "$cfg"
done

expect_exit 0 "$MER" config --config "$MER_SRC/configs/mer2024.json"
"$MER_PYTHON" - out <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
m, l, t = c["model"], c["loss"], c["train"]
assert (m["hidden"], m["encoder_layers"], m["proj_dim"]) == (256, 2, 128), m
assert m["prior"]["mode"] == "cross_attention" and m["prior"]["modalities"] == ["audio", "video", "text"]
assert (l["lambda_inter"], l["lambda_intra"], l["tau"]) == (0.35, 0.1, 0.1), l
assert (t["optimizer"], t["lr"], t["weight_decay"], t["batch_size"], t["epochs"], t["folds"]) == \
    ("adam", 1e-3, 1e-5, 32, 100, 5), t
for k in ("audio", "video", "text", "labels", "priors"):
    assert c["data"][k].endswith(".safetensors"), (k, c["data"][k])
EOF
n_checks=$((n_checks + 1))
done_testing
