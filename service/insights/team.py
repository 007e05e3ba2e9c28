"""The supervisor's panel: funnel, conversion, losses, where deals hang, incoming leads, workload, changes."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Iterable, Mapping, Optional

from service.model import LOST, WON, IncomingLead, Lead
from service.insights import panel_texts
from service.insights.funnel import StageLosses, Step, first_entries, funnel_stages, losses_by_stage, steps, worst_loss_stage
from service.insights.rates import Rate, rate
from service.insights.settings import DAY
from service.insights.snapshot import Snapshot
from service.insights.stages import StageStats, TimeStats


@dataclass(frozen=True)
class SourceConversion:
    """Incoming requests from one source and how many became deals."""

    source: str
    incoming: int
    became_deals: int
    rate: Rate


@dataclass(frozen=True)
class TeamInsights:
    """Everything on the supervisor's panel for one period, plus the places to look first."""

    as_of: int
    period: tuple  # (start, end) unix seconds
    funnel: list  # [{"pipeline_id", "status_id", "name", "count", "amount"}]
    steps: dict  # pipeline_id -> [Step]
    losses: dict  # status_id -> StageLosses
    time_in_stage: list  # [{"pipeline_id", "status_id", "name", "median_days", "p80_days", "exits"}]
    incoming: dict  # {"total", "became_deals", "rate", "by_source": [SourceConversion]}
    workload: dict  # user_id -> {"open_deals", "open_tasks"}, plus "median"
    changes: dict  # {"last_24h": {...}, "previous_24h": {...}}
    places: list = field(default_factory=list)  # [{"code", "status_id"|"source", "text": {ru, en}}]


def funnel(snap: Snapshot) -> list[dict]:
    """Open deals per stage, in funnel order: count and sum."""
    count, amount = Counter(), Counter()
    for lead in snap.leads.values():
        if lead.is_open:
            count[lead.status_id] += 1
            amount[lead.status_id] += lead.price
    return [{"pipeline_id": p.id, "status_id": s.id, "name": s.name, "count": count[s.id], "amount": amount[s.id]}
            for p in snap.pipelines for s in funnel_stages(p)]


def time_in_stage(snap: Snapshot, stats: StageStats) -> list[dict]:
    """Median and P80 days per stage (Kaplan–Meier), in funnel order."""
    rows = []
    for p in snap.pipelines:
        for s in funnel_stages(p):
            ts = stats.stages.get((p.id, s.id)) or TimeStats(0, 0, None, None, None)
            rows.append({"pipeline_id": p.id, "status_id": s.id, "name": s.name, "median_days": ts.median_days,
                         "p80_days": ts.p80_days, "exits": ts.exits, "censored": ts.censored})
    return rows


def slowest_stage(rows: list[dict], min_exits: int = 5) -> Optional[dict]:
    """Where deals hang longest: the largest median among stages with enough exits."""
    timed = [r for r in rows if r["median_days"] is not None and r["exits"] >= min_exits]
    return max(timed, key=lambda r: r["median_days"], default=None)


def became_deal(item: IncomingLead, leads: Mapping[int, Lead], unsorted: set) -> bool:
    """Accepted, as a webhook said, or its lead has left "Неразобранное" (a declined request's lead is deleted)."""
    if item.accepted is not None:
        return item.accepted
    lead = leads.get(item.lead_id) if item.lead_id else None
    return lead is not None and not lead.is_deleted and lead.status_id not in unsorted


def incoming_by_source(incoming: Iterable[IncomingLead], start: int, end: int, strength: float = 20.0,
                       leads: Mapping[int, Lead] = None, unsorted: set = frozenset()) -> dict:
    """Incoming requests in the period by source, with the share that became deals (shrunk, with sample)."""
    total, won = Counter(), Counter()
    for item in incoming:
        if start <= item.created_at < end:
            source = item.category or item.source_name or "other"
            total[source] += 1
            won[source] += became_deal(item, leads or {}, unsorted)
    n, k = sum(total.values()), sum(won.values())
    base = k / n if n else 0.0
    by_source = [SourceConversion(s, total[s], won[s], rate(won[s], total[s], base, strength))
                 for s, _ in total.most_common()]
    return {"total": n, "became_deals": k, "rate": base, "by_source": by_source}


def workload(snap: Snapshot) -> dict:
    """Open deals and open tasks per manager, and the team median of each."""
    deals, tasks = Counter(), Counter()
    for lead in snap.leads.values():
        if lead.is_open:
            deals[lead.responsible_user_id] += 1
            tasks[lead.responsible_user_id] += sum(not t.is_completed for t in snap.tasks_by_lead.get(lead.id, ()))
    users = [u.id for u in snap.users] or list(deals)
    per_user = {u: {"open_deals": deals[u], "open_tasks": tasks[u]} for u in users}
    med = {key: median([v[key] for v in per_user.values()]) if per_user else 0 for key in ("open_deals", "open_tasks")}
    return {"users": per_user, "median": med}


def day_changes(leads: Iterable[Lead], moves: int, start: int, end: int) -> dict:
    """Created, won and lost deals (count and sum) in [start, end), with the number of stage moves."""
    out = {"created": 0, "won": 0, "won_amount": 0, "lost": 0, "lost_amount": 0, "stage_moves": moves}
    for lead in leads:
        if lead.is_deleted:  # amoCRM's own reports leave deleted deals out (the mirror keeps them as tombstones)
            continue
        out["created"] += start <= lead.created_at < end
        if lead.closed_at is not None and start <= lead.closed_at < end and lead.status_id in (WON, LOST):
            key = "won" if lead.status_id == WON else "lost"
            out[key] += 1
            out[key + "_amount"] += lead.price
    return out


def changes_since_yesterday(snap: Snapshot, now: int) -> dict:
    """The last 24 hours next to the 24 hours before them."""
    def moves(start, end):
        return sum(start <= c.at < end for hist in snap.history_by_lead.values() for c in hist)
    leads = list(snap.leads.values())
    return {"last_24h": day_changes(leads, moves(now - DAY, now), now - DAY, now),
            "previous_24h": day_changes(leads, moves(now - 2 * DAY, now - DAY), now - 2 * DAY, now - DAY)}


def team_insights(snap: Snapshot, spells: list, stats: StageStats, start: int, end: int, now: int,
                  entries: Optional[Mapping] = None) -> TeamInsights:
    """The whole panel for [start, end); "places to look" name the worst stage and the slowest one."""
    entries = first_entries(spells) if entries is None else entries
    step_map = {p.id: steps(entries, p, start, end) for p in snap.pipelines}
    losses = losses_by_stage(spells, snap.leads, start, end, snap.loss_reasons)
    times = time_in_stage(snap, stats)
    unsorted = {st.id for p in snap.pipelines for st in p.stages if st.is_unsorted}
    incoming = incoming_by_source(snap.incoming, start, end, leads=snap.leads, unsorted=unsorted)
    places = panel_texts.team_places(worst_loss_stage(losses), slowest_stage(times), incoming, snap.stage_names,
                                     _weakest_step(step_map))
    return TeamInsights(now, (start, end), funnel(snap), step_map, losses, times, incoming, workload(snap),
                        changes_since_yesterday(snap, now), places)


def _weakest_step(step_map: Mapping[int, list[Step]]) -> Optional[Step]:
    """The step with the lowest conversion its sample can support (needs at least 10 deals)."""
    candidates = [s for ss in step_map.values() for s in ss if s.rate.trials >= 10]
    return min(candidates, key=lambda s: s.rate.value, default=None)
