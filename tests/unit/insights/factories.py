"""Factories for insight tests: small, explicit data with sensible defaults."""
from __future__ import annotations

import itertools

from service.model import Call, CloseDateChange, Lead, Pipeline, Stage, StageChange, Task

DAY = 86400
HOUR = 3600
NOW = 1_760_000_000  # 2025-10-09 08:53:20 UTC
PIPE = 10
S1, S2, S3, S4 = 101, 102, 103, 104

_ids = itertools.count(1)


def make_pipeline(pipeline_id=PIPE, names=("Первичный контакт", "Переговоры", "Принимают решение",
                                           "Согласование договора"), first_status=S1) -> Pipeline:
    stages = tuple(Stage(first_status + i, pipeline_id, name, sort=10 * (i + 1)) for i, name in enumerate(names))
    return Pipeline(pipeline_id, "Воронка", stages)


def make_lead(id=None, status_id=S1, pipeline_id=PIPE, user=1, price=10_000, created_days_ago=30,
              in_stage_days=1.0, now=NOW, **kw) -> Lead:
    fields = dict(id=id or next(_ids), pipeline_id=pipeline_id, status_id=status_id, responsible_user_id=user,
                  price=price, created_at=int(now - created_days_ago * DAY),
                  stage_entered_at=int(now - in_stage_days * DAY), updated_at=now)
    fields.update(kw)
    return Lead(**fields)


def make_task(lead_id, due_in_hours=24.0, done=False, now=NOW, text="Позвонить", **kw) -> Task:
    fields = dict(id=next(_ids), lead_id=lead_id, responsible_user_id=1,
                  complete_till=int(now + due_in_hours * HOUR), is_completed=done, text=text)
    fields.update(kw)
    return Task(**fields)


def make_call(lead_id, days_ago=1.0, duration=60, now=NOW, user=1) -> Call:
    return Call(lead_id=lead_id, at=int(now - days_ago * DAY), duration=duration, direction="out", user_id=user)


def move(lead_id, at, to_status, from_status=None, pipeline_id=PIPE) -> StageChange:
    return StageChange(lead_id=lead_id, at=int(at), pipeline_id=pipeline_id, status_id=to_status,
                       old_pipeline_id=pipeline_id if from_status else None, old_status_id=from_status)


def close_date_change(lead_id, at, old, new, field_id=0) -> CloseDateChange:
    return CloseDateChange(lead_id=lead_id, at=int(at), old=None if old is None else int(old),
                           new=None if new is None else int(new), field_id=field_id)


def path(lead_id, start, steps, pipeline_id=PIPE):
    """Stage changes for a lead walking [(status, days_there), ..., (final_status, 0)] from `start`."""
    changes, at, previous = [], start, None
    for status, days in steps:
        changes.append(move(lead_id, at, status, previous, pipeline_id))
        previous, at = status, at + days * DAY
    return changes
