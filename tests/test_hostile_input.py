"""Hostile input, generated (issue 10, fault suite): every command of the registry, with
arguments no one should type, from anyone, in any chat, never breaks the bot.

For each generated update this checks that

- no handler raised: the application's error handler was not reached and nothing was
  logged at ERROR;
- every reply is valid Telegram HTML (only the tags Telegram supports, with the attributes
  it supports; every ``<``, ``>`` and ``&`` a tag or an entity it knows; tags balanced and
  nested), not empty, within 4,096 characters (a chart caption within 1,024), in the chat
  the command came from;
- a command addressed to this bot is answered (in a channel, posted by its admins, too); one
  addressed to another bot, an edited message or post, a message without text (a sticker, a
  photo with a command in its caption) and text without a command at its start are not, and
  change nothing;
- a rejected command changes nothing: when the reply is an error (exactly one line saying
  what is wrong, then the usage example) or the "only admins" refusal, a dump of the
  database (every row of every table: the chat, its settings, levels, mutes, watchlist,
  deliveries, ...; of the market data, seeded once and large, the row counts) is the same
  before and after. A group member who is not an admin changes nothing at all, and the
  read-only commands never do. (The clock moves a second per update, so even a refreshed
  timestamp would show.)

How the updates reach the bot: the real application (:func:`bot.telegram.app.build_application`,
every handler from the registry, the global error handler, the bot's own rate limiter) is
built once per test and initialised against the fake Bot API server (``getMe`` over HTTP);
each generated update is then handed to ``application.process_update`` rather than queued
for ``getUpdates``. Everything the bot asks of Telegram (``sendMessage``, ``sendPhoto``,
``getChatAdministrators``) still goes over real HTTP to the fake, so what is checked is what
the fake received. Long polling would add a poll round trip and a wait per example (a few
thousand examples), and would let PTB drop the updates a real Telegram never sends (an
edited channel post the bot did not ask for); ``process_update`` returns once every handler is done,
so each example is checked right after it ran. The commands are taken from the registry, so
a new command is covered without touching this file.

Each example starts from a clean chat state (the chat rows deleted, so their settings,
levels, mutes and watchlist go with them), optionally seeded (a chat with settings, levels
and mutes; a chat at its caps of 50 levels and 20 tickers), which keeps examples
independent and their failures reproducible.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database
from telegram import Update

from bot.clock import ManualClock
from bot.delivery.limiter import SmoothRateLimiter
from bot.domain import EarningsDate, Quote
from bot.i18n import languages, t, template
from bot.render import telegram_length
from bot.rules.registry import MUTE_GROUPS
from bot.sources.base import SourceUnavailable, UnknownSymbol
from bot.store import chats, market, open_db, own_levels, prefs, watchlist
from bot.telegram.context import BotContext
from bot.telegram.registry import COMMANDS
from tests.fakes.telegram import BOT_USERNAME, FakeTelegram, Sent
from tests.helpers import choose, real_data
from tests.telegram_harness import RELAXED, bot_parts, bot_settings

T0 = datetime(2025, 12, 11, 14, 0, tzinfo=UTC)
NAMES = tuple(c.name for c in COMMANDS)
READ_ONLY = frozenset({"help", "status", "levels", "settings", "price", "corr", "earnings"}) & set(NAMES)
"""Commands that only ever read (the others change the chat when allowed to)."""

# -- Telegram HTML --------------------------------------------------------------------------

ALLOWED_TAGS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "pre", "tg-spoiler"), frozenset()),
    "span": frozenset({"class"}),  # class="tg-spoiler" only
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),  # class="language-…", inside <pre>
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"<>]*\")?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:=\"([^\"<>]*)\")?")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse ``text`` with ``parse_mode=HTML`` (None: it would not)."""
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            tag = _TAG.match(text, i)
            if tag is None:
                return f"a bare '<' at {i}: {text[i : i + 20]!r}"
            closing, name, attrs = tag.group(1), tag.group(2).lower(), tag.group(3)
            if name not in ALLOWED_TAGS:
                return f"tag <{name}> is not one Telegram supports"
            if closing:
                if attrs.strip():
                    return f"closing tag </{name}> with attributes"
                if not stack or stack[-1] != name:
                    return f"</{name}> closes {stack[-1] if stack else 'nothing'}"
                stack.pop()
            else:
                for attr, value in _ATTR.findall(attrs):
                    if attr not in ALLOWED_TAGS[name]:
                        return f"<{name}> does not take {attr!r}"
                    if name == "span" and value != "tg-spoiler":
                        return f"<span class={value!r}>"
                stack.append(name)
            i = tag.end()
        elif char == "&":
            entity = _ENTITY.match(text, i)
            if entity is None:
                return f"a bare '&' at {i}: {text[i : i + 20]!r}"
            i = entity.end()
        elif char == ">":
            return f"a bare '>' at {i}"
        else:
            i += 1
    if stack:
        return f"unclosed {stack}"
    return None


def plain(text: str) -> str:
    """What Telegram shows (and counts) of valid HTML."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def test_the_html_check_itself():
    for good in ("<b>a</b> &lt;x&gt; &amp; &#128512;", '<a href="https://e.com">x</a>', "<pre><code>x</code></pre>"):
        assert html_problem(good) is None, good
    for bad in ("<b>a", "a</b>", "<b><i>x</b></i>", "<script>x</script>", "1 < 2", "a & b", "&nbsp;", "a > b"):
        assert html_problem(bad) is not None, bad


# -- who writes, where ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


ADMIN = Person(111, "Ada", "en", "ada")
OWNER = Person(112, "Li", "zh-hans", "li")
MEMBER = Person(333, "Bob", "en", "bob")  # not an admin of any group
ANONYMOUS_ADMIN = Person(1087968824, "Group", None, "GroupAnonymousBot", is_bot=True)  # posts as the group
CHANNEL_BOT = Person(136817688, "Channel", None, "Channel_Bot", is_bot=True)  # a linked channel's post
GROUP_ID, SUPERGROUP_ID, CHANNEL_ID, OTHER_CHANNEL_ID = -4001, -1001001, -1002002, -1003003


@dataclass(frozen=True)
class Where:
    """A chat and who writes in it."""

    chat_type: str  # private | group | supergroup | channel (a channel post: no sender but the channel)
    sender: Person
    title: str = "Desk"
    sender_chat: dict[str, Any] | None = None

    @property
    def chat_id(self) -> int:
        if self.chat_type == "private":
            return self.sender.id
        return {"group": GROUP_ID, "supergroup": SUPERGROUP_ID, "channel": CHANNEL_ID}[self.chat_type]

    @property
    def may_change(self) -> bool:
        """Whether this sender may change the chat (Telegram's admins, an anonymous admin)."""
        if self.chat_type in ("private", "channel"):  # only a channel's admins can post in it
            return True
        if self.sender_chat is not None:
            return self.sender_chat["id"] == self.chat_id
        return self.sender.id in (ADMIN.id, OWNER.id)

    def chat_api(self) -> dict[str, Any]:
        if self.chat_type == "private":
            data: dict[str, Any] = {"id": self.chat_id, "type": "private", "first_name": self.sender.first_name}
            if self.sender.username:
                data["username"] = self.sender.username
            return data
        return {"id": self.chat_id, "type": self.chat_type, "title": self.title}


# -- what they write ------------------------------------------------------------------------

HOSTILE = (
    "<b>", "</b>", "<i>x</i>", "<b><i>x</b></i>", '<a href="javascript:alert(1)">x</a>', "<script>alert(1)</script>",
    "<", ">", "&", "&amp;", "&lt;", "&#0;", "&nbsp;", '"', "'", "`", "\\", "{}", "{0}", "{symbol}", "{__class__}",
    "%s%n", "*bold*", "_it_", "`code`", "```pre```", "[x](http://e.com)", "~~s~~", "||spoiler||", "__u__",
    "'; DROP TABLE chats;--", '" OR 1=1 --', "1); DELETE FROM chat_levels; --", "' UNION SELECT * FROM chats --",
    "../../etc/passwd", "\u202eevil", "\u200f", "\u2066x\u2069", "\u200b", "\ufeff", "مرحبا", "שלום",
    "\x00", "\x07", "\x1b[31m", "\r", "\u2028", "\u0085", "z̸̢͓̈́a̵l̴g̷o̶", "👨‍👩‍👧‍👦", "🇺🇸", "😀" * 20, "𝟗𝟎𝟎𝟎𝟎",
    "null", "None", "undefined", "NaN", "true", "@AlertTestBot", "@OtherBot", "/start", "/start@OtherBot",
    "#", "$BTC", "$", "doge", "BRK.B", "^GSPC", "EURUSD=X", "A" * 15, "A" * 16, "ß", "ﬃ", "ı",
)  # fmt: skip
NUMBERS = (
    "1e308", "-1e308", "1e309", "-0", "0", "-0.0", "+0", "1e-300", "5e-324", "nan", "-nan", "inf", "-inf",
    "Infinity", "1e6", "1e-6", "0.000001", "90000", "-90000", "90,000", "90_000", "90k", "1.5m", "1e3k", "0x1F",
    "1__0", ",", ".", "٩٠٠٠٠", "９００００", "९००००", "9⁰⁰⁰⁰", "½", "Ⅸ", "9" * 40, "#1", "#0", "#-1", "#" + "9" * 13,
    "3σ", "3s", "3 sigma", "0σ", "11σ", "nanσ", "infσ", "2.5%", "50%", "51%", "%", "0.49", "1e2d", "30d", "90d",
    "261", "260", "5", "4", "5.5", "2h", "30m", "1d", "52w", "53w", "9999d", "0m", "٢h", "-2h", "2H", "1e1h",
)  # fmt: skip
GRAMMAR: dict[str, tuple[str, ...]] = {
    "alert": ("add {symbol} {direction} {price}", "del {id}", "list", "{action} {symbol} {direction} {price}"),
    "set": ("{setting} {value}", "{setting} default"),
    "mute": ("{group} {duration}",),
    "unmute": ("{group}", ""),
    "tz": ("{zone}",),
    "lang": ("{language}",),
    "price": ("{symbol}", "{symbol} {symbol}", "{symbol},{symbol}"),
    "corr": ("{symbol}", "{symbol} {window}"),
    "watch": ("add {symbol}", "del {symbol}", "list", "{action} {symbol}"),
}
"""Well-formed arguments of the commands that take some: a slot gets a good value or a hostile
one, so the checks behind the parsers run too. A command not here gets words at random."""
SLOTS: dict[str, tuple[str, ...]] = {
    "symbol": ("btc", "BTC", "$btc", "nvda", "orcl", "qqq", "pltr", "PLTR", "coin", "shop", "down", "T1", "a", "doge"),
    "direction": ("above", "below", ">", "<", "over", "高于", "低于"),
    "price": ("88000", "95k", "90,000", "1e-6", "1e9", "0.5", "１２３"),
    "id": ("1", "#2", "3", "50", "51"),
    "action": ("add", "new", "+", "del", "rm", "-", "list", "ls"),
    "setting": ("move", "shock", "corr", "charts", "heads-up", "headsup", "MOVE"),
    "value": ("3σ", "5%", "3.5", "2", "6", "10σ", "on", "off", "开", "default", "reset"),
    "group": ("level_break", "move", "earnings", "correlation", "all", "财报", "corr", "everything"),
    "duration": ("2h", "30m", "1d", "52w", "١h"),
    "zone": ("Europe/Berlin", "berlin", "New York", "utc", "Asia/Shanghai", "america/new_york"),
    "language": ("en", "zh", "中文", "English", "ZH"),
    "window": ("30d", "90d", "20", "260", "5"),
}
VOCABULARY = tuple(dict.fromkeys(v for values in SLOTS.values() for v in values))
LONG = ("x" * 4097, "😀" * 2100, "<b>" * 1400, "&" * 4100, "٩" * 5000, "\u202e" * 4100, "a " * 2100)
SEPARATORS = (" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000")
OURS = (f"@{BOT_USERNAME}", f"@{BOT_USERNAME.lower()}", f"@{BOT_USERNAME.upper()}")
OTHER_BOTS = ("@OtherBot", "@SomeOtherBot_bot", f"@{BOT_USERNAME}2", "@a")


words = st.one_of(
    st.sampled_from(VOCABULARY),
    st.sampled_from(NUMBERS),
    st.sampled_from(HOSTILE),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=24),
)
random_arguments = st.one_of(
    st.lists(words, max_size=6).flatmap(lambda ws: st.sampled_from(SEPARATORS).map(lambda sep: sep.join(ws))),
    st.sampled_from(LONG),
    st.text(min_size=1, max_size=300),
)


@st.composite
def arguments(draw: st.DrawFn, name: str) -> str:
    """What follows ``/name``: most often its grammar with good or hostile values, else anything."""
    patterns = GRAMMAR.get(name.lower())
    if not patterns or draw(st.integers(0, 3)) == 0:
        return draw(random_arguments)
    pattern = draw(st.sampled_from(patterns))
    filled = re.sub(
        r"\{(\w+)\}",
        lambda slot: draw(words if draw(st.integers(0, 2)) == 0 else st.sampled_from(SLOTS[slot.group(1)])),
        pattern,
    )
    if draw(st.integers(0, 5)) == 0:
        filled += " " + draw(words)
    return filled.replace(" ", draw(st.sampled_from(SEPARATORS)))


@st.composite
def command_names(draw: st.DrawFn) -> str:
    """A command of the registry, sometimes in capitals; now and then one the bot does not have."""
    pick = draw(st.integers(0, 9))
    if pick == 0:
        return draw(st.from_regex(r"[a-z0-9_]{1,40}", fullmatch=True))
    name = draw(st.sampled_from(NAMES))
    return name.upper() if pick == 1 else name


hostile_titles = st.one_of(st.just("Desk"), st.sampled_from(HOSTILE), st.text(min_size=1, max_size=40))
language_codes = st.sampled_from(("en", "en-US", "zh-hans", "zh", "ar", "he", "", None, "x" * 64, "<b>"))


@st.composite
def places(draw: st.DrawFn) -> Where:
    """A private chat, a group or supergroup and someone in it (admin or not), or a channel."""
    chat_type = draw(st.sampled_from(("private", "private", "group", "supergroup", "supergroup", "channel")))
    if chat_type == "channel":  # a post: its sender is the channel itself
        return Where("channel", CHANNEL_BOT, draw(hostile_titles))
    if chat_type == "private":
        base = draw(st.sampled_from((ADMIN, OWNER, MEMBER)))
        sender = Person(base.id, draw(hostile_titles), draw(language_codes), base.username)
        return Where("private", sender)
    title = draw(hostile_titles)
    chat_id = GROUP_ID if chat_type == "group" else SUPERGROUP_ID
    sender = draw(st.sampled_from((ADMIN, OWNER, MEMBER, MEMBER, ANONYMOUS_ADMIN, CHANNEL_BOT)))
    sender = Person(sender.id, sender.first_name, draw(language_codes), sender.username, sender.is_bot)
    sender_chat = None
    if sender.id == ANONYMOUS_ADMIN.id:
        sender_chat = {"id": chat_id, "type": chat_type, "title": title}
    elif sender.id == CHANNEL_BOT.id:
        sender_chat = {"id": OTHER_CHANNEL_ID, "type": "channel", "title": "Someone's channel"}
    return Where(chat_type, sender, title, sender_chat)


@dataclass(frozen=True)
class Typed:
    """A command as typed: ``/name@suffix`` and what follows."""

    name: str
    suffix: str
    rest: str

    @property
    def text(self) -> str:
        return f"/{self.name}{self.suffix}{self.rest}"

    @property
    def command_length(self) -> int:
        """The bot_command entity (UTF-16 units, as Telegram counts; the command is ASCII)."""
        return 1 + len(self.name) + len(self.suffix)

    @property
    def for_another_bot(self) -> bool:
        return bool(self.suffix) and self.suffix[1:].lower() != BOT_USERNAME.lower()


@st.composite
def typed_commands(draw: st.DrawFn, *, other_bots: bool = True) -> Typed:
    name = draw(command_names())
    pick = draw(st.integers(0, 9))
    suffix = draw(st.sampled_from(OTHER_BOTS if pick == 0 and other_bots else OURS)) if pick < 3 else ""
    args = draw(arguments(name))
    if not args:
        rest = ""
    elif draw(st.integers(0, 9)) == 0:
        rest = args  # glued to the command: "/set<b>"
    else:
        rest = draw(st.sampled_from(SEPARATORS)) + args
    if rest[:1].isascii() and (rest[:1].isalnum() or rest[:1] in "_@"):
        rest = " " + rest  # it would be part of the command
    return Typed(name, suffix, rest)


SEEDS = ("fresh", "fresh", "fresh", "known", "full")


# -- the bot --------------------------------------------------------------------------------

MARKET_DATA = frozenset({"bars", "quotes", "earnings"})  # written by the collectors only
KNOWN_TICKERS = frozenset({"PLTR", "COIN", "SHOP", "A", "BRK.B", "^GSPC", "EURUSD=X", "AAAAAAAAAAAAAAA"})


class Tickers:
    """The equity source's answer to /watch add: a few tickers exist, DOWN finds it unreachable."""

    async def validate_symbol(self, ticker: str) -> str:
        if ticker == "DOWN":
            raise SourceUnavailable("yfinance: unreachable")
        if ticker not in KNOWN_TICKERS:
            raise UnknownSymbol(ticker)
        return ticker


@dataclass
class Outcome:
    replies: list[Sent]
    changed: bool
    errors: list[BaseException]


@dataclass(repr=False)
class Driver:
    """The real application, fed updates one at a time; replies go over HTTP to the fake."""

    app: Any
    fake: FakeTelegram
    db: Database
    clock: ManualClock
    errors: list[BaseException] = field(default_factory=list)
    update_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    def __repr__(self) -> str:
        return "driver"

    def dump(self) -> dict[str, Any]:
        """Every row of every table (of the market data, seeded once and large, how many rows)."""
        tables = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            name: self.db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            if name in MARKET_DATA
            else sorted((tuple(row) for row in self.db.execute(f'SELECT * FROM "{name}"')), key=repr)
            for name in tables
        }

    def reset(self, seed: str, where: Where) -> None:
        """A clean chat state, then ``seed`` for the chat of ``where``."""
        self.db.execute("DELETE FROM chats")  # its settings, levels, mutes, watchlist, deliveries go with it
        if seed == "fresh":
            return
        now, chat = self.clock.now(), where.chat_id
        chats.remember_chat(self.db, chat, where.chat_type, title="Seeded", language="zh", now=now)
        chats.set_subscribed(self.db, chat, True, now=now)
        chats.set_timezone(self.db, chat, "Asia/Shanghai", now)
        choose(self.db, chat, "move", "3σ", now)
        choose(self.db, chat, "charts", "off", now)
        prefs.set_mute(self.db, chat, MUTE_GROUPS["move"][0], now + timedelta(hours=2))
        levels = own_levels.MAX_CHAT_LEVELS if seed == "full" else 2
        for i in range(levels):
            own_levels.add_level(self.db, chat, "BTC", 80_000 + i, "above" if i % 2 else "below", now)
        for i in range(20 if seed == "full" else 2):
            watchlist.add_symbol(self.db, chat, f"T{i}", now)

    async def send(self, kind: str, message: dict[str, Any]) -> Outcome:
        """Hand one update (``kind``: message, edited_message, channel_post, ...) to the bot."""
        self.clock.advance(1)  # anything stored shows in the dump, even a refreshed timestamp
        before, sent, errors = self.dump(), len(self.fake.sent), len(self.errors)
        update = Update.de_json({"update_id": next(self.update_ids), kind: message}, self.app.bot)
        await self.app.process_update(update)
        return Outcome(self.fake.sent[sent:], self.dump() != before, self.errors[errors:])

    def message(self, where: Where, text: str | None, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": next(self.update_ids),
            "date": int(self.clock.now().timestamp()),
            "chat": where.chat_api(),
            **extra,
        }
        if where.chat_type == "channel":
            data["sender_chat"] = where.chat_api()
        else:
            data["from"] = where.sender.to_api()
        if where.sender_chat is not None:
            data["sender_chat"] = where.sender_chat
        if text is not None:
            data["text"] = text
        return data

    async def command(self, where: Where, typed: Typed) -> Outcome:
        entity = {"type": "bot_command", "offset": 0, "length": typed.command_length}
        kind = "channel_post" if where.chat_type == "channel" else "message"
        return await self.send(kind, self.message(where, typed.text, entities=[entity]))


@pytest.fixture(scope="session")
def market_store(tmp_path_factory) -> Path:
    """A store with market data, built once: quotes, an earnings date, the daily bars of BTC and
    NVDA (so /corr nvda answers with numbers and a chart) and BTC's hourly bars."""
    path = tmp_path_factory.mktemp("hostile") / "market.db"
    db = open_db(path)
    market.insert_quotes(
        db,
        [
            Quote("BTC", 92_187.5, T0, "binance", T0, -1.25),
            Quote("NVDA", 180.21, T0, "yfinance", T0 - timedelta(hours=3), None),
            Quote("PLTR", 1e-6, T0, "yfinance", T0, 1e6),
        ],
    )
    market.upsert_earnings(db, [EarningsDate("NVDA", date(2025, 12, 17), "amc", "yfinance")], T0)
    since = T0 - timedelta(days=400)
    for symbol, interval in (("BTC", "1d"), ("BTC", "1h"), ("NVDA", "1d")):
        market.upsert_bars(db, [b for b in real_data().series(symbol, interval) if since <= b.ts < T0])
    db.close()
    return path


@pytest.fixture
async def driver(fake: FakeTelegram, tmp_path, market_store) -> AsyncIterator[Driver]:
    from bot.telegram.app import build_application

    clock = ManualClock(T0)
    settings = bot_settings(fake, tmp_path)
    shutil.copyfile(market_store, settings.database_path)
    parts = bot_parts(settings, clock=clock, symbols=Tickers())
    db = parts.db
    fake.long_polls = False
    for group in (GROUP_ID, SUPERGROUP_ID):
        fake.members[(group, ADMIN.id)] = "administrator"
        fake.members[(group, OWNER.id)] = "creator"
        fake.members[(group, MEMBER.id)] = "member"
    app = build_application(parts, rate_limiter=SmoothRateLimiter(RELAXED))
    running = Driver(app, fake, db, clock)

    async def record(update: object, context: BotContext) -> None:
        if context.error is not None:
            running.errors.append(context.error)

    app.add_error_handler(record)
    await app.initialize()  # getMe, over HTTP
    try:
        yield running
    finally:
        await app.shutdown()
        db.close()


# -- what every reply must be ---------------------------------------------------------------

USAGE_PREFIXES = tuple(template(lang, "args.usage").split("{example}")[0] for lang in languages())
REFUSALS = frozenset(t(lang, "admin.only") for lang in languages())


def is_error(text: str) -> bool:
    """A refused argument: one line saying what is wrong, then the usage example."""
    return text.rsplit("\n", 1)[-1].startswith(USAGE_PREFIXES)


def check_reply(reply: Sent, chat_id: int) -> None:
    assert reply.chat_id == chat_id, f"answered in chat {reply.chat_id}, not {chat_id}"
    text = reply.text or ""
    problem = html_problem(text)
    assert problem is None, f"not valid Telegram HTML ({problem}): {text[:300]!r}"
    shown = plain(text)
    assert shown.strip(), f"an empty message: {text[:300]!r}"
    limit = 1024 if reply.method == "sendPhoto" else 4096
    assert telegram_length(text) <= limit, f"{telegram_length(text)} characters: {text[:200]!r}…"
    assert reply.params.get("parse_mode") == "HTML"
    markup = reply.params.get("reply_markup")
    if markup:
        markup = json.loads(markup) if isinstance(markup, str) else markup
        for button in (b for row in markup.get("inline_keyboard", ()) for b in row):
            assert 1 <= len(button.get("callback_data", "x").encode()) <= 64, button
        for button in (b for row in markup.get("keyboard", ()) for b in row):  # /channel's chat picker
            assert 1 <= len(button["text"]) <= 64 and button.get("request_chat", {}).get("chat_is_channel"), button
    if is_error(text):
        assert text.count("\n") == 1, f"an error in more than one line: {text!r}"


def check_command(where: Where, typed: Typed, outcome: Outcome, caplog: pytest.LogCaptureFixture) -> None:
    said = typed.text[:120]
    assert not outcome.errors, f"{said!r} in {where.chat_type} raised {outcome.errors[0]!r}"
    logged = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not logged, f"{said!r} logged {logged[0].getMessage()[:300]}"
    for reply in outcome.replies:
        check_reply(reply, where.chat_id)
    texts = [r.text or "" for r in outcome.replies]
    if typed.for_another_bot:
        assert not texts and not outcome.changed, f"{said!r} was for another bot: {texts}"
        return
    assert texts, f"{said!r} got no answer"
    refused = any(is_error(text) or text in REFUSALS for text in texts)
    read_only = typed.name.lower() in READ_ONLY
    if refused or read_only or not where.may_change:
        assert not outcome.changed, f"{said!r} ({where.sender.first_name} in {where.chat_type}) changed: {texts}"


# -- the tests ------------------------------------------------------------------------------

FIXED_ARGUMENTS = ("", *NUMBERS[::4], *HOSTILE[::4], *LONG, "add btc below 1e-300", "nvda 5", "add nvda above 1e308")


def fixed_arguments(name: str) -> list[str]:
    """The fixed sample, and the command's grammar with good values, then with each slot hostile."""
    good, spoiled = [], []
    for pattern in GRAMMAR.get(name, ()):
        slots = re.findall(r"\{(\w+)\}", pattern)
        values = [SLOTS[slot][0] for slot in slots]
        as_text = re.sub(r"\{\w+\}", "{}", pattern)
        good.append(as_text.format(*values))
        for i in range(len(slots)):
            spoiled += [as_text.format(*values[:i], bad, *values[i + 1 :]) for bad in HOSTILE[1::7]]
    return [*FIXED_ARGUMENTS, *good, *spoiled, *good]


@pytest.mark.parametrize("name", NAMES)
async def test_every_command_survives_a_fixed_set_of_hostile_arguments(driver, caplog, name):
    """Each command of the registry (so a new one too), in a private chat and from a group
    member who is not an admin, with a fixed sample of the hostile arguments."""
    member = Where("supergroup", MEMBER, title="<b>Desk</b> & co")
    for where, seed in ((Where("private", ADMIN), "fresh"), (Where("private", OWNER), "full"), (member, "full")):
        driver.reset(seed, where)
        for rest in fixed_arguments(name):
            typed = Typed(name, "", f" {rest}" if rest else "")
            check_command(where, typed, await driver.command(where, typed), caplog)


@pytest.mark.slow  # about 15 s alone, 30 s under coverage
@settings(
    max_examples=1000,  # with the 500 below: 1,500 generated updates per run, besides the fixed ones
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(typed=typed_commands(), where=places(), seed=st.sampled_from(SEEDS))
async def test_any_command_with_any_arguments_from_anyone(driver, caplog, typed, where, seed):
    caplog.clear()
    driver.reset(seed, where)
    check_command(where, typed, await driver.command(where, typed), caplog)


@st.composite
def unanswered(draw: st.DrawFn) -> tuple[str, Where, dict[str, Any]]:
    """An update no command answers: an edited command or channel post, a sticker, a photo
    with a command as its caption, text without a command or with one further on. (kind,
    where, the message beside its chat and sender)."""
    typed = draw(typed_commands(other_bots=False))
    entity = [{"type": "bot_command", "offset": 0, "length": typed.command_length}]
    what = draw(st.sampled_from(("edited", "edited_channel", "sticker", "photo", "chat", "later")))
    if what == "edited_channel":
        where = Where("channel", CHANNEL_BOT, draw(hostile_titles))  # the sender is the channel
        return "edited_channel_post", where, {"text": typed.text, "entities": entity}
    where = draw(places())
    if what == "edited":
        return "edited_message", where, {"text": typed.text, "entities": entity}
    if what == "chat":  # no command: someone talking, or pasting a command as plain text
        return "message", where, {"text": draw(st.one_of(arguments(typed.name).filter(bool), st.just(typed.text)))}
    if what == "later":  # a command, but not at the start
        prefix = draw(st.sampled_from(("hi ", "\u202e ", "> ", "😀 ")))
        later = {"type": "bot_command", "offset": len(prefix.encode("utf-16-le")) // 2, "length": typed.command_length}
        return "message", where, {"text": prefix + typed.text, "entities": [later]}
    if what == "sticker":
        sticker = {
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": draw(st.sampled_from(("😀", "\u202e", "<b>"))),
        }
        return "message", where, {"sticker": sticker}
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
    return "message", where, {"photo": photo, "caption": typed.text, "caption_entities": entity}


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(update=unanswered(), seed=st.sampled_from(SEEDS))
async def test_edits_and_non_commands_are_not_answered(driver, caplog, update, seed):
    caplog.clear()
    kind, where, extra = update
    driver.reset(seed, where)
    message = {**driver.message(where, None), **extra}
    if kind.startswith("edited"):
        message["edit_date"] = message["date"]
    outcome = await driver.send(kind, message)
    assert not outcome.errors, f"{kind} raised {outcome.errors[0]!r}"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not outcome.replies, f"{kind} was answered: {[r.text for r in outcome.replies]}"
    assert not outcome.changed
