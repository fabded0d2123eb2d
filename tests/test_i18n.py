"""Every message exists in English and Chinese, with the same placeholders."""

import string

import pytest

import bot.telegram.registry  # noqa: F401  (every command module registers its texts)
from bot.i18n import MESSAGES, Html, language_for, t


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_no_key_missing_in_either_language():
    assert set(MESSAGES["en"]) == set(MESSAGES["zh"])


@pytest.mark.parametrize("key", sorted(MESSAGES["en"]))
def test_placeholders_match(key):
    assert _placeholders(MESSAGES["en"][key]) == _placeholders(MESSAGES["zh"][key])


@pytest.mark.parametrize(("code", "lang"), [("zh-hans", "zh"), ("zh-TW", "zh"), ("en-US", "en"), ("de", "en"), (None, "en")])
def test_language_follows_telegram_language_code(code, lang):
    assert language_for(code) == lang


def test_values_are_escaped_unless_marked_html():
    assert t("en", "unknown.command", command="<b>") == "I don't know &lt;b&gt;. Send /help for the list of commands."
    assert "<i>x</i>" in t("en", "unknown.command", command=Html("<i>x</i>"))
