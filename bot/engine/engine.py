"""The engine: runs every rule on what the store holds, decides each alert once, queues it.

``Engine.process(now, quotes, bars)`` is called after new data was stored (by the
collector's jobs, live or in replay). It is one generic loop: for each rule of
:mod:`bot.rules.registry`, for each scope the rule names, once for each distinct set of
parameters among the chats that want the rule (and always for the bot's defaults, so
the rule's state stays current), it reads the rule's inputs, evaluates it (pure) and
collects what it decided for which chats. Then, in one SQLite transaction, it records
every new alert by its key, the (alert, chat) deliveries of the outbox, and the rules'
changed state, so a restart neither repeats nor forgets an alert. Muted chats are left
out (nothing is queued for later). Stale or missing data never reaches a rule's alerts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.config import Settings
from bot.domain import Alert, AlertKey, Bar, Quote
from bot.engine.audience import AudienceCache, ChatPrefs
from bot.engine.bar_cache import BarCache
from bot.engine.echoes import without_echoes
from bot.engine.view import StoreView
from bot.markettime import MarketHours
from bot.rules.contract import Rule, Stateless, Tick
from bot.rules.level_index import LevelOwners
from bot.rules.registry import RULES, defaults, importance
from bot.store import outbox
from bot.store.outbox import RuleKey
from bot.store.prefs import chat_levels
from bot.store.watchlist import watched_equities

log = logging.getLogger(__name__)

Candidate = tuple[Alert, list[int]]


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
        self.levels = LevelOwners()
        self.bars = BarCache(db)
        self.audience = AudienceCache(db, settings)
        self.states: dict[RuleKey, Any] = {}
        self.reload()

    def reload(self) -> None:
        """Read every level again (call after a chat changed its levels)."""
        self.levels.load(self.global_levels, chat_levels(self.db))

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
        audience = [] if silent else self.audience.at(now)
        base = defaults(self.settings)
        candidates: list[Candidate] = []
        changed: dict[RuleKey, Any] = {}
        for rule in self.rules:
            if silent and rule.State is Stateless:
                continue  # nothing to warm up: a stateless rule decides from what is stored
            groups = (
                _groups(rule, audience, base)
                if silent
                else self.audience.memo(rule.NAME, functools.partial(_groups, rule, audience, base))
            )
            for scope in rule.scopes(tick):
                for params, chats in groups.items():
                    key = RuleKey(rule.NAME, scope, str(params))
                    state, outs = rule.evaluate(
                        rule.inputs(view, tick, scope, params), self._state(key, rule.State), params, now
                    )
                    self.states[key] = state
                    if not isinstance(state, Stateless):
                        changed[key] = state
                    for out in outs:
                        wanted = [c.chat_id for c in chats if c.wants(out.alert.kind)]
                        targets = wanted if out.chats is None else [c for c in wanted if c in out.chats]
                        candidates.append((out.alert, targets))
        return self._decide(now, without_echoes(self.db, candidates), changed)

    # -- decide, queue, remember: one transaction -----------------------------------------
    def _decide(self, now: datetime, candidates: list[Candidate], states: dict[RuleKey, Any]) -> list[Decided]:
        """Record the new alerts, and queue for each chat one message with those of this moment
        (most important first); an alert of a thread opens the thread with that message, or
        updates the thread's message in place if the chat has it already."""
        decided: list[Decided] = []
        merged: dict[AlertKey, tuple[Alert, set[int]]] = {}
        for alert, chats in candidates:  # two settings can lead to the same alert: one message each
            merged.setdefault(alert.key, (alert, set()))[1].update(chats)
        ordered = sorted(
            merged.values(), key=lambda c: (importance(c[0].kind), c[0].time, c[0].symbol, c[0].order, c[0].key)
        )
        with self.db.atomic():
            bundles: dict[int, Bundle] = {}
            edits: list[outbox.Message] = []
            for alert, chat_set in ordered:
                alert_id = outbox.record_alert(self.db, alert, now)
                if alert_id is None:
                    continue
                chats = sorted(chat_set)
                decided.append(Decided(alert_id, alert, tuple(chats)))
                for chat in chats:
                    bundle = bundles.setdefault(chat, Bundle(chat))
                    if not bundle.take(alert_id, alert.thread, self.db):
                        edits.append(outbox.Message(chat, (alert_id,), alert.thread, edit=True))
            outbox.queue(
                self.db, [outbox.Message(chat, tuple(b.ids), b.thread) for chat, b in bundles.items() if b.ids]
            )
            outbox.queue(self.db, edits)
            for key, value in states.items():
                outbox.save_state(self.db, key, value, now)
        for d in decided:
            log.info("alert %s → %d chat(s)", d.alert.key, len(d.chat_ids))
        return decided


@dataclass
class Bundle:
    """The alerts of one chat's message of this moment; it may open one thread (a chop)."""

    chat_id: int
    ids: list[int] = field(default_factory=list)
    thread: str | None = None
    thread_at: int = 0  # where the thread's alert is in ``ids``

    def take(self, alert_id: int, thread: str | None, db: Database) -> bool:
        """Add the alert; False if it updates a thread already open in the chat (queue it as an edit)."""
        if thread is None:
            self.ids.append(alert_id)
        elif thread == self.thread:  # the thread this message opens moved on before it went out
            self.ids[self.thread_at] = alert_id
        elif self.thread is None and outbox.thread_start(db, self.chat_id, thread) is None:
            self.thread, self.thread_at = thread, len(self.ids)
            self.ids.append(alert_id)
        else:
            return False
        return True


def _groups(
    rule: Rule[Any, Any, Any], audience: Sequence[ChatPrefs], base: dict[str, Any]
) -> dict[Any, list[ChatPrefs]]:
    """The chats that want ``rule``, by the parameters their settings give it; the bot's
    defaults are always evaluated, so the rule's state is current when a chat joins them."""
    groups: dict[Any, list[ChatPrefs]] = {}
    default = rule.params(base)
    if default is not None:
        groups[default] = []
    for chat in audience:
        params = rule.params(chat.values)
        if params is not None and any(chat.wants(kind.kind) for kind in rule.KINDS):
            groups.setdefault(params, []).append(chat)
    return groups
