"""Recorded data pass the checks live prices pass: bad prints, bars from the future and gaps
in a replay folder are named (file and line) and never alerted from."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import replay_cli
from bot.__main__ import _parser
from bot.clock import ManualClock
from bot.config import SHIPPED_REPLAY_DATA
from bot.domain import Alert
from bot.render import render_plain
from bot.replay import default_plan
from bot.sources.replay import ReplaySource
from bot.sources.replay_checks import check_replay_data
from bot.sources.replay_data import ReplayDataError, load_replay_data
from bot.wiring import replay_pipeline
from tests.helpers import checkout_env, recent_replay_data, replayed

CHECKS_LOGGER = "bot.sources.replay_checks"
SINCE = "2025-10-20"  # history enough for these windows, and quick to walk


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def folder_with(tmp_path: Path, name: str, edit: Callable[[list[str]], list[str]], since: str = SINCE) -> Path:
    """The shipped data from ``since`` on, in its own folder, with ``edit`` applied to the lines of ``name``."""
    folder = recent_replay_data(tmp_path / "data", since)
    path = folder / name
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    return folder


def scale_row(prefix: str, factor: float) -> Callable[[list[str]], list[str]]:
    """Multiply open, high, low and close of the row starting with ``prefix`` (a decimal slip)."""

    def edit(lines: list[str]) -> list[str]:
        [index] = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        cells = lines[index].split(",")
        cells[1:5] = [str(round(float(c) * factor, 6)) for c in cells[1:5]]
        return [*lines[:index], ",".join(cells), *lines[index + 1 :]]

    return edit


def drop_rows(first: str, last: str) -> Callable[[list[str]], list[str]]:
    """Remove the rows dated ``first`` .. ``last`` (inclusive)."""
    return lambda lines: [line for line in lines if not first <= line[:10] <= last]


def line_of(folder: Path, name: str, prefix: str) -> int:
    """The line number (from 1, the header is line 1) of the row starting with ``prefix``."""
    lines = (folder / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


def check_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == CHECKS_LOGGER and r.levelno == logging.WARNING]


def numbers(alert: Alert) -> list[float]:
    """Every number an alert carries (its prices, moves and levels)."""
    found: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            found.append(float(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(alert.to_record())
    return found


# --- the shipped data ------------------------------------------------------------------


def test_shipped_data_replays_with_no_warning_and_nothing_skipped(caplog):
    caplog.set_level(logging.WARNING)
    pipeline = replay_pipeline(SHIPPED_REPLAY_DATA, ":memory:", utc("2025-12-01T00:00"))
    try:
        served = pipeline.driver.source.data
    finally:
        pipeline.db.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert served.bars == load_replay_data().bars  # its gaps (two days of hourly BTC) are tolerated


# --- bars that cannot be bars ------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2025-12-11,188.7989,200.0603,184.4509,nan,100612700.0", "positive numbers"),
        ("2025-12-11,188.7989,200.0603,184.4509,,100612700.0", "positive numbers"),
        ("2025-12-11,188.7989,inf,184.4509,196.9503,100612700.0", "positive numbers"),
        ("2025-12-11,0,200.0603,184.4509,196.9503,100612700.0", "positive numbers"),
        ("2025-12-11,188.7989,200.0603,-184.4509,196.9503,100612700.0", "positive numbers"),
        ("2025-12-11,188.7989,184.0,200.0603,196.9503,100612700.0", "do not bracket"),  # high < low
        ("2025-12-11,188.7989,200.0603,184.4509,210.0,100612700.0", "do not bracket"),  # close above high
    ],
    ids=["nan", "empty", "inf", "zero", "negative", "high-below-low", "close-above-high"],
)
def test_an_impossible_bar_is_refused_with_file_and_line(tmp_path, row, reason):
    folder = folder_with(
        tmp_path, "ORCL_1d.csv", lambda lines: [row if x.startswith("2025-12-11") else x for x in lines]
    )
    line = line_of(folder, "ORCL_1d.csv", row)
    with pytest.raises(ReplayDataError) as raised:
        load_replay_data(folder)
    assert f"ORCL_1d.csv: 1 bad row(s): line {line}: " in str(raised.value) and reason in str(raised.value)


# --- bad prints ----------------------------------------------------------------------------


def test_a_real_move_that_stays_is_no_bad_print(tmp_path, caplog):
    """ORCL +36 % after its September report and AMD +24 % on 6 October are real: kept, no warning."""
    caplog.set_level(logging.WARNING)
    data = load_replay_data(recent_replay_data(tmp_path / "data", "2025-09-01"))
    checked = check_replay_data(data, now=utc("2026-01-01T00:00"), max_jump_pct=20.0)
    assert checked.bars == data.bars and check_warnings(caplog) == []
    orcl = {b.ts.date(): b.close for b in checked.series("ORCL", "1d")}
    assert orcl[date(2025, 9, 10)] / orcl[date(2025, 9, 9)] > 1.3


SPIKES = [
    # file, row, factor, replayed from .. to
    ("BTC-USD_1h.csv", "2025-11-10T12:00", 10.0, date(2025, 11, 10), date(2025, 11, 11)),
    ("NVDA_1d.csv", "2025-12-03", 10.0, date(2025, 12, 2), date(2025, 12, 5)),
    ("NVDA_1d.csv", "2025-12-03", 0.1, date(2025, 12, 2), date(2025, 12, 5)),
]


@pytest.fixture(scope="module")
def clean_replays(tmp_path_factory):
    """The alerts of each spike's window on the uncorrupted data, by window."""
    folder = recent_replay_data(tmp_path_factory.mktemp("clean"), SINCE)
    return {(start, end): replayed(default_plan(folder, start, end)) for *_, start, end in SPIKES}


@pytest.mark.parametrize(
    ("name", "row", "factor", "start", "end"), SPIKES, ids=["btc-hour-x10", "nvda-day-x10", "nvda-day-div10"]
)
def test_a_bad_print_is_skipped_with_one_warning_and_changes_no_alert(
    tmp_path, caplog, clean_replays, name, row, factor, start, end
):
    caplog.set_level(logging.WARNING)
    folder = folder_with(tmp_path, name, scale_row(row, factor))
    alerts = replayed(default_plan(folder, start, end))
    [warning] = check_warnings(caplog)
    assert f"{folder / name}: skipped 1 bar(s)" in warning
    assert f"line {line_of(folder, name, row)}: " in warning and "MAX_PRICE_JUMP_PCT (20 %)" in warning
    assert alerts == clean_replays[(start, end)]


def test_btc_10x_daily_bar_gives_no_alert_from_its_price(tmp_path, caplog):
    """The case reported: a daily BTC bar 10x too high was told as "BTC +914 % in 24 h"."""
    caplog.set_level(logging.WARNING)
    folder = folder_with(tmp_path, "BTC-USD_1d.csv", scale_row("2025-12-05", 10.0))
    bad = load_replay_data(folder).series("BTC", "1d")
    [bar] = [b for b in bad if b.ts.date() == date(2025, 12, 5)]
    alerts = replayed(default_plan(folder, date(2025, 12, 4), date(2025, 12, 8)))
    [warning] = check_warnings(caplog)
    assert "BTC-USD_1d.csv" in warning and f"line {line_of(folder, 'BTC-USD_1d.csv', '2025-12-05')}: " in warning
    assert alerts, "the real crossings of 92,000 and 90,000 around it are still told"
    assert not [a for a in alerts if a.kind == "large_move"]
    for alert in alerts:
        assert not any(math.isclose(n, p, rel_tol=0.05) for n in numbers(alert) for p in (bar.high, bar.low, bar.close))


@pytest.mark.slow
def test_cli_names_the_skipped_bad_print_and_prints_no_false_alert(tmp_path):
    folder = folder_with(tmp_path, "BTC-USD_1h.csv", scale_row("2025-11-10T12:00", 10.0))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "replay", "--data", str(folder), "--start", "2025-11-10", "--end", "2025-11-11"],
        capture_output=True,
        text=True,
        env=checkout_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "WARNING" in line]
    line = line_of(folder, "BTC-USD_1h.csv", "2025-11-10T12:00")
    assert "BTC-USD_1h.csv: skipped 1 bar(s)" in warning and f"line {line}: 2025-11-10 12:00 UTC" in warning
    assert "Traceback" not in result.stderr
    assert "in 24 h" not in result.stdout  # the bad hour was "BTC +938 % in 24 h", and "−90 %" a day later


# --- bars from the future ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("NVDA_1d.csv", "2099-01-05,180,182,178,181,100"),
        ("BTC-USD_1d.csv", "2099-12-31,88400.1,89067.4,87101.5,87500.1,1496.3"),
        ("BTC-USD_1h.csv", "2099-01-05T03:00:00Z,85040.38,85135.66,84638.75,84696.98,867.92,73666631.47"),
    ],
    ids=["equity-day", "crypto-day", "crypto-hour"],
)
def test_a_bar_from_the_future_is_refused_with_file_and_line(tmp_path, capsys, name, row):
    folder = folder_with(tmp_path, name, lambda lines: [*lines, row])
    status = replay_cli.run(_parser().parse_args(["replay", "--data", str(folder)]), None)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith(f"error: {folder / name}: 1 bad row(s): line {line_of(folder, name, row)}: 2099-")
    assert "is in the future" in err and "\n" not in err


@pytest.mark.slow
def test_cli_refuses_a_bar_from_the_future_in_one_line_with_exit_status_2(tmp_path):
    folder = folder_with(tmp_path, "ORCL_1d.csv", lambda lines: [*lines, "2099-01-05,180,182,178,181,100"])
    result = subprocess.run(
        [sys.executable, "-m", "bot", "replay", "--data", str(folder)],
        capture_output=True,
        text=True,
        env=checkout_env(),
        timeout=120,
    )
    assert result.returncode == 2
    line = line_of(folder, "ORCL_1d.csv", "2099-01-05")
    where = re.escape(str(folder / "ORCL_1d.csv"))
    now = r"now is 20\d\d-\d\d-\d\d \d\d:\d\d UTC"
    expected = rf"error: {where}: 1 bad row\(s\): line {line}: 2099-01-05 is in the future \({now}\)\n"
    assert re.fullmatch(expected, result.stderr), result.stderr
    assert result.stdout == ""


# --- gaps -------------------------------------------------------------------------------------


def test_a_nine_day_hole_in_an_equity_is_named_and_no_move_is_measured_across_it(tmp_path, caplog):
    """AMD closed 161 on 30 Sep and 233 on 10 Oct: across the hole that would be "AMD +45 %"."""
    caplog.set_level(logging.WARNING)
    folder = folder_with(tmp_path, "AMD_1d.csv", drop_rows("2025-10-01", "2025-10-09"), since="2025-09-01")
    alerts = replayed(default_plan(folder, date(2025, 10, 1), date(2025, 10, 14)))
    [warning] = check_warnings(caplog)
    before, after = line_of(folder, "AMD_1d.csv", "2025-09-30"), line_of(folder, "AMD_1d.csv", "2025-10-10")
    assert "AMD_1d.csv: 1 gap(s) in the data" in warning
    assert (
        f"no bars between 2025-09-30 (line {before}) and 2025-10-10 (line {after}), 7 NYSE session(s) missing"
        in warning
    )
    after_hole = [a for a in alerts if a.time.date() == date(2025, 10, 10)]
    assert after_hole, "QQQ's session on 10 Oct is still told"
    assert not [a for a in after_hole if "AMD" in render_plain(a)]


def test_a_nine_day_hole_in_btc_is_named_and_no_24h_move_is_measured_across_it(tmp_path, caplog):
    """BTC was near 104,700 on 9 Nov and 92,000 on 19 Nov: −12 % "in 24 h" across the hole."""
    caplog.set_level(logging.WARNING)
    hole = drop_rows("2025-11-10", "2025-11-18")
    folder = folder_with(tmp_path, "BTC-USD_1d.csv", hole)
    hourly = folder / "BTC-USD_1h.csv"
    hourly.write_text("\n".join(hole(hourly.read_text().splitlines())) + "\n")
    alerts = replayed(default_plan(folder, date(2025, 11, 9), date(2025, 11, 20)))
    warnings = check_warnings(caplog)
    assert len(warnings) == 2
    assert any("BTC-USD_1d.csv" in w and "between 2025-11-09 (line" in w and "9 days missing" in w for w in warnings)
    assert any("BTC-USD_1h.csv" in w and "2025-11-09 23:00 UTC" in w and "216 hours missing" in w for w in warnings)
    assert [a for a in alerts if a.time >= utc("2025-11-19T00:00")], "BTC's levels after the hole are still told"
    moves = [a for a in alerts if a.kind == "large_move" and a.symbol == "BTC"]
    assert all(a.reference_time >= utc("2025-11-19T00:00") for a in moves if a.time >= utc("2025-11-19T00:00"))

    clock = ManualClock(utc("2025-11-19T05:00"))
    source = ReplaySource(load_replay_data(folder), clock)
    [quote] = asyncio.run(source.fetch_quotes(["BTC"]))
    assert quote.change_24h_pct is None  # /price shows no "−12 %" either
    clock.set(utc("2025-11-20T05:00"))
    [quote] = asyncio.run(source.fetch_quotes(["BTC"]))
    assert quote.change_24h_pct is not None
