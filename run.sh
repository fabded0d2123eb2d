#!/usr/bin/env bash
# Quick start, main job: set up .venv and run the bot. Extra arguments go to `python -m bot`
# (default: `run`, the live bot, which needs TELEGRAM_BOT_TOKEN in .env or the environment).
source "$(dirname "$0")/scripts/bootstrap.sh" ""
if [ $# -eq 0 ]; then set -- run; fi
exec .venv/bin/python -m bot "$@"
