"""The supervisor panel for one period, one pipeline and some managers, added up from the account's cube."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from statistics import median
from datetime import date, datetime, time
from typing import Optional
from zoneinfo import ZoneInfo

from service.insights import panel_texts
from service.insights.cube import day_of
from service.insights.funnel import StageLosses, Step, worst_loss_stage
from service.insights.plans import month_bounds
from service.insights.rates import pooled, rate
from service.insights.settings import DAY
from service.insights.stages import time_stats
from service.insights.team import SourceConversion, slowest_stage


@dataclass(frozen=True)
class PanelFilter:
    """[start, end) in unix seconds, one pipeline, and the managers to count (None: everyone)."""

    start: int
    end: int
    pipeline_id: int
    user_ids: Optional[frozenset] = None


def periods(now: int, tz: str) -> list[dict]:
    """The period presets in the account's timezone: [{code, from, to}], to exclusive (now for running periods)."""
    month_start, _ = month_bounds(now, tz)
    last_month = month_bounds(now, tz, -1)
    quarter_offset = -((datetime.fromtimestamp(now, ZoneInfo(tz)).month - 1) % 3)
    quarter_start, _ = month_bounds(now, tz, quarter_offset)
    return [{"code": "last_30", "from": days_back(now, tz, 30), "to": now},
            {"code": "this_month", "from": month_start, "to": now},
            {"code": "last_month", "from": last_month[0], "to": last_month[1]},
            {"code": "this_quarter", "from": quarter_start, "to": now},
            {"code": "last_90", "from": days_back(now, tz, 90), "to": now}]


def days_back(now: int, tz: str, days: int) -> int:
    """The local midnight starting the last `days` calendar days, today included."""
    return midnight(day_of(now, tz) - days + 1, tz)


def midnight(ordinal: int, tz: str) -> int:
    """The local midnight starting a day (a date ordinal)."""
    return int(datetime.combine(date.fromordinal(ordinal), time(), ZoneInfo(tz)).timestamp())


PIPELINE_AT = {"entries": 1, "exits": 1, "losses": 1, "loss_reasons": 1, "deals": 1, "calls": 1, "recent": 1,
               "open": 0, "censored": 0}
DATED = ("entries", "exits", "losses", "loss_reasons", "deals", "calls")  # rows that start with their day


def split_by_pipeline(cube: dict) -> dict[int, dict]:
    """pipeline_id -> the cube with only that pipeline's rows: a query reads one pipeline's rows, never all."""
    parts = {p["id"]: {**cube, **{table: [] for table in PIPELINE_AT}} for p in cube["pipelines"]}
    for table, at in PIPELINE_AT.items():
        for row in cube[table]:
            part = parts.get(row[at])
            if part is not None:
                part[table].append(row)
    for part in parts.values():  # a cube stored before rows came sorted still slices right
        for table in DATED:
            part[table].sort(key=lambda r: r[0])
    return parts


def main_pipeline(cube: dict) -> Optional[int]:
    """The account's main pipeline (amoCRM lists it first), the panel's default."""
    mains = [p["id"] for p in cube["pipelines"] if p["main"]] or [p["id"] for p in cube["pipelines"]]
    return mains[0] if mains else None


class _Match:
    """Row predicates for one filter: the local days of the period, the pipeline, the managers."""

    def __init__(self, cube: dict, f: PanelFilter):
        tz = cube["timezone"]
        self.first, self.last = day_of(f.start, tz), day_of(max(f.start, f.end - 1), tz)
        self.pipeline, self.users = f.pipeline_id, f.user_ids

    def user(self, u) -> bool:
        return self.users is None or u in self.users

    def day(self, d) -> bool:
        return self.first <= d <= self.last

    def dated(self, d, p, u) -> bool:
        return self.first <= d <= self.last and p == self.pipeline and (self.users is None or u in self.users)

    def span(self, rows: list) -> list:
        """The rows of the period's days: dated tables are sorted by day (cube._rows), so this is a slice."""
        lo = bisect_left(rows, self.first, key=lambda r: r[0])
        return rows[lo:bisect_right(rows, self.last, lo=lo, key=lambda r: r[0])]


def team_view(cube: dict, f: PanelFilter) -> dict:
    """The panel's team figures (the same shape as the stored TeamInsights) for the filter."""
    m = _Match(cube, f)
    pipeline = next(p for p in cube["pipelines"] if p["id"] == f.pipeline_id)
    names = {s["id"]: s["name"] for p in cube["pipelines"] for s in p["stages"]}
    losses = _losses(cube, m)
    times = _times(cube, m, pipeline)
    incoming = _incoming(cube, m)
    step_list = _steps(cube, m, pipeline)
    weakest = min((s for s in step_list if s.rate.trials >= 10), key=lambda s: s.rate.value, default=None)
    places = panel_texts.team_places(worst_loss_stage(losses), slowest_stage(times), incoming, names, weakest)
    days = [midnight(m.first, cube["timezone"]), midnight(m.last + 1, cube["timezone"])]  # the whole days counted
    return {"as_of": cube["as_of"], "period": days, "funnel": _funnel(cube, m, pipeline),
            "steps": {f.pipeline_id: step_list}, "losses": losses, "time_in_stage": times, "incoming": incoming,
            "workload": _workload(cube, m), "changes": _changes(cube, m), "places": places}


def _funnel(cube, m, pipeline) -> list:
    count, amount = Counter(), Counter()
    for p, status, u, deals, money, *_ in cube["open"]:
        if p == m.pipeline and m.user(u):
            count[status] += deals
            amount[status] += money
    return [{"pipeline_id": pipeline["id"], "status_id": s["id"], "name": s["name"], "count": count[s["id"]],
             "amount": amount[s["id"]]} for s in pipeline["stages"]]


def _steps(cube, m, pipeline) -> list[Step]:
    """Consecutive-stage conversion of the deals that entered each stage in the period."""
    order = [s["id"] for s in pipeline["stages"]] + [142]
    counts = {a: [0, 0] for a in order[:-1]}
    for d, p, status, u, entered, passed in m.span(cube["entries"]):
        if status in counts and m.dated(d, p, u):
            counts[status][0] += passed
            counts[status][1] += entered
    base = pooled(counts.values())
    return [Step(a, b, rate(*counts[a], base)) for a, b in zip(order, order[1:])]


def _losses(cube, m) -> dict:
    count, amount, reasons = Counter(), Counter(), defaultdict(Counter)
    for d, p, status, u, n, money in m.span(cube["losses"]):
        if m.dated(d, p, u):
            count[status] += n
            amount[status] += money
    for d, p, status, u, name, n in m.span(cube["loss_reasons"]):
        if m.dated(d, p, u):
            reasons[status][name] += n
    return {s: StageLosses(s, count[s], amount[s], tuple(reasons[s].most_common(3))) for s in count}


def _times(cube, m, pipeline) -> list:
    """Kaplan–Meier median and P80 per stage from the period's exits, deals still there counted as censored."""
    exits, censored = defaultdict(list), defaultdict(list)
    for d, p, status, u, days, n in m.span(cube["exits"]):
        if m.dated(d, p, u):
            exits[status].extend([days * DAY] * n)
    for p, status, u, days, n in cube["censored"]:
        if p == m.pipeline and m.user(u):
            censored[status].extend([days * DAY] * n)
    rows = []
    for s in pipeline["stages"]:
        ts = time_stats(exits[s["id"]], censored[s["id"]])
        rows.append({"pipeline_id": pipeline["id"], "status_id": s["id"], "name": s["name"],
                     "median_days": ts.median_days, "p80_days": ts.p80_days, "exits": ts.exits,
                     "censored": ts.censored})
    return rows


def _incoming(cube, m) -> dict:
    """Incoming requests of the period by source (they have no pipeline stage or manager yet)."""
    total, won = Counter(), Counter()
    for d, source, n, k in m.span(cube["incoming"]):
        if m.day(d):
            total[source] += n
            won[source] += k
    n, k = sum(total.values()), sum(won.values())
    base = k / n if n else 0.0
    return {"total": n, "became_deals": k, "rate": base,
            "by_source": [SourceConversion(s, total[s], won[s], rate(won[s], total[s], base))
                          for s, _ in total.most_common()]}


def _workload(cube, m) -> dict:
    deals, tasks = Counter(), Counter()
    for p, _, u, n, _, open_tasks, *_ in cube["open"]:
        if p == m.pipeline and m.user(u):
            deals[u] += n
            tasks[u] += open_tasks
    users = [u["id"] for u in cube["users"] if m.user(u["id"])] or list(deals)
    per_user = {u: {"open_deals": deals[u], "open_tasks": tasks[u]} for u in users}
    med = {k: median([v[k] for v in per_user.values()]) if per_user else 0 for k in ("open_deals", "open_tasks")}
    return {"users": per_user, "median": med}


def _changes(cube, m) -> dict:
    """The last 24 hours next to the 24 hours before them, for the pipeline and managers."""
    now = cube["as_of"]
    out = {}
    for name, start in (("last_24h", now - DAY), ("previous_24h", now - 2 * DAY)):
        row = {"created": 0, "won": 0, "won_amount": 0, "lost": 0, "lost_amount": 0, "stage_moves": 0}
        for at, p, u, kind, money in cube["recent"]:
            if start <= at < start + DAY and p == m.pipeline and m.user(u):
                key = "stage_moves" if kind == "move" else kind
                row[key] += 1
                if kind in ("won", "lost"):
                    row[kind + "_amount"] += money
        out[name] = row
    return out
