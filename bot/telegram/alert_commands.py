"""A chat's own key levels: /levels shows them with the global ones, /alert adds, lists, deletes
and re-arms them.

``/alert add btc 88000`` takes the direction from the side the price is on; ``+5%`` is a level
5 % above the price now; a level fires ``once`` (then waits for ``/alert rearm``) or at ``every``
crossing, and may expire (``7d``). A chat only sees and changes its own levels. A change goes
straight into the engine's level index (that one level, no reload), so the next price move
already checks it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from telegram import InlineKeyboardMarkup, Update

from bot.delivery.keyboards import list_keyboard
from bot.domain import Quote
from bot.formatting import fmt_groups, fmt_list, fmt_pct, fmt_price, fmt_time
from bot.i18n import Html, t
from bot.store import market, own_levels, watchlist
from bot.store.own_levels import Level
from bot.telegram import parsers as parse
from bot.telegram.channels import Target, acting_on
from bot.telegram.context import BotContext, Deps
from bot.telegram.kit import Command, parsed, refuse_non_admin
from bot.telegram.parsers import ADD_USAGE, AlertRequest, NewLevel
from bot.values import BadArgument

ALERT_USAGE = "/alert add btc 88000 · /alert list · /alert del 3"
SIGNIFICANT = 5  # digits a level set in % keeps: +5 % of 90,312.4 is 94,828


# -- rendering (no I/O) ----------------------------------------------------------------------


def level_line(lang: str, level: Level) -> Html:
    """``#3 BTC below 88,000``."""
    direction = t(lang, f"alert.{level.direction}")
    return Html(
        t(lang, "alert.item", id=level.id, symbol=level.symbol, direction=direction, price=fmt_price(level.price))
    )


def level_details(lang: str, level: Level, quote: Quote | None, now: datetime, tz: str) -> Html:
    """``#3 BTC below 88,000 · fires once · 2.6 % below the price · until Fri 12 Dec 14:05``, or
    what ended it and how to arm it again."""
    parts = [level_line(lang, level), t(lang, f"alert.mode.{level.mode}")]
    state = level.state(now)
    if state == "armed":
        if quote is not None and quote.price > 0:
            away = (level.price / quote.price - 1) * 100
            side = "above" if away >= 0 else "below"
            parts.append(t(lang, f"alert.distance_{side}", pct=fmt_pct(abs(away), lang, signed=False)))
        if level.expires_at is not None:
            parts.append(t(lang, "alert.until", when=fmt_time(level.expires_at, tz, lang)))
    else:
        when = level.ended_at or level.expires_at or now
        parts.append(t(lang, f"alert.state.{state}", when=fmt_time(when, tz, lang), id=level.id))
    return Html(" · ".join(parts))


def render_own(
    lang: str, levels: Sequence[Level], quotes: Mapping[str, Quote], now: datetime, tz: str = "UTC"
) -> list[str]:
    if not levels:
        return [t(lang, "alert.none")]
    lines = [t(lang, "alert.own_header", count=len(levels), limit=own_levels.MAX_CHAT_LEVELS)]
    lines += [level_details(lang, level, quotes.get(level.symbol), now, tz) for level in levels]
    lines.append(t(lang, "alert.del_hint", id=levels[0].id))
    return lines


def render_levels(
    lang: str,
    global_levels: Mapping[str, Sequence[float]],
    own: Sequence[Level],
    quotes: Mapping[str, Quote],
    now: datetime,
    tz: str = "UTC",
) -> str:
    """/levels: the key levels for everyone, the chat's own, and the last prices."""
    lines = [t(lang, "levels.header")]
    if global_levels:
        shown = fmt_groups(
            lang, (f"{s} {fmt_list(lang, map(fmt_price, ps))}" for s, ps in sorted(global_levels.items()))
        )
        lines.append(t(lang, "levels.global", levels=shown))
    else:
        lines.append(t(lang, "levels.global_none"))
    lines += ["", *render_own(lang, own, quotes, now, tz)]
    if quotes:
        now_ = fmt_list(lang, (f"{s} {fmt_price(q.price)}" for s, q in sorted(quotes.items())))
        lines += ["", t(lang, "levels.now", prices=now_)]
    return "\n".join(lines)


def added_lines(lang: str, level: Level, quote: Quote | None, subscribed: bool, tz: str = "UTC") -> list[str]:
    """The confirmation of a new level: how it fires, the price now, a warning if it is already past."""
    lines = [t(lang, "alert.added", line=level_line(lang, level)), t(lang, f"alert.added_{level.mode}", id=level.id)]
    if level.expires_at is not None:
        lines.append(t(lang, "alert.expires", when=fmt_time(level.expires_at, tz, lang)))
    if quote is not None:
        price, at = fmt_price(quote.price), fmt_price(level.price)
        lines.append(t(lang, "alert.price_now", symbol=level.symbol, price=price))
        if (level.direction == "above") == (quote.price >= level.price):
            lines.append(t(lang, f"alert.past_{level.direction}", symbol=level.symbol, level=at, price=price))
    if not subscribed:
        lines.append(t(lang, "alert.not_subscribed"))
    return lines


def resolve(new: NewLevel, quote: Quote | None, stale: bool = False) -> tuple[float, str]:
    """The level's price and direction: a move in % taken from the price now, a missing
    direction from the side the price is on (88,000 under a price of 90,312: below); never
    from a ``stale`` price (its source has not answered lately: the price now is not known)."""
    if new.price is not None and new.direction is not None:
        return new.price, new.direction
    if quote is not None and stale:
        raise BadArgument(
            "alert.stale_price", {"symbol": new.symbol}, usage=f"/alert add {new.symbol.lower()} below 88000"
        )
    if quote is None:
        key = "alert.no_price_pct" if new.pct is not None else "alert.no_price"
        raise BadArgument(key, {"symbol": new.symbol}, usage=f"/alert add {new.symbol.lower()} below 88000")
    if new.pct is not None:
        price = _significant(quote.price * (1 + new.pct / 100))
        return price, "above" if new.pct > 0 else "below"
    assert new.price is not None
    if new.price == quote.price:
        values = {"symbol": new.symbol, "price": fmt_price(quote.price)}
        raise BadArgument("alert.at_price", values, usage=f"/alert add {new.symbol.lower()} above {new.price:g}")
    return new.price, "above" if new.price > quote.price else "below"


def _significant(value: float) -> float:
    digits = SIGNIFICANT - 1 - math.floor(math.log10(abs(value)))
    return round(value, digits)


# -- handlers --------------------------------------------------------------------------------


async def levels_command(update: Update, context: BotContext) -> None:
    """Show the global key levels, this chat's own levels and the last prices."""
    d = context.deps
    if (target := await acting_on(update, context)) is None:
        return
    own = own_levels.levels_of(d.db, target.id)
    symbols = sorted(set(d.settings.levels) | {level.symbol for level in own})
    quotes = market.latest_quotes(d.db, symbols) if symbols else {}
    text = render_levels(target.language, d.settings.levels, own, quotes, d.clock.now(), target.chat.timezone)
    await target.reply(update, text)


@parsed(parse.alert_request, ALERT_USAGE)
async def alert_command(update: Update, context: BotContext, request: AlertRequest) -> None:
    """Add, list, delete or re-arm this chat's own price alerts."""
    d = context.deps
    if request.action != "list" and await refuse_non_admin(update, context):
        return
    if (target := await acting_on(update, context)) is None:
        return
    if request.action == "list":
        text, keyboard = list_view(d, target)
        await target.reply(update, text, reply_markup=keyboard)
    elif request.level is not None:
        await add_level(update, d, target, request.level)
    elif request.level_id is not None and request.action == "rearm":
        await rearm_level(update, d, target, request.level_id)
    elif request.level_id is not None:
        await delete_level(update, d, target, request.level_id)


def list_view(d: Deps, target: Target) -> tuple[str, InlineKeyboardMarkup | None]:
    """``/alert list``: the chat's own levels (how far, how they fire) and a button for each."""
    own, now = own_levels.levels_of(d.db, target.id), d.clock.now()
    quotes = market.latest_quotes(d.db, sorted({level.symbol for level in own})) if own else {}
    text = "\n".join(render_own(target.language, own, quotes, now, target.chat.timezone))
    armed = [level.state(now) == "armed" for level in own]
    return text, list_keyboard(target.id, own, armed, target.language)


async def add_level(update: Update, d: Deps, target: Target, new: NewLevel) -> None:
    """/alert add <symbol> [above|below] <price|±N%> [once|every] [<expiry>], on a symbol this chat tracks."""
    this_chat, lang = target.id, target.language
    tracked = watchlist.chat_tracked(d.db, d.settings, this_chat)
    if new.symbol not in tracked:
        values = {"symbol": new.symbol, "tracked": fmt_list(lang, tracked)}
        raise BadArgument("alert.unknown_symbol", values, usage=ADD_USAGE)
    quote = market.latest_quotes(d.db, [new.symbol]).get(new.symbol)
    price, direction = resolve(new, quote, stale=new.symbol in d.health.stale)
    existing = own_levels.find_level(d.db, this_chat, new.symbol, price, direction)
    if existing is not None:
        await target.reply(update, t(lang, "alert.duplicate", line=level_line(lang, existing)))
        return
    if len(own_levels.levels_of(d.db, this_chat)) >= own_levels.MAX_CHAT_LEVELS:
        await target.reply(update, t(lang, "alert.full", limit=own_levels.MAX_CHAT_LEVELS))
        return
    chat = target.keep(d, update)
    mode: own_levels.Mode = "once" if new.mode == "once" else "every"
    now = d.clock.now()
    level_id = own_levels.add_level(
        d.db, chat.id, new.symbol, price, direction, now, mode=mode, expires_in=new.expires_in
    )
    if d.engine is not None:  # the next price already checks it: one level added to the index, no reload
        d.engine.levels.add(chat.id, new.symbol, price, direction, once=mode == "once")
    level = own_levels.level_of(d.db, chat.id, level_id)
    assert level is not None
    subscribed = chat.subscribed and not chat.blocked
    await target.reply(update, "\n".join(added_lines(lang, level, quote, subscribed, target.chat.timezone)))


async def delete_level(update: Update, d: Deps, target: Target, level_id: int) -> None:
    """/alert del <id>: only one of this chat's own."""
    lang = target.language
    deleted = own_levels.delete_level(d.db, target.id, level_id)
    if deleted is None:
        await target.reply(update, t(lang, "alert.no_such", id=level_id))
        return
    if d.engine is not None:
        d.engine.levels.remove(target.id, deleted.symbol, deleted.price, deleted.direction)
    await target.reply(update, t(lang, "alert.deleted", line=level_line(lang, deleted)))


async def rearm_level(update: Update, d: Deps, target: Target, level_id: int) -> None:
    """/alert rearm <id>: a level that fired (or expired) checks the next crossing again."""
    lang = target.language
    level = own_levels.rearm(d.db, target.id, level_id, d.clock.now())
    if level is None:
        await target.reply(update, t(lang, "alert.no_such", id=level_id))
        return
    if d.engine is not None:
        d.engine.levels.add(target.id, level.symbol, level.price, level.direction, once=level.mode == "once")
    quote = market.latest_quotes(d.db, [level.symbol]).get(level.symbol)
    line = level_details(lang, level, quote, d.clock.now(), target.chat.timezone)
    await target.reply(update, t(lang, "alert.rearmed", line=line))


COMMANDS = (
    Command("levels", "cmd.levels", levels_command),
    Command("alert", "cmd.alert", alert_command),
)
