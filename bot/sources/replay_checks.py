"""Plausibility of recorded market data: the checks live prices pass, applied to a replay folder.

    data = check_replay_data(load_replay_data(folder), now=clock.now(), max_jump_pct=20.0)

Live prices pass :mod:`bot.sources.validate` before a rule may see them; recorded bars
pass the same tests here, once, before a replay starts (:func:`bot.wiring.replay_pipeline`):

* a bar that cannot be a bar (a price that is not a positive number, high and low not
  around open and close) is refused by :mod:`bot.sources.replay_data`, naming file and line;
* a bar that starts after ``now`` is refused the same way: recorded data cannot come
  from the future, and a bar dated 2099 is a typo to fix, not a price to replay;
* an isolated spike, a close more than ``MAX_PRICE_JUMP_PCT`` away from the last good
  close that the next bar does not confirm (it is back within that distance), is a bad
  print, as the live jump guard judges a price the next polls do not confirm: the bar is
  skipped, with one warning per file naming its line. A real move stays where it went
  (ORCL +36 % on 2025-09-10, AMD +24 % on 2025-10-06) and passes;
* a gap (a day missing from a crypto's daily bars, an NYSE session missing from an
  equity's, more than two days missing from hourly bars) is reported with its dates and
  lines, one warning per file. The rules never measure a move across a hole (an equity's
  move needs the previous trading day's close, a 24 h move a price from 24 to 30 hours
  before), so the gap itself alerts nothing; the warning says why a day stays quiet.

The first and the last bar of a file have one neighbour: a spike there cannot be told
from a move and is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise

from bot.domain import Bar, Interval
from bot.markettime import BAR_LENGTH, NEW_YORK, CalendarRangeError, MarketHours, as_utc, hours_covering
from bot.sources.replay_data import MAX_LISTED_PROBLEMS, ReplayData, raise_problems

log = logging.getLogger(__name__)

# Missing time tolerated between two bars of a crypto series. Hourly files are often
# assembled from daily backups that miss a day or two (the shipped one does); a 24 h move
# needs a price from 24 to 30 hours before, so a hole that long alerts nothing anyway.
CRYPTO_GAP_TOLERANCE: dict[Interval, timedelta] = {"1h": timedelta(days=2), "1d": timedelta(0)}
JUMP_SETTING = "MAX_PRICE_JUMP_PCT"


def check_replay_data(data: ReplayData, *, now: datetime, max_jump_pct: float) -> ReplayData:
    """``data`` without its bad prints; :class:`ReplayDataError` for a bar from the future.

    Bad prints and gaps are logged as warnings, one line per file.
    """
    now = as_utc(now)
    for key in sorted(data.bars):
        refuse_future_bars(data, key, now)
    hours = _equity_hours(data)
    bars: dict[tuple[str, Interval], tuple[Bar, ...]] = {}
    lines: dict[tuple[str, Interval], tuple[int, ...]] = {}
    for key in sorted(data.bars):
        series, numbers, where = data.bars[key], data.file_lines(key), data.file_name(key)
        if gaps := series_gaps(series, numbers, crypto=key[0] in data.crypto, hours=hours):
            log.warning("%s", _listed(where, f"{len(gaps)} gap(s) in the data, no move is measured across one", gaps))
        spikes = isolated_spikes(series, max_jump_pct)
        if spikes:
            log.warning("%s", _spikes_message(where, series, numbers, spikes, max_jump_pct))
        skipped = set(spikes)
        bars[key] = tuple(bar for i, bar in enumerate(series) if i not in skipped)
        lines[key] = tuple(line for i, line in enumerate(numbers) if i not in skipped)
    return replace(data, bars=bars, lines=lines)


def refuse_future_bars(data: ReplayData, key: tuple[str, Interval], now: datetime) -> None:
    """:class:`ReplayDataError` naming the file and lines of bars of ``key`` that start after ``now``."""
    today = f"{now:%Y-%m-%d %H:%M} UTC"
    problems = [
        (line, f"{_stamp(bar)} is in the future (now is {today})")
        for bar, line in zip(data.bars[key], data.file_lines(key), strict=True)
        if bar.ts > now
    ]
    raise_problems(problems, data.file_name(key))


def _jump(price: float, reference: float) -> float:
    """How far ``price`` is from ``reference``, as a fraction (the live jump guard's measure)."""
    return abs(price / reference - 1)


def isolated_spikes(bars: Sequence[Bar], max_jump_pct: float) -> list[int]:
    """Indexes of the bars (oldest first) whose close is more than ``max_jump_pct`` away from
    both the last good close and the next bar's close, while the next bar is back within
    ``max_jump_pct`` of the last good close: a price that came and went in one bar."""
    limit = max_jump_pct / 100.0
    spikes: list[int] = []
    good: Bar | None = None
    for i, bar in enumerate(bars):
        if good is not None and i + 1 < len(bars):
            before, after = good.close, bars[i + 1].close
            if _jump(bar.close, before) > limit and _jump(bar.close, after) > limit and _jump(after, before) <= limit:
                spikes.append(i)
                continue
        good = bar
    return spikes


def _spikes_message(
    where: str, bars: Sequence[Bar], lines: Sequence[int], spikes: Sequence[int], max_jump_pct: float
) -> str:
    items = []
    for i in spikes:
        before = next(bars[j] for j in range(i - 1, -1, -1) if j not in spikes)
        bar, after = bars[i], bars[i + 1]
        items.append(
            f"line {lines[i]}: {_stamp(bar)} close {bar.close:,} is {(bar.close / before.close - 1) * 100:+.1f} % "
            f"from {before.close:,} ({_stamp(before)}) and the next bar is back at {after.close:,}"
        )
    what = (
        f"skipped {len(spikes)} bar(s) that jump more than {JUMP_SETTING} ({max_jump_pct:g} %) "
        "and come straight back (bad prints; nothing is alerted from them)"
    )
    return _listed(where, what, items)


def series_gaps(bars: Sequence[Bar], lines: Sequence[int], *, crypto: bool, hours: MarketHours | None) -> list[str]:
    """One description per hole between two consecutive bars (oldest first) wider than the
    series may have: a crypto's bar interval (plus the hourly tolerance), an equity's next
    NYSE session."""
    gaps = []
    for (a, line_a), (b, line_b) in pairwise(zip(bars, lines, strict=True)):
        if crypto:
            missing = b.ts - a.ts - BAR_LENGTH[a.interval]
            if missing <= CRYPTO_GAP_TOLERANCE[a.interval]:
                continue
            size = f"{missing // timedelta(hours=1)} hours" if a.interval == "1h" else f"{missing.days} days"
        else:
            sessions = _sessions_between(_day(a), _day(b), hours)
            if not sessions:
                continue
            size = f"{sessions} NYSE session(s)"
        gaps.append(f"no bars between {_stamp(a)} (line {line_a}) and {_stamp(b)} (line {line_b}), {size} missing")
    return gaps


def _day(bar: Bar) -> date:
    """The trading day of an equity's bar (a daily bar is dated by its session)."""
    return bar.ts.date() if bar.interval == "1d" else bar.ts.astimezone(NEW_YORK).date()


def _sessions_between(first: date, last: date, hours: MarketHours | None) -> int:
    """NYSE sessions strictly between two days (0 where the calendar does not reach)."""
    if hours is None:
        return 0
    try:
        return sum(hours.is_trading_day(first + timedelta(days=n)) for n in range(1, (last - first).days))
    except CalendarRangeError:
        return 0


def _equity_hours(data: ReplayData) -> MarketHours | None:
    """The NYSE calendar over the equities' bars (None without equities)."""
    days = [_day(bar) for (symbol, _), bars in data.bars.items() if symbol not in data.crypto for bar in bars]
    return hours_covering(min(days), max(days)) if days else None


def _stamp(bar: Bar) -> str:
    """A bar's date (daily) or hour (hourly), as a user finds it in the file."""
    return bar.ts.date().isoformat() if bar.interval == "1d" else f"{bar.ts:%Y-%m-%d %H:%M} UTC"


def _listed(where: str, what: str, items: Sequence[str]) -> str:
    """``where: what: item; item; and N more`` on one line (the first five items)."""
    more = len(items) - MAX_LISTED_PROBLEMS
    suffix = f"; and {more} more" if more > 0 else ""
    return f"{where}: {what}: {'; '.join(items[:MAX_LISTED_PROBLEMS])}{suffix}"
