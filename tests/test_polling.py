"""Scheduled jobs with an injected clock: no overlap, backoff after failures, gating."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from bot.backoff import Backoff
from bot.clock import ManualClock
from bot.polling import Poller
from bot.sources.base import SourceUnavailable

T0 = datetime(2025, 12, 11, 14, 30, tzinfo=UTC)


async def test_a_slow_run_is_not_overlapped_by_the_next_tick():
    clock = ManualClock(T0)
    gate = asyncio.Event()
    runs = []

    async def work(now):
        runs.append(now)
        await gate.wait()

    poller = Poller("crypto", work, clock)
    first = asyncio.create_task(poller.run())
    await asyncio.sleep(0)
    clock.advance(30)
    assert await poller.run() is False  # still busy with the first
    gate.set()
    assert await first is True
    assert len(runs) == 1 and poller.skipped_overlaps == 1


async def test_failures_back_off_and_a_success_resets():
    clock = ManualClock(T0)
    outcomes = [SourceUnavailable("binance: timeout")] * 3 + [None]

    async def work(now):
        outcome = outcomes.pop(0)
        if outcome:
            raise outcome

    poller = Poller("crypto", work, clock, backoff=Backoff(base=10, cap=40, rng=random.Random(1)))
    attempts = 0
    for _ in range(400):  # 400 ticks of 1 s
        before = len(outcomes)
        await poller.run()
        attempts += before != len(outcomes)
        if not outcomes:
            break
        clock.advance(1)
    assert attempts == 4
    assert poller.failures == 0 and poller.retry_at is None and poller.last_success is not None


async def test_failing_job_keeps_its_schedule_and_never_raises():
    clock = ManualClock(T0)

    async def work(now):
        raise SourceUnavailable("yfinance: offline")

    poller = Poller("equities", work, clock, backoff=Backoff(base=1, cap=2, rng=random.Random(0)))
    for _ in range(10):
        await poller.run()
        clock.advance(5)
    assert poller.failures == 10


async def test_gate_skips_when_not_due():
    clock = ManualClock(T0)
    ran = []

    async def work(now):
        ran.append(now)

    poller = Poller("equities", work, clock, due=lambda now: now.hour >= 15)
    assert await poller.run() is False
    clock.advance(timedelta(hours=1))
    assert await poller.run() is True and ran == [T0 + timedelta(hours=1)]
