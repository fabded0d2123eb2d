#!/usr/bin/env bash
# Quick start, main job: set up .venv and run the bot. Extra arguments go to `python -m bot`.
# Default: `replay`, what the bot would have said in December 2025 (no token, no network).
# `./run.sh run` starts the live bot (needs TELEGRAM_BOT_TOKEN in .env or the environment).
source "$(dirname "$0")/scripts/bootstrap.sh" ""
if [ $# -eq 0 ]; then set -- replay; fi
exec .venv/bin/python -m bot "$@"
