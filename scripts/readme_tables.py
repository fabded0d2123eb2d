"""Keep the README's per-chat settings table in step with the rules' declarations:
``python scripts/readme_tables.py [--check]``.

The table between ``<!-- settings:begin -->`` and ``<!-- settings:end -->`` in README.md
is made from :data:`bot.rules.registry.SETTINGS` (each setting's example, the bot's
default and its English help text), so it never says what ``/set`` does not do.
``--check`` changes nothing and exits 1 if the README's table is out of date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def settings_table() -> str:
    """The markdown table of every per-chat setting, at the defaults of a bare environment."""
    sys.path.insert(0, str(ROOT))
    from bot.config import Settings
    from bot.i18n import t
    from bot.rules.registry import SETTINGS

    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    rows = ["| Setting | Default | What it sets |", "|---|---|---|"]
    for setting in SETTINGS:
        help_text = str(t("en", setting.help)).split(" — ", 1)[-1]
        default = setting.show(setting.default(defaults), "en")
        rows.append(f"| `{setting.example}` | {default} | {help_text.replace('|', chr(92) + '|')} |")
    return "\n".join(rows)


def updated(readme: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README.md has no {BEGIN} … {END} block")
    return pattern.sub(lambda _: f"{BEGIN}\n{settings_table()}\n{END}", readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's table is out of date")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    new = updated(readme)
    if args.check:
        if new != readme:
            print("README.md's settings table is out of date: run python scripts/readme_tables.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
