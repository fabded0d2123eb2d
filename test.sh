#!/usr/bin/env bash
# Quick start, tests: set up .venv with the dev extras, then check everything offline, as CI does:
# formatting (ruff format), lint (ruff check), types (mypy --strict), the message catalogues,
# and the whole test suite, fast and slow tests, with branch coverage (at least 92 %).
#
#   ./test.sh                 everything (a few minutes on 2 cores)
#   ./test.sh --fast          the fast tests only, no gate (about a minute)
#   ./test.sh -k telegram -x  extra arguments go to pytest (after the gate)
source "$(dirname "$0")/scripts/bootstrap.sh" dev

if [ "${1:-}" = "--fast" ]; then
    shift
    exec .venv/bin/python -m pytest -n auto --dist loadgroup "$@"
fi

fail() { echo "error: $1" >&2; exit 1; }
.venv/bin/ruff format --check --quiet . || fail "code is not formatted: run .venv/bin/ruff format ."
.venv/bin/ruff check --quiet . || fail "lint errors above: fix them (many: .venv/bin/ruff check --fix .)"
.venv/bin/mypy --no-error-summary || fail "type errors above (mypy --strict on bot/)"
.venv/bin/python scripts/catalogues.py --check || fail "message catalogues are incomplete or out of date (above): run python scripts/catalogues.py"
.venv/bin/python scripts/readme_tables.py --check || fail "README.md's settings table is out of date: run python scripts/readme_tables.py"
exec .venv/bin/python -m pytest -n auto --dist loadgroup -m "slow or not slow" --cov --cov-report=term "$@"
