"""Measuring what a fake Bot API recorded against Telegram's flood limits (tests and benchmarks)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tests.fakes.telegram import Sent


def busiest(times: Iterable[float], width: float = 1.0) -> int:
    """The most events in any sliding window ``(t - width, t]``."""
    ordered = sorted(times)
    start = best = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - width:
            start += 1
        best = max(best, end - start + 1)
    return best


def by_chat(sent: Sequence[Sent]) -> dict[int, list[float]]:
    chats: dict[int, list[float]] = defaultdict(list)
    for message in sent:
        chats[message.chat_id].append(message.at)
    return chats


@dataclass(frozen=True, slots=True)
class FloodReport:
    messages: int
    overall_max_per_second: int
    chat_max_per_second: int
    group_max_per_minute: int
    seconds: float

    @property
    def rate(self) -> float:
        """Sustained messages per second from the first to the last."""
        return (self.messages - 1) / self.seconds if self.seconds > 0 else float(self.messages)


def flood_report(sent: Sequence[Sent]) -> FloodReport:
    """What Telegram would have counted: per second overall and per chat, per minute per group."""
    times = [m.at for m in sent]
    chats = by_chat(sent)
    return FloodReport(
        messages=len(sent),
        overall_max_per_second=busiest(times),
        chat_max_per_second=max((busiest(t) for t in chats.values()), default=0),
        group_max_per_minute=max((busiest(t, 60.0) for c, t in chats.items() if c < 0), default=0),
        seconds=max(times) - min(times) if times else 0.0,
    )
