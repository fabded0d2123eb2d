"""Load a folder of recorded market data (the format of ``bot/data/market_2025``) into plain data.

Files, one header line each, extra columns ignored, blank lines skipped::

    <SYMBOL>_1d.csv       date,open,high,low,close[,volume]           date = YYYY-MM-DD
    <SYMBOL>_1h.csv       timestamp_utc,open,high,low,close[,volume_btc]  start of the hour, ISO-8601
    earnings_dates.csv    symbol,report_date[,timing]                 optional

``<SYMBOL>`` is Yahoo-style: ``BTC-USD`` is the bot's ``BTC`` and trades around the
clock (see :func:`canonical_symbol`); any other name is an NYSE-listed equity.
Daily bars start at 00:00 UTC of their date, as :mod:`bot.sources.base` says. Rows may
come in any order (bars are sorted); a missing volume column or cell gives ``volume=None``.

Bad rows fail loudly: :class:`ReplayDataError` names the file, the line numbers and
what is wrong with each (up to five). Nothing is skipped here, and each bar keeps its
file and line (:attr:`ReplayData.files`, :attr:`ReplayData.lines`) so that the
plausibility checks of :mod:`bot.sources.replay_checks` (future dates, bad prints,
gaps) can name them. Nothing here knows about clocks or calendars;
:mod:`bot.sources.replay` decides when each bar may be seen.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bot.config import SHIPPED_REPLAY_DATA
from bot.domain import INTERVALS, Bar, EarningsDate, EarningsTiming, Interval

log = logging.getLogger(__name__)

SOURCE_NAME = "replay"
CRYPTO_SUFFIX = "-USD"
EARNINGS_FILE = "earnings_dates.csv"
MAX_LISTED_PROBLEMS = 5

_TIME_COLUMN: dict[Interval, str] = {"1d": "date", "1h": "timestamp_utc"}
_VOLUME_COLUMN: dict[Interval, str] = {"1d": "volume", "1h": "volume_btc"}
_PRICE_COLUMNS = ("open", "high", "low", "close")
_TIMINGS: dict[str, EarningsTiming] = {
    "after_close": "after_close",
    "amc": "after_close",
    "after": "after_close",
    "before_open": "before_open",
    "bmo": "before_open",
    "before": "before_open",
    "unknown": "unknown",
    "": "unknown",
}


class ReplayDataError(Exception):
    """The replay folder or one of its files cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class ReplayData:
    """Everything in one replay folder: bars per (symbol, interval), oldest first, and earnings.

    ``files`` names the file of each series and ``lines`` the file line of each of its
    bars (in the order of ``bars``), for messages about a bar.
    """

    folder: Path
    bars: Mapping[tuple[str, Interval], tuple[Bar, ...]]
    earnings: tuple[EarningsDate, ...]
    crypto: frozenset[str]
    files: Mapping[tuple[str, Interval], Path] = field(default_factory=dict)
    lines: Mapping[tuple[str, Interval], tuple[int, ...]] = field(default_factory=dict)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Canonical symbols with at least one bar file, sorted."""
        return tuple(sorted({symbol for symbol, _ in self.bars}))

    def series(self, symbol: str, interval: Interval) -> tuple[Bar, ...]:
        """Bars of one symbol and interval (empty if there is no such file)."""
        return self.bars.get((symbol, interval), ())

    def file_lines(self, key: tuple[str, Interval]) -> tuple[int, ...]:
        """The file line of each bar of ``key`` (zeros if unknown, e.g. data not read from a file)."""
        return self.lines.get(key) or (0,) * len(self.bars.get(key, ()))

    def file_name(self, key: tuple[str, Interval]) -> str:
        """Where the bars of ``key`` came from, for messages."""
        path = self.files.get(key)
        return str(path) if path is not None else f"{key[0]} {key[1]} bars"


def canonical_symbol(name: str) -> str:
    """The bot's symbol for a Yahoo-style name: ``BTC-USD`` -> ``BTC``, ``nvda`` -> ``NVDA``."""
    symbol = name.strip().upper()
    return symbol.removesuffix(CRYPTO_SUFFIX) or symbol


def is_crypto_name(name: str) -> bool:
    """Whether a Yahoo-style name is a crypto pair quoted in USD (it trades around the clock)."""
    return name.strip().upper().endswith(CRYPTO_SUFFIX)


def parse_bar_file_name(file_name: str) -> tuple[str, Interval] | None:
    """``"BTC-USD_1h.csv"`` -> ``("BTC-USD", "1h")``; None for any other kind of file."""
    stem, dot, ext = file_name.rpartition(".")
    name, sep, interval = stem.rpartition("_")
    if not dot or ext.lower() != "csv" or not sep or not name or interval not in INTERVALS:
        return None
    return name, interval


def load_replay_data(folder: Path | str = SHIPPED_REPLAY_DATA) -> ReplayData:
    """Read every bar file and the earnings file of ``folder``; raise :class:`ReplayDataError`."""
    folder = Path(folder)
    if not folder.exists():
        raise ReplayDataError(f"replay data folder {folder} does not exist")
    if not folder.is_dir():
        raise ReplayDataError(f"replay data folder {folder} is not a folder")
    bars: dict[tuple[str, Interval], tuple[Bar, ...]] = {}
    lines: dict[tuple[str, Interval], tuple[int, ...]] = {}
    files: dict[tuple[str, Interval], Path] = {}
    file_of: dict[tuple[str, Interval], str] = {}
    crypto: set[str] = set()
    for path in sorted(folder.iterdir()):
        parsed = parse_bar_file_name(path.name)
        if parsed is None or not path.is_file():
            continue
        name, interval = parsed
        key = (canonical_symbol(name), interval)
        if key in file_of:
            raise ReplayDataError(f"{path} and {folder / file_of[key]} both hold {key[0]} {interval} bars; keep one")
        file_of[key] = path.name
        files[key] = path
        bars[key], lines[key] = bars_from_frame(_read_csv(path), key[0], interval, where=str(path))
        if is_crypto_name(name):
            crypto.add(key[0])
    if not bars:
        raise ReplayDataError(
            f"no bar files in {folder}: expected <SYMBOL>_1d.csv or <SYMBOL>_1h.csv "
            "(for example NVDA_1d.csv, BTC-USD_1h.csv)"
        )
    earnings_path = folder / EARNINGS_FILE
    earnings = (
        earnings_from_frame(_read_csv(earnings_path), where=str(earnings_path)) if earnings_path.is_file() else ()
    )
    log.debug("loaded replay data from %s: %d series, %d earnings dates", folder, len(bars), len(earnings))
    return ReplayData(folder=folder, bars=bars, earnings=earnings, crypto=frozenset(crypto), files=files, lines=lines)


def _read_csv(path: Path) -> pd.DataFrame:
    """The file as strings, one frame row per file line after the header (blank lines kept)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ReplayDataError(f"{path}: cannot read it as CSV: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def _require_columns(frame: pd.DataFrame, required: tuple[str, ...], where: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ReplayDataError(
            f"{where}: missing column(s) {', '.join(missing)}; the header must name "
            f"{', '.join(required)} (found {', '.join(frame.columns) or 'none'})"
        )


def _drop_blank_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[Hashable, int]]:
    """Rows that hold anything, and each one's line number in the file (the header is line 1)."""
    filled = frame.apply(lambda col: col.str.strip() != "").any(axis=1)
    kept = frame[filled]
    return kept, {index: position + 2 for position, index in enumerate(frame.index) if filled[index]}


def raise_problems(problems: list[tuple[int, str]], where: str) -> None:
    """One :class:`ReplayDataError` listing ``(line, what)`` problems of ``where`` (the first five), if any."""
    if not problems:
        return
    problems.sort()
    listed = "; ".join(f"line {line}: {what}" for line, what in problems[:MAX_LISTED_PROBLEMS])
    more = len(problems) - MAX_LISTED_PROBLEMS
    suffix = f"; and {more} more" if more > 0 else ""
    rows = len({line for line, _ in problems})
    raise ReplayDataError(f"{where}: {rows} bad row(s): {listed}{suffix}")


def bars_from_frame(
    frame: pd.DataFrame, symbol: str, interval: Interval, where: str
) -> tuple[tuple[Bar, ...], tuple[int, ...]]:
    """Validate the rows of one bar file (all strings) and turn them into bars, oldest first,
    with the file line of each."""
    time_col, volume_col = _TIME_COLUMN[interval], _VOLUME_COLUMN[interval]
    _require_columns(frame, (time_col, *_PRICE_COLUMNS), where)
    frame, lines = _drop_blank_rows(frame)
    if frame.empty:
        raise ReplayDataError(f"{where}: no data rows under the header")

    raw_time = frame[time_col].str.strip()
    if interval == "1d":
        ts = pd.to_datetime(raw_time, format="%Y-%m-%d", errors="coerce").dt.tz_localize("UTC")
    else:
        ts = pd.to_datetime(raw_time, format="ISO8601", utc=True, errors="coerce")
    prices = frame[list(_PRICE_COLUMNS)].apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    o, h, lo, c = (prices[name] for name in _PRICE_COLUMNS)
    raw_volume = frame[volume_col].str.strip() if volume_col in frame.columns else None
    volume = pd.to_numeric(raw_volume, errors="coerce") if raw_volume is not None else None

    positive = prices.gt(0).all(axis=1) & prices.lt(float("inf")).all(axis=1)
    checks: list[tuple[pd.Series, str]] = [
        (ts.isna(), f"{time_col} is not a {'YYYY-MM-DD date' if interval == '1d' else 'ISO-8601 time'}"),
        (~positive, "open, high, low and close must be positive numbers"),
        (
            positive
            & ((h < pd.concat([o, lo, c], axis=1).max(axis=1)) | (lo > pd.concat([o, h, c], axis=1).min(axis=1))),
            "high/low do not bracket open and close",
        ),
    ]
    if interval == "1h":
        checks.append((ts.notna() & (ts != ts.dt.floor("h")), "timestamp_utc is not on the hour"))
    if raw_volume is not None and volume is not None:
        checks.append(((raw_volume != "") & ~(volume >= 0), f"{volume_col} must be a number >= 0"))
    problems: list[tuple[int, str]] = []
    for bad, what in checks:
        for index in bad[bad].index:
            value = str(frame.at[index, time_col]).strip() or "(empty)"
            problems.append((lines[index], f"{what} ({time_col} {value})"))
    first_line: dict[pd.Timestamp, int] = {}
    raw_times = raw_time.to_dict()
    for index, when in ts.dropna().items():
        line = lines[index]
        if when in first_line:
            what = f"duplicate {time_col} {raw_times[index]} (first on line {first_line[when]})"
            problems.append((line, what))
        else:
            first_line[when] = line
    raise_problems(problems, where)

    order = ts.argsort(kind="stable")
    volumes = [None] * len(frame) if volume is None else [None if pd.isna(v) else float(v) for v in volume]
    rows = zip(ts, o, h, lo, c, volumes, strict=True)
    bars = [
        Bar(
            symbol=symbol,
            interval=interval,
            ts=t.to_pydatetime(),
            open=float(op),
            high=float(hi),
            low=float(low),
            close=float(cl),
            volume=vol,
            source=SOURCE_NAME,
        )
        for t, op, hi, low, cl, vol in rows
    ]
    row_lines = [lines[index] for index in frame.index]
    return tuple(bars[i] for i in order), tuple(row_lines[i] for i in order)


def earnings_from_frame(frame: pd.DataFrame, where: str) -> tuple[EarningsDate, ...]:
    """Validate the rows of an earnings file and turn them into report dates, by symbol and date."""
    _require_columns(frame, ("symbol", "report_date"), where)
    frame, lines = _drop_blank_rows(frame)
    problems: list[tuple[int, str]] = []
    found: dict[tuple[str, object], EarningsDate] = {}
    for index, row in frame.iterrows():
        line = lines[index]
        symbol = canonical_symbol(str(row["symbol"]))
        raw_date = str(row["report_date"]).strip()
        report = pd.to_datetime(raw_date, format="%Y-%m-%d", errors="coerce")
        raw_timing = str(row["timing"]).strip().lower() if "timing" in frame.columns else ""
        timing = _TIMINGS.get(raw_timing)
        if not symbol:
            problems.append((line, "symbol is empty"))
        elif pd.isna(report):
            problems.append((line, f"report_date {raw_date or '(empty)'} is not a YYYY-MM-DD date"))
        elif timing is None:
            problems.append((line, f"timing {raw_timing!r} is not after_close, before_open or unknown"))
        elif (symbol, report.date()) in found:
            problems.append((line, f"{symbol} {raw_date} is listed twice"))
        else:
            found[(symbol, report.date())] = EarningsDate(symbol, report.date(), timing, SOURCE_NAME)
    raise_problems(problems, where)
    return tuple(sorted(found.values(), key=lambda e: (e.symbol, e.report_date)))
