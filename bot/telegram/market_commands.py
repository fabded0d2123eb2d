"""Market commands: /price, /corr, /earnings and /watch (the chat's own extra tickers).

    /price [SYMBOL ...]        latest price, 24h change and data age (BTC and the watchlist by default)
    /corr TICKER [WINDOW]      BTC's 30d and 90d correlation with a stock (95 % CI), its 10-session change,
                               the correlation-change test the alerts use, a chart
    /earnings                  upcoming reports of the watchlist, in the chat's timezone
    /watch [add|del TICKER]    list, add (validated by the equity source) or remove a ticker

Everything but /watch add reads the store only; /watch add asks the equity source whether
the ticker exists before storing it. Charts (:mod:`bot.charts`) render on a worker thread;
the replies are rendered by :mod:`bot.telegram.market_views`. A bad argument gets one line
saying what is wrong and how the command is used; nothing is stored then.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatAction

from bot import charts
from bot.formatting import fmt_list
from bot.i18n import t
from bot.markettime import NEW_YORK
from bot.rules import correlation as corr_rule
from bot.rules.correlation_stats import aligned_returns, current_correlation
from bot.rules.registry import decode_values, effective
from bot.sources.base import SourceUnavailable, UnknownSymbol
from bot.store import chats, market, prefs, watchlist
from bot.telegram import market_views as views
from bot.telegram import parsers as parse
from bot.telegram.channels import Target, acting_on
from bot.telegram.context import BotContext, Deps
from bot.telegram.kit import (
    Command,
    chat_id,
    chat_language,
    message_of,
    parsed,
    refuse_non_admin,
    reply,
    show_working,
)
from bot.telegram.parsers import CorrRequest, WatchRequest
from bot.values import BadArgument

log = logging.getLogger(__name__)

MAX_OWN_TICKERS = 20  # per chat
SESSIONS_BACK = 10
VALIDATE_TIMEOUT = 30.0  # seconds the equity source gets to say whether a ticker exists
PRICE_USAGE = "/price · /price BTC NVDA"
CORR_USAGE = "/corr NVDA · /corr NVDA 90d"
EARNINGS_USAGE = "/earnings"
WATCH_USAGE = "/watch add PLTR · /watch del PLTR · /watch"


# -- /price ----------------------------------------------------------------------------------


@parsed(parse.price_symbols, PRICE_USAGE)
async def price(update: Update, context: BotContext, wanted: list[str]) -> None:
    """Latest price, 24h change and data age of BTC and the watchlist, or of the named symbols."""
    d = context.deps
    lang = chat_language(d, update)
    tracked = watchlist.chat_tracked(d.db, d.settings, chat_id(update))
    quoted = set(market.latest_quotes(d.db, wanted)) if wanted else set()
    for symbol in wanted:
        if symbol not in tracked and symbol not in quoted:
            raise BadArgument("market.args.unknown_price", {"symbol": symbol, "tracked": fmt_list(lang, tracked)})
    symbols = wanted or tracked
    quotes = market.latest_quotes(d.db, symbols)
    await reply(update, views.price_text(lang, symbols, quotes, d.clock.now(), d.health.stale, d.health.collecting))


# -- /corr -----------------------------------------------------------------------------------


def _corr_windows(d: Deps, chat_id: int, request: CorrRequest) -> tuple[int, ...]:
    """The windows to show for a symbol the chat may ask about (BadArgument if it may not)."""
    watched = watchlist.chat_watched(d.db, d.settings, chat_id)
    symbol = request.symbol
    if symbol in d.settings.crypto_symbols:
        raise BadArgument("market.args.not_equity", {"symbol": symbol, "watched": ", ".join(watched[:3])})
    if symbol not in watched and not watchlist.has_daily_bars(d.db, symbol):
        raise BadArgument("market.args.unknown_ticker", {"symbol": symbol, "watched": ", ".join(watched)})
    return (request.window,) if request.window is not None else tuple(d.settings.corr_windows)


@parsed(parse.corr_request, CORR_USAGE)
async def corr(update: Update, context: BotContext, request: CorrRequest) -> None:
    """BTC's 30d and 90d correlation with a stock, its change over 10 sessions, the alerts' test, and a chart."""
    d = context.deps
    lang = chat_language(d, update)
    windows = _corr_windows(d, chat_id(update), request)
    symbol = request.symbol
    btc, equity = charts.correlation_bars(d.db, symbol, d.clock.now())
    readings = {w: current_correlation(btc, equity, w, sessions_back=SESSIONS_BACK) for w in windows}
    chart_window = windows[0]
    if all(r is None for r in readings.values()):
        returns = len(aligned_returns(btc, equity).dates)
        await reply(update, views.corr_not_enough(lang, symbol, returns, chart_window))
        return
    now = d.clock.now()
    since = now - corr_rule.HISTORY
    test = corr_rule.latest_verdict(
        market.load_bars(d.db, corr_rule.BTC, "1d", since, now),
        market.load_bars(d.db, corr_rule.BTC, "1h", since, now),
        market.load_bars(d.db, symbol, "1d", since, now),
        now,
        d.engine.hours if d.engine is not None else None,
    )
    threshold = corr_rule.params(effective(decode_values(prefs.chosen_values(d.db, chat_id(update))), d.settings))
    await reply(update, views.corr_text(lang, symbol, readings, views.CorrTest(test, threshold.z)))
    await show_working(update, context, ChatAction.UPLOAD_PHOTO)
    png = await asyncio.to_thread(charts.correlation_chart, symbol, btc, equity, chart_window, lang)
    await message_of(update).reply_photo(png, caption=views.corr_caption(lang, symbol, chart_window))


# -- /earnings -------------------------------------------------------------------------------


@parsed(parse.no_arguments, EARNINGS_USAGE)
async def earnings(update: Update, context: BotContext, _: None) -> None:
    """Upcoming earnings of the watchlist, with times in the chat's timezone."""
    d = context.deps
    lang = chat_language(d, update)
    this_chat = chat_id(update)
    chat = chats.get_chat(d.db, this_chat)
    watched = watchlist.chat_watched(d.db, d.settings, this_chat)
    today = d.clock.now().astimezone(NEW_YORK).date()  # a report dated today is still to come
    reports = market.load_earnings(d.db, watched, since=today)
    await reply(update, views.earnings_text(lang, reports, watched, chat.timezone if chat else "UTC"))


# -- /watch ----------------------------------------------------------------------------------


async def _check_ticker(d: Deps, symbol: str) -> None:
    """Raise UnknownSymbol or SourceUnavailable unless the equity source knows ``symbol``."""
    if d.symbols is None:
        raise SourceUnavailable("no equity data source is running")
    try:
        await asyncio.wait_for(d.symbols.validate_symbol(symbol), VALIDATE_TIMEOUT)
    except TimeoutError as exc:
        raise SourceUnavailable(f"no answer about {symbol} in {VALIDATE_TIMEOUT:.0f} s") from exc


def _always(d: Deps, symbol: str) -> bool:
    return symbol in d.settings.equity_watchlist or symbol in d.settings.crypto_symbols


async def _watch_add(update: Update, context: BotContext, target: Target, symbol: str) -> str:
    d = context.deps
    this_chat, lang = target.id, target.language
    if _always(d, symbol):
        return t(lang, "market.watch.default", symbol=symbol)
    own = watchlist.chat_symbols(d.db, this_chat)
    if symbol in own:
        return t(lang, "market.watch.already", symbol=symbol)
    if len(own) >= MAX_OWN_TICKERS:
        return t(lang, "market.watch.full", limit=MAX_OWN_TICKERS)
    await show_working(update, context, ChatAction.TYPING)  # asking Yahoo can take seconds
    try:
        await _check_ticker(d, symbol)
    except UnknownSymbol as exc:
        recorded = [s for s in exc.known if s not in d.settings.crypto_symbols]
        if recorded:  # a source with a closed universe (recorded data) says what it has
            return t(lang, "market.watch.unknown_replay", symbol=symbol, symbols=views.listed(lang, recorded))
        return t(lang, "market.watch.unknown", symbol=symbol)
    except SourceUnavailable as exc:
        log.info("cannot check ticker %s now: %s", symbol, exc)
        return t(lang, "market.watch.unavailable", symbol=symbol)
    target.keep(d, update)
    watchlist.add_symbol(d.db, this_chat, symbol, d.clock.now())
    return t(lang, "market.watch.added", symbol=symbol, count=len(own) + 1, limit=MAX_OWN_TICKERS)


def _watch_del(d: Deps, lang: str, chat_id: int, symbol: str) -> str:
    if watchlist.remove_symbol(d.db, chat_id, symbol):
        return t(lang, "market.watch.removed", symbol=symbol)
    if _always(d, symbol):
        return t(lang, "market.watch.default", symbol=symbol)
    return t(lang, "market.watch.not_listed", symbol=symbol)


@parsed(parse.watch_request, WATCH_USAGE)
async def watch(update: Update, context: BotContext, request: WatchRequest) -> None:
    """List this chat's tickers, or add or remove one of its own (admins only in groups)."""
    d = context.deps
    if request.action != "list" and await refuse_non_admin(update, context):
        return
    if (target := await acting_on(update, context)) is None:
        return
    lang = target.language
    if request.action == "list":
        own = watchlist.chat_symbols(d.db, target.id)
        await target.reply(update, views.watch_text(lang, d.settings.equity_watchlist, own, MAX_OWN_TICKERS))
        return
    assert request.symbol is not None
    if request.action == "add":
        await target.reply(update, await _watch_add(update, context, target, request.symbol))
    else:
        await target.reply(update, _watch_del(d, lang, target.id, request.symbol))


COMMANDS = (
    Command("price", "market.cmd.price", price),
    Command("corr", "market.cmd.corr", corr),
    Command("earnings", "market.cmd.earnings", earnings),
    Command("watch", "market.cmd.watch", watch),
)
