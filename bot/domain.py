"""The bot's plain data: market data and alerts, as frozen dataclasses that every layer shares.

Market data (all timestamps timezone-aware UTC):

* :class:`Quote` -- the latest traded price of one symbol at one source.
* :class:`Bar` -- one OHLCV bar; ``ts`` is the bar's *start*. Daily bars start at 00:00 UTC
  of their date: for crypto the UTC calendar day, for equities the US trading day.
* :class:`EarningsDate` -- a company's report date and whether it came before the open
  or after the close.

Symbols are the bot's canonical names (``BTC``, ``NVDA``, ``QQQ``), never an exchange's
pair (``BTC/USDT``) or Yahoo's (``BTC-USD``).

Alerts: what the engine decided. Every alert has a stable identity, :class:`AlertKey`
(kind, symbol, parameter, direction, period): the same market fact seen twice (after a
restart, or by two evaluations) has the same key, so it is decided, stored and delivered
once. Payloads are stored as JSON through pydantic (:func:`encode_alert`,
:func:`decode_alert`) and come back equal, float for float.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, TypeAdapter

# -- market data -------------------------------------------------------------------------

Interval = Literal["1h", "1d"]
INTERVALS: tuple[Interval, ...] = ("1h", "1d")
EarningsTiming = Literal["before_open", "after_close", "unknown"]


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    price: float
    ts: datetime
    source: str
    fetched_at: datetime
    change_24h_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    interval: Interval
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float | None
    source: str


@dataclass(frozen=True, slots=True)
class EarningsDate:
    symbol: str
    report_date: date
    timing: EarningsTiming
    source: str


# -- alerts ------------------------------------------------------------------------------

Direction = Literal["up", "down"]
AlertKind = Literal[
    "level_break",
    "correlation_spike",
    "correlation_resolved",
    "earnings_shock",
    "earnings_upcoming",
    "large_move",
]
NO_DIRECTION = "-"


def _utc(value: datetime) -> datetime:
    """Times read back from JSON are UTC like the ones that went in (not pydantic's own tzinfo)."""
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
_PAYLOAD_CONFIG = ConfigDict(ser_json_inf_nan="constants")


def _minute(when: datetime) -> str:
    """The UTC minute of ``when``, as a key's period: the same instant has one period in any zone."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def num(value: float) -> str:
    """A parameter as it appears in a key: 90000.0 → "90000", 0.7 → "0.7"."""
    return f"{value:.10g}"


@dataclass(frozen=True, slots=True, order=True)
class AlertKey:
    """The identity of one market fact: the same fact always has the same key."""

    kind: AlertKind
    symbol: str
    param: str  # the rule's parameter: a level, a threshold
    direction: str  # "up", "down" or "-"
    period: str  # the time bucket: the crossing's minute, the session's date, the report date

    def __str__(self) -> str:
        return f"{self.kind}:{self.symbol}:{self.param}:{self.direction}:{self.period}"

    @classmethod
    def parse(cls, text: str) -> AlertKey:
        """The key back from its text (``str(key)``)."""
        kind, symbol, param, direction, period = text.split(":", 4)
        return cls(kind, symbol, param, direction, period)  # type: ignore[arg-type]


class _Alert:
    """What every alert kind has: a kind, a symbol, a time and a key."""

    kind: ClassVar[AlertKind]
    __pydantic_config__: ClassVar[ConfigDict] = _PAYLOAD_CONFIG
    symbol: str
    time: datetime

    @property
    def param(self) -> str:
        raise NotImplementedError

    @property
    def direction_key(self) -> str:
        return str(getattr(self, "direction", None) or NO_DIRECTION)

    @property
    def period(self) -> str:
        raise NotImplementedError

    @property
    def key(self) -> AlertKey:
        return AlertKey(self.kind, self.symbol, self.param, self.direction_key, self.period)

    def to_record(self) -> dict[str, Any]:
        """The flat record ``python -m bot replay --json`` prints: time, kind, symbol, then the numbers."""
        record: dict[str, Any] = {"time": self.time, "kind": self.kind, "symbol": self.symbol}
        record.update({k: v for k, v in asdict(self).items() if k not in record})  # type: ignore[call-overload]
        printable: dict[str, Any] = _printable(record)
        return printable


def _printable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


@dataclass(frozen=True, slots=True)
class LevelBreak(_Alert):
    """A true crossing of ``level``; ``price`` is where it stood when seen past the level."""

    kind: ClassVar[AlertKind] = "level_break"
    symbol: str
    time: UtcTime
    level: float
    direction: Direction
    price: float
    extreme: float  # the furthest price reached through the level in the observed move
    through_pct: float  # how far ``price`` is past the level, in % of the level (positive)
    bar_start: UtcTime | None = None  # the bar the crossing was seen in, if it came from a bar

    @property
    def param(self) -> str:
        return num(self.level)

    @property
    def period(self) -> str:
        return _minute(self.time)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Correlation(_Alert):
    """What both correlation alerts carry; the other side is always BTC."""

    symbol: str  # the equity or index
    time: UtcTime
    window: int  # trading days of the window that fired (21 = "30d")
    value: float
    previous: float | None  # the value one session earlier
    threshold: float
    jump: float
    windows: dict[str, float | None] = field(default_factory=dict)  # {"21": 0.74, "63": 0.52}
    start: date | None = None  # first and last dates of the returns in the window
    end: date | None = None

    @property
    def param(self) -> str:
        return f"{num(self.threshold)}/{num(self.jump)}/{self.window}"

    @property
    def period(self) -> str:
        return (self.end or self.time.astimezone(UTC).date()).isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrelationSpike(_Correlation):
    kind: ClassVar[AlertKind] = "correlation_spike"
    trigger: Literal["threshold", "jump"]
    change_10d: float | None  # value minus the lowest value of the last 10 sessions


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrelationResolved(_Correlation):
    kind: ClassVar[AlertKind] = "correlation_resolved"


@dataclass(frozen=True, slots=True)
class EarningsShock(_Alert):
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


@dataclass(frozen=True, slots=True)
class EarningsUpcoming(_Alert):
    kind: ClassVar[AlertKind] = "earnings_upcoming"
    symbol: str
    time: UtcTime
    report_date: date
    timing: str

    @property
    def param(self) -> str:
        return NO_DIRECTION

    @property
    def period(self) -> str:
        return self.report_date.isoformat()


@dataclass(frozen=True, slots=True)
class LargeMove(_Alert):
    kind: ClassVar[AlertKind] = "large_move"
    symbol: str
    time: UtcTime
    direction: Direction
    move_pct: float  # signed
    price: float
    reference_price: float  # the price ``hours`` earlier
    reference_time: UtcTime
    threshold_pct: float
    hours: int = 24

    @property
    def param(self) -> str:
        return num(self.threshold_pct)

    @property
    def period(self) -> str:
        return _minute(self.time)  # when the move first passed the threshold


Alert = LevelBreak | CorrelationSpike | CorrelationResolved | EarningsShock | EarningsUpcoming | LargeMove
ALERT_TYPES: tuple[type[Alert], ...] = (
    LevelBreak,
    CorrelationSpike,
    CorrelationResolved,
    EarningsShock,
    EarningsUpcoming,
    LargeMove,
)
ALERT_KINDS: tuple[AlertKind, ...] = tuple(cls.kind for cls in ALERT_TYPES)
_ADAPTERS: dict[str, TypeAdapter[Any]] = {cls.kind: TypeAdapter(cls) for cls in ALERT_TYPES}


def encode_alert(alert: Alert) -> str:
    """The alert's fields as JSON (its kind is stored beside it)."""
    return _ADAPTERS[alert.kind].dump_json(alert).decode()


def decode_alert(kind: str, payload: str | bytes) -> Alert:
    """The alert back from :func:`encode_alert`'s JSON; ``ValueError`` if it is not one."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        raise ValueError(f"unknown alert kind {kind!r}")
    alert: Alert = adapter.validate_json(payload)
    return alert
