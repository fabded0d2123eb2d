"""The benchmark's decisions must be right (its timings are never asserted here)."""

from benchmarks import levels


def test_indexed_levels_decide_exactly_what_the_naive_loop_decides():
    result = levels.run(chats=300, per_chat=10, ticks=40, naive_ticks=40)
    assert result["same_alerts_as_naive_on_shared_ticks"]
    assert result["alerts_indexed"] > 0
