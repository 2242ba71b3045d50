#!/usr/bin/env bash
# Mutation testing of the grader's core (issue 14, item 4): how many planted
# mutants of each core module its fast unit tests kill.
#
#   bash benchmarks/mutation.sh                  # every module below, one after the other
#   bash benchmarks/mutation.sh compare npyfile  # only these (names from MODULES)
#
# Each module is mutated by mutmut 2 (`pip install -e .[dev]` brings it) in a
# throw-away copy of the repository under $MUTATION_DIR (default: a temp dir),
# never in the working tree, and its mutants are killed by the fast targeted
# tests listed beside it (seconds per run, without tests/conftest.py), not by
# the whole suite. It runs under `nice -n 10`. Per module it prints mutmut's counts (killed, survived,
# timed out: 60 s more than the unmutated run) and writes the survivors' diffs to
# $MUTATION_DIR/<module>.survivors. Not part of CI's default run: a module
# takes minutes (hundreds of mutants, each a pytest run), at most
# MUTATION_MODULE_SECONDS (default 2400). Do not run mutmut's own commands in a
# module's copy while it runs: `mutmut show` rewrites its cache from the
# mutated file and breaks the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${AUTOGRADER_TEST_DATA:-$ROOT/../shared/datasets}"
WORK="${MUTATION_DIR:-$(mktemp -d -t autograder-mutation-XXXXXX)}"
# pytest's start is most of a run: no conftest, no cache, none of the installed plugins.
# The runner exits 1 on any failure: mutmut 2 counts only exit code 1 as killed, so a
# mutant that breaks the module's import (pytest exits 2) would count as survived.
PYTEST_FLAGS="--noconftest -x -q -p no:cacheprovider -p no:hypothesispytest -p no:anyio -p no:benchmark -p no:platformdirs"

# module name | file mutated | the tests that must kill its mutants
declare -A FILES=(
  [compare]=autograder/checks/compare.py
  [gradcheck]=autograder/checks/gradcheck.py
  [speed]=autograder/checks/speed.py
  [session]=autograder/checks/session.py
  [outcome]=autograder/checks/outcome.py
  [grading]=autograder/grading.py
  [serialize]=autograder/results/serialize.py
  [npyfile]=autograder/sandbox/npyfile.py
  [child]=autograder/sandbox/child.py
  [batch]=autograder/batch.py
  [gradebook]=autograder/reports/gradebook.py
  [gradescope]=autograder/reports/gradescope.py
  [text]=autograder/reports/text.py
)
declare -A TESTS=(
  [compare]=tests/core/test_compare.py
  [gradcheck]=tests/core/test_gradcheck.py
  [speed]=tests/core/test_speed.py
  [session]=tests/core/test_session.py
  [outcome]="tests/core/test_grading.py"
  [grading]="tests/core/test_grading.py"
  [serialize]=tests/core/test_serialize.py
  [npyfile]=tests/sandbox/test_npyfile.py
  [child]="tests/core/test_child.py"
  [batch]="tests/core/test_batch.py"
  [gradebook]="tests/core/test_reports.py"
  [gradescope]="tests/core/test_reports.py tests/core/test_serialize.py"
  [text]="tests/core/test_reports.py"
)
ORDER=(compare gradcheck speed grading outcome npyfile batch gradescope gradebook text serialize child session)

selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=("${ORDER[@]}")

mkdir -p "$WORK"
echo "mutation work dir: $WORK"
for name in "${selected[@]}"; do
  file="${FILES[$name]:?unknown module $name (one of: ${ORDER[*]})}"
  copy="$WORK/$name"
  rm -rf "$copy"
  mkdir -p "$copy"
  # the tracked files and the new, not yet committed ones: what the tests see
  (cd "$ROOT" && git ls-files -co --exclude-standard -z) | (cd "$ROOT" && xargs -0 cp --parents -t "$copy")
  started=$(date +%s)
  (
    cd "$copy"
    export AUTOGRADER_TEST_DATA="$DATA" PYTHONDONTWRITEBYTECODE=1
    # time-boxed: a module left unfinished reports its untested mutants. `timeout` puts
    # mutmut in a process group of its own: a stopped script passes the signal on.
    nice -n 10 timeout "${MUTATION_MODULE_SECONDS:-2400}" mutmut run --paths-to-mutate "$file" --tests-dir tests \
      --runner "bash -c 'python -m pytest $PYTEST_FLAGS ${TESTS[$name]} || exit 1'" \
      --test-time-base 60 --simple-output --no-progress >"$WORK/$name.log" 2>&1 &
    running=$!
    trap 'kill -TERM "$running" 2>/dev/null; exit 130' INT TERM
    wait "$running" || true
    trap - INT TERM
    mutmut results >"$WORK/$name.results" 2>&1 || true
    : >"$WORK/$name.survivors"
    for id in $(mutmut result-ids survived 2>/dev/null); do
      mutmut show "$id" >>"$WORK/$name.survivors" 2>&1
    done
  )
  counts=$(cd "$copy" && python - <<'EOF'
import sqlite3
db = sqlite3.connect(".mutmut-cache")
rows = dict(db.execute("select status, count(*) from Mutant group by status").fetchall())
total = sum(rows.values())
# "suspicious" is mutmut's word for killed, but slowly; a timeout is counted apart
killed = rows.get("ok_killed", 0) + rows.get("ok_suspicious", 0)
print(f"killed {killed}/{total} ({100 * killed / max(total, 1):.0f}%), "
      f"survived {rows.get('bad_survived', 0)}, timeout {rows.get('bad_timeout', 0)}, "
      f"untested {rows.get('untested', 0)}")
EOF
)
  echo "$name ($file, $(( $(date +%s) - started )) s): $counts"
done
