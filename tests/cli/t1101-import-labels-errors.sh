#!/usr/bin/env bash
# mer import-labels on bad input: one line naming the file and place, exit 1, no output file;
# an existing store is kept unless --force; usage errors exit 2.
. "$MER_SRC/tests/cli/lib.sh"

# bad CSV, expected error (after "mer import-labels: 'bad.csv'")
check() {
  printf "$1" >bad.csv
  expect_exit 1 "$MER" import-labels bad.csv -o out.safetensors
  expect_err_line "^mer import-labels: 'bad.csv'$2\$"
  [ ! -e out.safetensors ] || fail "a failed import wrote out.safetensors"
  ls | grep -q '\.tmp' && fail "a failed import left a temporary file"
  return 0
}
check 'name,valence\nx,1\n' \
  ":1: missing column 'label' \(expected a header name,discrete,valence as in MER2024's label-disdim.csv, or name,label\[,valence\]\[,split\]\)"
check 'file,discrete,valence\nx,happy,1\n' ":1: missing column 'name' .*"
check 'name,discrete,valence\na,happy,1\nb,joyful,2\n' \
  ":3: unknown label 'joyful' \(classes: neutral, angry, happy, sad, worried, surprise\)"
check 'name,label\na,happy\nb,sad\nc,sad\nb,angry\n' ":5: sample 'b' already appears on line 3"
check 'name,label,valence\na,happy,1\nb,sad\n' ":3: 2 fields, the header has 3"
check 'name,label,valence\na,happy,lots\n' ":2: valence 'lots' is not a finite number"
check 'name,label\na,"happy\n' ":2:3: unterminated quoted field \(its quote opens here\)"
check 'name,label\na,ha"ppy\n' ":2:5: quote inside an unquoted field .*"
check 'name,label\ncaf\351,happy\n' ":2:4: invalid UTF-8 \(byte 0xe9\)"
check '' ": empty file .*"
check 'name,label\n' ": no samples after the header"
expect_exit 1 "$MER" import-labels absent.csv -o out.safetensors
expect_err_line "^mer import-labels: 'absent.csv': cannot open: No such file or directory$"

# An existing store is refused without --force, and left as it was.
printf 'name,label\na,happy\n' >good.csv
echo keep >exists.safetensors
expect_exit 1 "$MER" import-labels good.csv -o exists.safetensors
expect_err_line "^mer import-labels: 'exists.safetensors' exists \(--force overwrites it\)$"
expect_match exists.safetensors '^keep$'
printf 'name,label\na,joy\n' >bad.csv
expect_exit 1 "$MER" import-labels --force bad.csv -o exists.safetensors
expect_match exists.safetensors '^keep$'
expect_exit 0 "$MER" import-labels --force good.csv -o exists.safetensors
expect_exit 0 "$MER" info exists.safetensors

# Usage errors.
expect_exit 2 "$MER" import-labels good.csv
expect_match err '^mer import-labels: no output given \(-o <file>\)$'
expect_exit 2 "$MER" import-labels -o x.safetensors
expect_match err '^mer import-labels: no label CSV given$'
expect_exit 2 "$MER" import-labels good.csv more.csv -o x.safetensors
expect_match err "^mer import-labels: unexpected argument 'more.csv'$"
expect_exit 2 "$MER" import-labels good.csv -o x.safetensors --classes a,,b
expect_match err '^mer import-labels: --classes: empty class name$'
expect_exit 2 "$MER" import-labels good.csv -o x.safetensors --classes a,b,a
expect_match err "^mer import-labels: --classes: class 'a' is listed twice$"
expect_exit 2 "$MER" import-labels good.csv -o x.safetensors --split ''
expect_exit 2 "$MER" import-labels good.csv -o x.safetensors --frobnicate
[ ! -e x.safetensors ] || fail "a usage error wrote x.safetensors"
done_testing
