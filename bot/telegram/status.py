"""The /status text: uptime, subscribers, each data source, and what is stale (no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.formatting import fmt_age
from bot.health import HealthRegistry, SourceHealth, StreamHealth
from bot.i18n import t, tn

NOT_ASKED = timedelta(minutes=5)  # a failing source not tried for this long: others answer meanwhile


def _ago(lang: str, now: datetime, when: datetime | None) -> str:
    return t(lang, "status.ago", age=fmt_age(now - when, lang)) if when else t(lang, "status.never")


def _stream_line(lang: str, now: datetime, stream: StreamHealth) -> str:
    if stream.state == "streaming" and stream.last_message is not None:
        return t(lang, "status.stream_live", name=stream.name, age=fmt_age(now - stream.last_message, lang))
    if stream.state == "down" and stream.down_since is not None:
        since = fmt_age(now - stream.down_since, lang)
        return t(lang, "status.stream_down", name=stream.name, since=since, error=stream.error or "?")
    return t(lang, "status.stream_connecting", name=stream.name)


def _source_lines(lang: str, now: datetime, h: SourceHealth) -> list[str]:
    if h.failing_since is not None:
        lines = [
            t(
                lang,
                "status.source_down",
                name=h.name,
                since=fmt_age(now - h.failing_since, lang),
                error=h.last_error or "?",
                last_success=_ago(lang, now, h.last_success),
            )
        ]
        if h.last_error_at is not None and now - h.last_error_at > NOT_ASKED:  # a fallback while another answers
            lines.append(t(lang, "status.source_not_asked", ago=fmt_age(now - h.last_error_at, lang)))
        return lines
    if h.last_success is None:
        return [t(lang, "status.source_waiting", name=h.name)]
    lines = [t(lang, "status.source_ok", name=h.name, last_success=fmt_age(now - h.last_success, lang))]
    if h.last_error and h.last_error_at:
        lines.append(t(lang, "status.last_error", ago=fmt_age(now - h.last_error_at, lang), error=h.last_error))
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
        tn(lang, "status.uptime", subscribers, uptime=fmt_age(now - started_at, lang)),
        t(lang, "status.this_chat_on" if chat_subscribed else "status.this_chat_off"),
    ]
    if health.storage_failing_since is not None:
        since = fmt_age(now - health.storage_failing_since, lang)
        lines.append(t(lang, "status.storage_down", since=since, error=health.storage_error or "?"))
    if health.chart_font_checked and health.chart_font is None:
        lines.append(t(lang, "status.no_chart_font"))
    lines += ["", t(lang, "status.sources")]
    if not health.collecting or not (health.sources or health.streams):
        lines.append(t(lang, "status.no_sources"))
        return "\n".join(lines)
    for source in health.sources.values():
        lines += _source_lines(lang, now, source)
    lines += [_stream_line(lang, now, stream) for stream in health.streams.values()]
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
