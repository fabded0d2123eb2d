"""A name's session as the equity rules see it: prior close, open, latest price, σ, and BTC beside it.

Shared by the large-move, market-move and earnings rules, so "since Friday's close"
means the same in each. Pure functions of bars and prices, plus two readers that take
a :class:`~bot.rules.contract.MarketView` (read-only).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain import Bar
from bot.markettime import CalendarRangeError, MarketHours, Session
from bot.rules.contract import MarketView, Tick

SIGMA_WINDOW = 60  # sessions of daily returns a name's σ is measured over
MIN_RETURNS = 20  # fewer returns than this: σ is not trusted
BTC = "BTC"
INTRADAY_SLACK = timedelta(hours=2)  # an intraday price this far from the moment still stands for it


def pct(price: float, reference: float) -> float:
    return (price / reference - 1.0) * 100.0


@dataclass(frozen=True, slots=True)
class SessionPrices:
    """One name's prices for one session: prior close, open, and the close or latest price."""

    symbol: str
    session: date
    prior_close: float
    open: float
    price: float  # the close if ``complete``, else the latest price
    complete: bool
    prior_session: date | None = None  # the session of ``prior_close``

    def __post_init__(self) -> None:
        for name in ("prior_close", "open", "price"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{self.symbol} {self.session}: {name} must be a positive price (got {value})")

    @property
    def gap_pct(self) -> float:
        """The open vs the prior close, in %."""
        return pct(self.open, self.prior_close)

    @property
    def move_pct(self) -> float:
        """The close (or the latest price) vs the prior close, in %."""
        return pct(self.price, self.prior_close)


def daily_sigma(closes: Sequence[float], window: int = SIGMA_WINDOW, min_returns: int = MIN_RETURNS) -> float | None:
    """σ (sample, in %) of the last ``window`` daily simple returns of ``closes`` (oldest first);
    None with fewer than ``min_returns`` returns or a flat series."""
    closes = list(closes)[-(window + 1) :]
    if any(not (math.isfinite(c) and c > 0) for c in closes):
        raise ValueError("closes must be positive prices")
    returns = [pct(b, a) for a, b in itertools.pairwise(closes)]
    if len(returns) < min_returns:
        return None
    mean = math.fsum(returns) / len(returns)
    sigma = math.sqrt(math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    return sigma if sigma > 1e-12 * max(abs(mean), 1.0) else None


def closes_before_session(daily: Sequence[Bar], session: date) -> list[float]:
    """Closes of the daily bars dated before ``session``, oldest first."""
    return [bar.close for bar in daily if bar.ts.date() < session]


def session_prices(
    symbol: str,
    daily: Sequence[Bar],
    session: date,
    *,
    complete: bool = True,
    hours: MarketHours | None = None,
) -> SessionPrices | None:
    """The session's prices from daily bars (oldest first): its bar and the bar before it.

    None if there is no bar for ``session`` or none before it. Pass ``complete=False``
    while the session runs (its bar's close is then the latest price). With ``hours``,
    the bar before must be the previous trading day, so a hole in the data is not
    mistaken for a move.
    """
    days = [bar.ts.date() for bar in daily]
    if session not in days:
        return None
    index = days.index(session)
    if index == 0:
        return None
    previous, bar = daily[index - 1], daily[index]
    if hours is not None and days[index - 1] != hours.previous_trading_day(session):
        return None
    return SessionPrices(symbol, session, previous.close, bar.open, bar.close, complete, days[index - 1])


def open_session(tick: Tick) -> Session | None:
    """The session running at the tick, if any."""
    try:
        return tick.hours.latest_started_session(tick.now) if tick.hours.is_open(tick.now) else None
    except CalendarRangeError:
        return None


def current_session(view: MarketView, tick: Tick, symbol: str, daily: Sequence[Bar]) -> SessionPrices | None:
    """The session the tick brought news of: from its daily bar once closed, else (while it
    runs) from its first and latest quotes against the previous session's close."""
    bar = next((b for b in tick.daily_bars() if b.symbol == symbol), None)
    if bar is not None:
        return session_prices(symbol, daily, bar.ts.date(), complete=True, hours=tick.hours)
    session = open_session(tick)
    quote = max((q for q in tick.quotes if q.symbol == symbol), key=lambda q: q.ts, default=None)
    if session is None or quote is None or quote.ts < session.open:
        return None
    before = [b for b in daily if b.ts.date() < session.day]
    first = view.first_quote_since(symbol, session.open)
    if not before or first is None or before[-1].ts.date() != tick.hours.previous_trading_day(session.day):
        return None
    prior = before[-1]
    return SessionPrices(symbol, session.day, prior.close, first.price, quote.price, False, prior.ts.date())


def session_at(view: MarketView, tick: Tick, symbol: str, daily: Sequence[Bar], day: date) -> SessionPrices | None:
    """``symbol``'s prices for the session of ``day`` as the tick sees them: from its daily bar
    once the session has closed, else from its first and latest quotes of the session."""
    try:
        session = tick.hours.session(day)
    except CalendarRangeError:
        return None
    if session is None or tick.now < session.open:
        return None
    if tick.now >= session.close:
        return session_prices(symbol, daily, day, complete=True, hours=tick.hours)
    before = [b for b in daily if b.ts.date() < day]
    first = view.first_quote_since(symbol, session.open)
    latest = view.intraday(symbol, session.open, tick.now)
    if not before or first is None or not latest or before[-1].ts.date() != tick.hours.previous_trading_day(day):
        return None
    return SessionPrices(symbol, day, before[-1].close, first.price, latest[-1][1], False, before[-1].ts.date())


@dataclass(frozen=True, slots=True)
class WindowMove:
    """A symbol's move between two moments, from intraday prices (quotes, hourly bars)."""

    move_pct: float
    since: datetime
    until: datetime


def intraday_move(view: MarketView, symbol: str, since: datetime, until: datetime) -> WindowMove | None:
    """``symbol``'s move from ``since`` to ``until``, from intraday prices within
    :data:`INTRADAY_SLACK` of both moments; None when there are none (a daily bar covers
    another window: it is never passed off as this one)."""
    prices = view.intraday(symbol, since - INTRADAY_SLACK, until)
    before = [(t, p) for t, p in prices if t <= since]
    if not before or not prices or prices[-1][0] < until - INTRADAY_SLACK:
        return None
    (t0, p0), (t1, p1) = before[-1], prices[-1]
    return WindowMove(pct(p1, p0), t0, t1) if t1 > t0 else None


def session_window(hours: MarketHours, session: date, now: datetime) -> tuple[datetime, datetime] | None:
    """From the previous session's close to ``session``'s close (or ``now``, if earlier)."""
    try:
        today = hours.session(session)
        prior = hours.session(hours.previous_trading_day(session))
    except CalendarRangeError:
        return None
    if today is None or prior is None:
        return None
    return prior.close, min(today.close, now)
