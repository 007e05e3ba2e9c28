"""The working-hours clock: weekends, evenings, timezones, DST, and when a working limit is reached."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from service.insights.workhours import DEFAULT, reached_at, working_hours, working_seconds

MOSCOW = working_hours(DEFAULT, "Europe/Moscow")
MIN = 60


def at(text: str, zone: str = "Europe/Moscow") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def test_inside_one_working_day_counts_every_second():
    assert working_seconds(at("2026-12-07 10:00"), at("2026-12-07 10:25"), MOSCOW) == 25 * MIN  # a Monday


def test_evening_and_night_do_not_count():
    assert working_seconds(at("2026-12-07 17:50"), at("2026-12-08 09:10"), MOSCOW) == 20 * MIN


def test_a_request_at_17_55_on_friday_is_answered_on_monday_morning():
    friday = at("2026-12-11 17:55")
    assert working_seconds(friday, at("2026-12-14 09:10"), MOSCOW) == 15 * MIN
    assert reached_at(friday, 15 * MIN, MOSCOW) == at("2026-12-14 09:10")


def test_a_weekend_request_starts_counting_on_monday_at_nine():
    saturday = at("2026-12-12 11:00")
    assert working_seconds(saturday, at("2026-12-13 20:00"), MOSCOW) == 0
    assert reached_at(saturday, 15 * MIN, MOSCOW) == at("2026-12-14 09:15")


def test_a_request_before_opening_waits_for_nine():
    assert reached_at(at("2026-12-08 07:00"), 60 * MIN, MOSCOW) == at("2026-12-08 10:00")


def test_the_window_is_in_the_accounts_timezone():
    vladivostok = working_hours(DEFAULT, "Asia/Vladivostok")
    start = at("2026-12-08 09:00", "Asia/Vladivostok")  # 02:00 in Moscow
    assert working_seconds(start, start + 3600, vladivostok) == 3600
    assert working_seconds(start, start + 3600, MOSCOW) == 0


def test_dst_day_keeps_the_local_window():
    berlin = working_hours(DEFAULT, "Europe/Berlin")
    monday = at("2026-03-30 09:00", "Europe/Berlin")  # the day after clocks went forward
    friday = at("2026-03-27 17:00", "Europe/Berlin")
    assert working_seconds(friday, monday, berlin) == 3600
    assert reached_at(friday, 2 * 3600, berlin) == at("2026-03-30 10:00", "Europe/Berlin")


def test_around_the_clock_is_plain_elapsed_time():
    assert working_seconds(100, 1000, None) == 900
    assert reached_at(100, 900, None) == 1000


def test_long_spans_count_whole_weeks():
    start, end = at("2026-01-05 09:00"), at("2026-03-02 09:00")  # Monday to Monday, 8 weeks
    assert working_seconds(start, end, MOSCOW) == 8 * 5 * 9 * 3600


def test_reversed_interval_is_zero():
    assert working_seconds(2000, 1000, MOSCOW) == 0
