"""The replay command on the shipped December 2025 data: what the bot would have said."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date

import pytest

from bot import replay_cli
from bot.replay import default_plan
from tests.helpers import checkout_env, replayed


@pytest.fixture(scope="module")
def december(recent_data):
    return replayed(default_plan(recent_data))  # December 2025 after the shipped history from September


def _on(alerts, kind, day):
    return [a for a in alerts if a.kind == kind and (getattr(a, "bar_start", None) or a.time).date() == day]


def test_golden_orcl_earnings_shock_on_2025_12_11(december):
    [shock] = [a for a in december if a.kind == "earnings_shock" and a.symbol == "ORCL"]
    assert shock.session == date(2025, 12, 11) and shock.earnings
    assert shock.report_date == date(2025, 12, 10) and shock.timing == "after_close"
    assert round(shock.gap_pct, 1) == -14.5 and round(shock.move_pct, 1) == -10.8
    assert {"NVDA", "AMD", "QQQ"} <= set(shock.peers)
    assert round(shock.peers["NVDA"], 1) == -1.6 and round(shock.peers["QQQ"], 1) == -0.3
    # The shipped BTC data has no hours in December: BTC's move over ORCL's window (10 Dec 21:00
    # to 11 Dec 21:00 UTC) is unknown, and BTC's last full day (10 Dec, −0.7 %) is another window.
    assert shock.btc_move_pct is None
    assert shock.btc_corr_30d is not None and -1 <= shock.btc_corr_30d <= 1


def test_golden_btc_breaks_90k_and_reclaims_92k_on_2025_12_11(december):
    breaks = [(a.level, a.direction, a.price) for a in _on(december, "level_break", date(2025, 12, 11))]
    assert (90_000, "down", 89_281.4) in breaks
    assert (92_000, "up", 92_541.0) in breaks


def test_heads_up_the_evening_before_orcl_reports(december):
    [upcoming] = [a for a in december if a.kind == "earnings_upcoming" and a.symbol == "ORCL"]
    assert upcoming.report_date == date(2025, 12, 10) and upcoming.time.date() == date(2025, 12, 9)


def test_alerts_come_in_time_order_and_once(december):
    times = [a.time for a in december]
    assert times == sorted(times)
    assert len({a.key for a in december}) == len(december)


def test_no_large_move_echo_of_the_orcl_shock(december):
    assert not [
        a for a in december if a.kind == "large_move" and a.symbol == "ORCL" and a.time.date() == date(2025, 12, 11)
    ]


def test_levels_option_replaces_the_default_levels(recent_data):
    plan = default_plan(recent_data, start=date(2025, 12, 10), end=date(2025, 12, 12), levels={"BTC": (93_000.0,)})
    alerts = replayed(plan)
    levels = {a.level for a in alerts if a.kind == "level_break"}
    assert levels == {93_000.0}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "replay", *args], capture_output=True, text=True, env=checkout_env(), timeout=120
    )


@pytest.mark.slow
def test_cli_json_lines_carry_the_documented_fields_and_their_message_number(recent_data):
    result = _cli("--data", str(recent_data), "--start", "2025-12-11", "--end", "2025-12-11", "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records, "December 11 has alerts"
    for record in records:
        assert {"time", "kind", "symbol", "message"} <= set(record)
        assert record["time"].endswith("Z")
    shock = next(r for r in records if r["kind"] == "earnings_shock")
    assert {"gap_pct", "move_pct", "peers", "btc_move_pct", "beta", "net_move_pct"} <= set(shock)
    level = next(r for r in records if r["kind"] == "level_break")
    assert {"level", "direction", "price", "bar_start"} <= set(level) and level["direction"] in ("up", "down")
    assert [r["message"] for r in records] == sorted(r["message"] for r in records)
    by_message: dict[int, list[str]] = {}
    for r in records:
        by_message.setdefault(r["message"], []).append(r["kind"])
    # the level breaks of the 11 Dec daily bar are one message
    assert any(kinds.count("level_break") >= 2 for kinds in by_message.values())
    assert all("edit_of" not in r for r in records)


@pytest.mark.slow
def test_cli_prints_alerts_as_a_chat_reads_them(recent_data):
    result = _cli("--data", str(recent_data), "--start", "2025-12-11", "--end", "2025-12-11")
    assert result.returncode == 0, result.stderr
    assert "ORCL" in result.stdout and "90,000" in result.stdout
    assert "<b>" not in result.stdout
    assert "7 alert(s) in 3 message(s) from 2025-12-11" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--levels", "BTC:abc"), "--levels"),
        (("--start", "yesterday"), "expected a date"),
        (("--start", "2025-12-12", "--end", "2025-12-01"), "--end is before --start"),
        (("--data", "/nonexistent"), "does not exist"),
    ],
)
@pytest.mark.slow
def test_cli_bad_arguments_exit_2_with_one_clear_line(args, message):
    result = _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


def run_cli(*argv: str) -> tuple[int, str]:
    """``python -m bot replay ARGV`` in this process: its exit status and what it printed."""
    from bot.__main__ import _parser

    args = _parser().parse_args(["replay", *argv])
    out = io.StringIO()
    return replay_cli.run(args, None, out), out.getvalue()


def test_stats_count_alerts_and_messages_per_kind_and_week(recent_data):
    status, out = run_cli("--data", str(recent_data), "--start", "2025-12-01", "--stats")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("Replay 2025-12-01 to 2025-12-31 (4.4 weeks)")  # the period, not the last message
    total = next(line for line in lines if line.startswith("total"))
    alerts, messages = map(int, total.split()[1:3])
    assert alerts >= messages > 0
    assert any(line.startswith("messages a week: mean") for line in lines)
    assert any(line.startswith("peak day:") for line in lines)


def test_set_replays_with_a_chats_own_settings(recent_data):
    data = ("--data", str(recent_data), "--start", "2025-12-01", "--json")
    _, default = run_cli(*data, "--set", "move=3%")
    _, quiet = run_cli(*data, "--set", "move=10σ", "--set", "heads-up=off")
    kinds = lambda out: {json.loads(line)["kind"] for line in out.splitlines()}  # noqa: E731
    assert "large_move" in kinds(default) and "large_move" not in kinds(quiet)
    assert "earnings_upcoming" in kinds(default) and "earnings_upcoming" not in kinds(quiet)


@pytest.mark.parametrize(("value", "error"), [("move=abc", "not a threshold"), ("colour=red", "NAME one of")])
def test_set_refuses_what_set_would(value, error, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli("--set", value)
    assert exit_.value.code == 2 and error in capsys.readouterr().err


def test_a_follow_up_is_printed_as_the_reply_it_is_in_the_chat():
    """A follow-up sent later than the alert it follows (live, the reversal at the close after the
    shock at the open) is a reply in the chat; the replay's text and JSON say so."""
    import argparse
    from datetime import UTC, datetime

    from bot.replay import ReplayMessage
    from tests.test_render import orcl_shock

    message = ReplayMessage(7, datetime(2025, 12, 11, 21, tzinfo=UTC), (orcl_shock(),), reply_to=3)
    text, lines = io.StringIO(), io.StringIO()
    replay_cli._print(message, argparse.Namespace(json=False, lang="en", tz="UTC"), text)
    replay_cli._print(message, argparse.Namespace(json=True, lang="en", tz="UTC"), lines)
    assert text.getvalue().startswith("#7 [replies to message #3]\n⚡ ORCL")
    assert json.loads(lines.getvalue())["reply_to"] == 3
