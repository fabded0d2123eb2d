"""Level-break decisions with many chats: the sorted index against a naive loop over every chat.

100,000 chats with 10 personal levels each (1,000,000 levels) on BTC, 200 ticks of a
random walk around 90,000. For each tick we time how long it takes to decide every
alert: which levels were crossed and which chats asked for each. The naive baseline
keeps a hysteresis state per (chat, level) and checks all of them on every tick; it is
timed on the first ticks only (it is that slow) in the same run.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from bot.rules.level_book import LevelBook, Segment
from bot.rules.level_index import LevelOwners, decide

T0 = datetime(2025, 12, 11, tzinfo=UTC)
BAND = 0.0025


def make_levels(chats: int, per_chat: int, rng: random.Random) -> list[tuple[int, str, float, str]]:
    rows = []
    for chat_id in range(1, chats + 1):
        for _ in range(per_chat):
            # Half the users pick round numbers, half pick any dollar.
            price = float(rng.randrange(70_000, 110_000, 500) if rng.random() < 0.5 else rng.randrange(70_000, 110_000))
            rows.append((chat_id, "BTC", price, rng.choice(("above", "below")), "every"))
    return rows


def make_ticks(count: int, rng: random.Random) -> list[float]:
    price, ticks = 90_000.0, []
    for _ in range(count):
        price *= 1 + rng.gauss(0, 0.002)  # ~180 USD per tick: a busy day
        ticks.append(price)
    return ticks


def indexed(rows, ticks) -> tuple[list[float], int]:
    owners = LevelOwners()
    owners.load({"BTC": (90_000, 92_000)}, rows)
    book = LevelBook("BTC", BAND)
    book.sync(owners.wanted("BTC"))
    btc_owners, btc_globals = owners.owners.get("BTC", {}), owners.global_levels["BTC"]
    book.observe(Segment.between("BTC", T0, 90_000.0, T0, 90_000.0))
    timings, alerts, previous = [], 0, 90_000.0
    for i, price in enumerate(ticks):
        t = T0 + timedelta(seconds=30 * (i + 1))
        start = time.perf_counter()
        segment = Segment.between("BTC", t - timedelta(seconds=30), previous, t, price)
        decisions = decide(book, segment, btc_owners, btc_globals)
        alerts += sum(len(heard.chats) for _, heard in decisions)
        timings.append(time.perf_counter() - start)
        previous = price
    return timings, alerts


def naive(rows, ticks) -> tuple[list[float], int]:
    # A chat that set the same level twice gets one alert (the bot stores it once).
    levels = sorted({(chat, price, "up" if direction == "above" else "down") for chat, _, price, direction, _ in rows})
    sides = ["above" if price <= 90_000.0 else "below" for _, price, _ in levels]
    timings, alerts = [], 0
    for price in ticks:
        start = time.perf_counter()
        for i, (_chat, level, direction) in enumerate(levels):
            side = sides[i]
            if side == "above" and price <= level * (1 - BAND):
                sides[i] = "below"
                alerts += direction == "down"
            elif side == "below" and price >= level * (1 + BAND):
                sides[i] = "above"
                alerts += direction == "up"
        timings.append(time.perf_counter() - start)
    return timings, alerts


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def run(chats: int = 100_000, per_chat: int = 10, ticks: int = 200, naive_ticks: int = 10) -> dict:
    rng = random.Random(20251211)
    rows = make_levels(chats, per_chat, rng)
    walk = make_ticks(ticks, rng)
    fast, fast_alerts = indexed(rows, walk)
    slow, slow_alerts = naive(rows, walk[:naive_ticks])
    _, fast_alerts_prefix = indexed(rows, walk[:naive_ticks])
    result = {
        "chats": chats,
        "levels": len(rows),
        "ticks": ticks,
        "indexed_p99_ms": p99(fast) * 1000,
        "indexed_median_ms": statistics.median(fast) * 1000,
        "naive_ticks": naive_ticks,
        "naive_p99_ms": p99(slow) * 1000,
        "naive_median_ms": statistics.median(slow) * 1000,
        "speedup_median": statistics.median(slow) / statistics.median(fast[:naive_ticks]),
        "alerts_indexed": fast_alerts,
        "same_alerts_as_naive_on_shared_ticks": fast_alerts_prefix == slow_alerts,
    }
    return result


def report(result: dict) -> str:
    ok_p99 = result["indexed_p99_ms"] < 5
    ok_speed = result["speedup_median"] >= 100
    per_chat = result["levels"] // result["chats"]
    lines = [
        f"levels: {result['chats']:,} chats x {per_chat} levels = {result['levels']:,}; {result['ticks']} ticks",
        f"  indexed: p99 {result['indexed_p99_ms']:.3f} ms, median {result['indexed_median_ms']:.3f} ms per tick"
        f"  [{'ok' if ok_p99 else 'FAIL'}: p99 < 5 ms]",
        f"  naive:   p99 {result['naive_p99_ms']:.1f} ms, median {result['naive_median_ms']:.1f} ms per tick"
        f" (first {result['naive_ticks']} ticks)",
        f"  speedup (median, same ticks): {result['speedup_median']:,.0f}x  [{'ok' if ok_speed else 'FAIL'}: >= 100x]",
        f"  chat alerts decided: {result['alerts_indexed']:,}; identical to naive on shared ticks: "
        f"{result['same_alerts_as_naive_on_shared_ticks']}",
    ]
    return "\n".join(lines)
