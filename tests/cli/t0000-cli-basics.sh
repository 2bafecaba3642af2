#!/usr/bin/env bash
# The command table: help, versions, exit codes for unknown commands and options.
. "$MER_SRC/tests/cli/lib.sh"

expect_exit 0 "$MER" help
expect_match out '^usage: mer <command>'
commands="import import-labels info train eval config version"
for cmd in $commands; do
  expect_match out "^   $cmd "
done
for cmd in $commands; do
  expect_exit 0 "$MER" help "$cmd"
  expect_match out '^usage: mer '
  expect_exit 0 "$MER" "$cmd" --help
  expect_match out '^usage: mer '
done

expect_exit 0 "$MER" --version
expect_match out '^mer [0-9]+\.[0-9]+\.[0-9]+$'
for lib in libtorch ffmpeg libsndfile cjson openblas; do
  expect_match out "^$lib [0-9A-Za-z]"
done
expect_exit 0 "$MER" version

expect_exit 2 "$MER"
expect_exit 2 "$MER" frobnicate
expect_match err "^mer: 'frobnicate' is not a mer command$"
expect_match err "^hint: see 'mer help'$"
expect_exit 2 "$MER" help frobnicate
expect_exit 2 "$MER" --frobnicate
expect_exit 2 "$MER" version --frobnicate
expect_match err "^mer version: unknown option '--frobnicate'$"
expect_exit 2 "$MER" version extra
expect_match err "^mer version: unexpected argument 'extra'$"

# A full disk is a failure, not silence (git's stdout check).
if [ -w /dev/full ]; then
  expect_exit 1 sh -c '"$0" --version >/dev/full' "$MER"
  expect_match err 'write failure on standard output'
fi
done_testing
