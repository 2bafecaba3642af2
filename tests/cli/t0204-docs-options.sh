#!/usr/bin/env bash
# The docs and the tool agree on options: every long option in a command's --help appears in
# README.md or configs/README.md, and every --option that README.md's "### mer <command>"
# section names exists in that command's --help (--[no-]x in help is both --x and --no-x).
. "$MER_SRC/tests/cli/lib.sh"

commands=$("$MER" help | sed -n 's/^   \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || fail "'mer help' lists no commands"
for cmd in $commands; do
  "$MER" "$cmd" --help >"help-$cmd.txt" || fail "mer $cmd --help failed"
done
"$MER_PYTHON" - "$MER_SRC" $commands <<'PY'
import re, sys
root, commands = sys.argv[1], sys.argv[2:]
readme = open(root + "/README.md", encoding="utf-8").read()
docs = readme + open(root + "/configs/README.md", encoding="utf-8").read()
problems = []

def options(cmd):
    """Long options of the command's option table, --[no-]x giving --x and --no-x."""
    out = set()
    for line in open("help-%s.txt" % cmd, encoding="utf-8"):
        m = re.match(r"    (?:-\S, )?--(\[no-\])?([a-z][a-z0-9-]*)", line)
        if m:
            out.add(m.group(2))
            if m.group(1):
                out.add("no-" + m.group(2))
    return out

helps = {cmd: options(cmd) for cmd in commands}
for cmd, opts in helps.items():
    for o in sorted(opts):
        if o.startswith("no-") and o[3:] in opts:
            o = "[no-]" + o[3:]  # documented as --no-x or --x
            if not re.search(r"--(no-)?%s\b" % re.escape(o[5:]), docs):
                problems.append("mer %s --%s is in --help but not in the docs" % (cmd, o))
        elif "no-" + o in opts:
            continue  # checked as --[no-]o
        elif not re.search(r"--%s(?![a-z0-9-])" % re.escape(o), docs):
            problems.append("mer %s --%s is in --help but not in the docs" % (cmd, o))

# README's own section of each command: the options it names must exist.
for m in re.finditer(r"^### mer ([a-z-]+)[^\n]*\n(.*?)(?=^##)", readme, re.S | re.M):
    cmd, body = m.group(1), m.group(2)
    if cmd not in helps:
        problems.append("README.md has a section for 'mer %s', which is not a command" % cmd)
        continue
    for o in sorted(set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", body))):
        if o not in helps[cmd] and o != "help":
            problems.append("README.md's 'mer %s' section names --%s, which its --help lacks"
                            % (cmd, o))
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
n_checks=$((n_checks + 1))
done_testing
