"""One piece of news is told once: a name's own large move is left out when a bigger story of
the same session already tells it.

A large move of an equity is an *echo* when, for the same session, the name had an
earnings shock (or a gap, or a report-day reversal), or a market-wide move lists it
moving the same way by at least the large move's threshold. The bigger story may be
decided at the same tick or earlier in the session (a name that moves on after the
market message is news again); a 24 h move of a crypto name is never an echo.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _markets(db: Database, day: date, fresh: Sequence[MarketMove]) -> list[MarketMove]:
    decided = [decode_alert("market_move", payload) for payload in outbox.payloads_in_period(db, "market_move", day)]
    return [*fresh, *(m for m in decided if isinstance(m, MarketMove))]


def without_echoes(db: Database, candidates: list[tuple[AlertBase, Any]]) -> list[tuple[AlertBase, Any]]:
    """``candidates`` without the large moves that another alert of the session tells."""
    news = {(a.symbol, _session(a)) for a, _ in candidates if a.kind in NEWS_KINDS}
    # a market move decided before is read back as it was told, not as re-evaluated now
    markets = [a for a, _ in candidates if isinstance(a, MarketMove) and not outbox.alert_exists(db, a.key)]
    kept = []
    for alert, chats in candidates:
        day = alert.session if isinstance(alert, LargeMove) else None
        if day is not None and isinstance(alert, LargeMove):
            if (alert.symbol, day) in news or any(
                outbox.decided_in_period(db, kind, alert.symbol, day) for kind in NEWS_KINDS
            ):
                continue
            if any(
                m.session == day and m.folds(alert.symbol, alert.move_pct, alert.threshold_pct)
                for m in _markets(db, day, markets)
            ):
                continue
        kept.append((alert, chats))
    return kept
