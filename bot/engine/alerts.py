"""Alert events: what the engine decided, as plain frozen dataclasses.

Every alert has a stable identity, :attr:`key` = ``kind:symbol:param:direction:period``:
the same market fact seen twice (after a restart, or by two evaluations) has the
same key, so it is decided, stored and delivered once. ``param`` is the rule's
parameter (a level, a threshold); ``period`` is the time bucket the fact belongs to
(the crossing's minute, the session's date, the report date).

``to_json()`` gives the flat record ``python -m bot replay --json`` prints: ``time``
(ISO-8601 UTC), ``kind``, ``symbol`` and the kind's numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

Direction = Literal["up", "down"]
AlertKind = Literal[
    "level_break",
    "correlation_spike",
    "correlation_resolved",
    "earnings_shock",
    "earnings_upcoming",
    "large_move",
]
ALERT_KINDS: tuple[AlertKind, ...] = (
    "level_break",
    "correlation_spike",
    "correlation_resolved",
    "earnings_shock",
    "earnings_upcoming",
    "large_move",
)


def _num(value: float) -> str:
    """A parameter as it appears in a key: 90000.0 → "90000", 0.7 → "0.7"."""
    return f"{value:.10g}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


class _Alert:
    kind: ClassVar[AlertKind]
    symbol: str
    time: datetime

    @property
    def param(self) -> str:
        raise NotImplementedError

    @property
    def direction_key(self) -> str:
        return getattr(self, "direction", None) or "-"

    @property
    def period(self) -> str:
        raise NotImplementedError

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.symbol}:{self.param}:{self.direction_key}:{self.period}"

    def to_json(self) -> dict[str, Any]:
        record = {"time": self.time, "kind": self.kind, "symbol": self.symbol}
        record.update({k: v for k, v in asdict(self).items() if k not in record})  # type: ignore[call-overload]
        return _jsonable(record)


@dataclass(frozen=True, slots=True)
class LevelBreak(_Alert):
    """A true crossing of ``level``; ``price`` is where it stood when seen past the level."""

    kind: ClassVar[AlertKind] = "level_break"
    symbol: str
    time: datetime
    level: float
    direction: Direction
    price: float
    extreme: float  # the furthest price reached through the level in the observed move
    through_pct: float  # how far ``price`` is past the level, in % of the level (positive)
    bar_start: datetime | None = None  # the bar the crossing was seen in, if it came from a bar

    @property
    def param(self) -> str:
        return _num(self.level)

    @property
    def period(self) -> str:
        return self.time.strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Correlation(_Alert):
    """What both correlation alerts carry; the other side is always BTC."""

    symbol: str  # the equity or index
    time: datetime
    window: int  # trading days of the window that fired (21 = "30d")
    value: float
    previous: float | None  # the value one session earlier
    threshold: float
    jump: float
    windows: dict[str, float | None] = field(default_factory=dict)  # every window: {"21": 0.74, "63": 0.52}
    start: date | None = None  # first and last dates of the returns in the window
    end: date | None = None

    @property
    def param(self) -> str:
        return f"{_num(self.threshold)}/{_num(self.jump)}/{self.window}"

    @property
    def period(self) -> str:
        return (self.end or self.time.date()).isoformat()


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
    time: datetime
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
        return _num(self.threshold_pct)

    @property
    def direction_key(self) -> str:
        return "-"  # one shock per name, session and threshold, whichever way it went

    @property
    def period(self) -> str:
        return self.session.isoformat()


@dataclass(frozen=True, slots=True)
class EarningsUpcoming(_Alert):
    kind: ClassVar[AlertKind] = "earnings_upcoming"
    symbol: str
    time: datetime
    report_date: date
    timing: str

    @property
    def param(self) -> str:
        return "-"

    @property
    def period(self) -> str:
        return self.report_date.isoformat()


@dataclass(frozen=True, slots=True)
class LargeMove(_Alert):
    kind: ClassVar[AlertKind] = "large_move"
    symbol: str
    time: datetime
    direction: Direction
    move_pct: float  # signed
    price: float
    reference_price: float  # the price ``hours`` earlier
    reference_time: datetime
    threshold_pct: float
    hours: int = 24

    @property
    def param(self) -> str:
        return _num(self.threshold_pct)

    @property
    def period(self) -> str:
        return self.time.strftime("%Y-%m-%dT%H:%M")  # when the move first passed the threshold


Alert = LevelBreak | CorrelationSpike | CorrelationResolved | EarningsShock | EarningsUpcoming | LargeMove


_TYPES: dict[str, type] = {
    cls.kind: cls
    for cls in (LevelBreak, CorrelationSpike, CorrelationResolved, EarningsShock, EarningsUpcoming, LargeMove)
}


def alert_from_json(record: dict[str, Any]) -> Alert:
    """The alert back from :meth:`to_json`'s record (as stored in the outbox)."""
    import dataclasses

    cls = _TYPES[record["kind"]]
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in record:
            continue
        value = record[f.name]
        kind = str(f.type)
        if value is not None and "datetime" in kind:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif value is not None and kind.startswith("date"):
            value = date.fromisoformat(value)
        values[f.name] = value
    return cls(**values)
