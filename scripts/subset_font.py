"""Make the CJK font the charts ship with: ``python scripts/subset_font.py NotoSansCJKsc-Regular.otf``.

The charts label Chinese chats' images in Chinese, and neither a fresh machine nor a slim Docker
image has a Chinese font. So the bot ships one: a subset of Noto Sans CJK SC (SIL Open Font
License 1.1, see ``bot/fonts/OFL.txt``) holding only the characters the Chinese texts can put on
a chart, and more: every character of the Chinese catalogue, the dates and weekdays Babel writes
in Chinese, ASCII and the punctuation the texts use. It is renamed (a modified version keeps no
reserved name). ``tests/test_charts.py`` fails, naming the characters, when a chart's Chinese
text needs one the subset lacks: run this again with the full font (Noto Sans CJK SC Regular:
https://github.com/notofonts/noto-cjk, Debian's ``fonts-noto-cjk``, or the ``mplfonts`` wheel on
PyPI, whose ``mplfonts/fonts/NotoSansCJKsc-Regular.otf`` this was made from).
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "bot" / "fonts" / "BotSansCJKsc-Subset.otf"
FAMILY = "Bot Sans CJK SC Subset"
EXTRA = "，。：；！？（）【】《》、“”‘’—–…·×÷±≈≥≤σΔ%‰℃¥€$↑↓→←－／"


def needed_characters(charts_only: bool = False) -> set[str]:
    """Every character a Chinese text can show (see the module's docstring); ``charts_only``: of
    the texts a chart draws (its labels, numbers and dates), which the subset must have."""
    sys.path.insert(0, str(ROOT))
    from babel.dates import format_date, format_datetime

    from bot.i18n import language, template

    chars = {chr(c) for c in range(0x20, 0x7F)} | set(EXTRA)
    for message in language("zh").catalog:
        if charts_only and not str(message.id).startswith(("chart.", "format.")):
            continue
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            chars |= set(str(text or ""))
    keys = ("format.date", "format.date_weekday", "format.date_year", "format.date_weekday_year", "format.datetime",
            "format.weekday", "format.weekday_time")  # fmt: skip
    patterns = [template("zh", key) for key in keys]
    for month in range(1, 13):
        for day in range(1, 8):
            when = datetime(2025, month, day, 9, 30)
            for pattern in patterns:
                chars |= set(format_datetime(when, pattern, locale="zh_Hans_CN"))
            chars |= set(format_date(date(2025, month, day), "full", locale="zh_Hans_CN"))
    # Pictographs (emoji, ✅) and joiners are in the texts but never on a chart: not CJK glyphs.
    return {c for c in chars if c.isprintable() and unicodedata.category(c) not in ("So", "Mn", "Cf")}


def subset(source: Path, target: Path = TARGET) -> int:
    from fontTools import subset as fs
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    options = fs.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = fs.Subsetter(options)
    wanted = needed_characters()
    subsetter.populate(unicodes=[ord(c) for c in wanted])
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "")
        elif record.nameID == 3:
            record.string = f"{FAMILY};subset of Noto Sans CJK SC Regular"
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(target)
    missing = [c for c in wanted if ord(c) not in font.getBestCmap()]
    print(f"{target.relative_to(ROOT)}: {len(wanted) - len(missing)} characters, {target.stat().st_size:,} bytes")
    if missing:
        print(f"not in the source font either: {''.join(sorted(missing))}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the full font: NotoSansCJKsc-Regular.otf")
    return subset(parser.parse_args().source)


if __name__ == "__main__":
    raise SystemExit(main())
