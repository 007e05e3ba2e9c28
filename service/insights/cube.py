"""Per-day, per-stage, per-manager aggregates of one account: the panel's filtered questions are sums over them.

Built once per full recompute; a filtered panel request only adds up the rows that match (panel_query.py) instead
of recomputing the account. Rows are plain lists so the cube is stored as one JSON document.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo

from service.model import CLOSED_STATUSES, LOST, WON
from service.insights.funnel import first_entries, funnel_stages
from service.insights.settings import DAY
from service.insights.snapshot import Snapshot
from service.insights.spells import Spell
from service.insights.team import became_deal

HORIZON_DAYS = 400  # a year and a month: every preset and last year's same quarter; older days are not kept
RECENT = 2 * DAY  # "what changed since yesterday" keeps single events of the last 48 hours


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


@lru_cache(maxsize=200_000)
def _day_of_slot(slot: int, timezone: str) -> int:
    return datetime.fromtimestamp(slot * 900, _zone(timezone)).date().toordinal()


def day_of(ts: int, timezone: str) -> int:
    """The account-local calendar day of a moment, as a date ordinal (every UTC offset is a multiple of 15 min)."""
    return _day_of_slot(int(ts) // 900, timezone)


def days_of(timezone: str):
    """day_of for one timezone, memoised per 15-minute slot in a plain dict: the cube asks it ~15 times per lead,
    and the lru_cache's two-argument key cost more than the lookup it saved."""
    cache = _DAYS.setdefault(timezone, {})
    if len(cache) > 200_000:
        cache.clear()

    def day(ts: int) -> int:
        slot = int(ts) // 900
        found = cache.get(slot)
        if found is None:
            found = cache[slot] = _day_of_slot(slot, timezone)
        return found
    return day


_DAYS: dict[str, dict[int, int]] = {}


def day_name(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def quantize_days(seconds: float) -> float:
    """A stay in days, to 0.1 day below ten days and whole days above: KM percentiles move by less than that."""
    days = max(0.0, seconds / DAY)
    return round(days, 1) if days < 10 else float(round(days))


def _rows(counter: dict) -> list:
    """{key tuple: [values]} -> [[*key, *values]] in key order: dated rows come by day, so a period is a slice."""
    # Keys alone are sorted (unique, so the order is the same): sorting (key, values) pairs took a third longer.
    return [[*key, *values] if isinstance(values := counter[key], list) else [*key, values] for key in sorted(counter)]


def build_cube(snap: Snapshot, spells: list[Spell], now: int) -> dict:
    """Every aggregate the filtered panel and the manager report read, as of `now`."""
    return {**account_part(snap, now), **lead_part(snap, spells, now)}


def account_part(snap: Snapshot, now: int) -> dict:
    """What no single lead decides: the account's pipelines and users, incoming requests and contacts (only the
    leads of the requests are needed in `snap`)."""
    tz = snap.account.timezone
    since = day_of(now - HORIZON_DAYS * DAY, tz)
    return {"as_of": now, "timezone": tz, "first_day": since, "today": day_of(now, tz),
            "pipelines": [{"id": p.id, "name": p.name, "main": i == 0,
                           "stages": [{"id": s.id, "name": s.name} for s in funnel_stages(p)]}
                          for i, p in enumerate(snap.pipelines)],
            "users": [{"id": u.id, "name": u.name, "group_id": u.group_id, "is_admin": u.is_admin}
                      for u in snap.users],
            "incoming": _incoming(snap, since, tz),
            "contacts": _contacts(snap, since, tz)}


def lead_part(snap: Snapshot, spells: list[Spell], now: int) -> dict:
    """The tables that are sums over leads (LEAD_TABLES): the cube of a set of leads, added up by cube_shards."""
    tz = snap.account.timezone
    since = day_of(now - HORIZON_DAYS * DAY, tz)
    user_of = {lead.id: lead.responsible_user_id for lead in snap.leads.values()}
    pipe_of = {s.id: p.id for p in snap.pipelines for s in p.stages if s.id not in CLOSED_STATUSES}
    return {"entries": _entries(snap, spells, user_of, pipe_of, since, tz),
            **_stays(snap, spells, user_of, now, since, tz),
            "deals": _deals(snap, since, tz),
            "open": _open(snap, now),
            "calls": _calls(snap, user_of, pipe_of, since, tz),
            "recent": sorted(_recent(snap, spells, user_of, now))}


def _contacts(snap, since, tz) -> list:
    """[day, user, contacts created]."""
    out = Counter()
    for created_at, user in snap.contacts:
        if created_at and (d := day_of(created_at, tz)) >= since:
            out[(d, user)] += 1
    return _rows(out)


def _entries(snap, spells, user_of, pipe_of, since, tz) -> list:
    """[day, pipeline, status, user, entered, passed]: deals entering a stage, and how many later entered the next."""
    day = days_of(tz)
    following = {}
    for p in snap.pipelines:
        order = [s.id for s in funnel_stages(p)] + [WON]
        following.update(zip(order, order[1:]))
    out = defaultdict(lambda: [0, 0])
    for lead_id, times in first_entries(spells).items():
        for status, entered in times.items():
            if status not in following or (d := day(entered)) < since:
                continue
            row = out[(d, pipe_of.get(status, 0), status, user_of.get(lead_id, 0))]
            row[0] += 1
            row[1] += times.get(following[status], -1) >= entered
    return _rows(out)


def _stays(snap, spells, user_of, now, since, tz) -> dict:
    """Exits (with their length), losses (with sum and reason) per day, and the stays still open now."""
    day = days_of(tz)
    exits, censored = Counter(), Counter()
    losses, reasons = defaultdict(lambda: [0, 0]), Counter()
    for s in spells:
        user = user_of.get(s.lead_id, 0)
        if s.left_at is None or s.left_at > now:
            censored[(s.pipeline_id, s.status_id, user, quantize_days(now - s.entered_at))] += 1
            continue
        d = day(s.left_at)
        if d < since:
            continue
        exits[(d, s.pipeline_id, s.status_id, user, quantize_days(s.left_at - s.entered_at))] += 1
        lead = snap.leads.get(s.lead_id)
        if s.next_status_id == LOST and lead is not None:
            row = losses[(d, s.pipeline_id, s.status_id, user)]
            row[0] += 1
            row[1] += lead.price
            if lead.loss_reason_id is not None:
                name = snap.loss_reasons.get(lead.loss_reason_id, str(lead.loss_reason_id))
                reasons[(d, s.pipeline_id, s.status_id, user, name)] += 1
    return {"exits": _rows(exits), "censored": _rows(censored), "losses": _rows(losses),
            "loss_reasons": _rows(reasons)}


def _deals(snap, since, tz) -> list:
    """[day, pipeline, user, kind, count, amount] for kind created | won | lost."""
    day = days_of(tz)
    out = defaultdict(lambda: [0, 0])
    for lead in snap.leads.values():
        if lead.is_deleted:
            continue
        events = [("created", lead.created_at)]
        if lead.status_id in (WON, LOST) and lead.closed_at:
            events.append(("won" if lead.status_id == WON else "lost", lead.closed_at))
        for kind, at in events:
            if at and (d := day(at)) >= since:
                row = out[(d, lead.pipeline_id, lead.responsible_user_id, kind)]
                row[0] += 1
                row[1] += lead.price
    return _rows(out)


def _open(snap, now) -> list:
    """[pipeline, status, user, deals, amount, open_tasks, overdue_tasks, deals_without_task] of open deals now."""
    out = defaultdict(lambda: [0, 0, 0, 0, 0])
    for lead in snap.leads.values():
        if not lead.is_open:
            continue
        todo = [t for t in snap.tasks_by_lead.get(lead.id, ()) if not t.is_completed]
        row = out[(lead.pipeline_id, lead.status_id, lead.responsible_user_id)]
        row[0] += 1
        row[1] += lead.price
        row[2] += len(todo)
        row[3] += sum(t.complete_till < now for t in todo)
        row[4] += not todo
    return _rows(out)


def _calls(snap, user_of, pipe_of, since, tz) -> list:
    """[day, pipeline, user, calls, seconds]: calls on deals, by who made them (the deal's manager when unknown)."""
    day = days_of(tz)
    out = defaultdict(lambda: [0, 0])
    for lead_id, calls in snap.calls_by_lead.items():
        lead = snap.leads.get(lead_id)
        for call in calls:
            if (d := day(call.at)) < since:
                continue
            row = out[(d, lead.pipeline_id if lead else 0, call.user_id or user_of.get(lead_id, 0))]
            row[0] += 1
            row[1] += call.duration
    return _rows(out)


def _incoming(snap, since, tz) -> list:
    """[day, source, requests, became_deals]: incoming requests belong to no manager yet."""
    unsorted = {st.id for p in snap.pipelines for st in p.stages if st.is_unsorted}
    out = defaultdict(lambda: [0, 0])
    for item in snap.incoming:
        if (d := day_of(item.created_at, tz)) >= since:
            row = out[(d, item.category or item.source_name or "other")]
            row[0] += 1
            row[1] += became_deal(item, snap.leads, unsorted)
    return _rows(out)


def _recent(snap, spells: Iterable[Spell], user_of, now) -> list:
    """[at, pipeline, user, kind, amount] of the last 48 hours: created, won, lost deals and stage moves."""
    out = []
    for lead in snap.leads.values():
        if lead.is_deleted:
            continue
        if now - RECENT <= lead.created_at < now:
            out.append([lead.created_at, lead.pipeline_id, lead.responsible_user_id, "created", lead.price])
        if lead.status_id in (WON, LOST) and lead.closed_at and now - RECENT <= lead.closed_at < now:
            kind = "won" if lead.status_id == WON else "lost"
            out.append([lead.closed_at, lead.pipeline_id, lead.responsible_user_id, kind, lead.price])
    for lead_id, changes in snap.history_by_lead.items():
        user = user_of.get(lead_id, 0)
        out += [[c.at, c.pipeline_id, user, "move", 0] for c in changes if now - RECENT <= c.at < now]
    return out
