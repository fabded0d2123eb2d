"""/price, /corr, /earnings and /watch through PTB's real HTTP stack and the fake Bot API,
on a store seeded with the shipped real 2025 daily bars (and a few quotes)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.config import SHIPPED_REPLAY_DATA
from bot.domain import EarningsDate, Quote
from bot.formatting import fmt_corr, fmt_date_range
from bot.health import HealthRegistry
from bot.rules.correlation import latest_verdict
from bot.rules.correlation_stats import current_correlation
from bot.sources.base import SourceUnavailable, UnknownSymbol
from bot.sources.replay import ReplaySource
from bot.sources.replay_data import load_replay_data
from bot.store import chats, market, open_db, watchlist
from bot.telegram import market_commands
from tests.fakes.telegram import FakeChat, FakeTelegram, FakeUser
from tests.telegram_harness import RunningBot, bot_settings, running_bot

# One bot (module-scoped, on a module-scoped loop) serves the tests that store nothing, each
# as a new user: the bot's rate limiter spaces messages to one chat a second apart. Tests that
# change the store or need another clock start their own bot with ``market_bot``.
pytestmark = pytest.mark.asyncio(loop_scope="module")

ADA = FakeUser(111, "Ada", "ada", "en")
GROUP = FakeChat(-100700, "supergroup", title="Desk")
AFTER_2025 = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)  # every shipped bar has closed
WATCHLIST = "NVDA,AMD,ORCL,QQQ"
REPLAY = load_replay_data()
_user_ids = itertools.count(5000)


@dataclass
class FakeEquities:
    """Stands in for the yfinance source's ticker check: ZZZZ is unknown, DOWN can't be checked."""

    asked: list[str] = field(default_factory=list)

    async def validate_symbol(self, ticker: str) -> str:
        self.asked.append(ticker)
        if ticker == "ZZZZ":
            raise UnknownSymbol("Yahoo Finance does not know ZZZZ")
        if ticker == "DOWN":
            raise SourceUnavailable("yfinance: rate limited")
        return ticker.upper()


def with_collector(bot: RunningBot) -> FakeEquities:
    """Give the running bot a fake ticker check (the equity source's)."""
    equities = FakeEquities()
    bot.app.bot_data.deps.symbols = equities
    return equities


def seed(db, now: datetime) -> None:
    """Real daily bars of 2025, ten sessions of them as ARM (too few for a correlation), quotes."""
    for symbol in ("BTC", "NVDA", "AMD", "ORCL", "QQQ"):
        market.upsert_bars(db, REPLAY.series(symbol, "1d"))
    market.upsert_bars(db, [replace(b, symbol="ARM") for b in REPLAY.series("NVDA", "1d")[:10]])
    market.insert_quotes(
        db,
        [
            Quote("BTC", 92541.2, now - timedelta(minutes=2), "binance", now - timedelta(minutes=2), 1.24),
            Quote("NVDA", 180.25, now - timedelta(hours=2, minutes=5), "yfinance", now - timedelta(hours=2), -0.51),
            Quote("ORCL", 198.4, now - timedelta(minutes=1), "yfinance", now - timedelta(minutes=1), None),
        ],
    )


@asynccontextmanager
async def market_bot(
    fake: FakeTelegram, tmp_path: Path, now: datetime = AFTER_2025, *, collecting: bool = True, **overrides: Any
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(fake, tmp_path, equity_watchlist=WATCHLIST, **overrides)
    db = open_db(settings.database_path)
    seed(db, now)
    async with running_bot(
        settings, fake, db, clock=ManualClock(now), health=HealthRegistry(collecting=collecting)
    ) as bot:
        yield bot


async def ask(fake: FakeTelegram, text: str, user: FakeUser = ADA, chat: FakeChat | None = None, count: int = 1):
    """Send ``text`` as ``user`` and return the ``count`` replies it produced."""
    chat_id = chat.id if chat else user.id
    before = len(fake.messages_to(chat_id))
    fake.user_sends(text, user, chat)
    return (await fake.wait_for(chat_id, before + count))[before:]


def stored_extras(bot: RunningBot, chat_id: int) -> list[str]:
    return watchlist.chat_symbols(bot.db, chat_id)


@pytest_asyncio.fixture(loop_scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def bot(fake, tmp_path) -> AsyncIterator[RunningBot]:
    async with market_bot(fake, tmp_path) as running:
        yield running


@dataclass
class Shared:
    fake: FakeTelegram
    bot: RunningBot
    equities: FakeEquities


@dataclass
class Turn:
    """One test's use of the shared bot, as a user of its own."""

    fake: FakeTelegram
    bot: RunningBot
    equities: FakeEquities
    user: FakeUser

    async def ask(self, text: str, count: int = 1, *, lang: str = "en") -> list:
        user = replace(self.user, language_code="zh-hans") if lang == "zh" else self.user
        return await ask(self.fake, text, user, count=count)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory) -> AsyncIterator[Shared]:
    """A bot for the tests that store nothing: NVDA is stale, a fake equity source checks tickers."""
    server = FakeTelegram()
    await server.start()
    async with market_bot(server, tmp_path_factory.mktemp("shared")) as running:
        running.health.set_stale({"NVDA": AFTER_2025 - timedelta(hours=2)})
        yield Shared(server, running, with_collector(running))
    await server.stop()


@pytest.fixture
def same(shared: Shared) -> Iterator[Turn]:
    """The shared bot, a new user, no ticker checks yet; afterwards the user's chat stored nothing."""
    shared.equities.asked.clear()
    user = FakeUser(next(_user_ids), "Ada", "ada", "en")
    yield Turn(shared.fake, shared.bot, shared.equities, user)
    assert stored_extras(shared.bot, user.id) == []


async def test_help_and_menu_list_the_market_commands(same):
    [reply] = await same.ask("/help")
    for command in ("/price", "/corr", "/earnings", "/watch"):
        assert sum(line.startswith(command + " ") for line in reply.text.splitlines()) == 1
    assert {"price", "corr", "earnings", "watch"} <= {c["command"] for c in same.fake.commands[None]}


# -- /price ----------------------------------------------------------------------------------


async def test_price_shows_btc_and_the_watchlist_with_change_age_and_staleness(same):
    [reply] = await same.ask("/price")
    assert reply.text.splitlines() == [
        "<b>Prices</b>",
        "<b>BTC</b> 92,541 · +1.2 % 24h · 2m ago",
        "<b>NVDA</b> 180.25 · −0.5 % 24h · 2h 5m ago · ⚠️ stale",
        "<b>AMD</b> no price yet",
        "<b>ORCL</b> 198.40 · 1m ago",
        "<b>QQQ</b> no price yet",
    ]


async def test_price_of_named_symbols_in_their_order(same):
    [reply] = await same.ask("/price orcl $btc")
    assert reply.text.splitlines()[1:] == ["<b>ORCL</b> 198.40 · 1m ago", "<b>BTC</b> 92,541 · +1.2 % 24h · 2m ago"]


async def test_price_says_when_no_source_is_running(fake, tmp_path):
    async with market_bot(fake, tmp_path, collecting=False):
        [reply] = await ask(fake, "/price btc")
    assert reply.text.endswith("No data source is running: these are the last stored prices.")


async def test_price_in_chinese(same):
    [reply] = await same.ask("/price btc", lang="zh")
    assert reply.text.splitlines() == ["<b>价格</b>", "<b>BTC</b> 92,541 · 24小时 +1.2% · 2分钟前"]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ("zzzz", "I don't track ZZZZ. Tracked: BTC, NVDA, AMD, ORCL, QQQ."),
        ("btc <b>x</b>", "“&lt;b&gt;x&lt;/b&gt;” is not a symbol."),
        ("a b c d e f g h i j k", "At most 10 symbols at once."),
        ("x" * 5000, "That is too long: at most 200 characters after the command."),
    ],
)
async def test_price_bad_arguments_get_one_line_and_usage(same, arguments, problem):
    [reply] = await same.ask(f"/price {arguments}")
    assert reply.text == f"{problem}\nUsage: <code>{market_commands.PRICE_USAGE}</code>"


# -- /corr -----------------------------------------------------------------------------------


async def test_corr_gives_30d_and_90d_values_their_intervals_change_the_date_range_the_alert_test_and_a_chart(same):
    btc = market.load_bars(same.bot.db, "BTC", "1d")
    nvda = market.load_bars(same.bot.db, "NVDA", "1d")
    r30, r90 = current_correlation(btc, nvda, 21), current_correlation(btc, nvda, 63)
    test = latest_verdict(btc, [], nvda, AFTER_2025)  # no hourly BTC stored: BTC's daily closes
    (low, high), (usual_low, usual_high) = test.bounds()

    text, photo = await same.ask("/corr nvda", 2)

    assert text.method == "sendMessage"

    def value(reading) -> str:
        return f"<b>{fmt_corr(reading.value)}</b> (95 % CI {fmt_corr(reading.low)}–{fmt_corr(reading.high)})"

    def change(reading) -> str:
        return fmt_corr(reading.value - reading.earlier, signed=True)

    z = ("+" if test.z > 0 else "−") + f"{abs(test.z):.1f}σ"
    assert text.text.splitlines() == [
        "<b>BTC × NVDA correlation</b> (daily returns)",
        f"30d (21 sessions): {value(r30)} · {change(r30)} over 10 sessions",
        f"90d (63 sessions): {value(r90)} · {change(r90)} over 10 sessions",
        f"Data: {fmt_date_range(r90.start, r30.end)}",
        "<b>Alert test</b>: last 20 sessions vs the 100 before, BTC at the NYSE close, outliers capped",
        f"Correlation {fmt_corr(test.recent)} (95 % CI {fmt_corr(low)}–{fmt_corr(high)})"
        f" vs usual {fmt_corr(test.usual)} ({fmt_corr(usual_low)}–{fmt_corr(usual_high)})",
        f"Change {z} (standard errors); alerts from ±3.1σ",
    ]
    assert -1 < r30.low < r30.value < r30.high < 1 and r90.high - r90.low < r30.high - r30.low
    assert r30.end == date(2025, 12, 31)
    assert photo.method == "sendPhoto"
    assert photo.photo.startswith(b"\x89PNG\r\n\x1a\n") and 20_000 < len(photo.photo) < 300_000
    assert photo.text == "BTC × NVDA: 30d rolling correlation, prices rebased to 100"
    # while the chart is drawn, the chat sees "sending a photo…" (after the text, before the photo)
    actions = [(action, before) for chat, action, before in same.fake.chat_actions if chat == same.user.id]
    assert actions == [("upload_photo", same.fake.sent.index(photo))]


@pytest.mark.parametrize(("window", "label"), [("90d", "90d (63 sessions)"), ("40", "40d (40 sessions)")])
async def test_corr_with_a_window(same, window, label):
    btc = market.load_bars(same.bot.db, "BTC", "1d")
    days = 63 if window == "90d" else 40
    expected = current_correlation(btc, market.load_bars(same.bot.db, "QQQ", "1d"), days)
    text, photo = await same.ask(f"/corr QQQ {window}", 2)
    assert text.text.splitlines()[1].startswith(f"{label}: <b>{fmt_corr(expected.value)}</b>")
    assert len(text.text.splitlines()) == 6
    assert photo.method == "sendPhoto" and "QQQ" in photo.text


async def test_corr_in_chinese(same):
    text, photo = await same.ask("/corr orcl 30d", 2, lang="zh")
    assert text.text.startswith("<b>BTC 与 ORCL 的相关性</b>（日收益率）\n30日（21 个交易日）：")
    assert photo.photo.startswith(b"\x89PNG")


async def test_corr_says_when_there_is_not_enough_data(same):
    same.fake.user_sends("/corr arm", same.user)
    same.fake.user_sends("/watch", same.user)  # updates are handled in order: a chart would come before its answer
    reply, listed = await same.fake.wait_for(same.user.id, 2)
    assert reply.text == "Not enough data for BTC × ARM yet: 9 daily returns in common, a 30d correlation needs 21."
    assert listed.method == "sendMessage" and listed.text.startswith("<b>Watchlist</b>")


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ("", "Something is missing."),
        ("zzzz", "I have no data for ZZZZ. Watched: NVDA, AMD, ORCL, QQQ."),
        ("btc", "BTC is the other side of every correlation: name a stock, e.g. NVDA, AMD, ORCL."),
        ("nvda abc", "“abc” is not a number."),
        ("nvda 1000", "1000 is out of range: expected 5 to 260."),
        ("nvda 2", "2 is out of range: expected 5 to 260."),
        ("nvda -21", "-21 is out of range: expected 5 to 260."),
        ("nvda nan", "nan is out of range: expected 5 to 260."),
        ("nvda 10.5", "“10.5” is not a window: use 30d, 90d or a whole number of trading days from 5 to 260."),
        ("nvda 45d", "“45d” is not a window: use 30d, 90d or a whole number of trading days from 5 to 260."),
        ("nvda 30d 90d", "Too many words: “90d” is not needed."),
        ("<script>alert(1)</script>", "“&lt;script&gt;alert(1)&lt;/script&gt;” is not a symbol."),
        ("nvda " + "9" * 5000, "That is too long: at most 200 characters after the command."),
    ],
)
async def test_corr_bad_arguments_get_one_line_and_usage_and_no_chart(same, arguments, problem):
    [reply] = await same.ask(f"/corr {arguments}".strip())
    assert reply.method == "sendMessage"
    assert reply.text == f"{problem}\nUsage: <code>{market_commands.CORR_USAGE}</code>"


# -- /earnings -------------------------------------------------------------------------------


def seed_earnings(db) -> None:
    # The shipped dates (NVDA 19 Nov, ORCL 10 Dec 2025, after the close), plus two illustrative
    # ones that are not real announcements: AMD before the open, and AMD with no known time.
    extra = [
        EarningsDate("AMD", date(2025, 11, 4), "before_open", "test"),
        EarningsDate("AMD", date(2026, 2, 3), "unknown", "test"),
    ]
    market.upsert_earnings(db, [*REPLAY.earnings, *extra], datetime(2025, 10, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("timezone", "times"),
    [
        ("UTC", ("Tue 4 Nov 2025, 14:30 UTC", "Wed 19 Nov 2025, 21:00 UTC", "Wed 10 Dec 2025, 21:00 UTC")),
        ("Europe/Berlin", ("Tue 4 Nov 2025, 15:30 CET", "Wed 19 Nov 2025, 22:00 CET", "Wed 10 Dec 2025, 22:00 CET")),
    ],
)
async def test_earnings_in_the_chats_timezone(fake, tmp_path, timezone, times):
    async with market_bot(fake, tmp_path, datetime(2025, 11, 1, 12, tzinfo=UTC)) as bot:
        seed_earnings(bot.db)
        chats.remember_chat(bot.db, ADA.id, "private", language="en")
        bot.db.execute("UPDATE chats SET timezone = ? WHERE id = ?", [timezone, ADA.id])
        [reply] = await ask(fake, "/earnings")
    assert reply.text.splitlines() == [
        f"🗓 <b>Upcoming earnings</b> · times in {timezone}",
        f"• <b>AMD</b> before the US open, by {times[0]}",
        f"• <b>NVDA</b> after the US close, from {times[1]}",
        f"• <b>ORCL</b> after the US close, from {times[2]}",
        "• <b>AMD</b> on Tue 3 Feb 2026 (US), time not announced",
    ]


async def test_earnings_none_known(same):
    [reply] = await same.ask("/earnings")  # the clock is past every stored date
    assert reply.text == "No upcoming earnings known for NVDA, AMD, ORCL, QQQ."


async def test_earnings_takes_no_arguments(same):
    [reply] = await same.ask("/earnings <b>nvda</b>")
    assert reply.text == "Too many words: “&lt;b&gt;nvda&lt;/b&gt;” is not needed.\nUsage: <code>/earnings</code>"


# -- /watch ----------------------------------------------------------------------------------


@pytest.fixture
def equities(bot) -> FakeEquities:
    return with_collector(bot)


async def test_watch_add_list_del(fake, bot, equities):
    [added] = await ask(fake, "/watch add pltr")
    assert added.text == "✅ PLTR added to this chat's watchlist (1/20)."
    assert equities.asked == ["PLTR"] and stored_extras(bot, ADA.id) == ["PLTR"]
    assert fake.chat_actions == [(ADA.id, "typing", 0)]  # "typing…" while Yahoo is asked, before the answer

    [listed] = await ask(fake, "/watch")
    assert listed.text.splitlines() == [
        "<b>Watchlist</b>",
        "Always watched: NVDA, AMD, ORCL, QQQ",
        "This chat's own (1/20): PLTR",
    ]
    [prices] = await ask(fake, "/price")
    assert prices.text.splitlines()[-1] == "<b>PLTR</b> no price yet"

    [removed] = await ask(fake, "/watch del PLTR")
    assert removed.text == "PLTR removed from this chat's watchlist." and stored_extras(bot, ADA.id) == []
    [again] = await ask(fake, "/watch del pltr")
    assert again.text == "PLTR is not on this chat's own list; /watch shows it."
    [listed] = await ask(fake, "/watch list")
    assert listed.text.endswith("This chat has no tickers of its own. Add one with /watch add TICKER.")


@pytest.mark.parametrize(
    ("command", "answer", "asked"),
    [
        ("/watch add zzzz", "The equity data source does not know ZZZZ; nothing was added.", ["ZZZZ"]),
        (
            "/watch add DOWN",
            "Can't check DOWN right now: the data source is not answering. Nothing was added; please try again later.",
            ["DOWN"],
        ),
        ("/watch add nvda", "NVDA is always watched; nothing to change.", []),
        ("/watch add btc", "BTC is always watched; nothing to change.", []),
    ],
)
async def test_watch_add_refusals_store_nothing(same, command, answer, asked):
    [reply] = await same.ask(command)
    assert reply.text == answer
    assert same.equities.asked == asked and stored_extras(same.bot, same.user.id) == []


async def test_watch_add_twice_and_the_cap(fake, bot, equities):
    await ask(fake, "/watch add pltr")
    [twice] = await ask(fake, "/watch add PLTR")
    assert twice.text == "PLTR is already on this chat's watchlist."
    for n in range(19):
        watchlist.add_symbol(bot.db, ADA.id, f"T{n}", AFTER_2025)
    [full] = await ask(fake, "/watch add ARM")
    assert full.text == "This chat already has 20 tickers of its own: remove one first with /watch del TICKER."
    assert "ARM" not in stored_extras(bot, ADA.id) and equities.asked == ["PLTR"]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ("foo", "“foo”: expected one of add, del, list."),
        ("add", "Something is missing."),
        ("add pltr arm", "Too many words: “arm” is not needed."),
        ("add <b>pltr</b>", "“&lt;b&gt;pltr&lt;/b&gt;” is not a symbol."),
        ("add 12345678901234567", "“12345678901234567” is not a symbol."),
        ("add " + "A" * 5000, "That is too long: at most 200 characters after the command."),
    ],
)
async def test_watch_bad_arguments_store_nothing(same, arguments, problem):
    [reply] = await same.ask(f"/watch {arguments}")
    assert reply.text == f"{problem}\nUsage: <code>{market_commands.WATCH_USAGE}</code>"
    assert same.equities.asked == [] and stored_extras(same.bot, same.user.id) == []


async def test_watch_on_recorded_data_accepts_only_recorded_symbols(fake, bot, tmp_path):
    folder = tmp_path / "recorded"
    shutil.copytree(SHIPPED_REPLAY_DATA, folder)
    shutil.copy(folder / "NVDA_1d.csv", folder / "ARM_1d.csv")
    bot.app.bot_data.deps.symbols = ReplaySource(load_replay_data(folder), ManualClock(AFTER_2025))
    [refused] = await ask(fake, "/watch add pltr")
    assert refused.text == "PLTR is not in the recorded data; nothing was added. Recorded: AMD, ARM, NVDA, ORCL, QQQ."
    [added] = await ask(fake, "/watch add arm")
    assert added.text.startswith("✅ ARM added") and stored_extras(bot, ADA.id) == ["ARM"]
    [corr] = await ask(fake, "/corr arm")
    assert corr.text.startswith("Not enough data for BTC × ARM")


async def test_watch_changes_are_for_admins_only_in_groups(fake, bot, equities):
    fake.set_member(GROUP, ADA, "member")
    [refused] = await ask(fake, "/watch add pltr", ADA, GROUP)
    assert refused.text == "In groups only chat admins can do that."
    assert equities.asked == [] and stored_extras(bot, GROUP.id) == []
    [listed] = await ask(fake, "/watch", ADA, GROUP)
    assert listed.text.startswith("<b>Watchlist</b>")

    fake.set_member(GROUP, ADA, "administrator")
    [added] = await ask(fake, "/watch add pltr", ADA, GROUP)
    assert added.text.startswith("✅ PLTR added") and stored_extras(bot, GROUP.id) == ["PLTR"]
    fake.set_member(GROUP, ADA, "member")
    [refused] = await ask(fake, "/watch del pltr", ADA, GROUP)
    assert refused.text == "In groups only chat admins can do that." and stored_extras(bot, GROUP.id) == ["PLTR"]
