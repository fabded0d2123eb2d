"""What a chat reads about one level: breaks, a chop folded into one edited message, late news."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.level_book import LevelBook, Segment
from bot.rules.level_story import Break, ChopNews, Story, Told, side_before, step

T0 = datetime(2025, 11, 18, tzinfo=UTC)
LEVEL = 90_000.0
WINDOW, QUIET, EXIT = timedelta(hours=4), timedelta(hours=24), 1.0


class Teller:
    """One level's book and story, fed hourly bars (open, high, low, close)."""

    def __init__(self, start: float) -> None:
        self.book = LevelBook("BTC", 0.0025)
        self.book.add(LEVEL)
        self.book.observe(Segment.between("BTC", T0, start, T0, start))
        self.story: Story | None = None
        self.hour = 0

    def bar(self, o: float, h: float, low: float, c: float, *, hours: int = 1, alerting: bool = True) -> list[Told]:
        start = T0 + timedelta(hours=self.hour)
        self.hour += hours
        segment = Segment("BTC", start, T0 + timedelta(hours=self.hour), o, h, low, c, start)
        crossings = self.book.observe(segment)
        if crossings and self.story is None:
            self.story = Story(told=side_before(crossings[0]))
        if self.story is None:
            return []
        if not alerting:  # as bot.rules.levels does with data too old to alert on
            self.story.unheard, self.story.unheard_between = True, (segment.start, segment.end)
            return []
        return step(
            self.story,
            LEVEL,
            crossings,
            segment,
            side=self.book.sides[LEVEL],
            window=WINDOW,
            quiet=QUIET,
            exit_pct=EXIT,
        )

    def idle(self, hours: int, price: float) -> list[Told]:
        return self.bar(price, price, price, price, hours=hours)


def said(told: list[Told]) -> list[str]:
    out = []
    for item in told:
        if isinstance(item, Break):
            c = item.crossing
            extra = " after chop" if item.after else " late" if item.late else ""
            out.append(f"{'held' if c.held else 'dip'} {c.direction}{extra}")
        else:
            out.append(f"chop {item.chop.crossings}{' ended' if item.ended else ''}")
    return out


def test_the_second_crossing_within_hours_opens_a_chop_in_the_same_message_and_the_rest_only_edit_it():
    teller = Teller(90_400)
    assert said(teller.bar(90_400, 90_450, 89_600, 89_700)) == ["held down"]
    assert said(teller.bar(89_700, 90_500, 89_650, 90_400)) == ["held up", "chop 2"]
    assert said(teller.bar(90_400, 90_420, 89_500, 89_600)) == ["chop 3"]  # an edit, no new break
    assert said(teller.bar(89_600, 90_600, 89_580, 90_500)) == ["chop 4"]
    # clear of the level (≥ 1 %) on the side the chat was last told (above): nothing new to say
    assert said(teller.bar(90_500, 91_000, 90_450, 90_950)) == []
    # ... below it, which the chat was not told: a new message, and the chop message catches up
    assert said(teller.bar(90_950, 90_960, 89_000, 89_050)) == ["chop 5", "held down after chop"]


def test_a_chop_ends_after_a_quiet_day_and_the_next_crossing_is_a_break_again():
    teller = Teller(90_400)
    teller.bar(90_400, 90_450, 89_600, 89_700)
    teller.bar(89_700, 90_500, 89_650, 90_400)
    assert said(teller.idle(30, 90_400)) == ["chop 2 ended"]
    assert said(teller.bar(90_400, 90_420, 89_500, 89_600)) == ["held down"]


def test_a_dip_and_recovery_in_one_hour_is_told_in_path_order_and_opens_the_chop():
    teller = Teller(90_400)
    assert said(teller.bar(90_400, 90_800, 89_600, 90_700)) == ["dip down", "held up", "chop 2"]


def test_a_daily_bars_dip_and_recovery_is_one_story_without_a_chop():
    teller = Teller(90_400)
    assert said(teller.bar(90_400, 90_800, 89_600, 90_700, hours=24)) == ["dip down", "held up"]


def test_a_crossing_in_data_too_old_to_alert_on_is_told_late_once_a_fresh_price_is_clear():
    teller = Teller(90_400)
    assert teller.bar(90_400, 90_450, 89_600, 89_700, alerting=False) == []
    assert said(teller.bar(89_700, 89_800, 89_500, 89_600)) == []  # not clear of the level yet
    [late] = teller.bar(89_600, 89_650, 88_900, 89_000)
    assert isinstance(late, Break) and late.late and late.crossing.direction == "down"
    assert late.crossing.price == 89_000
    assert late.between == (T0, T0 + timedelta(hours=1))  # when it happened: the first bar
    assert teller.story is not None and teller.story.unheard_between is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-0.012, 0.012), min_size=1, max_size=80), st.booleans())
def test_breaks_alternate_and_once_clear_of_the_level_the_last_word_is_the_side_it_is_on(moves, daily):
    teller = Teller(90_000 * 1.02)
    price, last_told = teller.book.last_price, "above"  # where the chat knows it starts
    assert price is not None
    for move in moves:
        close = price * (1 + move)
        told = teller.bar(price, max(price, close) * 1.001, min(price, close) * 0.999, close, hours=24 if daily else 1)
        for item in told:
            if isinstance(item, Break):
                side = "above" if item.crossing.direction == "up" else "below"
                assert side != last_told, "a break told the side the chat had just been told"
                last_told = side
            else:
                assert isinstance(item, ChopNews)
        if abs(close - LEVEL) / LEVEL >= 0.01:
            assert last_told == ("above" if close > LEVEL else "below")
        price = close
