from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.heartbeat import beat, check, heartbeat_path

T0 = datetime(2025, 12, 11, 12, tzinfo=UTC)


def test_heartbeat_file_sits_next_to_the_database():
    assert heartbeat_path(Path("/data/bot.db")) == Path("/data/bot.db.heartbeat")


def test_fresh_beat_is_healthy_and_old_one_is_not(tmp_path):
    path = tmp_path / "bot.db.heartbeat"
    beat(path, T0)
    assert check(path, T0 + timedelta(seconds=90)) == (True, "alive, last heartbeat 90 s ago")
    healthy, why = check(path, T0 + timedelta(seconds=121))
    assert not healthy and "121 s ago" in why


def test_garbage_heartbeat_is_unhealthy(tmp_path):
    path = tmp_path / "hb"
    path.write_text("yesterday")
    assert check(path, T0)[0] is False
