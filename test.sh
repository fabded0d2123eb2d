#!/usr/bin/env bash
# Quick start, tests: set up .venv with the dev extras and run the whole suite offline.
# Extra arguments go to pytest (e.g. ./test.sh -k telegram -x).
source "$(dirname "$0")/scripts/bootstrap.sh" dev
exec .venv/bin/python -m pytest "$@"
