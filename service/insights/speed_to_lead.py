"""The panel's speed-to-lead section: time to first contact per manager and per source, requests waiting now, and
what a slow answer costs in this account (conversion to a win by first-contact delay, from its own history)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Optional

from service.insights.first_contact import FirstTouch, is_new
from service.insights.workhours import WorkingHours, working_seconds
from service.model import Lead, WON

BUCKETS = (("5m", 5.0), ("1h", 60.0), ("1d", None), ("later", float("inf")))  # 1d: one working day


@dataclass(frozen=True)
class Row:
    """One deal's first-contact facts for the panel."""

    lead: Lead
    started_at: int
    touch: Optional[FirstTouch]
    source: str


def percentile(values: list[float], share: float) -> Optional[float]:
    """The nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-share * len(ordered) // 1)) - 1))]


def working_day_minutes(hours: Optional[WorkingHours]) -> float:
    """A working day in minutes: the daily window, or 24 h around the clock."""
    return 1440.0 if hours is None else float(hours.end - hours.start)


def delay_minutes(row: Row, hours: Optional[WorkingHours]) -> Optional[float]:
    """Working minutes from the start of the wait to the first touch (None while untouched)."""
    return working_seconds(row.started_at, row.touch.at, hours) / 60 if row.touch else None


@dataclass(frozen=True)
class Measured:
    """A row with its working minutes computed once: to the first touch, or waited so far while untouched."""

    row: Row
    delay: Optional[float]
    waited: Optional[float]  # untouched only
    waiting_now: bool  # untouched, open and still a new request


def measure(rows: Iterable[Row], hours: Optional[WorkingHours], now: int) -> list[Measured]:
    out = []
    for r in rows:
        delay = delay_minutes(r, hours)
        waited = working_seconds(r.started_at, now, hours) / 60 if r.touch is None else None
        out.append(Measured(r, delay, waited, r.touch is None and r.lead.is_open and is_new(r.started_at, now)))
    return out


def group_stats(rows: list[Measured], limit: float) -> dict:
    """Median and P80 time to first contact, share within the limit, and requests untouched now."""
    delays = [m.delay for m in rows if m.delay is not None]
    waiting = [m.waited for m in rows if m.waiting_now]
    decided = len(delays) + sum(1 for m in rows if m.waited is not None and m.waited >= limit)
    within = sum(1 for d in delays if d <= limit)
    return {"deals": len(rows), "touched": len(delays), "median_minutes": _round(percentile(delays, 0.5)),
            "p80_minutes": _round(percentile(delays, 0.8)), "within_limit": within, "decided": decided,
            "within_share": round(within / decided, 4) if decided else None,
            "untouched_now": len(waiting), "longest_wait_minutes": _round(max(waiting, default=None))}


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def by_key(rows: Iterable, key: Callable) -> dict:
    out: dict = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def conversion_by_delay(rows: Iterable[Row], hours: Optional[WorkingHours]) -> list[dict]:
    """Closed deals by first-contact delay bucket, with how many were won (never touched is its own row)."""
    day = working_day_minutes(hours)
    counts = {name: [0, 0] for name, _ in BUCKETS} | {"never": [0, 0]}
    for row in rows:
        if row.lead.is_open or row.lead.is_deleted:
            continue
        delay = delay_minutes(row, hours)  # a closed deal is in no period group: measured here only
        name = "never" if delay is None else next(n for n, top in BUCKETS if delay <= (day if top is None else top))
        counts[name][0] += row.lead.status_id == WON
        counts[name][1] += 1
    return [{"bucket": name, "won": won, "closed": closed, "rate": round(won / closed, 4) if closed else None}
            for name, (won, closed) in counts.items()]


def speed_to_lead(rows: Iterable[Row], hours: Optional[WorkingHours], limit_minutes: float, now: int,
                  start: int, end: int, pipeline_id: Optional[int] = None, user_id: Optional[int] = None,
                  names: Optional[Mapping[int, str]] = None) -> dict:
    """The section for the deals that started waiting in [start, end), optionally of one pipeline or manager.

    The conversion by delay uses every closed deal of the account's history (same pipeline/manager filter), not
    only the period: a period is too short to say what a slow answer costs.
    """
    rows = [r for r in rows if (pipeline_id is None or r.lead.pipeline_id == pipeline_id)
            and (user_id is None or r.lead.responsible_user_id == user_id)]
    period = measure([r for r in rows if start <= r.started_at < end or
                      (r.touch is None and r.lead.is_open and is_new(r.started_at, now))], hours, now)
    names = names or {}
    managers = [{"user_id": u, "name": names.get(u, ""), **group_stats(group, limit_minutes)}
                for u, group in sorted(by_key(period, lambda m: m.row.lead.responsible_user_id).items())]
    sources = [{"source": s, **group_stats(group, limit_minutes)}
               for s, group in sorted(by_key(period, lambda m: m.row.source).items())]
    return {"as_of": now, "period": [start, end], "limit_minutes": limit_minutes,
            "working_hours": hours is not None, "working_day_minutes": working_day_minutes(hours),
            "filters": {"pipeline_id": pipeline_id, "user_id": user_id},
            "team": group_stats(period, limit_minutes), "managers": managers, "sources": sources,
            "by_delay": conversion_by_delay(rows, hours)}
