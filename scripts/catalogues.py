"""Keep the message catalogues in step: ``python scripts/catalogues.py [--check]``.

The English catalogue (``bot/locale/en/LC_MESSAGES/bot.po``) is the source: its keys are
the messages the code uses, its texts the English. This script

* writes the template ``bot/locale/bot.pot``: every key, where the code uses it, and its
  English text as a comment for translators;
* updates every other catalogue from it (Babel's ``Catalog.update``): new keys are added
  untranslated, removed ones are marked obsolete, translations are kept.

``--check`` changes nothing and exits 1 if the template is out of date or a catalogue
lacks a translation, has different placeholders, or misses a plural form.
"""

from __future__ import annotations

import argparse
import io
import re
import string
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "bot" / "locale"
TEMPLATE = LOCALE / "bot.pot"
SOURCE = LOCALE / "en" / "LC_MESSAGES" / "bot.po"


def read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, domain="bot")


def render(catalog: Catalog, **kwargs: object) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, include_lineno=False, sort_output=True, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def key_of(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def texts(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def usages() -> dict[str, list[str]]:
    """Each quoted key-like string in bot/ and the files it appears in."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.name == "i18n.py":
            continue  # its docstring shows examples
        for key in set(re.findall(r'"([a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+)"', path.read_text())):
            found.setdefault(key, []).append(str(path.relative_to(ROOT)))
    return found


def template(source: Catalog) -> Catalog:
    pot = Catalog(
        domain="bot", project=source.project, version=source.version, copyright_holder=source.copyright_holder,
        msgid_bugs_address=source.msgid_bugs_address, creation_date=source.creation_date, fuzzy=False,
    )  # fmt: skip
    used = usages()
    for message in source:
        if not message.id:
            continue
        key = key_of(message)
        english = " | ".join(texts(message))
        locations = [(path, None) for path in used.get(key, [])]
        comments = [f"English: {english}", *message.auto_comments]
        if not locations:
            comments.append("Key built at run time (not found as a literal).")
        pot.add(message.id, "" if not message.pluralizable else ("", ""), locations=locations, auto_comments=comments)
    return pot


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems(catalog: Catalog, source: Catalog) -> list[str]:
    """What is missing or wrong in ``catalog`` against the English ``source``."""
    found = []
    for message in source:
        if not message.id:
            continue
        key = key_of(message)
        other = catalog.get(message.id)
        expected = set().union(*(placeholders(t) for t in texts(message)))
        if other is None or not all(texts(other)) or other.fuzzy:
            found.append(f"{catalog.locale}: {key} is not translated")
            continue
        if message.pluralizable != other.pluralizable:
            found.append(f"{catalog.locale}: {key} should {'' if message.pluralizable else 'not '}have plural forms")
        elif message.pluralizable and len(texts(other)) != catalog.num_plurals:
            found.append(f"{catalog.locale}: {key} has {len(texts(other))} plural forms, needs {catalog.num_plurals}")
        found += [
            f"{catalog.locale}: {key} has {sorted(placeholders(text))}, English has {sorted(expected)}"
            for text in texts(other)
            if placeholders(text) != expected
        ]
    extra = {key_of(m) for m in catalog if m.id} - {key_of(m) for m in source if m.id}
    found += [f"{catalog.locale}: {key} is not an English message" for key in sorted(extra)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on any problem")
    args = parser.parse_args(argv)
    source = read(SOURCE)
    pot = template(source)
    wanted = render(pot, omit_header=False)
    failures: list[str] = []
    if args.check:
        if not TEMPLATE.exists() or TEMPLATE.read_bytes() != wanted:
            failures.append(f"{TEMPLATE.relative_to(ROOT)} is out of date: run python scripts/catalogues.py")
    else:
        TEMPLATE.write_bytes(wanted)
    for path in sorted(LOCALE.glob("*/LC_MESSAGES/bot.po")):
        if path == SOURCE:
            continue
        catalog = read(path)
        if not args.check:
            catalog.update(pot, update_header_comment=False, update_creation_date=False)
            path.write_bytes(render(catalog, ignore_obsolete=False))
        failures += problems(catalog, source)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
