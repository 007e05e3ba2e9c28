"""Per-manager summary: plan pace and chance, deals that close the gap, hygiene, workload, conversion, calls."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import mean, median
from typing import Mapping, Optional

from service.model import LOST
from service.insights import panel_texts
from service.insights.funnel import losses_by_stage, steps
from service.insights.plans import Plan, PlanProgress, find_plan, month_bounds, month_key, plan_progress, won_by_user
from service.insights.settings import InsightSettings
from service.insights.snapshot import Snapshot
from service.insights.team import TeamInsights

HYGIENE_CODES = {"without_tasks": "no_open_task", "overdue_tasks": "overdue_task", "stuck": "stuck_in_stage"}


@dataclass(frozen=True)
class ManagerSummary:
    """One manager against the plan and against the team, each number with its comparison."""

    user_id: int
    as_of: int
    plan: Optional[PlanProgress]
    projected_amount: float  # fact + expected wins of open deals this month
    p_plan_met: Optional[float]
    gap_deals: list  # [{"lead_id", "name", "price", "p_win_month", "expected"}] best first
    hygiene: dict  # key -> {"mine", "team_median"}
    workload: dict  # {"open_deals", "open_tasks", "team_median_deals", "team_median_tasks"}
    conversion: list  # [{"from", "to", "mine": Rate.as_dict(), "team": Rate.as_dict()}]
    losses: dict  # status_id -> {"mine", "mine_amount", "team_average"}
    calls: dict  # {"count", "duration", "team_avg_count", "team_avg_duration"}
    contacts: dict  # {"contacts_created", "deals_created"}
    texts: list = field(default_factory=list)  # [{"code", "text": {ru, en}}]


def hygiene_table(hints_by_lead: Mapping[int, list], snap: Snapshot, users: list[int]) -> dict[int, dict]:
    """Per manager: deals without tasks, overdue tasks, stuck deals, from the deals' hints."""
    table = {u: Counter() for u in users}
    for lead_id, hints in hints_by_lead.items():
        user = snap.leads[lead_id].responsible_user_id
        for hint in hints:
            fired = {hint.code, *(r["code"] for r in hint.reasons)}  # a merged card still counts for every rule
            for key, code in HYGIENE_CODES.items():
                if code in fired:
                    table.setdefault(user, Counter())[key] += hint.evidence.get("overdue_tasks", 1) \
                        if hint.code == code else 1
    return table


def p_plan_met(deals: list[tuple[float, float]], needed: float, sims: int, seed: int) -> float:
    """Share of simulated months where this month's wins from (price, p) deals reach `needed`."""
    if needed <= 0:
        return 1.0
    rng, hits, deals = random.Random(seed), 0, sorted(deals)  # draws in a fixed order: same deals, same chance
    for _ in range(sims):
        hits += sum(price for price, p in deals if rng.random() < p) >= needed
    return hits / sims


def gap_deals(leads, outlooks: Mapping, limit: int = 10) -> list[dict]:
    """Open deals ranked by expected contribution this month (price x P(won this month))."""
    rows = []
    for lead in leads:
        o = outlooks.get(lead.id)
        if lead.is_open and o is not None:
            rows.append({"lead_id": lead.id, "name": lead.name, "price": lead.price,
                         "p_win_month": round(o.by_month[0], 4), "expected": round(o.by_month[0] * lead.price, 2)})
    return sorted(rows, key=lambda r: (-r["expected"], r["lead_id"]))[:limit]


def calls_table(snap: Snapshot, start: int, end: int) -> dict[int, list[int]]:
    """user -> [count, total seconds] of calls in [start, end)."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for lead_id, calls in snap.calls_by_lead.items():
        for call in calls:
            if start <= call.at < end:
                row = out[call.user_id or snap.leads[lead_id].responsible_user_id]
                row[0] += 1
                row[1] += call.duration
    return out


@dataclass(frozen=True)
class TeamBaseline:
    """What every manager is compared with, computed once per recompute."""

    users: list
    hygiene: dict
    workload: dict
    calls: dict
    team_steps: dict  # pipeline_id -> [Step]
    team_losses: dict
    entries_by_user: dict  # user_id -> {lead_id: {status_id: first entry}}
    leads_by_user: dict  # user_id -> [Lead]
    losses_by_user: dict  # (user_id, status_id) -> [count, amount]
    won: dict
    deals_created: Counter


def team_baseline(snap: Snapshot, spells: list, hints_by_lead: Mapping, team: TeamInsights, entries: Mapping,
                  now: int, tz: str) -> TeamBaseline:
    """The team-level numbers every manager summary is compared with (the panel's own for its period);
    `entries` are first_entries(spells)."""
    start, end = team.period
    users = [u.id for u in snap.users] or sorted({l.responsible_user_id for l in snap.leads.values()})
    created = Counter(l.responsible_user_id for l in snap.leads.values() if start <= l.created_at < end)
    leads_by_user, entries_by_user = defaultdict(list), defaultdict(dict)
    for lead in snap.leads.values():
        leads_by_user[lead.responsible_user_id].append(lead)
        if lead.id in entries:
            entries_by_user[lead.responsible_user_id][lead.id] = entries[lead.id]
    return TeamBaseline(users, hygiene_table(hints_by_lead, snap, users), team.workload, calls_table(snap, start, end),
                        team.steps, losses_by_stage(spells, snap.leads, start, end, snap.loss_reasons),
                        entries_by_user, leads_by_user, _user_losses(spells, snap, start, end),
                        won_by_user(snap.leads.values(), *month_bounds(now, tz)), created)


def _user_losses(spells: list, snap: Snapshot, start: int, end: int) -> dict:
    """(user_id, status_id) -> [count, amount] of deals lost from that stage in [start, end), one pass."""
    out: dict = defaultdict(lambda: [0, 0])
    for s in spells:
        if s.next_status_id == LOST and s.left_at is not None and start <= s.left_at < end:
            lead = snap.leads[s.lead_id]
            row = out[(lead.responsible_user_id, s.status_id)]
            row[0] += 1
            row[1] += lead.price
    return dict(out)


def _versus(key: str, mine: Counter, table: dict) -> dict:
    return {"mine": mine[key], "team_median": median(t[key] for t in table.values()) if table else 0}


def manager_summary(user_id: int, snap: Snapshot, base: TeamBaseline, outlooks: Mapping, plans: list[Plan],
                    now: int, period: tuple[int, int], settings: InsightSettings) -> ManagerSummary:
    """One manager's summary against the plan and the team."""
    tz = snap.account.timezone
    fact = base.won.get(user_id, (0.0, 0))
    plan = find_plan(plans, month_key(now, tz), user_id)
    progress = plan_progress(plan, fact, now, tz) if plan and plan.amount is not None else None
    mine = [(l.price, outlooks[l.id].by_month[0]) for l in base.leads_by_user.get(user_id, ()) if l.id in outlooks]
    p_met = None if progress is None else p_plan_met(mine, progress.remaining_amount, settings.plan_sims,
                                                     settings.seed + user_id)
    hygiene = {k: _versus(k, base.hygiene.get(user_id, Counter()), base.hygiene) for k in HYGIENE_CODES}
    texts = [{"code": "plan", "text": panel_texts.plan_text(progress, p_met)}] if progress else []
    texts += [{"code": k, "text": panel_texts.hygiene_text(k, v["mine"], v["team_median"])}
              for k, v in hygiene.items() if v["mine"] > v["team_median"]]
    return ManagerSummary(user_id, now, progress, fact[0] + sum(p * price for price, p in mine), p_met,
                          gap_deals(base.leads_by_user.get(user_id, ()), outlooks), hygiene, _workload(user_id, base),
                          _conversion(user_id, snap, base, period, settings), _losses(user_id, snap, base, period),
                          _calls(user_id, base), {"contacts_created": snap.contacts_created.get(user_id, 0),
                                                  "deals_created": base.deals_created[user_id]}, texts)


def _workload(user_id: int, base: TeamBaseline) -> dict:
    mine = base.workload["users"].get(user_id, {"open_deals": 0, "open_tasks": 0})
    return {**mine, "team_median_deals": base.workload["median"]["open_deals"],
            "team_median_tasks": base.workload["median"]["open_tasks"]}


def _conversion(user_id, snap, base, period, settings) -> list[dict]:
    """Stage-to-stage conversion of this manager's deals, shrunk toward the team's step rate."""
    mine = base.entries_by_user.get(user_id, {})
    rows = []
    for p in snap.pipelines:
        team = {(s.from_status, s.to_status): s.rate for s in base.team_steps[p.id]}
        prior = {k: r.value for k, r in team.items()}
        for s in steps(mine, p, *period, prior=prior, strength=settings.prior_strength):
            rows.append({"from": s.from_status, "to": s.to_status, "mine": s.rate.as_dict(),
                         "team": team[(s.from_status, s.to_status)].as_dict()})
    return rows


def _losses(user_id, snap, base, period) -> dict:
    """Deals this manager lost per stage against the team's average per manager."""
    per_user = max(1, len(base.users))
    out = {}
    for st, team in base.team_losses.items():
        count, amount = base.losses_by_user.get((user_id, st), (0, 0))
        out[st] = {"mine": count, "mine_amount": amount, "team_average": round(team.count / per_user, 2)}
    return out


def _calls(user_id: int, base: TeamBaseline) -> dict:
    count, duration = base.calls.get(user_id, [0, 0])
    rows = [base.calls.get(u, [0, 0]) for u in base.users] or [[0, 0]]
    return {"count": count, "duration": duration, "team_avg_count": round(mean(r[0] for r in rows), 2),
            "team_avg_duration": round(mean(r[1] for r in rows), 2)}


def manager_summaries(snap: Snapshot, base: TeamBaseline, outlooks: Mapping, plans: list[Plan], now: int,
                      period: tuple[int, int], settings: InsightSettings) -> dict[int, ManagerSummary]:
    """Every manager's summary."""
    return {u: manager_summary(u, snap, base, outlooks, plans, now, period, settings) for u in base.users}
