"""The per-manager report (amoCRM's «Отчёт по сотрудникам» and «Звонки») for one period and pipeline, from the cube."""
from __future__ import annotations

from collections import defaultdict

from service.insights.panel_query import PanelFilter, _Match

DEAL_KINDS = ("created", "won", "lost")


def _blank() -> dict:
    return {"created": 0, "created_amount": 0, "won": 0, "won_amount": 0, "lost": 0, "lost_amount": 0,
            "in_work": 0, "in_work_amount": 0, "open_tasks": 0, "overdue_tasks": 0, "deals_without_task": 0,
            "contacts_created": 0, "calls": 0, "call_seconds": 0}


def manager_report(cube: dict, f: PanelFilter) -> dict:
    """Per manager: deals new / in work / won / lost with sums, tasks, contacts vs deals, calls vs the team."""
    m = _Match(cube, f)
    rows = defaultdict(_blank)
    for d, p, u, kind, n, money in m.span(cube["deals"]):
        if m.dated(d, p, u):
            rows[u][kind] += n
            rows[u][kind + "_amount"] += money
    for p, _, u, n, money, open_tasks, overdue, without in cube["open"]:
        if p == m.pipeline and m.user(u):
            row = rows[u]
            row["in_work"] += n
            row["in_work_amount"] += money
            row["open_tasks"] += open_tasks
            row["overdue_tasks"] += overdue
            row["deals_without_task"] += without
    for d, p, u, n, seconds in m.span(cube["calls"]):
        if m.dated(d, p, u):
            rows[u]["calls"] += n
            rows[u]["call_seconds"] += seconds
    for d, u, n in m.span(cube.get("contacts", [])):
        if m.day(d) and m.user(u):
            rows[u]["contacts_created"] += n
    names = {u["id"]: u["name"] for u in cube["users"]}
    people = sorted((u for u in rows if u), key=lambda u: (names.get(u, ""), u))
    out = [{"user_id": u, "name": names.get(u, ""), **rows[u], **_call_average(rows[u])} for u in people]
    return {"period": [f.start, f.end], "pipeline_id": f.pipeline_id, "rows": out, "team": _team(out)}


def _call_average(row: dict) -> dict:
    return {"call_avg_seconds": round(row["call_seconds"] / row["calls"], 1) if row["calls"] else None}


def _team(rows: list[dict]) -> dict:
    """Per-manager averages over the managers who made a call, for «calls against the team average»."""
    callers = [r for r in rows if r["calls"]]
    calls, seconds = sum(r["calls"] for r in callers), sum(r["call_seconds"] for r in callers)
    return {"managers": len(rows), "avg_calls": round(calls / len(callers), 1) if callers else None,
            "avg_call_seconds": round(seconds / calls, 1) if calls else None}
