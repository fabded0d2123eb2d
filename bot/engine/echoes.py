"""One piece of news is told once: a name's own large move is left out when a bigger story of
the same session already tells it.

A large move of an equity is an *echo* when, for the same session, the name had an
earnings shock (or a gap, or a report-day reversal), or a market-wide move lists it
moving the same way by at least the large move's threshold. The bigger story may be
decided at the same tick or earlier in the session (a name that moves on after the
market message is news again); a 24 h move of a crypto name is never an echo.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlite_utils import Database

from bot.domain import AlertBase
from bot.rules.large_move import LargeMove
from bot.rules.market_move import MarketMove
from bot.rules.registry import decode_alert
from bot.store import outbox

NEWS_KINDS = ("earnings_shock", "earnings_reversal", "gap")
"""Kinds that tell a name's session better than its large move."""


def _session(alert: AlertBase) -> date | None:
    session = getattr(alert, "session", None)
    return session if isinstance(session, date) else None


def without_echoes(db: Database, candidates: list[tuple[AlertBase, Any]]) -> list[tuple[AlertBase, Any]]:
    """``candidates`` without the large moves that another alert of the session tells."""
    news = {(a.symbol, _session(a)) for a, _ in candidates if a.kind in NEWS_KINDS}
    # a market move decided before is read back as it was told, not as re-evaluated now
    fresh = [a for a, _ in candidates if isinstance(a, MarketMove) and not outbox.alert_exists(db, a.key)]
    markets: dict[date, list[MarketMove]] = {}  # by session, read from the store once

    def markets_of(day: date) -> list[MarketMove]:
        if day not in markets:
            told = (decode_alert("market_move", p) for p in outbox.payloads_in_period(db, "market_move", day))
            markets[day] = [m for m in (*fresh, *told) if isinstance(m, MarketMove) and m.session == day]
        return markets[day]

    def echo(move: LargeMove, day: date) -> bool:
        if (move.symbol, day) in news or any(outbox.decided_in_period(db, k, move.symbol, day) for k in NEWS_KINDS):
            return True
        return any(m.folds(move.symbol, move.move_pct, move.threshold_pct) for m in markets_of(day))

    return [
        (alert, chats)
        for alert, chats in candidates
        if not (isinstance(alert, LargeMove) and alert.session is not None and echo(alert, alert.session))
    ]
