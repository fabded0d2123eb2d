"""Every text the bot sends, in English and Chinese.

``t(lang, key, **values)`` formats a message; ``str`` values are HTML-escaped
(wrap pre-rendered HTML in :class:`Html` to insert it as is). A test checks that
both languages have exactly the same keys and placeholders.
"""

from __future__ import annotations

import html
from typing import Any

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"


class Html(str):
    """A string that is already safe Telegram HTML."""


def language_for(code: str | None) -> str:
    """Map a Telegram ``language_code`` (``zh-hans``, ``en-US``...) to one we speak."""
    if code and code.lower().startswith("zh"):
        return "zh"
    return DEFAULT_LANGUAGE


EN: dict[str, str] = {
    "cmd.start": "Subscribe this chat to market alerts",
    "cmd.stop": "Stop alerts for this chat",
    "cmd.help": "List the commands",
    "cmd.status": "Uptime, subscribers and data sources",
    "start.welcome": (
        "👋 <b>Subscribed.</b> This chat will now get alerts when:\n"
        "• {symbols} breaks a key level ({levels})\n"
        "• BTC's correlation with tech stocks or the Nasdaq (QQQ) spikes\n"
        "• a tech name ({watchlist}) gaps on its earnings, with its peers and BTC beside it\n"
        "Send /help for all commands, /stop to unsubscribe."
    ),
    "start.already": "This chat is already subscribed. /stop unsubscribes, /help lists the commands.",
    "stop.done": "🔕 Unsubscribed: no more alerts here. Send /start to subscribe again.",
    "stop.already": "This chat is not subscribed. Send /start to get alerts.",
    "help.header": "<b>Commands</b>",
    "help.footer": "In groups, only admins can change what the chat receives.",
    "status.header": "<b>Status</b>",
    "status.uptime": "Up {uptime} · {subscribers} subscribed chat(s)",
    "status.this_chat_on": "This chat: subscribed",
    "status.this_chat_off": "This chat: not subscribed (/start)",
    "status.sources": "<b>Data sources</b>",
    "status.no_sources": (
        "No market data source is running, so no alert can fire. "
        "The bot never alerts on missing or stale data."
    ),
    "status.source_ok": "✅ {name}: last success {last_success} ago",
    "status.source_down": "❌ {name}: failing for {since} ({error}); last success: {last_success}",
    "status.source_waiting": "⏳ {name}: no answer yet",
    "status.last_error": "   last error {ago} ago: {error}",
    "status.never": "never",
    "status.ago": "{age} ago",
    "status.stale_header": "⚠️ <b>Stale or missing data</b> (no alerts from it until it is fresh):",
    "status.stale_item": "• {symbol}: last update {last}",
    "status.all_fresh": "All series are fresh.",
    "unknown.command": "I don't know {command}. Send /help for the list of commands.",
    "admin.only": "In groups only chat admins can do that.",
    "error.user": "Sorry, something went wrong on our side. It has been reported; please try again.",
    "error.admin": "⚠️ <b>Unhandled error</b>\n{where}\n<pre>{trace}</pre>",
    "group.added": "Thanks for adding me. An admin can send /start to subscribe this group to market alerts.",
    # Alerts (bot/render.py). Headlines are wrapped in <b> by the renderer; English headlines
    # carry a signed number, Chinese ones a verb (上涨/下跌) and the size. Timing values start
    # with a space in English so "reports tomorrow{timing}" reads well with or without one.
    "alert.list_sep": ", ",
    "alert.timing.after_close": " after the close",
    "alert.timing.before_open": " before the open",
    "alert.level.down": "🔻 {symbol} broke below {level}",
    "alert.level.up": "🔺 {symbol} broke above {level}",
    "alert.level.price_down": "Price {price} · {through} through the level",
    "alert.level.price_up": "Price {price} · {through} through the level",
    "alert.level.low": "Low of the move {extreme}",
    "alert.level.high": "High of the move {extreme}",
    "alert.level.daily_bar": "Seen in the daily bar of {day} (open, high, low, close)",
    "alert.corr.spike": "📈 BTC–{symbol} correlation spiked to {value} ({window})",
    "alert.corr.resolved": "✅ BTC–{symbol} correlation back to normal: {value} ({window})",
    "alert.corr.jump": "Rose by {change} within 10 sessions (alert on a rise of {jump})",
    "alert.corr.jump_no_change": "Rose by more than {jump} within 10 sessions",
    "alert.corr.above": "Above the {threshold} threshold",
    "alert.corr.above_change": "Above the {threshold} threshold · {change} in 10 sessions",
    "alert.corr.below": "Below the {threshold} threshold",
    "alert.corr.windows": "Windows: {values}",
    "alert.corr.previous": "Previous session: {previous}",
    "alert.corr.range": "Daily returns {range}",
    "alert.shock.earnings_up": "⚡ {symbol} {move} after earnings",
    "alert.shock.earnings_down": "⚡ {symbol} {move} after earnings",
    "alert.shock.earnings_gap_up": "⚡ {symbol} gaps {move} after earnings",
    "alert.shock.earnings_gap_down": "⚡ {symbol} gaps {move} after earnings",
    "alert.shock.gap_up": "⚡ {symbol} {move} gap at the open",
    "alert.shock.gap_down": "⚡ {symbol} {move} gap at the open",
    "alert.shock.gap_line": "Gap at the open {gap} ({open} vs {prior_close})",
    "alert.shock.open_line": "Open {open} vs prior close {prior_close}",
    "alert.shock.move_line": "Price {price} · {move} vs the prior close",
    "alert.shock.reported": "Reported {date}{timing}",
    "alert.shock.no_report": "No earnings report on record for this session",
    "alert.shock.peers": "Peers: {peers}",
    "alert.shock.nasdaq": "{symbol} (Nasdaq)",
    "alert.shock.more_peers": "and {count} more",
    "alert.shock.btc": "BTC {move} · 30d correlation with {symbol} {corr}",
    "alert.shock.btc_move": "BTC {move}",
    "alert.shock.btc_corr": "BTC 30d correlation with {symbol} {corr}",
    "alert.upcoming.today": "🗓 {symbol} reports today{timing} ({date})",
    "alert.upcoming.tomorrow": "🗓 {symbol} reports tomorrow{timing} ({date})",
    "alert.upcoming.weekday": "🗓 {symbol} reports on {weekday}{timing} ({date})",
    "alert.upcoming.date": "🗓 {symbol} reports on {date}{timing}",
    "alert.move.up": "🚀 {symbol} {move} in {hours} h",
    "alert.move.down": "📉 {symbol} {move} in {hours} h",
    "alert.move.prices": "Price {price} · {hours} h ago {reference} ({reference_time})",
}

ZH: dict[str, str] = {
    "cmd.start": "为本聊天订阅行情提醒",
    "cmd.stop": "停止本聊天的提醒",
    "cmd.help": "列出所有命令",
    "cmd.status": "运行时间、订阅数和数据源",
    "start.welcome": (
        "👋 <b>已订阅。</b>本聊天将在以下情况收到提醒:\n"
        "• {symbols} 突破关键价位({levels})\n"
        "• BTC 与科技股或纳斯达克(QQQ)的相关性急升\n"
        "• 科技股({watchlist})财报后跳空,并附同行和 BTC 的走势\n"
        "发送 /help 查看全部命令,/stop 取消订阅。"
    ),
    "start.already": "本聊天已订阅。/stop 取消订阅,/help 查看命令。",
    "stop.done": "🔕 已取消订阅:这里不会再收到提醒。发送 /start 重新订阅。",
    "stop.already": "本聊天尚未订阅。发送 /start 接收提醒。",
    "help.header": "<b>命令</b>",
    "help.footer": "在群组中,只有管理员可以更改本群接收的内容。",
    "status.header": "<b>状态</b>",
    "status.uptime": "已运行 {uptime} · {subscribers} 个订阅聊天",
    "status.this_chat_on": "本聊天:已订阅",
    "status.this_chat_off": "本聊天:未订阅(/start)",
    "status.sources": "<b>数据源</b>",
    "status.no_sources": "没有运行中的行情数据源,因此不会触发提醒。机器人绝不会基于缺失或过期的数据发出提醒。",
    "status.source_ok": "✅ {name}:上次成功于 {last_success} 前",
    "status.source_down": "❌ {name}:已失败 {since}({error});上次成功:{last_success}",
    "status.source_waiting": "⏳ {name}:尚无响应",
    "status.last_error": "   上次错误于 {ago} 前:{error}",
    "status.never": "从未",
    "status.ago": "{age} 前",
    "status.stale_header": "⚠️ <b>过期或缺失的数据</b>(恢复前不会据此提醒):",
    "status.stale_item": "• {symbol}:上次更新 {last}",
    "status.all_fresh": "所有数据均为最新。",
    "unknown.command": "我不认识 {command}。发送 /help 查看命令列表。",
    "admin.only": "在群组中只有管理员可以这样做。",
    "error.user": "抱歉,我们这边出了问题,已记录,请稍后再试。",
    "error.admin": "⚠️ <b>未处理的错误</b>\n{where}\n<pre>{trace}</pre>",
    "group.added": "感谢添加。管理员可发送 /start 为本群订阅行情提醒。",
    "alert.list_sep": "、",
    "alert.timing.after_close": "盘后",
    "alert.timing.before_open": "盘前",
    "alert.level.down": "🔻 {symbol} 跌破 {level}",
    "alert.level.up": "🔺 {symbol} 突破 {level}",
    "alert.level.price_down": "现价 {price} · 低于该价位 {through}",
    "alert.level.price_up": "现价 {price} · 高于该价位 {through}",
    "alert.level.low": "本轮最低 {extreme}",
    "alert.level.high": "本轮最高 {extreme}",
    "alert.level.daily_bar": "来自 {day} 的日线(开、高、低、收)",
    "alert.corr.spike": "📈 BTC 与 {symbol} 的相关性升至 {value}({window})",
    "alert.corr.resolved": "✅ BTC 与 {symbol} 的相关性回落至正常:{value}({window})",
    "alert.corr.jump": "10 个交易日内上升 {change}(触发值 {jump})",
    "alert.corr.jump_no_change": "10 个交易日内上升超过 {jump}",
    "alert.corr.above": "高于阈值 {threshold}",
    "alert.corr.above_change": "高于阈值 {threshold} · 10 个交易日变化 {change}",
    "alert.corr.below": "低于阈值 {threshold}",
    "alert.corr.windows": "各窗口:{values}",
    "alert.corr.previous": "前一交易日:{previous}",
    "alert.corr.range": "日收益率区间:{range}",
    "alert.shock.earnings_up": "⚡ {symbol} 财报后上涨 {move}",
    "alert.shock.earnings_down": "⚡ {symbol} 财报后下跌 {move}",
    "alert.shock.earnings_gap_up": "⚡ {symbol} 财报后跳空高开 {move}",
    "alert.shock.earnings_gap_down": "⚡ {symbol} 财报后跳空低开 {move}",
    "alert.shock.gap_up": "⚡ {symbol} 跳空高开 {move}",
    "alert.shock.gap_down": "⚡ {symbol} 跳空低开 {move}",
    "alert.shock.gap_line": "开盘跳空 {gap}(开盘 {open},前收 {prior_close})",
    "alert.shock.open_line": "开盘 {open},前收 {prior_close}",
    "alert.shock.move_line": "现价 {price} · 较前收 {move}",
    "alert.shock.reported": "财报发布于 {date}{timing}",
    "alert.shock.no_report": "该交易日没有已知的财报",
    "alert.shock.peers": "同行:{peers}",
    "alert.shock.nasdaq": "{symbol}(纳指)",
    "alert.shock.more_peers": "另有 {count} 个",
    "alert.shock.btc": "BTC {move} · 与 {symbol} 的 30日相关性 {corr}",
    "alert.shock.btc_move": "BTC {move}",
    "alert.shock.btc_corr": "BTC 与 {symbol} 的 30日相关性 {corr}",
    "alert.upcoming.today": "🗓 {symbol} 今天({date}){timing}发布财报",
    "alert.upcoming.tomorrow": "🗓 {symbol} 明天({date}){timing}发布财报",
    "alert.upcoming.weekday": "🗓 {symbol} 将于{weekday}({date}){timing}发布财报",
    "alert.upcoming.date": "🗓 {symbol} 将于 {date}{timing}发布财报",
    "alert.move.up": "🚀 {symbol} {hours} 小时上涨 {move}",
    "alert.move.down": "📉 {symbol} {hours} 小时下跌 {move}",
    "alert.move.prices": "现价 {price} · {hours} 小时前 {reference}({reference_time})",
}

MESSAGES: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}


def register_messages(en: dict[str, str], zh: dict[str, str]) -> None:
    """Add a module's own messages (e.g. a command's texts); both languages, no key twice."""
    if set(en) != set(zh):
        raise ValueError(f"messages differ between languages: {sorted(set(en) ^ set(zh))}")
    clash = set(en) & set(EN)
    if clash:
        raise ValueError(f"message keys defined twice: {sorted(clash)}")
    EN.update(en)
    ZH.update(zh)


def _escape(value: Any) -> Any:
    if isinstance(value, Html):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    return value


def t(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` (falling back to English), with escaped values."""
    template = MESSAGES.get(lang, EN).get(key) or EN[key]
    return template.format(**{k: _escape(v) for k, v in values.items()})
