# Shared helpers for the CLI tests (sourced). Each test runs the real binary ($MER) in its own
# scratch directory ($MER_TEST_TMP) and fails on the first unmet expectation.
set -eu
: "${MER:?set MER to the mer binary}"
: "${MER_SRC:?set MER_SRC to the repository root}"
MER_PYTHON=${MER_PYTHON:-/usr/bin/python3}
tmp=${MER_TEST_TMP:-$(mktemp -d)}
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$tmp"
n_checks=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_exit CODE CMD...: runs CMD, stdout to ./out, stderr to ./err, and checks its exit code.
expect_exit() {
  local want=$1 got=0
  shift
  "$@" >out 2>err || got=$?
  n_checks=$((n_checks + 1))
  [ "$got" -eq "$want" ] || {
    cat out err >&2
    fail "'$*' exited $got, expected $want"
  }
}

# expect_err_line PATTERN: stderr is exactly one line and matches the extended regex.
expect_err_line() {
  n_checks=$((n_checks + 1))
  [ "$(wc -l <err)" -eq 1 ] || {
    cat err >&2
    fail "expected one line on stderr, got $(wc -l <err)"
  }
  grep -Eq -- "$1" err || {
    cat err >&2
    fail "stderr does not match '$1'"
  }
}

# expect_match FILE PATTERN: FILE has a line matching the extended regex.
expect_match() {
  n_checks=$((n_checks + 1))
  grep -Eq -- "$2" "$1" || {
    cat "$1" >&2
    fail "'$1' has no line matching '$2'"
  }
}

# expect_same EXPECTED_FILE ACTUAL_FILE
expect_same() {
  n_checks=$((n_checks + 1))
  diff -u "$1" "$2" >&2 || fail "'$2' differs from '$1'"
}

# sample_stores MODALITY...: the bundled sample's stores in this directory: <modality>.safetensors
# for each of video, text (MERTools' utterance-level features) and labels.safetensors.
sample_stores() {
  local m dir
  for m in "$@"; do
    case $m in
    video) dir=clip-vit-large-patch14-UTT ;;
    text) dir=Baichuan-13B-UTT ;;
    *) fail "sample_stores: no sample features for '$m'" ;;
    esac
    "$MER" import -q "$MER_SRC/data/sample/features/$dir" -o "$m.safetensors" >/dev/null
  done
  "$MER" import-labels -q "$MER_SRC/data/sample/manifest.csv" -o labels.safetensors
}

done_testing() {
  echo "$n_checks passed, 0 failed"
}
