"""The benchmark's decisions must be right (its timings are never asserted here)."""

import pytest

from benchmarks import levels


def test_indexed_levels_decide_exactly_what_the_naive_loop_decides():
    result = levels.run(chats=300, per_chat=10, ticks=40, naive_ticks=40)
    assert result["same_alerts_as_naive_on_shared_ticks"]
    assert result["alerts_indexed"] > 0


@pytest.mark.slow  # a broadcast at Telegram's pace
def test_delivery_benchmark_loses_and_repeats_nothing():
    from benchmarks import delivery

    result = delivery.run(chats=20, baseline_chats=10, sequential_chats=3, latency=0.0)
    for name in ("smooth", "chart", "sequential", "aio"):
        run = result[name]
        assert run.lost == run.duplicated == 0 and run.outbox_sent == run.chats, run
    assert "lost 0, duplicated 0" in delivery.report(result)


def test_quick_run_writes_valid_json_with_the_engine_keys(tmp_path):
    import json

    from benchmarks.__main__ import main

    out = tmp_path / "results.json"
    assert main(["levels", "engine", "--quick", "--results", str(out)]) == 0
    results = json.loads(out.read_text())
    assert set(results["engine_tick_quiet_p99_ms"]) == {"500", "2000"}
    assert results["cross_deliveries_queued"] == 2000  # the crossing queued one delivery per chat
    assert results["measured"]["quick"] is True and results["level_index_p99_ms"] > 0


KEYS = {  # what each quick run must write, the keys the issues set goals on
    ("levels", "delivery", "engine"): {
        "engine_tick_quiet_p99_ms", "engine_tick_cross_s_2k", "event_loop_max_block_ms", "alert_add_ms_2k",
        "fanout_msgs_per_s", "fanout_max_in_1s", "fanout_lost", "fanout_duplicates", "fanout_chart_msgs_per_s",
    },
    ("bot",): {
        "reply_p99_ms_during_drain", "reply_p99_ms_group_throttled", "rss_mb_2k", "startup_s_2k", "replay_year_s",
    },
    ("stream",): {"stream_to_send_p50_ms", "stream_to_send_p99_ms", "poll_to_send_p50_ms", "afterhours_to_send_ms"},
}  # fmt: skip


@pytest.mark.slow  # every benchmark, small, in three parts the test workers share (about 80 s in all)
@pytest.mark.timeout(300)
@pytest.mark.parametrize("which", list(KEYS), ids=["+".join(w) for w in KEYS])
def test_the_quick_run_of_every_benchmark_writes_every_key(tmp_path, which):
    import json

    from benchmarks.__main__ import main

    out = tmp_path / "results.json"
    main([*which, "--quick", "--results", str(out)])
    results = json.loads(out.read_text())
    assert set(results) >= KEYS[which], KEYS[which] - set(results)
    if "delivery" in which:
        assert results["fanout_lost"] == results["fanout_duplicates"] == 0
    if "bot" in which:
        assert results["startup_s_2k"] > 0 and results["rss_mb_2k"] > 0
