"""The rate limiter's decisions, on a fake clock: no test here waits on the wall clock."""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import NetworkError, RetryAfter

from bot.delivery.limiter import Broadcast, Limits, Priority, Schedule, SmoothRateLimiter, Ticket
from tests.fakes.flood import busiest

LIMITS = Limits()
SLOT = LIMITS.slot
CHAT_GAP = LIMITS.per_chat_interval * (1 + LIMITS.margin)


class Tickets:
    """Ticket factory with increasing sequence numbers, as the limiter hands them out."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, chat: int | str, priority: Priority = Priority.BROADCAST) -> Ticket:
        self.seq += 1
        return Ticket(chat, priority, self.seq)


def run(schedule: Schedule, now: float = 0.0, until: float = math.inf) -> list[tuple[float, Ticket]]:
    """Let the schedule grant everything, jumping the clock to each time it names."""
    granted = []
    while now <= until:
        decision = schedule.next(now)
        if decision is None:
            break
        if isinstance(decision, Ticket):
            granted.append((now, decision))
            schedule.answered(decision, now)  # Telegram answers at once
        else:
            assert decision > now, "a schedule must never ask to be woken in the past"
            now = decision
    return granted


def test_broadcast_is_evenly_spaced_without_a_first_second_burst():
    schedule, make = Schedule(), Tickets()
    for chat in range(1, 121):
        schedule.push(make(chat))
    times = [t for t, _ in run(schedule)]
    assert len(times) == 120
    assert busiest(times) <= 30
    assert sum(t < 1.0 for t in times) <= 30  # AIORateLimiter lets ~59 through here
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(SLOT)
    assert 29 <= (len(times) - 1) / (times[-1] - times[0]) <= 30


def test_paid_broadcasts_go_up_to_1000_a_second_and_keep_each_chats_limits():
    schedule, make = Schedule(Limits.paid()), Tickets()
    for chat in range(1, 1101):  # more than a second's worth
        schedule.push(make(chat))
    for _ in range(3):
        schedule.push(make(-100500))  # a group still gets at most 20 a minute
        schedule.push(make(7))  # a chat still 1 a second
    granted = run(schedule)
    times = [t for t, _ in granted]
    assert len(times) == 1106
    assert 950 <= busiest(times) <= 1000  # thirty times the free rate, within Telegram's paid limit
    chat_7 = [t for t, ticket in granted if ticket.chat == 7]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(chat_7))


def test_one_message_a_second_per_chat_and_a_busy_chat_holds_up_nobody():
    schedule, make = Schedule(), Tickets()
    for _ in range(5):
        schedule.push(make(7))
    for chat in range(100, 110):
        schedule.push(make(chat))
    granted = run(schedule)
    seven = [t for t, ticket in granted if ticket.chat == 7]
    assert [b - a for a, b in itertools.pairwise(seven)] == pytest.approx([CHAT_GAP] * 4)
    others = [t for t, ticket in granted if ticket.chat != 7]
    assert max(others) < 11 * SLOT  # the ten others go in the very next slots


def test_group_gets_at_most_twenty_a_minute():
    schedule, make = Schedule(), Tickets()
    for _ in range(25):
        schedule.push(make(-100500))
    times = [t for t, _ in run(schedule)]
    assert busiest(times, 60.0) == 20
    assert times[20] >= times[0] + 60 * (1 + LIMITS.margin)
    assert busiest(times) == 1


def test_channel_username_counts_as_a_group():
    assert Ticket("@channel").group and Ticket(-5).group and not Ticket(5).group


def test_reply_jumps_the_broadcast_queue():
    schedule, make = Schedule(), Tickets()
    for chat in range(1, 51):
        schedule.push(make(chat))
    first = run(schedule, until=0.0)
    reply = make(999, Priority.REPLY)
    schedule.push(reply)
    now = first[-1][0]
    decision = schedule.next(now)
    assert isinstance(decision, float)
    assert schedule.next(decision) is reply


def test_reply_behind_a_broadcast_lifts_its_chat_but_keeps_the_chats_order():
    schedule, make = Schedule(), Tickets()
    for chat in range(1, 60):
        schedule.push(make(chat))
    alert, reply = make(4242), make(4242, Priority.REPLY)
    schedule.push(alert)
    schedule.push(reply)
    granted = run(schedule)
    tickets = [ticket for _, ticket in granted]
    assert tickets[0] is alert  # chat 4242 goes first: a reply waits in it
    reply_at = granted[tickets.index(reply)][0]
    assert reply_at == min(t for t, _ in granted if t >= CHAT_GAP)  # then the reply, as soon as its chat may


def test_fifo_within_a_chat():
    schedule, make = Schedule(), Tickets()
    queued = [make(5, Priority.BROADCAST if i % 2 else Priority.REPLY) for i in range(6)]
    for ticket in queued:
        schedule.push(ticket)
    assert [ticket for _, ticket in run(schedule)] == queued


def test_retry_goes_back_to_the_head_of_its_chat():
    schedule, make = Schedule(), Tickets()
    first, second = make(5), make(5)
    schedule.push(first)
    schedule.push(second)
    assert schedule.next(0.0) is first
    schedule.answered(first, 0.0)
    schedule.push(first, front=True)  # Telegram said RetryAfter
    assert [ticket for _, ticket in run(schedule, now=0.0)] == [first, second]


def test_pause_holds_everything_queued():
    schedule, make = Schedule(), Tickets()
    for chat in range(1, 11):
        schedule.push(make(chat))
    assert isinstance(schedule.next(0.0), Ticket)
    schedule.pause(5.0)
    assert schedule.next(0.5) == 5.0
    schedule.push(make(77, Priority.REPLY))
    granted = run(schedule, now=0.5)
    assert granted[0][0] == 5.0 and len(granted) == 10
    assert granted[0][1].chat == 77  # the reply still goes first when the pause ends


def test_idle_schedule_has_nothing_to_do():
    assert Schedule().next(0.0) is None


def test_waiting_only_for_a_chats_gap_names_that_time():
    schedule, make = Schedule(), Tickets()
    schedule.push(make(1))
    schedule.push(make(1))
    schedule.answered(schedule.next(0.0), 0.0)
    assert schedule.next(0.1) == pytest.approx(CHAT_GAP)


def simulate(schedule: Schedule, latency) -> list[tuple[float, Ticket]]:
    """Grants on a virtual clock where Telegram answers each ticket ``latency(ticket)`` later."""
    granted: list[tuple[float, Ticket]] = []
    answers: list[tuple[float, Ticket]] = []
    now = 0.0
    while True:
        decision = schedule.next(now)
        if isinstance(decision, Ticket):
            granted.append((now, decision))
            answers.append((now + latency(decision), decision))
            continue
        if decision is None and not answers:
            return granted
        now = min([decision if decision is not None else math.inf, *(t for t, _ in answers)])
        for t, ticket in [a for a in answers if a[0] <= now]:
            schedule.answered(ticket, t)
            answers.remove((t, ticket))


def test_a_steady_round_trip_costs_no_throughput_once_known():
    schedule, make = Schedule(), Tickets()
    for chat in range(1, 121):
        schedule.push(make(chat))
    times = [t for t, _ in simulate(schedule, lambda ticket: 0.08)]
    # the very first answer may have been the arrival itself (0.08 s once), then even slots
    assert times[30] == pytest.approx(0.08 + 1.0 * (1 + LIMITS.margin))
    assert times[-1] - times[30] == pytest.approx(89 * SLOT)


def test_a_request_late_to_arrive_holds_back_the_thirty_first_after_it():
    schedule, make = Schedule(), Tickets()
    tickets = [make(chat) for chat in range(1, 41)]
    for ticket in tickets:
        schedule.push(ticket)
    late = tickets[5]
    granted = simulate(schedule, lambda ticket: 0.2 if ticket is late else 0.01)
    # it may have reached Telegram as late as 0.19 s after it left: the 30th after it
    # waits a second (and the margin) from then, not from when it left
    assert granted[35][0] == pytest.approx(5 * SLOT + 0.2 - 0.01 + 1.0 * (1 + LIMITS.margin))
    assert granted[35][0] > 35 * SLOT + 0.1
    assert busiest([t for t, _ in granted]) <= 30


def test_an_unanswered_message_holds_its_chat_until_answered_or_assumed_arrived():
    schedule, make = Schedule(), Tickets()
    first, second = make(5), make(5)
    schedule.push(first)
    schedule.push(second)
    assert schedule.next(0.0) is first
    assert schedule.next(0.1) == pytest.approx(LIMITS.max_flight + CHAT_GAP)
    schedule.answered(first, 0.3)  # no shorter round trip known: it may have arrived at 0.3
    assert schedule.next(0.4) == pytest.approx(0.3 + CHAT_GAP)


def test_old_chats_are_forgotten():
    schedule, make = Schedule(), Tickets()
    now = 0.0
    for first in range(1, 2050, 32):  # as the sender feeds it: a few dozen requests at a time
        for chat in range(first, min(first + 32, 2050)):
            schedule.push(make(chat))
        now = run(schedule, now)[-1][0]
    assert schedule._grants == 2049 and len(schedule._chat_last) < 100


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 5, allow_nan=False),
            st.sampled_from([1, 2, 3, 4, 5, -10, -20, 1000]),
            st.sampled_from(list(Priority)),
        ),
        min_size=1,
        max_size=120,
    )
)
def test_any_arrivals_stay_within_every_limit_and_each_chats_order(arrivals):
    schedule, make = Schedule(), Tickets()
    arrivals = sorted(arrivals, key=lambda a: a[0])
    pushed: dict[int, list[Ticket]] = {}
    granted: list[tuple[float, Ticket]] = []
    now, i = 0.0, 0
    while i < len(arrivals) or len(schedule):
        while i < len(arrivals) and arrivals[i][0] <= now:
            ticket = make(arrivals[i][1], arrivals[i][2])
            pushed.setdefault(ticket.chat, []).append(ticket)
            schedule.push(ticket)
            i += 1
        decision = schedule.next(now)
        if isinstance(decision, Ticket):
            granted.append((now, decision))
            schedule.answered(decision, now)
            continue
        following = arrivals[i][0] if i < len(arrivals) else math.inf
        now = min(decision if decision is not None else math.inf, following)
    assert len(granted) == len(arrivals)
    assert busiest([t for t, _ in granted]) <= 30
    for chat, tickets in pushed.items():
        times = [t for t, ticket in granted if ticket.chat == chat]
        assert [ticket for _, ticket in granted if ticket.chat == chat] == tickets
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
        if chat < 0:
            assert busiest(times, 60.0) <= 20


# -- the PTB adapter on a fake clock ---------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def limiter(fake_time):
    limiter = SmoothRateLimiter(clock=fake_time.clock, sleep=fake_time.sleep, max_retries=2)
    yield limiter
    await limiter.shutdown()


class Telegram:
    """A callback standing in for PTB's HTTP call: records when each request went out."""

    def __init__(self, fake_time: FakeTime, fail: dict[int, list[Exception]] | None = None) -> None:
        self.time = fake_time
        self.fail = fail or {}
        self.calls: list[tuple[float, object]] = []

    async def __call__(self, endpoint: str, data: dict) -> dict:
        self.calls.append((self.time.now, data.get("chat_id")))
        errors = self.fail.get(data.get("chat_id"), [])
        if errors:
            raise errors.pop(0)
        return {"ok": True}


def request(limiter, telegram, endpoint="sendMessage", rate_limit_args=None, **data):
    return limiter.process_request(telegram, (endpoint, data), {}, endpoint, data, rate_limit_args)


async def test_adapter_spaces_requests_by_the_schedule(limiter, fake_time):
    telegram = Telegram(fake_time)
    await asyncio.gather(*(request(limiter, telegram, chat_id=c) for c in range(1, 91)))
    times = [t for t, _ in telegram.calls]
    assert len(times) == 90 and busiest(times) <= 30
    assert times[-1] == pytest.approx(89 * SLOT)


async def test_requests_without_a_chat_and_reads_are_not_delayed(limiter, fake_time):
    telegram = Telegram(fake_time)
    limiter.schedule.pause(100.0)
    await request(limiter, telegram, "getMe")
    await request(limiter, telegram, "setMyCommands", commands="[]")
    await request(limiter, telegram, "getChatMember", chat_id=-5, user_id=1)
    await request(limiter, telegram, "answerCallbackQuery", callback_query_id="1")
    assert [t for t, _ in telegram.calls] == [0.0] * 4


async def test_retry_after_pauses_everything_queued_then_retries(limiter, fake_time):
    telegram = Telegram(fake_time, fail={3: [RetryAfter(2)]})
    await asyncio.gather(*(request(limiter, telegram, chat_id=c) for c in range(1, 11)))
    calls = telegram.calls
    failed_at = next(t for t, chat in calls if chat == 3)
    after = [(t, chat) for t, chat in calls if t > failed_at]
    assert after[0][1] == 3  # the failed request keeps its turn
    assert all(t >= failed_at + 2 for t, _ in after)
    assert sorted(chat for _, chat in calls) == sorted([*range(1, 11), 3])


async def test_retries_are_bounded(limiter, fake_time):
    telegram = Telegram(fake_time, fail={3: [RetryAfter(1) for _ in range(5)]})
    with pytest.raises(RetryAfter):
        await request(limiter, telegram, chat_id=3)
    assert len(telegram.calls) == 3  # the first try and max_retries=2 more


async def test_broadcast_flag_tells_when_a_request_is_on_the_wire(limiter, fake_time):
    seen: list[bool] = []
    flag = Broadcast()

    async def telegram(endpoint, data):
        seen.append(flag.on_wire)
        if len(seen) == 1:
            raise RetryAfter(1)
        return {"ok": True}

    await request(limiter, telegram, chat_id=5, rate_limit_args=flag)
    assert seen == [True, True]


async def test_replies_go_before_queued_broadcasts(limiter, fake_time):
    telegram = Telegram(fake_time)
    broadcasts = [
        asyncio.create_task(request(limiter, telegram, rate_limit_args=Broadcast(), chat_id=c)) for c in range(1, 61)
    ]
    await asyncio.sleep(0)
    reply = asyncio.create_task(request(limiter, telegram, chat_id=999))
    await asyncio.gather(reply, *broadcasts)
    order = [chat for _, chat in telegram.calls]
    assert order.index(999) <= 2


async def test_a_cancelled_request_leaves_the_queue_without_using_a_slot(limiter, fake_time):
    telegram = Telegram(fake_time)
    waiting = [asyncio.create_task(request(limiter, telegram, chat_id=7)) for _ in range(3)]
    await asyncio.sleep(0)
    waiting[1].cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert waiting[1].cancelled()
    times = [t for t, _ in telegram.calls]
    assert len(times) == 2 and times[1] == pytest.approx(CHAT_GAP)


async def test_shutdown_fails_what_still_waits(fake_time):
    never = asyncio.Event()

    async def stuck(seconds: float) -> None:
        await never.wait()

    limiter = SmoothRateLimiter(clock=fake_time.clock, sleep=stuck)
    telegram = Telegram(fake_time)
    tasks = [asyncio.create_task(request(limiter, telegram, chat_id=7)) for _ in range(2)]
    await asyncio.sleep(0.01)
    await limiter.shutdown()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == {"ok": True} and isinstance(results[1], NetworkError)
