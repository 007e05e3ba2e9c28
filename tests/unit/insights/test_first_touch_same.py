"""first_touch, rewritten to build one FirstTouch, picks what the list-and-min() version picked, ties included."""
from __future__ import annotations

import random

from service.insights import first_contact as fc
from service.model import Call, Lead, Task


def reference(lead, touches, tasks=(), calls=(), since=0):
    """The version before: every candidate built, filtered by `since`, then min() by (time, kind's rank)."""
    found = []
    for key, at in (touches or {}).items():
        kind, _, user = key.partition(":")
        user_id = int(user) if user.isdecimal() else fc.UNKNOWN_PERSON if user == fc.PERSON else 0
        if kind in fc.KINDS and user_id and (kind != "note" or user_id == lead.responsible_user_id):
            found.append(fc.FirstTouch(int(at), kind, user_id))
    found += [fc.FirstTouch(t.completed_at, "task", t.responsible_user_id) for t in tasks
              if t.is_completed and t.completed_at and t.responsible_user_id]
    found += [fc.FirstTouch(c.at, "call", c.user_id) for c in calls if c.direction == "out" and c.user_id]
    found = [t for t in found if t.at >= since]
    return min(found, key=lambda t: (t.at, fc.KINDS.index(t.kind))) if found else None


def test_first_touch_matches_the_reference_on_random_leads():
    rnd = random.Random(23)
    kinds = [*fc.KINDS, "other"]
    users = ["0", "5", "9", "p", "x", ""]
    for n in range(3000):
        lead = Lead(id=n, pipeline_id=1, status_id=10, responsible_user_id=rnd.choice([5, 9]), price=0,
                    created_at=100, updated_at=100)
        touches = {f"{rnd.choice(kinds)}:{rnd.choice(users)}": rnd.randint(90, 110) for _ in range(rnd.randint(0, 6))}
        tasks = [Task(i, n, rnd.choice([0, 5, 7]), 0, rnd.random() < 0.7, completed_at=rnd.choice([None, 0, 95, 100, 104]))
                 for i in range(rnd.randint(0, 3))]
        calls = [Call(n, rnd.randint(90, 110), 10, rnd.choice(["in", "out"]), rnd.choice([0, 5, 6]))
                 for _ in range(rnd.randint(0, 3))]
        since = rnd.choice([0, 100, 104])
        assert fc.first_touch(lead, touches, tasks, calls, since) == reference(lead, touches, tasks, calls, since)
