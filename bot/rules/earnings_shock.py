"""Tech-earnings shocks and report heads-ups: pure rules, the clock passed in.

A *shock* is judged on the first session after a company's report (see
:func:`first_session_after`): it fires when the opening gap or the close-to-close
move (the latest price while the session runs) reaches the threshold
``min(shock_pct, sigmas × σ)``, σ being the standard deviation of the name's last
``sigma_window`` daily simple returns in % before the session (sample σ, ``ddof=1``).
With fewer than ``min_returns`` returns, or a flat series (σ = 0), the threshold is
``shock_pct`` alone. On any other session only a *gap* that large is reported
(``earnings=False``): a slow slide during the day is not a shock.

The rule is stateless: the engine stores alerts by ``key``, so returning the same
alert again for the same facts is harmless. Beside the name's move the alert gives its
peers' moves over the same session and BTC's move and 30d correlation with it.
"""

from __future__ import annotations

import html
import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from bot.domain import NO_DIRECTION, AlertBase, AlertKind, Bar, EarningsDate, UtcTime, num
from bot.formatting import fmt_corr, fmt_date, fmt_pct, fmt_price, fmt_symbol, fmt_timing, headline_pct
from bot.i18n import Html, t
from bot.markettime import CalendarRangeError, MarketHours, Session, as_utc
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.correlation_stats import current_correlation
from bot.values import Threshold, number

_REPORT_LOOKBACK = timedelta(days=14)  # longer than any run of market holidays


@dataclass(frozen=True, slots=True)
class EarningsShock(AlertBase):
    """A gap or close-to-close move past the threshold on the first session after a report
    (``earnings`` False: a gap that large without a known report)."""

    kind: ClassVar[AlertKind] = "earnings_shock"
    symbol: str
    time: UtcTime
    session: date
    gap_pct: float  # open vs prior close
    move_pct: float | None  # close (or latest price) vs prior close
    threshold_pct: float  # the effective threshold: min(shock %, sigmas × σ)
    prior_close: float
    open: float
    price: float  # the close, or the latest price while the session runs
    earnings: bool
    report_date: date | None = None
    timing: str | None = None
    peers: dict[str, float] = field(default_factory=dict)  # symbol → % move over the same session
    btc_move_pct: float | None = None
    btc_corr_30d: float | None = None
    sigma_pct: float | None = None  # σ of the last 60 daily returns, in %

    @property
    def param(self) -> str:
        return num(self.threshold_pct)

    @property
    def direction_key(self) -> str:
        return NO_DIRECTION  # one shock per name, session and threshold, whichever way it went

    @property
    def period(self) -> str:
        return self.session.isoformat()


KINDS = (EarningsShock,)


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


# -- the rule contract -------------------------------------------------------------------

NAME = "earnings_shock"
MUTE_GROUP = "earnings"
HISTORY = timedelta(days=120)
CORRELATION_HISTORY = timedelta(days=400)
MAX_PEERS = 12  # an earnings shock lists at most this many peers, the largest moves first
NASDAQ_PROXY = "QQQ"
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "shock",
        Threshold,
        lambda text: Threshold(number(text, low=0.5, high=50.0), "%"),
        default=lambda settings: Threshold(settings.shock_pct, "%"),
        label="setting.shock",
        help="set.help.shock",
        example="/set shock 7",
        aliases=("earnings", "shock_pct"),
    ),
)
State = Stateless


@dataclass(frozen=True, slots=True)
class Inputs:
    prices: SessionPrices | None
    closes_before: tuple[float, ...]
    earnings: tuple[EarningsDate, ...]
    hours: MarketHours
    peers: Mapping[str, float]
    btc_move_pct: float | None
    btc_corr_30d: float | None


def params(values: Mapping[str, Any]) -> Threshold:
    value = values["shock"]
    assert isinstance(value, Threshold)
    return value


def scopes(tick: Tick) -> Iterable[str]:
    """Names whose session just closed (a daily bar), or that traded while their session runs (a quote)."""
    closed = {b.symbol for b in tick.daily_bars() if b.symbol in tick.watchlist}
    trading = {q.symbol for q in tick.quotes if q.symbol in tick.watchlist} if _open_session(tick) else set()
    return sorted(closed | trading)


def _open_session(tick: Tick) -> Session | None:
    try:
        return tick.hours.latest_started_session(tick.now) if tick.hours.is_open(tick.now) else None
    except CalendarRangeError:
        return None


def _session_prices(view: MarketView, tick: Tick, symbol: str, daily: list[Bar]) -> SessionPrices | None:
    """The session's prices: from its daily bar once closed, else from the first and latest quotes."""
    bar = next((b for b in tick.daily_bars() if b.symbol == symbol), None)
    if bar is not None:
        return session_prices(symbol, daily, bar.ts.date(), complete=True, hours=tick.hours)
    session = _open_session(tick)
    quote = max((q for q in tick.quotes if q.symbol == symbol), key=lambda q: q.ts, default=None)
    if session is None or quote is None or quote.ts < session.open:
        return None
    before = [b for b in daily if b.ts.date() < session.day]
    first = view.first_quote_since(symbol, session.open)
    if not before or first is None or before[-1].ts.date() != tick.hours.previous_trading_day(session.day):
        return None
    return SessionPrices(symbol, session.day, before[-1].close, first.price, quote.price, False)


def _price_at(view: MarketView, symbol: str, when: datetime) -> float | None:
    history = view.prices(symbol, when - timedelta(days=3), when)
    return history[-1][1] if history else None


def _btc_move(view: MarketView, tick: Tick, day: date) -> float | None:
    try:
        session = tick.hours.session(day)
        prior = tick.hours.session(tick.hours.previous_trading_day(day))
    except CalendarRangeError:
        return None
    if session is None or prior is None:
        return None
    now_price = _price_at(view, "BTC", min(session.close, tick.now))
    before = _price_at(view, "BTC", prior.close)
    return (now_price / before - 1) * 100 if now_price and before else None


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    daily = view.daily(scope, tick.now - HISTORY)
    prices = _session_prices(view, tick, scope, daily)
    if prices is None:
        return Inputs(None, (), (), tick.hours, {}, None, None)
    peers: dict[str, float] = {}
    for peer in tick.watchlist:
        if peer != scope:
            peer_prices = session_prices(peer, view.daily(peer, tick.now - HISTORY), prices.session, hours=tick.hours)
            if peer_prices is not None:
                peers[peer] = peer_prices.move_pct
    since = tick.now - CORRELATION_HISTORY
    reading = current_correlation(
        view.daily("BTC", since), view.daily(scope, since), view.settings.corr_windows[0], now=tick.now
    )
    return Inputs(
        prices,
        tuple(closes_before_session(daily, prices.session)),
        tuple(view.earnings([scope], prices.session - timedelta(days=10))),
        tick.hours,
        peers,
        _btc_move(view, tick, prices.session),
        reading.value if reading else None,
    )


def evaluate(inputs: Inputs, state: Stateless, params: Threshold, now: datetime) -> tuple[Stateless, list[Out]]:
    if inputs.prices is None or params.pct(None) is None:
        return state, []
    alert = evaluate_shock(
        inputs.prices,
        inputs.closes_before,
        inputs.earnings,
        inputs.hours,
        ShockParams(params.value),
        now,
        peers=inputs.peers,
        btc_move_pct=inputs.btc_move_pct,
        btc_corr_30d=inputs.btc_corr_30d,
    )
    return state, [] if alert is None else [Out(alert)]


def _up(value: float | None) -> bool:
    return value is None or math.isnan(value) or value >= 0


def _peers(peers: Mapping[str, float], lang: str) -> Html:
    def size(item: tuple[str, float]) -> float:
        return abs(item[1]) if isinstance(item[1], (int, float)) and math.isfinite(item[1]) else -1.0

    ranked = sorted(peers.items(), key=lambda item: (-size(item), str(item[0])))
    items = []
    for symbol, move in ranked[:MAX_PEERS]:
        name = fmt_symbol(symbol)
        label = t(lang, "alert.shock.nasdaq", symbol=name) if name == NASDAQ_PROXY else html.escape(name, quote=False)
        items.append(f"{label} {fmt_pct(move, lang)}")
    if len(ranked) > MAX_PEERS:
        items.append(t(lang, "alert.shock.more_peers", count=len(ranked) - MAX_PEERS))
    return Html(t(lang, "alert.list_sep").join(items))


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, EarningsShock)
    a = alert
    symbol = fmt_symbol(a.symbol)
    prices = {"open": fmt_price(a.open, lang), "prior_close": fmt_price(a.prior_close, lang)}
    if a.earnings and a.move_pct is not None:  # the day's move is the news; the gap is context
        way = "up" if _up(a.move_pct) else "down"
        headline = t(lang, f"alert.shock.earnings_{way}", symbol=symbol, move=headline_pct(a.move_pct, lang))
        lines = [headline, t(lang, "alert.shock.gap_line", gap=fmt_pct(a.gap_pct, lang), **prices)]
    else:  # the gap is what fired (always so without a report)
        kind = "earnings_gap" if a.earnings else "gap"
        way = "up" if _up(a.gap_pct) else "down"
        lines = [
            t(lang, f"alert.shock.{kind}_{way}", symbol=symbol, move=headline_pct(a.gap_pct, lang)),
            t(lang, "alert.shock.open_line", **prices),
        ]
        if a.move_pct is not None:
            move = fmt_pct(a.move_pct, lang)
            lines.append(t(lang, "alert.shock.move_line", price=fmt_price(a.price, lang), move=move))
    if not a.earnings:
        lines.append(t(lang, "alert.shock.no_report"))
    elif a.report_date is not None:
        reported = {"date": fmt_date(a.report_date, lang), "timing": fmt_timing(lang, a.timing)}
        lines.append(t(lang, "alert.shock.reported", **reported))
    if a.peers:
        lines.append(t(lang, "alert.shock.peers", peers=_peers(a.peers, lang)))
    btc, corr = a.btc_move_pct, a.btc_corr_30d
    if btc is not None and corr is not None:
        lines.append(t(lang, "alert.shock.btc", move=fmt_pct(btc, lang), symbol=symbol, corr=fmt_corr(corr)))
    elif btc is not None:
        lines.append(t(lang, "alert.shock.btc_move", move=fmt_pct(btc, lang)))
    elif corr is not None:
        lines.append(t(lang, "alert.shock.btc_corr", symbol=symbol, corr=fmt_corr(corr)))
    return lines
