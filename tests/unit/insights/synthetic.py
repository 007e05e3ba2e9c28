"""Synthetic accounts with KNOWN per-stage transition probabilities (calibration tests and the bench)."""
from __future__ import annotations

import random
from dataclasses import dataclass

from service.model import LOST, WON, Call, Lead, Pipeline, Stage, StageChange, Task, User

DAY = 86400
NOW = 1_760_000_000
PIPE = 10
# stage id -> (P(advance), mean days in stage); the rest of each stage's exits are losses; the last stage's advance wins
STAGES = {101: (0.6, 2.0), 102: (0.5, 5.0), 103: (0.6, 10.0), 104: (0.7, 7.0)}
NAMES = ("Первичный контакт", "Переговоры", "Принимают решение", "Согласование договора")
PRICES = (5_000, 10_000, 15_000, 20_000, 30_000, 50_000)


@dataclass
class SyntheticAccount:
    """The generated mirror."""

    pipelines: list
    users: list
    leads: list
    history: list
    tasks: list
    calls: list


def pipeline() -> Pipeline:
    return Pipeline(PIPE, "Воронка", tuple(Stage(s, PIPE, n, 10 * i) for i, (s, n) in enumerate(zip(STAGES, NAMES))))


def true_win_probability(status_id: int) -> float:
    """The generating probability of winning from a stage (product of the advances after it)."""
    p = 1.0
    for s, (advance, _) in STAGES.items():
        if s >= status_id:
            p *= advance
    return p


def _walk(rng: random.Random, lead_id: int, created: int, now: int, pace: float = 1.0):
    """Stage changes of one lead up to `now` and its (status, entered, closed_at) at `now`."""
    order = list(STAGES)
    changes, at, status = [StageChange(lead_id, created, PIPE, order[0])], created, order[0]
    while True:
        advance, mean_days = STAGES[status]
        leave = at + int(rng.expovariate(1 / (mean_days * pace)) * DAY) + 1
        if leave > now:
            return changes, status, at, None
        i = order.index(status)
        nxt = (order[i + 1] if i + 1 < len(order) else WON) if rng.random() < advance else LOST
        changes.append(StageChange(lead_id, leave, PIPE, nxt, PIPE, status))
        if nxt in (WON, LOST):
            return changes, nxt, leave, leave
        at, status = leave, nxt


def _activity(rng, lead_id, user, created, now, id0):
    """A few tasks and calls per lead so the bench sees about ten events per deal."""
    tasks = [Task(id0 + k, lead_id, user, created + rng.randint(0, 40) * DAY, is_completed=rng.random() < 0.7,
                  created_at=created) for k in range(3)]
    calls = [Call(lead_id, min(now, created + rng.randint(0, 30) * DAY), rng.randint(10, 600), "out", user)
             for _ in range(3)]
    return tasks, calls


def generate_account(n_leads: int = 1000, days: int = 365, seed: int = 1, now: int = NOW, users: int = 10,
                     activity: bool = False, pace: float = 1.0) -> SyntheticAccount:
    """Leads arriving uniformly over `days` before `now`, each walking the known chain (`pace` x the mean times)."""
    rng = random.Random(seed)
    leads, history, tasks, calls = [], [], [], []
    for lead_id in range(1, n_leads + 1):
        created = now - int(rng.random() * days * DAY)
        user = 1 + lead_id % users
        changes, status, entered, closed = _walk(rng, lead_id, created, now, pace)
        leads.append(Lead(lead_id, PIPE, status, user, price=rng.choice(PRICES), created_at=created,
                          updated_at=changes[-1].at, closed_at=closed, stage_entered_at=entered))
        history += changes
        if activity:
            t, c = _activity(rng, lead_id, user, created, now, lead_id * 10)
            tasks += t
            calls += c
    return SyntheticAccount([pipeline()], [User(u, f"User {u}") for u in range(1, users + 1)], leads, history,
                            tasks, calls)
