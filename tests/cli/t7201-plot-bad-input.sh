#!/usr/bin/env bash
# mer plot refuses bad input with one line naming the file and what is wrong (exit 1), and
# usage mistakes with exit 2; nothing is written then.
. "$MER_SRC/tests/cli/lib.sh"

printf 'name,p_a,p_b,prediction,label\ns1,0.7,0.3,a,a\ns2,0.4,0.6,b,a\n' >pred.csv
printf 'name,discrete\ns1,a\ns2,b\n' >sub.csv
printf '{"epoch": 1, "loss": 1.0, "val_waf": 0.5}\nnot json\n' >bad.jsonl
printf '{"files": []}' >noreport.json

expect_exit 2 "$MER" plot
expect_exit 2 "$MER" plot pie pred.csv -o p
expect_match err "^mer plot: unknown plot 'pie'"
expect_exit 2 "$MER" plot confusion pred.csv
expect_match err "^mer plot: missing -o"
expect_exit 2 "$MER" plot confusion pred.csv pred.csv -o p
expect_exit 2 "$MER" plot confusion pred.csv -o p --format gif
expect_match err "^mer plot: option '--format': format 'gif': expected svg, png or both$"
expect_exit 2 "$MER" plot calibration pred.csv -o p --bins 0
expect_exit 2 "$MER" plot confusion pred.csv -o p --width 10

expect_exit 1 "$MER" plot calibration sub.csv -o p
expect_err_line "^mer plot: 'sub.csv': a submission has no probabilities"
expect_exit 1 "$MER" plot curves bad.jsonl -o p
expect_err_line "^mer plot: 'bad.jsonl':2: not a JSON object$"
expect_exit 1 "$MER" plot curves pred.csv -o p --keys nope
expect_exit 1 "$MER" plot curves . -o p
expect_err_line "no fold-0/log.jsonl"
expect_exit 1 "$MER" plot reliability noreport.json -o p
expect_err_line "^mer plot: 'noreport.json': key 'reliability': expected an object"
expect_exit 1 "$MER" plot confusion missing.csv -o p
expect_err_line "^mer plot: 'missing.csv'"
mkdir -p r1 r2
echo '{"cv": {"per_class": {"a": {"f1": 0.5}, "b": {"f1": 0.2}}}}' >r1/metrics.json
echo '{"cv": {"per_class": {"a": {"f1": 0.5}, "c": {"f1": 0.2}}}}' >r2/metrics.json
expect_exit 1 "$MER" plot f1 r1 r2 -o p
expect_err_line "^mer plot: 'r1/metrics.json' and 'r2/metrics.json' have different classes$"
expect_exit 1 "$MER" plot f1 r1 -o p --split test
expect_err_line "no metrics of split 'test'"
[ ! -e p ] || [ -z "$(ls p)" ] || fail "a refused plot left files: $(ls p)"
done_testing
