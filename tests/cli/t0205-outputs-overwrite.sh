#!/usr/bin/env bash
# One overwrite rule for every output (fs.h's mer_output_check): an existing file is kept
# unless --force, a directory is always refused; -q prints nothing on success.
. "$MER_SRC/tests/cli/lib.sh"
S="$MER_SRC/data/sample"
mkdir -p adir
refused() { # refused FILE CMD...: exit 1, one line saying FILE exists, FILE unchanged
  local file=$1
  shift
  echo keep >"$file"
  expect_exit 1 "$@"
  expect_err_line "^mer [a-z-]+: '$file' exists \(--force overwrites it\)$"
  [ "$(cat "$file")" = keep ] || fail "'$*' overwrote '$file'"
}
is_dir() { # is_dir CMD...: a directory named as the output is refused
  expect_exit 1 "$@"
  expect_err_line "^mer [a-z-]+: 'adir' is a directory \(name a file to write\)$"
}

refused c.json "$MER" config -o c.json
expect_exit 0 "$MER" config -o c.json --force
expect_match c.json '"folds": 5'
is_dir "$MER" config -o adir --force

expect_exit 0 "$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o v.safetensors
[ ! -s out ] || fail "import -q printed: $(cat out)"
refused v.safetensors "$MER" import -q "$S/features/clip-vit-large-patch14-UTT" -o v.safetensors
expect_exit 0 "$MER" import -q --force "$S/features/clip-vit-large-patch14-UTT" -o v.safetensors

refused l.safetensors "$MER" import-labels -q "$S/manifest.csv" -o l.safetensors
expect_exit 0 "$MER" import-labels -q --force "$S/manifest.csv" -o l.safetensors
[ ! -s out ] || fail "import-labels -q printed: $(cat out)"
is_dir "$MER" import-labels -q --force "$S/manifest.csv" -o adir

refused r.jsonl "$MER" prompt -q --dataset "$S/transcripts.csv" --text-only -o r.jsonl
expect_exit 0 "$MER" prompt -q --dataset "$S/transcripts.csv" --text-only -o r.jsonl --force
is_dir "$MER" prompt -q --dataset "$S/transcripts.csv" --text-only -o adir --force

refused p.safetensors "$MER" ingest -q "$S/responses.jsonl" --labels l.safetensors -o p.safetensors
refused rep.json "$MER" ingest -q "$S/responses.jsonl" --labels l.safetensors -o p2.safetensors \
  --report rep.json
refused ps.safetensors "$MER" ingest -q "$S/responses.jsonl" --labels l.safetensors \
  -o p2.safetensors --pseudo-labels ps.safetensors
is_dir "$MER" ingest -q "$S/responses.jsonl" --labels l.safetensors -o adir --force
expect_exit 0 "$MER" ingest -q "$S/responses.jsonl" --labels l.safetensors -o p.safetensors --force
# (the default report beside -o is a by-product, rewritten by each run)
expect_exit 0 "$MER" ingest -q "$S/responses.jsonl" --labels l.safetensors -o p.safetensors --force
done_testing
