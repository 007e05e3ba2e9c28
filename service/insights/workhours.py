"""The account's working-hours clock: working seconds between two instants, and when a working limit is reached.

Pure (no clock, no I/O). Days are walked in the account's local calendar through zoneinfo, so a DST change moves the
wall-clock window with the local day instead of shifting it by an hour.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}  # ISO weekdays: 1 = Monday
LONG_SPAN_DAYS = 21  # beyond this, whole weeks in the middle are counted at once (a year of waiting stays cheap)


@dataclass(frozen=True)
class WorkingHours:
    """Working days (ISO weekdays) and a daily window [start, end) in minutes after local midnight, in `timezone`."""

    days: frozenset
    start: int
    end: int
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def working_hours(value, timezone: str) -> Optional[WorkingHours]:
    """The clock a (valid) setting describes; None runs around the clock."""
    if value is None:
        return None
    return WorkingHours(frozenset(value["days"]), _minutes(value["start"]), _minutes(value["end"]), timezone)


def _window(day: date, hours: WorkingHours) -> Optional[tuple[int, int]]:
    """The day's working window as unix seconds, or None on a day off."""
    if day.isoweekday() not in hours.days:
        return None
    return _day_window(day.toordinal(), hours.start, hours.end, hours.timezone)


@lru_cache(maxsize=8192)  # a panel asks about the same few hundred days for thousands of deals (plain keys: cheap)
def _day_window(ordinal: int, start_minute: int, end_minute: int, timezone: str) -> tuple[int, int]:
    # aware datetimes add in wall-clock time: 09:00 local stays 09:00 local on a DST day
    midnight = datetime.combine(date.fromordinal(ordinal), time(), _zone(timezone))
    start, end = midnight + timedelta(minutes=start_minute), midnight + timedelta(minutes=end_minute)
    return int(start.timestamp()), int(end.timestamp())


def _local_day(at: int, hours: WorkingHours) -> date:
    return datetime.fromtimestamp(at, hours.zone).date()


def working_seconds(start: int, end: int, hours: Optional[WorkingHours]) -> int:
    """Seconds of working time between two instants (0 when end <= start)."""
    if end <= start:
        return 0
    if hours is None:
        return end - start
    first, last = _local_day(start, hours), _local_day(end, hours)
    if first == last:  # most first contacts: the same day
        window = _window(first, hours)
        return max(0, min(end, window[1]) - max(start, window[0])) if window else 0
    total, day = 0, first
    while day <= last:
        if (last - day).days > LONG_SPAN_DAYS and day != first:
            weeks = ((last - day).days - 7) // 7
            total += weeks * _week_seconds(hours)
            day += timedelta(days=7 * weeks)
        window = _window(day, hours)
        if window:
            total += max(0, min(end, window[1]) - max(start, window[0]))
        day += timedelta(days=1)
    return total


def _week_seconds(hours: WorkingHours) -> int:
    """Working seconds of a whole week (DST transitions fall at night, outside any sane working window)."""
    return len(hours.days) * (hours.end - hours.start) * 60


def reached_at(start: int, seconds: int, hours: Optional[WorkingHours]) -> int:
    """The instant at which `seconds` of working time have passed since `start`."""
    if hours is None or seconds <= 0:
        return start + max(0, seconds)
    left, day = seconds, _local_day(start, hours)
    for _ in range(366 * 8):  # bounded: a valid setting has at least one working minute a week
        window = _window(day, hours)
        if window and window[1] > start:
            begin = max(start, window[0])
            if window[1] - begin >= left:
                return begin + left
            left -= window[1] - begin
        day += timedelta(days=1)
    raise ValueError("working hours have no working time")
