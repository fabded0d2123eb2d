"""The contract every kind of alert follows: one module per rule, one generic engine loop.

A rule module declares

* ``NAME`` and the alert kinds it produces (its payload dataclasses, subclasses of
  :class:`~bot.domain.AlertBase`, live in the module too);
* ``MUTE_GROUP``: the word ``/mute`` stops it with;
* ``SETTINGS``: the per-chat settings it reads (:class:`Setting`: name, parser, range,
  default, help text), from which ``/set``, ``/settings``, ``/help`` and the README table
  are made, and which ``python -m bot replay --set`` accepts;
* ``params(values)``: the rule's parameters for a chat's effective setting values (hashable;
  None: the rule is off for that chat). The engine evaluates a rule once per distinct
  parameters among the chats that want it;
* ``State``: its state type (a dataclass stored as JSON), one per scope and parameters;
* ``scopes(tick)``: what to evaluate on this tick (symbols, or ``"*"``);
* ``inputs(view, tick, scope, params)``: what it needs, read through a :class:`MarketView`
  (the only I/O a rule does, and it is read-only);
* ``evaluate(inputs, state, params, now)``: PURE, the new state and what to alert (:class:`Out`);
* ``render(alert, lang, tz)``: the lines of a message (its texts are catalogue keys under
  ``alert.<kind>.``).

``bot/rules/__init__.py`` lists the rule modules in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Generic, Protocol, TypeVar

from bot.config import Settings
from bot.domain import AlertBase, AlertKey, AlertKind, Bar, EarningsDate, Quote
from bot.markettime import MarketHours
from bot.rules.level_index import LevelOwners

V = TypeVar("V")
P = TypeVar("P")
S = TypeVar("S")
I = TypeVar("I")  # noqa: E741 - the Inputs type
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Setting(Generic[V]):
    """One per-chat setting a rule reads: ``/set <name> <value>``."""

    name: str  # the word after /set
    value_type: type[V] | Any  # how the value is stored (JSON through pydantic)
    parse: Callable[[str], V]  # raises bot.values.BadArgument
    default: Callable[[Settings], V]  # the bot's default (from the environment, see .env.example)
    label: str  # message key: its name in /settings
    help: str  # message key: its line in /set's help (with the range)
    example: str  # "/set move 3σ"
    aliases: tuple[str, ...] = ()
    resettable: bool = True  # "default" puts it back to the bot's default
    render: Callable[[V, str], str] | None = None  # how its value reads, where fmt_setting does not say it

    def show(self, value: V, lang: str) -> str:
        from bot.formatting import fmt_setting

        return self.render(value, lang) if self.render is not None else fmt_setting(value, lang)


@dataclass(frozen=True, slots=True)
class Tick:
    """What the engine evaluates the rules on: a moment and what was just stored."""

    now: datetime
    quotes: Sequence[Quote]
    bars: Sequence[Bar]  # newly stored complete bars
    watchlist: tuple[str, ...]  # the equities watched (the bot's and every chat's)
    crypto: frozenset[str]  # symbols that trade around the clock
    fresh: Callable[[str], bool]  # False: stale or missing, never alert on it
    hours: MarketHours
    silent: bool = False  # history being walked: state moves on, nothing is queued

    def daily_bars(self) -> list[Bar]:
        return [b for b in self.bars if b.interval == "1d" and self.fresh(b.symbol)]

    def venue(self, symbol: str) -> tuple[str, str | None] | None:
        """Where this tick's newest price of ``symbol`` came from: (source, market), e.g.
        ("binance", "BTC/USDT"); a bar names its source only."""
        quotes = [q for q in self.quotes if q.symbol == symbol]
        if quotes:
            newest = max(quotes, key=lambda q: q.ts)
            return newest.source, newest.market
        bars = [b for b in self.bars if b.symbol == symbol]
        return (bars[-1].source, None) if bars else None

    def bar_close(self, bar: Bar) -> datetime:
        from bot.markettime import bar_close_time

        return bar_close_time(bar, self.hours, around_the_clock=bar.symbol in self.crypto)


class MarketView(Protocol):
    """Read-only access to what is stored, for a rule's ``inputs`` (cached for one tick)."""

    def daily(self, symbol: str, since: datetime, until: datetime | None = None) -> list[Bar]:
        """Daily bars that started in [since, until)."""

    def hourly(self, symbol: str, since: datetime, until: datetime | None = None) -> list[Bar]:
        """Hourly bars that started in [since, until)."""

    def prices(self, symbol: str, since: datetime, until: datetime) -> list[tuple[datetime, float]]:
        """Every price seen in [since, until]: quotes at their time, bars at their close."""

    def intraday(self, symbol: str, since: datetime, until: datetime) -> list[tuple[datetime, float]]:
        """Intraday prices of ``symbol`` in [since, until]: quotes at their time, hourly bars at their close."""

    def first_quote_since(self, symbol: str, since: datetime) -> Quote | None:
        """The first quote of ``symbol`` at or after ``since``."""

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``, computed once per tick for ``key`` (inputs several rules share)."""

    def earnings(self, symbols: Sequence[str], since: date) -> list[EarningsDate]:
        """Report dates of ``symbols`` from ``since`` on."""

    def decided(self, key: AlertKey) -> bool:
        """Whether this alert was decided before."""

    def decided_in_period(self, kind: AlertKind, symbol: str, period: date) -> bool:
        """Whether an alert of ``kind`` about ``symbol`` was decided for ``period``."""

    def told(self, kind: AlertKind, symbol: str, param: str) -> frozenset[int]:
        """The chats the latest alert of ``kind`` about ``symbol`` with ``param`` went to."""

    @property
    def settings(self) -> Settings:
        """The bot's configuration."""

    def levels(self) -> LevelOwners:
        """Every key level and who asked for it (global levels and every chat's own)."""


@dataclass(frozen=True, slots=True)
class Out:
    """An alert a rule decided, and for whom: everyone in the parameter group (``chats`` None),
    or only those of ``chats`` that are in it (a chat's own level)."""

    alert: AlertBase
    chats: frozenset[int] | None = None


class Rule(Protocol[I, S, P]):
    """What ``bot.engine`` needs of a rule module (see the module doc)."""

    @property
    def NAME(self) -> str: ...
    @property
    def KINDS(self) -> tuple[type[AlertBase], ...]: ...
    @property
    def MUTE_GROUP(self) -> str: ...
    @property
    def SETTINGS(self) -> tuple[Setting[Any], ...]: ...
    @property
    def State(self) -> type[S]: ...

    def params(self, values: Mapping[str, Any]) -> P | None: ...

    def scopes(self, tick: Tick) -> Iterable[str]: ...

    def inputs(self, view: MarketView, tick: Tick, scope: str, params: P) -> I: ...

    def evaluate(self, inputs: I, state: S, params: P, now: datetime) -> tuple[S, list[Out]]: ...

    def render(self, alert: AlertBase, lang: str, tz: tzinfo) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Stateless:
    """The state of a rule that keeps none (its alerts are decided once by their keys)."""

    note: str = field(default="")
