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
    for name in ("smooth", "sequential", "aio"):
        run = result[name]
        assert run.lost == run.duplicated == 0 and run.outbox_sent == run.chats, run
    assert "lost 0, duplicated 0" in delivery.report(result)
