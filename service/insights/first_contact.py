"""First contact: when a new deal (or the request it came from) was first touched by a person, and the hint for a
client still waiting past the account's limit.

A touch is an outgoing call, a message or e-mail sent, a task completed, a note by the responsible user, or a stage
move made by a person. Robots and the API write with user id 0: their actions never count as a touch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from service.insights import first_contact_texts as texts
from service.insights.rates import shrunk
from service.insights.workhours import WorkingHours, reached_at, working_seconds
from service.model import Call, Hint, Lead, Task, Threshold, WON

KINDS = ("call", "message", "email", "task", "note", "move")
HORIZON = 7 * 86400  # a deal that started waiting longer ago than this is no longer "new": other hints take over
CRITICAL_FACTOR = 4
CODE = "first_contact_overdue"
PERSON, UNKNOWN_PERSON = "p", -1  # a person whose amoCRM user id the delivery does not carry (chat authors)


@dataclass(frozen=True)
class FirstTouch:
    """The first touch of a deal by a person."""

    at: int
    kind: str
    user_id: int


@dataclass(frozen=True)
class Stake:
    """What a deal is worth while it waits: its own price, or the team's average win × its source's conversion."""

    amount: float
    basis: str  # price | expected
    avg_won: float = 0.0
    won_deals: int = 0
    source: str = ""
    rate: float = 0.0
    wins: int = 0
    trials: int = 0


@dataclass(frozen=True)
class StakeModel:
    """Account-level figures for a deal without a price (kept between full recomputes)."""

    avg_won: float = 0.0
    won_deals: int = 0
    account: tuple = (0, 0)  # (wins, resolved) over every new deal
    sources: Mapping[str, tuple] = None  # source -> (wins, resolved)


@dataclass(frozen=True)
class Waiting:
    """One deal's first-contact facts as its card needs them."""

    started_at: int
    touch: Optional[FirstTouch]
    hours: Optional[WorkingHours]
    limit_minutes: float
    source: str = ""
    limit_is_default: bool = True  # False once a supervisor set first_contact_minutes


def touch_key(kind: str, user_id: int) -> str:
    """The stored field of a touch: the earliest time is kept per kind and person."""
    return f"{kind}:{user_id}"


def first_touch(lead: Lead, touches: Mapping[str, int], tasks: Iterable[Task] = (), calls: Iterable[Call] = (),
                since: int = 0) -> Optional[FirstTouch]:
    """The earliest touch by a person at or after `since`; None while nobody has touched the deal."""
    # Kept as (at, kind's rank, kind, user) and built once: a full recompute asks this of every lead.
    best = None
    for key, at in (touches or {}).items():
        kind, _, user = key.partition(":")
        rank = _RANK.get(kind)
        user_id = int(user) if user.isdecimal() else UNKNOWN_PERSON if user == PERSON else 0
        if rank is not None and user_id and (kind != "note" or user_id == lead.responsible_user_id):
            best = _earlier(best, int(at), rank, kind, user_id, since)
    for t in tasks:
        if t.is_completed and t.completed_at and t.responsible_user_id:
            best = _earlier(best, t.completed_at, _RANK["task"], "task", t.responsible_user_id, since)
    for c in calls:
        if c.direction == "out" and c.user_id:
            best = _earlier(best, c.at, _RANK["call"], "call", c.user_id, since)
    return FirstTouch(best[0], best[2], best[3]) if best else None


_RANK = {kind: i for i, kind in enumerate(KINDS)}


def _earlier(best: Optional[tuple], at: int, rank: int, kind: str, user_id: int, since: int) -> Optional[tuple]:
    """The touch that comes first by (time, kind's rank); the one seen first on a tie, as min() keeps."""
    if at < since or (best is not None and (at, rank) >= (best[0], best[1])):
        return best
    return at, rank, kind, user_id


def wait_started_at(lead: Lead, request_at: Optional[int] = None) -> int:
    """When the client started waiting: the incoming request's arrival when the deal came from one."""
    return min(lead.created_at, request_at) if request_at else lead.created_at


def is_new(started_at: int, now: int) -> bool:
    """Still a new request: it started waiting inside the horizon."""
    return bool(started_at) and now - started_at <= HORIZON


def due_times(waiting: Waiting) -> tuple[int, int]:
    """When the warning and the critical limit are reached (working time)."""
    limit = int(waiting.limit_minutes * 60)
    return (reached_at(waiting.started_at, limit, waiting.hours),
            reached_at(waiting.started_at, limit * CRITICAL_FACTOR, waiting.hours))


def next_check(waiting: Optional[Waiting], now: int) -> Optional[int]:
    """The next moment the deal's hint changes with time alone (None once touched, escalated or no longer new)."""
    if waiting is None or waiting.touch is not None or not is_new(waiting.started_at, now):
        return None
    upcoming = [due for due in due_times(waiting) if due > now and due - waiting.started_at <= HORIZON]
    return min(upcoming) if upcoming else None


def stake_of(lead: Lead, source: str, model: Optional[StakeModel], strength: float = 20.0) -> Optional[Stake]:
    """The deal's price, or else the team's average won amount × the source's (shrunk) conversion to a win."""
    if lead.price > 0:
        return Stake(float(lead.price), "price")
    if model is None or not model.won_deals or not model.account[1]:
        return None
    base = model.account[0] / model.account[1]
    wins, trials = (model.sources or {}).get(source) or (0, 0)
    if not trials:
        source, (wins, trials) = "", model.account
    rate = shrunk(wins, trials, base, strength)
    return Stake(model.avg_won * rate, "expected", model.avg_won, model.won_deals, source, rate, wins, trials)


def stake_model(leads: Iterable[Lead], sources: Mapping[int, str], since: int) -> StakeModel:
    """Average won amount and conversion to a win per source, over deals created since `since` that closed."""
    won_amounts, per_source, total = [], {}, [0, 0]
    for lead in leads:
        if lead.is_open or lead.is_deleted or lead.created_at < since:
            continue
        won = lead.status_id == WON
        if won and lead.price > 0:
            won_amounts.append(lead.price)
        source = sources.get(lead.id) or lead.source
        counts = per_source.setdefault(source, [0, 0]) if source else [0, 0]
        for pair in (counts, total):
            pair[0] += won
            pair[1] += 1
    avg = sum(won_amounts) / len(won_amounts) if won_amounts else 0.0
    return StakeModel(avg, len(won_amounts), tuple(total), {s: tuple(c) for s, c in per_source.items()})


def first_contact_overdue(lead: Lead, waiting: Optional[Waiting], stake: Optional[Stake], now: int,
                          as_of: Optional[int] = None) -> Optional[Hint]:
    """A new deal nobody has touched for longer than the limit in working minutes; critical at 4 × the limit."""
    if waiting is None or waiting.touch is not None or not lead.is_open or not is_new(waiting.started_at, now):
        return None
    waited = working_seconds(waiting.started_at, now, waiting.hours) / 60
    limit = waiting.limit_minutes
    if waited < limit:
        return None
    severity = "critical" if waited >= limit * CRITICAL_FACTOR else "warning"
    evidence = {"waited_minutes": round(waited, 1), "limit_minutes": limit, "started_at": waiting.started_at,
                "working_hours": waiting.hours is not None, "source": waiting.source,
                "stake": _stake_evidence(stake)}
    shown = limit * CRITICAL_FACTOR if severity == "critical" else limit
    clock = "working minutes" if waiting.hours is not None else "minutes"
    threshold = (Threshold(shown, f"default of {limit:g} {clock} to the first contact", "default")
                 if waiting.limit_is_default else
                 Threshold(shown, f"{limit:g} {clock} to the first contact (your setting)", "manual"))
    return Hint(code=CODE, severity=severity, value=round(waited, 1), unit="minutes", threshold=threshold,
                evidence=evidence, action=texts.action(severity), text=texts.reason(evidence),
                as_of=as_of if as_of is not None else now, lead_id=lead.id)


def _stake_evidence(stake: Optional[Stake]) -> Optional[dict]:
    if stake is None:
        return None
    return {"amount": round(stake.amount), "basis": stake.basis, "avg_won": round(stake.avg_won),
            "won_deals": stake.won_deals, "source": stake.source, "rate": round(stake.rate, 4),
            "wins": stake.wins, "trials": stake.trials}
