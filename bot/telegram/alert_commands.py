"""A chat's own key levels: /levels shows them with the global ones, /alert adds, lists, deletes.

A chat only sees and deletes its own levels. After a change the engine's level index
is reloaded, so the next price move already checks the new level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telegram import Update

from bot.domain import Quote
from bot.formatting import fmt_price
from bot.i18n import Html, register_messages, t
from bot.store import market, prefs, watchlist
from bot.store.prefs import Level
from bot.telegram import parsers as parse
from bot.telegram.args import BadArgument
from bot.telegram.context import BotContext, Deps
from bot.telegram.kit import Command, chat_language, parsed, refuse_non_admin, remember, reply
from bot.telegram.parsers import ADD_USAGE, AlertRequest, NewLevel

ALERT_USAGE = "/alert add btc below 88000 · /alert list · /alert del 3"


# -- rendering (no I/O) ----------------------------------------------------------------------


def level_line(lang: str, level: Level) -> Html:
    """``#3 BTC below 88,000``."""
    direction = t(lang, f"alert.{level.direction}")
    return Html(t(lang, "alert.item", id=level.id, symbol=level.symbol, direction=direction, price=fmt_price(level.price)))


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


def reload_levels(d: Deps) -> None:
    if d.engine is not None:
        d.engine.reload()


async def levels_command(update: Update, context: BotContext) -> None:
    """Show the global key levels, this chat's own levels and the last prices."""
    d = context.deps
    lang = chat_language(d, update)
    own = prefs.levels_of(d.db, update.effective_chat.id)
    symbols = sorted(set(d.settings.levels) | {level.symbol for level in own})
    quotes = market.latest_quotes(d.db, symbols) if symbols else {}
    await reply(update, render_levels(lang, d.settings.levels, own, quotes))


@parsed(parse.alert_request, ALERT_USAGE)
async def alert_command(update: Update, context: BotContext, request: AlertRequest) -> None:
    """Add, list or delete this chat's own price alerts."""
    d = context.deps
    lang = chat_language(d, update)
    if request.action == "list":
        await reply(update, "\n".join(render_own(lang, prefs.levels_of(d.db, update.effective_chat.id))))
    elif await refuse_non_admin(update, context):
        return
    elif request.level is not None:
        await add_level(update, d, lang, request.level)
    elif request.level_id is not None:
        await delete_level(update, d, lang, request.level_id)


async def add_level(update: Update, d: Deps, lang: str, new: NewLevel) -> None:
    """/alert add <symbol> above|below <price>, on a symbol this chat tracks."""
    chat_id = update.effective_chat.id
    tracked = watchlist.chat_tracked(d.db, d.settings, chat_id)
    if new.symbol not in tracked:
        values = {"symbol": new.symbol, "tracked": ", ".join(tracked)}
        raise BadArgument("alert.unknown_symbol", values, usage=ADD_USAGE)
    existing = prefs.find_level(d.db, chat_id, new.symbol, new.price, new.direction)
    if existing is not None:
        await reply(update, t(lang, "alert.duplicate", line=level_line(lang, existing)))
        return
    if len(prefs.levels_of(d.db, chat_id)) >= prefs.MAX_CHAT_LEVELS:
        await reply(update, t(lang, "alert.full", limit=prefs.MAX_CHAT_LEVELS))
        return
    chat = remember(d, update)
    level_id = prefs.add_level(d.db, chat.id, new.symbol, new.price, new.direction, d.clock.now())
    reload_levels(d)
    level = Level(level_id, new.symbol, new.price, new.direction)
    quote = market.latest_quotes(d.db, [new.symbol]).get(new.symbol)
    await reply(update, "\n".join(added_lines(chat.language, level, quote, chat.subscribed and not chat.blocked)))


async def delete_level(update: Update, d: Deps, lang: str, level_id: int) -> None:
    """/alert del <id>: only one of this chat's own."""
    deleted = prefs.delete_level(d.db, update.effective_chat.id, level_id)
    if deleted is None:
        await reply(update, t(lang, "alert.no_such", id=level_id))
        return
    reload_levels(d)
    await reply(update, t(lang, "alert.deleted", line=level_line(lang, deleted)))


COMMANDS = (
    Command("levels", "cmd.levels", levels_command),
    Command("alert", "cmd.alert", alert_command),
)


EN = {
    "cmd.levels": "Key levels: for everyone and this chat's own",
    "cmd.alert": "Your own price alerts: /alert add btc below 88000, list, del",
    "levels.header": "<b>Key levels</b>",
    "levels.global": "For everyone, both directions: {levels}",
    "levels.global_none": "No key levels for everyone.",
    "levels.now": "Last prices: {prices}",
    "alert.above": "above",
    "alert.below": "below",
    "alert.item": "#{id} {symbol} {direction} {price}",
    "alert.own_header": "This chat's own levels ({count} of {limit}):",
    "alert.none": "This chat has no levels of its own. Add one: /alert add btc below 88000",
    "alert.del_hint": "Delete one: /alert del {id}",
    "alert.added": "✅ Alert added: {line}",
    "alert.price_now": "{symbol} is at {price} now.",
    "alert.past_above": "⚠️ {symbol} is already above {level} ({price}): this fires on the next crossing up, after it falls back below.",
    "alert.past_below": "⚠️ {symbol} is already below {level} ({price}): this fires on the next crossing down, after it climbs back above.",
    "alert.not_subscribed": "This chat is not subscribed, so no alert arrives yet: send /start.",
    "alert.duplicate": "That alert already exists: {line}. Nothing added.",
    "alert.full": "This chat already has {limit} levels, the most it can have. Delete one first (/alert list).",
    "alert.unknown_symbol": "{symbol} is not tracked. Tracked symbols: {tracked}.",
    "alert.bad_id": "“{text}” is not an alert number: use the # number that /alert list shows.",
    "alert.no_such": "There is no alert #{id} in this chat. /alert list shows this chat's alerts.",
    "alert.deleted": "🗑 Alert deleted: {line}",
}
ZH = {
    "cmd.levels": "关键价位:全局的和本聊天自定的",
    "cmd.alert": "自定价格提醒:/alert add btc below 88000、list、del",
    "levels.header": "<b>关键价位</b>",
    "levels.global": "全局(双向):{levels}",
    "levels.global_none": "没有全局关键价位。",
    "levels.now": "最新价格:{prices}",
    "alert.above": "高于",
    "alert.below": "低于",
    "alert.item": "#{id} {symbol} {direction} {price}",
    "alert.own_header": "本聊天自定价位({count} / {limit}):",
    "alert.none": "本聊天没有自定价位。添加:/alert add btc below 88000",
    "alert.del_hint": "删除:/alert del {id}",
    "alert.added": "✅ 已添加提醒:{line}",
    "alert.price_now": "{symbol} 现价 {price}。",
    "alert.past_above": "⚠️ {symbol} 已高于 {level}({price}):需先回落到下方,下一次向上突破时才会提醒。",
    "alert.past_below": "⚠️ {symbol} 已低于 {level}({price}):需先回升到上方,下一次向下跌破时才会提醒。",
    "alert.not_subscribed": "本聊天尚未订阅,暂时不会收到提醒:请发送 /start。",
    "alert.duplicate": "该提醒已存在:{line}。未添加。",
    "alert.full": "本聊天已有 {limit} 个价位,已达上限。请先删除一个(/alert list)。",
    "alert.unknown_symbol": "{symbol} 不在跟踪列表中。可用代码:{tracked}。",
    "alert.bad_id": "“{text}”不是提醒编号:请使用 /alert list 显示的 # 编号。",
    "alert.no_such": "本聊天没有编号为 #{id} 的提醒。/alert list 查看本聊天的提醒。",
    "alert.deleted": "🗑 已删除提醒:{line}",
}
register_messages(EN, ZH)
