"""The bot's plain data: market data and alerts, as frozen dataclasses that every layer shares.

Market data (all timestamps timezone-aware UTC):

* :class:`Quote` -- the latest traded price of one symbol at one source.
* :class:`Bar` -- one OHLCV bar; ``ts`` is the bar's *start*. Daily bars start at 00:00 UTC
  of their date: for crypto the UTC calendar day, for equities the US trading day.
* :class:`EarningsDate` -- a company's report date and whether it came before the open
  or after the close.

Symbols are the bot's canonical names (``BTC``, ``NVDA``, ``QQQ``), never an exchange's
pair (``BTC/USDT``) or Yahoo's (``BTC-USD``).

Alerts: what the engine decided. :class:`AlertBase` is what every kind has; each kind's
payload (a frozen dataclass) is declared by its rule module in ``bot/rules/``. Every alert
has a stable identity, :class:`AlertKey` (kind, symbol, parameter, direction, period): the
same market fact seen twice (after a restart, or by two evaluations) has the same key, so
it is decided, stored and delivered once. Payloads are stored as JSON through pydantic
(:func:`encode_alert`, :func:`decode_alert_as`) and come back equal, float for float.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, TypeAdapter

# -- market data -------------------------------------------------------------------------

Interval = Literal["1m", "1h", "1d"]
INTERVALS: tuple[Interval, ...] = ("1h", "1d")  # synced and replayed; 1-minute candles only stream in
EarningsTiming = Literal["before_open", "after_close", "unknown"]


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    price: float
    ts: datetime
    source: str
    fetched_at: datetime
    change_24h_pct: float | None = None
    market: str | None = None  # the venue's instrument (BTC/USDT on Binance), where it is not the symbol


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
AlertKind = str  # each rule names its kinds ("level_break", "large_move", ...)
NO_DIRECTION = "-"


def _utc(value: datetime) -> datetime:
    """Times read back from JSON are UTC like the ones that went in (not pydantic's own tzinfo)."""
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
_PAYLOAD_CONFIG = ConfigDict(ser_json_inf_nan="constants")


def minute_period(when: datetime) -> str:
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
        return cls(kind, symbol, param, direction, period)


class AlertBase:
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
    def order(self) -> int:
        """Among alerts of the same moment and importance, the order the market told them in."""
        return 0

    @property
    def follows(self) -> tuple[AlertKind, str] | None:
        """(kind, period) of the earlier alert about the same symbol this one follows up: its
        message answers that one's (Telegram's reply), so a chat reads one story, not two."""
        return None

    @property
    def thread(self) -> str | None:
        """Alerts of one thread (a chop around a level) update one message in place; None: a message of its own."""
        return None

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


Alert = AlertBase  # any alert; each kind's payload is declared by its rule (bot/rules/)
_ADAPTERS: dict[type[AlertBase], TypeAdapter[Any]] = {}


def _adapter(kind: type[AlertBase]) -> TypeAdapter[Any]:
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(kind)
    return _ADAPTERS[kind]


def encode_alert(alert: AlertBase) -> str:
    """The alert's fields as JSON (its kind is stored beside it)."""
    return _adapter(type(alert)).dump_json(alert).decode()


def decode_alert_as(kind: type[AlertBase], payload: str | bytes) -> AlertBase:
    """The alert of type ``kind`` back from :func:`encode_alert`'s JSON; ``ValueError`` if it is not one."""
    alert: AlertBase = _adapter(kind).validate_json(payload)
    return alert
