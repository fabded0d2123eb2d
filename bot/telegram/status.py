"""The /status text: uptime, subscribers, each data source, and what is stale (no I/O)."""

from __future__ import annotations

from datetime import datetime

from bot.health import HealthRegistry, SourceHealth, format_age
from bot.i18n import t


def _ago(lang: str, now: datetime, when: datetime | None) -> str:
    return t(lang, "status.ago", age=format_age(now - when)) if when else t(lang, "status.never")


def _source_lines(lang: str, now: datetime, h: SourceHealth) -> list[str]:
    if h.failing_since is not None:
        return [
            t(
                lang,
                "status.source_down",
                name=h.name,
                since=format_age(now - h.failing_since),
                error=h.last_error or "?",
                last_success=_ago(lang, now, h.last_success),
            )
        ]
    if h.last_success is None:
        return [t(lang, "status.source_waiting", name=h.name)]
    lines = [t(lang, "status.source_ok", name=h.name, last_success=format_age(now - h.last_success))]
    if h.last_error and h.last_error_at:
        lines.append(t(lang, "status.last_error", ago=format_age(now - h.last_error_at), error=h.last_error))
    return lines


def render_status(
    lang: str,
    now: datetime,
    started_at: datetime,
    subscribers: int,
    chat_subscribed: bool,
    health: HealthRegistry,
) -> str:
    lines = [
        t(lang, "status.header"),
        t(lang, "status.uptime", uptime=format_age(now - started_at), subscribers=subscribers),
        t(lang, "status.this_chat_on" if chat_subscribed else "status.this_chat_off"),
        "",
        t(lang, "status.sources"),
    ]
    if not health.collecting or not health.sources:
        lines.append(t(lang, "status.no_sources"))
        return "\n".join(lines)
    for source in health.sources.values():
        lines += _source_lines(lang, now, source)
    lines.append("")
    if health.stale:
        lines.append(t(lang, "status.stale_header"))
        lines += [
            t(lang, "status.stale_item", symbol=symbol, last=_ago(lang, now, last))
            for symbol, last in sorted(health.stale.items())
        ]
    else:
        lines.append(t(lang, "status.all_fresh"))
    return "\n".join(lines)
