#!/usr/bin/env bash
# mer prompt on bad input: one line naming the file and place, exit 1, no output file and no
# temporary file left; an existing output is kept unless --force; usage errors exit 2.
. "$MER_SRC/tests/cli/lib.sh"

printf 'name,chinese,english,file_uri\na1,你好,Hello,\nb2,再见,Bye,\n' >ds.csv
mkdir clips
printf 'AAAA' >clips/a1.mp4
printf 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' >clips/b2.wav
printf 'S={subtitle}\n' >t.txt

# fails EXIT PATTERN ARGS...: mer prompt ARGS exits EXIT with one stderr line matching PATTERN
# (after "mer prompt: "; usage errors add a hint line), and leaves no output.
fails() {
  local code=$1 pattern=$2
  shift 2
  expect_exit "$code" "$MER" prompt "$@"
  if [ "$code" -eq 2 ]; then # usage errors add a hint line
    expect_match err "^mer prompt: $pattern\$"
  else
    expect_err_line "^mer prompt: $pattern\$"
  fi
  [ ! -e out.jsonl ] || fail "a failed run wrote out.jsonl"
  ls | grep -q '\.tmp' && fail "a failed run left a temporary file"
  return 0
}
ok=(--dataset ds.csv --clips clips --template t.txt -o out.jsonl)

# Input files.
fails 1 "'absent.csv': cannot open: No such file or directory" \
  --dataset absent.csv --clips clips --template t.txt -o out.jsonl
printf 'file,chinese\na1,x\n' >noname.csv
fails 1 "'noname.csv':1: missing column 'name' \(expected a header name,chinese,english as in MER2024's transcription CSV\)" \
  --dataset noname.csv --clips clips --template t.txt -o out.jsonl
printf 'name,english\na1,x\n' >nozh.csv
fails 1 "'nozh.csv':1: missing column 'chinese' \(the template 't.txt' uses \{subtitle\}\)" \
  --dataset nozh.csv --clips clips --template t.txt -o out.jsonl
printf 'name,chinese\na1,x\nb2,y\na1,z\n' >dup.csv
fails 1 "'dup.csv':4: sample 'a1' already appears on line 2" \
  --dataset dup.csv --clips clips --template t.txt -o out.jsonl
printf 'name,chinese\na1,x,extra\n' >ragged.csv
fails 1 "'ragged.csv':2: 3 fields, the header has 2" \
  --dataset ragged.csv --clips clips --template t.txt -o out.jsonl
printf 'name,chinese\n' >empty.csv
fails 1 "'empty.csv': no samples after the header" \
  --dataset empty.csv --clips clips --template t.txt -o out.jsonl
printf 'name,chinese\na1,"x\n' >quote.csv
fails 1 "'quote.csv':2:4: unterminated quoted field .*" \
  --dataset quote.csv --clips clips --template t.txt -o out.jsonl

# Templates.
printf 'line one\nline two {subtitle}\nsee {foo} here\n' >bad.txt
fails 1 "'bad.txt':3: unknown placeholder '\{foo\}' \(known: .*\)" \
  --dataset ds.csv --clips clips --template bad.txt -o out.jsonl
printf 'ok\ncaf\351 {name}\n' >utf.txt
fails 1 "'utf.txt':2:4: invalid UTF-8 .*" --dataset ds.csv --clips clips --template utf.txt -o out.jsonl
fails 1 "'nope.txt': cannot open: No such file or directory" \
  --dataset ds.csv --clips clips --template nope.txt -o out.jsonl
printf '{"type": "OBJECT",\n "properties": }\n' >schema.json
fails 1 "'schema.json':2:16: not valid JSON" "${ok[@]}" --schema schema.json
printf '["OBJECT"]\n' >schema.json
fails 1 "'schema.json': the schema must be a JSON object" "${ok[@]}" --schema schema.json

# Clips.
printf 'name,chinese,english,file_uri\na1,x,y,\nzz9,x,y,\n' >more.csv
fails 1 "'more.csv':3: no clip for sample 'zz9': none of 'clips/zz9.\{mp4, avi, .*\}' exists \(use --allow-missing for a text-only request\)" \
  --dataset more.csv --clips clips --template t.txt -o out.jsonl
fails 1 "'clips/b2.wav': 108 bytes of base64 are over --max-inline-mb 0.0001, and no --uri-column gives an uploaded file's URI" \
  "${ok[@]}" --max-inline-mb 0.0001
fails 1 "'clips/b2.wav': 108 bytes of base64 are over --max-inline-mb 0.0001, and its row has no URI in the --uri-column" \
  "${ok[@]}" --max-inline-mb 0.0001 --uri-column file_uri
fails 1 "'ds.csv':1: missing column 'uri' \(--uri-column\)" "${ok[@]}" --uri-column uri
printf 'name,chinese\n../a1,x\n' >slash.csv
fails 1 "'slash.csv':2: sample name '../a1' has a '/' \(names are clip file names\)" \
  --dataset slash.csv --clips clips --template t.txt -o out.jsonl

# An existing output is refused without --force and survives a failed --force run.
echo keep >out.jsonl
expect_exit 1 "$MER" prompt "${ok[@]}"
expect_err_line "^mer prompt: 'out.jsonl' exists \(--force overwrites it\)$"
expect_exit 1 "$MER" prompt "${ok[@]}" --force --template bad.txt
expect_match out.jsonl '^keep$'
expect_exit 0 "$MER" prompt "${ok[@]}" --force
expect_match out.jsonl '^\{"key":"a1",'
rm out.jsonl

# Usage errors (exit 2).
fails 2 "option '--shard': .*" "${ok[@]}" --shard 3/3
fails 2 "option '--shard': .*" "${ok[@]}" --shard 1/0
fails 2 "option '--shard': .*" "${ok[@]}" --shard x
for bad in "--format jsonl" "--temperature 3" "--temperature -1" "--max-inline-mb -1" \
  "--classes a,,b" "--classes a,b,a" "--text-only" "--allow-missing --text-only" "--model="; do
  # shellcheck disable=SC2086
  expect_exit 2 "$MER" prompt "${ok[@]}" $bad
  [ ! -e out.jsonl ] || fail "a usage error ($bad) wrote out.jsonl"
done
expect_exit 2 "$MER" prompt --dataset ds.csv --template t.txt -o out.jsonl
expect_match err '^mer prompt: no clips given \(--clips <dir>, or --text-only\)$'
expect_exit 2 "$MER" prompt --clips clips -o out.jsonl
expect_match err '^mer prompt: no dataset given \(--dataset <csv>\)$'
expect_exit 2 "$MER" prompt --dataset ds.csv --clips clips
expect_match err '^mer prompt: no output given \(-o <file>\)$'
expect_exit 2 "$MER" prompt "${ok[@]}" extra.csv
expect_match err "^mer prompt: unexpected argument 'extra.csv'$"
expect_exit 2 "$MER" prompt --text-only --allow-missing --dataset ds.csv -o out.jsonl
expect_match err '^mer prompt: --allow-missing needs --clips$'
[ ! -e out.jsonl ] || fail "a usage error wrote out.jsonl"
done_testing
