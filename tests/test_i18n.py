"""The message catalogues: complete in every language, plurals, Babel formats, and a new
language that is nothing but a new catalogue."""

from __future__ import annotations

import io
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from bot import formatting, i18n
from bot.i18n import Html, language_for, languages, t, tn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import catalogues


def test_every_catalogue_has_every_message_with_the_same_placeholders_and_plurals():
    source = catalogues.read(catalogues.SOURCE)
    found = [
        p
        for path in sorted(i18n.LOCALE_DIR.glob("*/LC_MESSAGES/bot.po"))
        for p in catalogues.problems(catalogues.read(path), source)
    ]
    assert found == []


def test_the_template_for_translators_is_up_to_date():
    assert catalogues.main(["--check"]) == 0


def test_the_check_finds_what_a_translator_left_out(tmp_path):
    source = catalogues.read(catalogues.SOURCE)
    broken = catalogues.read(i18n.catalogue_path("zh"))
    broken["stop.done"].string = ""
    broken["unknown.command"].string = "我不认识 {cmd}。"
    broken["status.uptime"].string = ("已运行",)
    assert catalogues.problems(broken, source) == [
        "zh_Hans_CN: status.uptime has [], English has ['count', 'uptime']",
        "zh_Hans_CN: stop.done is not translated",
        "zh_Hans_CN: unknown.command has ['cmd'], English has ['command']",
    ]


@pytest.mark.parametrize(
    ("code", "lang"), [("zh-hans", "zh"), ("zh-TW", "zh"), ("en-US", "en"), ("de", "en"), (None, "en")]
)
def test_language_follows_telegram_language_code(code, lang):
    assert language_for(code) == lang


def test_values_are_escaped_unless_marked_html():
    assert t("en", "unknown.command", command="<b>") == "I don't know &lt;b&gt;. Send /help for the list of commands."
    assert "<i>x</i>" in t("en", "unknown.command", command=Html("<i>x</i>"))


@pytest.mark.parametrize(
    ("lang", "count", "text"),
    [
        ("en", 1, "Up 2d 3h · 1 subscribed chat"),
        ("en", 2, "Up 2d 3h · 2 subscribed chats"),
        ("zh", 1, "已运行 2天3小时 · 1 个订阅聊天"),
        ("zh", 5, "已运行 2天3小时 · 5 个订阅聊天"),
    ],
)
def test_plurals_and_durations_follow_the_language(lang, count, text):
    assert tn(lang, "status.uptime", count, uptime=formatting.fmt_age(timedelta(days=2, hours=3), lang)) == text


@pytest.mark.parametrize(
    ("delta", "en", "zh"),
    [
        (timedelta(days=2, hours=3), "2d 3h", "2天3小时"),
        (timedelta(hours=4, minutes=5), "4h 5m", "4小时5分钟"),
        (timedelta(minutes=29, seconds=3), "29m", "29分钟"),
        (timedelta(seconds=40), "40s", "40秒"),
    ],
)
def test_ages_are_written_in_the_readers_language(delta, en, zh):
    assert (formatting.fmt_age(delta, "en"), formatting.fmt_age(delta, "zh")) == (en, zh)


@pytest.fixture
def with_german(tmp_path, monkeypatch):
    """The shipped catalogues plus a German one made the way a translator would: from the template."""
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    english = catalogues.read(catalogues.SOURCE)
    with (locale / "bot.pot").open("rb") as file:
        german = read_po(file, locale="de_DE", domain="bot")
    for message in german:
        if message.id:  # a translator's work, here: English, with a few German texts
            message.string = english[message.id].string
    german["stop.done"].string = "🔕 Abgemeldet: hier kommen keine Hinweise mehr. /start meldet wieder an."
    german["language.name"].string = "Deutsch"
    german["language.aliases"].string = "de, german, deutsch"
    german["format.date_weekday_year"].string = "EEE, d. MMM y"
    german["format.percent"].string = "{number} %"
    path = locale / "de" / "LC_MESSAGES" / "bot.po"
    path.parent.mkdir(parents=True)
    out = io.BytesIO()
    write_po(out, german)
    path.write_bytes(out.getvalue())
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    i18n._languages.cache_clear()
    yield path
    i18n._languages.cache_clear()


def test_a_new_language_is_one_new_catalogue(with_german):
    from bot.telegram import parsers

    assert languages() == ("en", "de", "zh")
    assert catalogues.problems(catalogues.read(with_german), catalogues.read(catalogues.SOURCE)) == []
    assert language_for("de-AT") == "de" and parsers.language(["Deutsch"]) == "de"
    assert t("de", "stop.done").startswith("🔕 Abgemeldet")
    assert formatting.fmt_pct(-1234.56, "de") == "−1.234,6 %"
    when = datetime(2025, 12, 11, 15, 0, tzinfo=UTC)
    assert formatting.fmt_time(when, "Europe/Berlin", "de") == "Do., 11. Dez. 2025, 16:00 CET"
    assert (
        formatting.fmt_date_range(date(2025, 11, 12), date(2025, 12, 11), "de") == "12. Nov.\u2009–\u200911. Dez. 2025"
    )


HALF_WIDTH = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！", "?": "？"}


def half_width_marks(text: str) -> list[str]:
    """The ASCII punctuation in a Chinese text that Chinese typography writes full-width. Kept:
    marks between digits (92,000, 23:00) and between Latin letters (/set silent heads-up,move)."""
    found = []
    for i, mark in enumerate(text):
        if mark not in HALF_WIDTH:
            continue
        before, after = text[i - 1 : i], text[i + 1 : i + 2]
        if (before.isdigit() and after.isdigit()) or (before.isascii() and before.isalpha() and after.isalpha()):
            continue
        found.append(text[max(0, i - 8) : i + 8])
    return found


def test_chinese_texts_use_full_width_punctuation():
    """Issue 13: a Chinese reader sees ，：（） in Chinese sentences, not ,:() typed in English."""
    zh = catalogues.read(i18n.catalogue_path("zh"))
    wrong = {
        str(message.id): marks
        for message in zh
        if message.id and not str(message.id).startswith("format.") and message.id != "language.aliases"
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if (marks := half_width_marks(str(text or "")))
    }
    assert wrong == {}
