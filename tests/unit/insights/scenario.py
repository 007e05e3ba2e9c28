"""Expand the hand-written account of data/report_screenshots.json into model objects."""
from __future__ import annotations

import json
from pathlib import Path

from service.model import LOST, WON, Account, IncomingLead, Pipeline, Stage
from service.insights.snapshot import build_snapshot

from .factories import DAY, NOW, make_lead, move

SPEC = json.loads((Path(__file__).parent / "data" / "report_screenshots.json").read_text(encoding="utf-8"))


def _pipeline() -> Pipeline:
    p = SPEC["pipeline"]
    return Pipeline(p["id"], p["name"], tuple(Stage(s["id"], p["id"], s["name"], s["sort"]) for s in p["stages"]))


def _walk(lead_id, start, path, ids):
    """Stage changes of one lead and where it ended: (changes, final status, time of the last move)."""
    changes, at, previous = [], start, None
    for name, days in path:
        status = ids[name]
        changes.append(move(lead_id, at, status, previous))
        previous, at = status, at + days * DAY
    return changes, previous, changes[-1].at


def report_snapshot():
    """(snapshot, period start) of the screenshot account."""
    pipeline = _pipeline()
    ids = {s.name: s.id for s in pipeline.stages} | {"won": WON, "lost": LOST}
    leads, history, next_id = [], [], 1
    for group in SPEC["groups"]:
        for _ in range(group["count"]):
            start = NOW - group["start"] * DAY
            changes, final, last_at = _walk(next_id, start, group["path"], ids)
            closed = last_at if final in (WON, LOST) else None
            leads.append(make_lead(id=next_id, status_id=final, price=group["price"], created_days_ago=group["start"],
                                   in_stage_days=(NOW - last_at) / DAY, closed_at=closed,
                                   loss_reason_id=group.get("loss_reason") if final == LOST else None))
            history += changes
            next_id += 1
    return build_snapshot(Account(1, "demo"), [pipeline], (), leads, (), history,
                          incoming=_incoming(), loss_reasons={int(k): v for k, v in SPEC["loss_reasons"].items()})


def _incoming():
    items = []
    for group in SPEC["incoming"]:
        for i in range(group["count"]):
            items.append(IncomingLead(id=f"{group['category']}-{i}", created_at=NOW - (i % 28 + 1) * DAY,
                                      category=group["category"], accepted=i < group["became_deals"]))
    return items


PERIOD_START = NOW - SPEC["period_days"] * DAY
