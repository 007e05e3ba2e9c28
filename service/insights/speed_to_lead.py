"""The panel's speed-to-lead section: time to first contact per manager and per source, requests waiting now, and
what a slow answer costs in this account (conversion to a win by first-contact delay, from its own history)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Optional

from service.insights.first_contact import FirstTouch, is_new
from service.insights.workhours import WorkingHours, working_seconds
from service.model import CLOSED_STATUSES, Lead, WON

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
class Fact:
    """What the section needs of one deal, its delay already in working minutes (so a filter costs no clock)."""

    pipeline_id: int
    user_id: int
    status_id: int
    started_at: int
    delay: Optional[float]  # None while untouched
    source: str

    @property
    def is_open(self) -> bool:
        return self.status_id not in CLOSED_STATUSES


def facts_of(rows: Iterable[Row], hours: Optional[WorkingHours]) -> list[Fact]:
    """Each deal's facts, its delay measured once (stored by the recompute, filtered per panel request)."""
    return [Fact(r.lead.pipeline_id, r.lead.responsible_user_id, r.lead.status_id, r.started_at,
                 delay_minutes(r, hours), r.source) for r in rows if not r.lead.is_deleted]


@dataclass(frozen=True)
class Measured:
    """A deal's facts with how long it waited so far while untouched."""

    fact: Fact
    waited: Optional[float]  # untouched only
    waiting_now: bool  # untouched, open and still a new request

    @property
    def delay(self) -> Optional[float]:
        return self.fact.delay


def measure(facts: Iterable[Fact], hours: Optional[WorkingHours], now: int) -> list[Measured]:
    out = []
    for f in facts:
        waited = working_seconds(f.started_at, now, hours) / 60 if f.delay is None else None
        out.append(Measured(f, waited, f.delay is None and f.is_open and is_new(f.started_at, now)))
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


def conversion_by_delay(facts: Iterable[Fact], hours: Optional[WorkingHours]) -> list[dict]:
    """Closed deals by first-contact delay bucket, with how many were won (never touched is its own row)."""
    day = working_day_minutes(hours)
    counts = {name: [0, 0] for name, _ in BUCKETS} | {"never": [0, 0]}
    for f in facts:
        if f.is_open:
            continue
        delay = f.delay  # a closed deal is in no period group: measured here only
        name = "never" if delay is None else next(n for n, top in BUCKETS if delay <= (day if top is None else top))
        counts[name][0] += f.status_id == WON
        counts[name][1] += 1
    return [{"bucket": name, "won": won, "closed": closed, "rate": round(won / closed, 4) if closed else None}
            for name, (won, closed) in counts.items()]


def speed_to_lead(rows: Iterable[Row], hours: Optional[WorkingHours], limit_minutes: float, now: int,
                  start: int, end: int, pipeline_id: Optional[int] = None, user_id: Optional[int] = None,
                  names: Optional[Mapping[int, str]] = None) -> dict:
    """The section for the deals that started waiting in [start, end), optionally of one pipeline or manager."""
    users = None if user_id is None else frozenset({user_id})
    return speed_of_facts(facts_of(rows, hours), hours, limit_minutes, now, start, end, pipeline_id, users, names)


def speed_of_facts(facts: Iterable[Fact], hours: Optional[WorkingHours], limit_minutes: float, now: int,
                   start: int, end: int, pipeline_id: Optional[int] = None,
                   users: Optional[frozenset] = None, names: Optional[Mapping[int, str]] = None) -> dict:
    """The section from stored facts, for the panel's filters (period, pipeline, a manager or a group's managers).

    The conversion by delay uses every closed deal of the account's history (same pipeline/manager filter), not
    only the period: a period is too short to say what a slow answer costs.
    """
    facts = [f for f in facts if (pipeline_id is None or f.pipeline_id == pipeline_id)
             and (users is None or f.user_id in users)]
    period = measure([f for f in facts if start <= f.started_at < end or
                      (f.delay is None and f.is_open and is_new(f.started_at, now))], hours, now)
    names = names or {}
    managers = [{"user_id": u, "name": names.get(u, ""), **group_stats(group, limit_minutes)}
                for u, group in sorted(by_key(period, lambda m: m.fact.user_id).items())]
    sources = [{"source": s, **group_stats(group, limit_minutes)}
               for s, group in sorted(by_key(period, lambda m: m.fact.source).items())]
    user_id = next(iter(users)) if users is not None and len(users) == 1 else None
    return {"as_of": now, "period": [start, end], "limit_minutes": limit_minutes,
            "working_hours": hours is not None, "working_day_minutes": working_day_minutes(hours),
            "filters": {"pipeline_id": pipeline_id, "user_id": user_id},
            "team": group_stats(period, limit_minutes), "managers": managers, "sources": sources,
            "by_delay": conversion_by_delay(facts, hours)}
