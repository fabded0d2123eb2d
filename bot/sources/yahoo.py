"""yfinance as this bot uses it: its logging, its caches, and its answers read into bars.

yfinance fails silently: it logs an ERROR and returns an empty frame. :data:`YAHOO_LOG`
stops its log lines (keeping those of the thread that asked, to explain a failure);
:func:`bars_in` reads a batched download into valid bars; :func:`attempt` runs one call
and hands back its failure instead of raising it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
import yfinance as yf
from yfinance import data as yf_data
from yfinance.exceptions import YFRateLimitError

from bot.domain import Bar, Interval
from bot.markettime import utc_midnight
from bot.sources.base import SourceUnavailable
from bot.sources.validate import valid_ohlc

log = logging.getLogger(__name__)
T = TypeVar("T")
SOURCE = "yfinance"


class YahooLog(logging.Filter):
    """Stops yfinance's log lines: kept for the thread that asked (to explain a failure), and at DEBUG."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[str]]:
        previous = getattr(self._local, "lines", None)
        lines: list[str] = []
        self._local.lines = lines
        try:
            yield lines
        finally:
            self._local.lines = previous

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage().strip()
        lines = getattr(self._local, "lines", None)
        if lines is not None and record.levelno >= logging.WARNING:
            lines.append(message)
        log.debug("yfinance said: %s", message)
        return False


YAHOO_LOG = YahooLog()
_configure_lock = threading.Lock()
_cache_dir: Path | None = None


def configure_yfinance(cache_dir: Path) -> None:
    """Once per process: yfinance's caches go to ``cache_dir``, its log lines through us."""
    global _cache_dir
    with _configure_lock:
        if _cache_dir is not None:
            if cache_dir != _cache_dir:
                log.debug("yfinance caches stay in %s (they cannot move once opened)", _cache_dir)
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(cache_dir))
        logging.getLogger("yfinance").addFilter(YAHOO_LOG)
        _cache_dir = cache_dir


def forget_cached_responses() -> None:
    """Empty yfinance's in-process response cache.

    yfinance keeps responses for past date ranges and the earnings page in an LRU
    cache with no expiry (``YfData.cache_get``): without this a long-running bot
    would never see new earnings dates, and a bad answer would be served again.
    """
    clear = getattr(getattr(getattr(yf_data, "YfData", None), "cache_get", None), "cache_clear", None)
    if callable(clear):
        clear()


def rate_limited(lines: Sequence[str]) -> bool:
    return any("RateLimit" in line or "Too Many Requests" in line for line in lines)


def timestamps(index: pd.Index, interval: str) -> list[datetime]:
    """The frame's index as UTC datetimes: daily → 00:00 UTC of the date, intraday → the instant."""
    stamps = pd.DatetimeIndex(index)
    if interval == "1d":
        return [utc_midnight(ts.date()) for ts in stamps]
    if stamps.tz is None:
        raise SourceUnavailable(f"{SOURCE}: intraday times came back without a time zone")
    return [ts.to_pydatetime() for ts in stamps.tz_convert(UTC)]


def bars_in(frame: pd.DataFrame | None, symbol: str, interval: str) -> list[Bar]:
    """Valid bars of ``symbol`` in a batched download (``(Price, Ticker)`` columns), oldest first."""
    if frame is None or frame.empty or not isinstance(frame.columns, pd.MultiIndex):
        return []
    if symbol not in frame.columns.get_level_values("Ticker"):
        return []
    prices = frame.xs(symbol, axis=1, level="Ticker")
    if not {"Open", "High", "Low", "Close"} <= set(prices.columns):
        return []
    volumes = prices["Volume"] if "Volume" in prices.columns else [None] * len(prices)
    bars = []
    for ts, o, h, lo, c, v in zip(
        timestamps(prices.index, interval),
        prices["Open"],
        prices["High"],
        prices["Low"],
        prices["Close"],
        volumes,
        strict=True,
    ):
        ohlc = valid_ohlc(o, h, lo, c)
        if ohlc is None:
            continue
        bars.append(Bar(symbol, cast(Interval, interval), ts, *ohlc, volume_of(v), SOURCE))
    return bars


def volume_of(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def attempt(call: Callable[[], T]) -> tuple[T | None, Exception | None]:
    """One yfinance call: a rate limit propagates (stop asking), any other failure is returned."""
    try:
        return call(), None
    except YFRateLimitError:
        raise
    except Exception as e:  # noqa: BLE001 - yfinance raises anything; the caller decides with both answers
        return None, e
