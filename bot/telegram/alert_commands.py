"""A chat's own key levels: /levels shows them with the global ones, /alert adds, lists, deletes.

A chat only sees and deletes its own levels. A change goes straight into the engine's level
index (that one level, no reload), so the next price move already checks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telegram import Update

from bot.domain import Quote
from bot.formatting import fmt_price
from bot.i18n import Html, t
from bot.store import market, prefs, watchlist
from bot.store.prefs import Level
from bot.telegram import parsers as parse
from bot.telegram.channels import Target, acting_on
from bot.telegram.context import BotContext, Deps
from bot.telegram.kit import Command, parsed, refuse_non_admin
from bot.telegram.parsers import ADD_USAGE, AlertRequest, NewLevel
from bot.values import BadArgument

ALERT_USAGE = "/alert add btc below 88000 · /alert list · /alert del 3"


# -- rendering (no I/O) ----------------------------------------------------------------------


def level_line(lang: str, level: Level) -> Html:
    """``#3 BTC below 88,000``."""
    direction = t(lang, f"alert.{level.direction}")
    return Html(
        t(lang, "alert.item", id=level.id, symbol=level.symbol, direction=direction, price=fmt_price(level.price))
    )


def render_own(lang: str, levels: Sequence[Level]) -> list[str]:
    if not levels:
        return [t(lang, "alert.none")]
    lines = [t(lang, "alert.own_header", count=len(levels), limit=prefs.MAX_CHAT_LEVELS)]
    lines += [level_line(lang, level) for level in levels]
    lines.append(t(lang, "alert.del_hint", id=levels[0].id))
    return lines


def render_levels(
    lang: str, global_levels: Mapping[str, Sequence[float]], own: Sequence[Level], quotes: Mapping[str, Quote]
) -> str:
    """/levels: the key levels for everyone, the chat's own, and the last prices."""
    lines = [t(lang, "levels.header")]
    if global_levels:
        shown = "; ".join(f"{s} {', '.join(fmt_price(p) for p in ps)}" for s, ps in sorted(global_levels.items()))
        lines.append(t(lang, "levels.global", levels=shown))
    else:
        lines.append(t(lang, "levels.global_none"))
    lines += ["", *render_own(lang, own)]
    if quotes:
        now = ", ".join(f"{s} {fmt_price(q.price)}" for s, q in sorted(quotes.items()))
        lines += ["", t(lang, "levels.now", prices=now)]
    return "\n".join(lines)


def added_lines(lang: str, level: Level, quote: Quote | None, subscribed: bool) -> list[str]:
    """The confirmation of a new level: the price now, and a warning if it is already past."""
    lines = [t(lang, "alert.added", line=level_line(lang, level))]
    if quote is not None:
        price, at = fmt_price(quote.price), fmt_price(level.price)
        lines.append(t(lang, "alert.price_now", symbol=level.symbol, price=price))
        if (level.direction == "above") == (quote.price >= level.price):
            lines.append(t(lang, f"alert.past_{level.direction}", symbol=level.symbol, level=at, price=price))
    if not subscribed:
        lines.append(t(lang, "alert.not_subscribed"))
    return lines


# -- handlers --------------------------------------------------------------------------------


async def levels_command(update: Update, context: BotContext) -> None:
    """Show the global key levels, this chat's own levels and the last prices."""
    d = context.deps
    if (target := await acting_on(update, context)) is None:
        return
    own = prefs.levels_of(d.db, target.id)
    symbols = sorted(set(d.settings.levels) | {level.symbol for level in own})
    quotes = market.latest_quotes(d.db, symbols) if symbols else {}
    await target.reply(update, render_levels(target.language, d.settings.levels, own, quotes))


@parsed(parse.alert_request, ALERT_USAGE)
async def alert_command(update: Update, context: BotContext, request: AlertRequest) -> None:
    """Add, list or delete this chat's own price alerts."""
    d = context.deps
    if request.action != "list" and await refuse_non_admin(update, context):
        return
    if (target := await acting_on(update, context)) is None:
        return
    if request.action == "list":
        await target.reply(update, "\n".join(render_own(target.language, prefs.levels_of(d.db, target.id))))
    elif request.level is not None:
        await add_level(update, d, target, request.level)
    elif request.level_id is not None:
        await delete_level(update, d, target, request.level_id)


async def add_level(update: Update, d: Deps, target: Target, new: NewLevel) -> None:
    """/alert add <symbol> above|below <price>, on a symbol this chat tracks."""
    this_chat, lang = target.id, target.language
    tracked = watchlist.chat_tracked(d.db, d.settings, this_chat)
    if new.symbol not in tracked:
        values = {"symbol": new.symbol, "tracked": ", ".join(tracked)}
        raise BadArgument("alert.unknown_symbol", values, usage=ADD_USAGE)
    existing = prefs.find_level(d.db, this_chat, new.symbol, new.price, new.direction)
    if existing is not None:
        await target.reply(update, t(lang, "alert.duplicate", line=level_line(lang, existing)))
        return
    if len(prefs.levels_of(d.db, this_chat)) >= prefs.MAX_CHAT_LEVELS:
        await target.reply(update, t(lang, "alert.full", limit=prefs.MAX_CHAT_LEVELS))
        return
    chat = target.keep(d, update)
    level_id = prefs.add_level(d.db, chat.id, new.symbol, new.price, new.direction, d.clock.now())
    if d.engine is not None:  # the next price already checks it: one level added to the index, no reload
        d.engine.levels.add(chat.id, new.symbol, new.price, new.direction)
    level = Level(level_id, new.symbol, new.price, new.direction)
    quote = market.latest_quotes(d.db, [new.symbol]).get(new.symbol)
    await target.reply(update, "\n".join(added_lines(lang, level, quote, chat.subscribed and not chat.blocked)))


async def delete_level(update: Update, d: Deps, target: Target, level_id: int) -> None:
    """/alert del <id>: only one of this chat's own."""
    lang = target.language
    deleted = prefs.delete_level(d.db, target.id, level_id)
    if deleted is None:
        await target.reply(update, t(lang, "alert.no_such", id=level_id))
        return
    if d.engine is not None:
        d.engine.levels.remove(target.id, deleted.symbol, deleted.price, deleted.direction)
    await target.reply(update, t(lang, "alert.deleted", line=level_line(lang, deleted)))


COMMANDS = (
    Command("levels", "cmd.levels", levels_command),
    Command("alert", "cmd.alert", alert_command),
)
