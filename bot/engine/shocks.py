"""Tech-earnings shocks and report heads-ups: pure rules, the clock passed in.

A *shock* is judged on the first session after a company's report (see
:func:`first_session_after`): it fires when the opening gap or the close-to-close
move (the latest price while the session runs) reaches the threshold
``min(shock_pct, sigmas × σ)``, σ being the standard deviation of the name's last
``sigma_window`` daily simple returns in % before the session (sample σ, ``ddof=1``).
With fewer than ``min_returns`` returns, or a flat series (σ = 0), the threshold is
``shock_pct`` alone. On any other session only a *gap* that large is reported
(``earnings=False``): a slow slide during the day is not a shock.

A *heads-up* (:func:`evaluate_heads_up`) is due on the trading day before a report.
Both rules are stateless: the engine stores alerts by ``key``, so returning the
same alert again for the same facts is harmless.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain import Bar, EarningsDate, EarningsShock, EarningsUpcoming
from bot.markettime import NEW_YORK, MarketHours, as_utc

_REPORT_LOOKBACK = timedelta(days=14)  # longer than any run of market holidays


@dataclass(frozen=True, slots=True)
class ShockParams:
    """How large a move counts as a shock: ``min(shock_pct, sigmas × σ)`` over ``sigma_window`` returns."""

    shock_pct: float = 7.0
    sigmas: float = 3.0
    sigma_window: int = 60
    min_returns: int = 20  # fewer returns than this: σ is not trusted, use shock_pct alone

    def __post_init__(self) -> None:
        if not (math.isfinite(self.shock_pct) and 0 < self.shock_pct <= 100):
            raise ValueError(f"shock_pct must be in (0, 100] (got {self.shock_pct})")
        if not (math.isfinite(self.sigmas) and self.sigmas > 0):
            raise ValueError(f"sigmas must be a positive number (got {self.sigmas})")
        if not 2 <= self.min_returns <= self.sigma_window:
            raise ValueError(f"need 2 <= min_returns <= sigma_window (got {self.min_returns}, {self.sigma_window})")


@dataclass(frozen=True, slots=True)
class SessionPrices:
    """One name's prices for one session: prior close, open, and the close or latest price."""

    symbol: str
    session: date
    prior_close: float
    open: float
    price: float  # the close if ``complete``, else the latest price
    complete: bool

    def __post_init__(self) -> None:
        for name in ("prior_close", "open", "price"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{self.symbol} {self.session}: {name} must be a positive price (got {value})")

    @property
    def gap_pct(self) -> float:
        """The open vs the prior close, in %."""
        return _pct(self.open, self.prior_close)

    @property
    def move_pct(self) -> float:
        """The close (or the latest price) vs the prior close, in %."""
        return _pct(self.price, self.prior_close)


def _pct(price: float, reference: float) -> float:
    return (price / reference - 1.0) * 100.0


def shock_threshold(closes_before: Sequence[float], params: ShockParams) -> tuple[float, float | None]:
    """The effective threshold in % and σ in % (None when too few returns) from closes before the session.

    ``closes_before`` are daily closes, oldest first, ending with the prior close; only
    the last ``sigma_window + 1`` are used.
    """
    closes = list(closes_before)[-(params.sigma_window + 1) :]
    if any(not (math.isfinite(c) and c > 0) for c in closes):
        raise ValueError("closes must be positive prices")
    returns = [_pct(b, a) for a, b in itertools.pairwise(closes)]
    if len(returns) < params.min_returns:
        return params.shock_pct, None
    sigma = statistics.stdev(returns)
    if sigma <= 0:
        return params.shock_pct, sigma
    return min(params.shock_pct, params.sigmas * sigma), sigma


def first_session_after(report: EarningsDate, hours: MarketHours) -> date:
    """The first session that trades on the report's news.

    ``before_open`` on D: D itself (the next trading day if D is closed);
    ``after_close`` on D: the next trading day after D; ``unknown``: treated as after
    the close, the next trading day after D (a report that in fact came before the
    open is then judged one session late, against D's close).
    """
    day = report.report_date
    if report.timing == "before_open" and hours.is_trading_day(day):
        return day
    return hours.next_trading_day(day)


def closes_before_session(daily: Sequence[Bar], session: date) -> list[float]:
    """Closes of the daily bars dated before ``session``, oldest first (input for :func:`shock_threshold`)."""
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
    mistaken for a gap.
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
    return SessionPrices(symbol, session, previous.close, bar.open, bar.close, complete)


def _report_for(
    session: date, symbol: str, earnings: Sequence[EarningsDate], hours: MarketHours
) -> EarningsDate | None:
    """The latest report of ``symbol`` whose first session after it is ``session``."""
    matches = [
        e
        for e in earnings
        if e.symbol == symbol
        and session - _REPORT_LOOKBACK <= e.report_date <= session  # keeps old dates off the calendar
        and first_session_after(e, hours) == session
    ]
    return max(matches, key=lambda e: e.report_date, default=None)


def evaluate_shock(
    prices: SessionPrices,
    closes_before: Sequence[float],
    earnings: Sequence[EarningsDate],
    hours: MarketHours,
    params: ShockParams,
    now: datetime,
    *,
    peers: Mapping[str, float] | None = None,
    btc_move_pct: float | None = None,
    btc_corr_30d: float | None = None,
) -> EarningsShock | None:
    """An :class:`EarningsShock` if this session's gap or move reaches the threshold, else None.

    On the first session after a known report either |gap| or |move| fires
    (``earnings=True``); on any other session only |gap| does (``earnings=False``).
    Nothing is judged on a closed day or before the session opens. ``peers`` are
    other names' % moves over the same session (the name itself is left out); the
    BTC context is passed through as given.
    """
    now = as_utc(now)
    session = hours.session(prices.session)
    if session is None or now < session.open:
        return None
    threshold, sigma = shock_threshold(closes_before, params)
    gap, move = prices.gap_pct, prices.move_pct
    report = _report_for(prices.session, prices.symbol, earnings, hours)
    fired = abs(gap) >= threshold or (report is not None and abs(move) >= threshold)
    if not fired:
        return None
    return EarningsShock(
        symbol=prices.symbol,
        time=now,
        session=prices.session,
        gap_pct=gap,
        move_pct=move,
        threshold_pct=threshold,
        prior_close=prices.prior_close,
        open=prices.open,
        price=prices.price,
        earnings=report is not None,
        report_date=report.report_date if report else None,
        timing=report.timing if report else None,
        peers={s: float(p) for s, p in (peers or {}).items() if s != prices.symbol},
        btc_move_pct=btc_move_pct,
        btc_corr_30d=btc_corr_30d,
        sigma_pct=sigma,
    )


def evaluate_heads_up(
    earnings: Sequence[EarningsDate],
    watchlist: Sequence[str],
    hours: MarketHours,
    now: datetime,
) -> list[EarningsUpcoming]:
    """Heads-ups for watched names that report on the next trading day, by report date and symbol.

    "Today" is ``now``'s date in New York; a report is due when its date D satisfies
    ``today < D <= next trading day after today`` (the same for every timing: a
    before-open report on D lands before D's open, an after-close one during D). So
    a Monday report is announced on Friday (and again over the weekend, with the
    same key), and a report the day after a holiday on the last session before it.
    """
    now = as_utc(now)
    today = now.astimezone(NEW_YORK).date()
    upcoming = hours.next_trading_day(today)
    watched = set(watchlist)
    due = sorted(
        (e for e in earnings if e.symbol in watched and today < e.report_date <= upcoming),
        key=lambda e: (e.report_date, e.symbol),
    )
    return [EarningsUpcoming(e.symbol, now, e.report_date, e.timing) for e in due]
