"""The engine: runs every rule on what the store holds, decides each alert once, queues it.

``Engine.process(now, quotes, bars)`` is called after new data was stored (by the
collector's jobs, live or in replay). It is one generic loop: for each rule of
:mod:`bot.rules.registry`, for each scope the rule names, once for each distinct set of
parameters among the chats that want the rule (and always for the bot's defaults, so
the rule's state stays current), it reads the rule's inputs, evaluates it (pure) and
collects what it decided for which chats. Then, in one SQLite transaction, it records
every new alert by its key, the chats each goes to, and the rules' changed state, so a
restart neither repeats nor forgets an alert; the messages are queued in the outbox at once
for a few chats, and by :meth:`Engine.fan_out` a chunk of chats at a time for a large
audience (:mod:`bot.store.fanout`). Muted chats are left out (nothing is queued for later).
Stale or missing data never reaches a rule's alerts. The audience (:mod:`bot.engine.audience`)
and the level index stay in memory, changed chat by chat and level by level.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.config import Settings
from bot.domain import Alert, AlertKey, Bar, Quote
from bot.engine.audience import AudienceCache, Group
from bot.engine.bar_cache import BarCache
from bot.engine.echoes import without_echoes
from bot.engine.view import StoreView
from bot.markettime import MarketHours
from bot.rules.contract import Rule, Stateless, Tick
from bot.rules.level_index import LevelOwners
from bot.rules.levels import LevelBreak
from bot.rules.registry import RULES, defaults, importance
from bot.store import fanout, outbox, own_levels
from bot.store.outbox import RuleKey
from bot.store.own_levels import armed_levels
from bot.store.watchlist import watched_equities

log = logging.getLogger(__name__)

Candidate = tuple[Alert, Collection[int]]
CHUNK = 1_000  # chats queued per transaction (about 15 ms here): the event loop is never held long
EXPIRY_CHECK = timedelta(minutes=1)  # how often chats' own levels are looked at for their expiry
YIELD = 0.001  # between chunks: a real pause, so waiting updates and timers run before the next chunk


@dataclass(frozen=True, slots=True)
class Decided:
    """An alert the engine decided just now, with the chats it was queued for."""

    alert_id: int
    alert: Alert
    chat_ids: tuple[int, ...]


class Engine:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        hours: MarketHours,
        *,
        fresh: Callable[[str], bool] | None = None,
        global_levels: dict[str, tuple[float, ...]] | None = None,
        quiet_until: datetime | None = None,
        rules: Sequence[Rule[Any, Any, Any]] = RULES,
        chunk: int = CHUNK,
    ) -> None:
        """``quiet_until``: before this time the engine walks the data (rule state warms up) but
        queues nothing, as for the history a replay starts with."""
        self.db = db
        self.settings = settings
        self.hours = hours
        self.fresh = fresh or (lambda symbol: True)
        self.global_levels = settings.levels if global_levels is None else global_levels
        self.quiet_until = quiet_until
        self.rules = tuple(rules)
        self.chunk = chunk
        self.on_queued: Callable[[], object] | None = None  # told when messages were queued (wakes the sender)
        self.levels = LevelOwners()
        self.bars = BarCache(db)
        self.audience = AudienceCache(db, settings)
        self.states: dict[RuleKey, Any] = {}
        # every level once; after this, /alert add and del change the index one level at a time
        self.levels.load(self.global_levels, armed_levels(self.db))
        self._expiry_checked: datetime | None = None
        _keep()

    def _state(self, key: RuleKey, kind: type[Any]) -> Any:
        if key not in self.states:
            self.states[key] = outbox.load_state(self.db, key, kind) or kind()
        return self.states[key]

    # -- the one entry point --------------------------------------------------------------
    def process(
        self, now: datetime, quotes: Sequence[Quote] = (), bars: Sequence[Bar] = (), *, silent: bool = False
    ) -> list[Decided]:
        """Decide the alerts that ``quotes`` and ``bars`` (already stored) and the clock call for.

        ``silent`` (or a time before ``quiet_until``): walk the data to warm the rules' state
        up, queueing nothing.
        """
        silent = silent or (self.quiet_until is not None and now < self.quiet_until)
        self.expire_levels(now)
        tick = Tick(
            now=now,
            quotes=tuple(quotes),
            bars=tuple(bars),
            watchlist=tuple(watched_equities(self.db, self.settings)),
            crypto=frozenset(self.settings.crypto_symbols),
            fresh=self.fresh,
            hours=self.hours,
            silent=silent,
        )
        view = StoreView(self.db, self.settings, tick, self.levels, self.bars)
        if not silent:
            loads = self.audience.loads
            self.audience.sync(now)
            if self.audience.loads != loads:
                _keep()
        base = defaults(self.settings)
        candidates: list[Candidate] = []
        changed: dict[RuleKey, Any] = {}
        for rule in self.rules:
            if silent and rule.State is Stateless:
                continue  # nothing to warm up: a stateless rule decides from what is stored
            groups = _defaults_only(rule, base) if silent else self.audience.groups(rule)
            for scope in rule.scopes(tick):
                for params, group in groups.items():
                    key = RuleKey(rule.NAME, scope, str(params))
                    state, outs = rule.evaluate(
                        rule.inputs(view, tick, scope, params), self._state(key, rule.State), params, now
                    )
                    self.states[key] = state
                    if not isinstance(state, Stateless):
                        changed[key] = state
                    for out in outs:
                        wanted = group.wanted(out.alert.kind)
                        targets = wanted if out.chats is None else [c for c in out.chats if c in wanted]
                        candidates.append((out.alert, targets))
        return self._decide(now, without_echoes(self.db, candidates), changed)

    # -- decide, plan, remember: one transaction -----------------------------------------
    def _decide(self, now: datetime, candidates: list[Candidate], states: dict[RuleKey, Any]) -> list[Decided]:
        """Record the new alerts with the chats each goes to and the rules' state, in one
        transaction, and queue their messages if they go to at most ``chunk`` chats (a larger
        audience is queued by :meth:`fan_out`, a chunk at a time)."""
        decided: list[Decided] = []
        merged: dict[AlertKey, tuple[Alert, set[int]]] = {}
        for alert, chats in candidates:  # two settings can lead to the same alert: one message each
            merged.setdefault(alert.key, (alert, set()))[1].update(chats)
        ordered = sorted(
            merged.values(), key=lambda c: (importance(c[0].kind), c[0].time, c[0].symbol, c[0].order, c[0].key)
        )
        with self.db.atomic():
            planned: list[fanout.Planned] = []
            for alert, chat_set in ordered:
                alert_id = outbox.record_alert(self.db, alert, now)
                if alert_id is None:
                    continue
                chats = sorted(chat_set)
                decided.append(Decided(alert_id, alert, tuple(chats)))
                planned.append(fanout.Planned(alert_id, alert.thread, chats))
            spent = self._spend_once(decided, now)
            audience = fanout.plan(self.db, planned, now)
            for key, value in states.items():
                outbox.save_state(self.db, key, value, now)
            queued = fanout.expand(self.db, self.chunk) if audience <= self.chunk else 0  # more: by fan_out
        for symbol, level, way, chat_ids in spent:  # stored as fired with the alert: out of the index
            for chat_id in chat_ids:
                self.levels.remove(chat_id, symbol, level, "above" if way == "up" else "below")
        for d in decided:
            log.info("alert %s → %d chat(s)", d.alert.key, len(d.chat_ids))
        if queued:
            self._queued()
        return decided

    def _spend_once(self, decided: Sequence[Decided], now: datetime) -> list[tuple[str, float, str, list[int]]]:
        """Chats' own levels that fire once and were just told: stored as fired (they wait for a re-arm)."""
        spent: list[tuple[str, float, str, list[int]]] = []
        for d in decided:
            alert = d.alert
            if isinstance(alert, LevelBreak) and d.chat_ids:
                chats = self.levels.once_among(alert.symbol, alert.level, alert.direction, d.chat_ids)
                if chats:
                    direction = "above" if alert.direction == "up" else "below"
                    own_levels.mark_fired(self.db, chats, alert.symbol, alert.level, direction, now)
                    spent.append((alert.symbol, alert.level, alert.direction, chats))
        return spent

    def expire_levels(self, now: datetime) -> None:
        """Chats' own levels whose time is up leave the index (looked for once a minute)."""
        if self._expiry_checked is not None and now - self._expiry_checked < EXPIRY_CHECK:
            return
        self._expiry_checked = now
        for chat_id, level in own_levels.expire(self.db, now):
            self.levels.remove(chat_id, level.symbol, level.price, level.direction)

    def _queued(self) -> None:
        if self.on_queued is not None:
            self.on_queued()

    async def decide(self, now: datetime, quotes: Sequence[Quote] = (), bars: Sequence[Bar] = ()) -> list[Decided]:
        """:meth:`process`, then :meth:`fan_out`: what a poll does with what it stored."""
        decided = self.process(now, quotes, bars)
        await self.fan_out()
        return decided

    async def fan_out(self) -> int:
        """Queue every decided message not queued yet, ``chunk`` chats at a time, letting the
        event loop run between chunks (a crossing for 100,000 chats never holds it long).
        Returns how many chats were queued."""
        total = 0
        while fanout.pending(self.db):
            await asyncio.sleep(YIELD)
            total += fanout.expand(self.db, self.chunk)
            self._queued()  # the first chats' messages go out while the rest are queued
        return total


def _keep() -> None:
    """The level index and the audience live as long as the bot and are large (a million
    objects at 100,000 chats): put out of the garbage collector's reach once read (``gc.freeze``),
    so a full collection no longer walks them all and holds the event loop for 0.2 s."""
    gc.freeze()


def _defaults_only(rule: Rule[Any, Any, Any], base: dict[str, Any]) -> dict[Any, Group]:
    """A silent walk evaluates the rule at the bot's defaults only, for nobody."""
    default = rule.params(base)
    return {} if default is None else {default: Group()}
