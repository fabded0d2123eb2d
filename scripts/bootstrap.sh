# Sourced by run.sh and test.sh: make .venv and install the project into it (once per change).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    exit 2
fi
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed${extras:+-$extras}"
wanted="$(sha256sum pyproject.toml | cut -c1-16)"
# The dev install includes everything the plain one has.
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] && [ "$(cat .venv/.installed-dev 2>/dev/null)" != "$wanted" ]; then
    echo "Installing dependencies into .venv (first run takes a minute)..." >&2
    log=.venv/install.log
    if ! { .venv/bin/python -m pip install --quiet --upgrade pip \
           && .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "error: installing the dependencies failed (log above, also in $log)" >&2
        exit 1
    fi
    echo "$wanted" > "$stamp"
fi
