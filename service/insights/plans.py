"""Sales plans per account, manager and month: month boundaries in the account's timezone, pace and remainder."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

from service.model import WON, Lead
from service.insights.settings import DAY


@dataclass(frozen=True)
class Plan:
    """A month's target: an amount and/or a count of won deals; user_id None is the whole account."""

    month: str  # "YYYY-MM" in the account's timezone
    user_id: Optional[int] = None
    amount: Optional[float] = None
    count: Optional[int] = None


@dataclass(frozen=True)
class PlanProgress:
    """Plan vs fact vs the pace needed for the rest of the month."""

    month: str
    user_id: Optional[int]
    plan_amount: Optional[float]
    plan_count: Optional[int]
    fact_amount: float
    fact_count: int
    days_total: float
    days_left: float
    remaining_amount: Optional[float]
    remaining_count: Optional[int]
    required_daily_amount: Optional[float]  # to meet the plan from now on
    actual_daily_amount: float  # so far this month
    projected_amount: float  # fact + the pace so far carried to month end
    share_done: Optional[float]


def month_key(ts: int, tz: str) -> str:
    """The local month of a moment, "YYYY-MM"."""
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m")


def month_bounds(ts: int, tz: str, offset: int = 0) -> tuple[int, int]:
    """[start, end) in unix seconds of the local month holding `ts`, shifted by `offset` months."""
    local = datetime.fromtimestamp(ts, ZoneInfo(tz))
    index = local.year * 12 + local.month - 1 + offset
    start = datetime(index // 12, index % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    end = datetime((index + 1) // 12, (index + 1) % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return int(start.timestamp()), int(end.timestamp())


def won_between(leads: Iterable[Lead], start: int, end: int, user_id: Optional[int] = None) -> tuple[float, int]:
    """(amount, count) of deals won in [start, end), for one manager or all."""
    amount, count = 0.0, 0
    for lead in leads:
        if lead.status_id == WON and lead.closed_at is not None and start <= lead.closed_at < end \
                and not lead.is_deleted and (user_id is None or lead.responsible_user_id == user_id):
            amount += lead.price
            count += 1
    return amount, count


def find_plan(plans: Iterable[Plan], month: str, user_id: Optional[int] = None) -> Optional[Plan]:
    """The plan for this month and manager (None for the account)."""
    return next((p for p in plans if p.month == month and p.user_id == user_id), None)


def plan_progress(plan: Plan, fact: tuple[float, int], now: int, tz: str) -> PlanProgress:
    """Where the plan stands at `now` given the month's fact (amount, count)."""
    start, end = month_bounds(now, tz)
    days_total, days_left = (end - start) / DAY, max(0.0, (end - now) / DAY)
    elapsed = max(days_total - days_left, 1 / 24)  # an hour at least: no division by zero on the 1st
    fact_amount, fact_count = fact
    left_amount = None if plan.amount is None else max(0.0, plan.amount - fact_amount)
    left_count = None if plan.count is None else max(0, plan.count - fact_count)
    required = None if left_amount is None else left_amount / max(days_left, 1.0)
    pace = fact_amount / elapsed
    share = plan.amount and fact_amount / plan.amount
    return PlanProgress(plan.month, plan.user_id, plan.amount, plan.count, fact_amount, fact_count, days_total,
                        days_left, left_amount, left_count, required, pace, fact_amount + pace * days_left,
                        share if plan.amount else None)


def won_by_user(leads: Iterable[Lead], start: int, end: int) -> dict[int, tuple[float, int]]:
    """user_id -> (amount, count) won in [start, end), in one pass."""
    out: dict[int, tuple[float, int]] = {}
    for lead in leads:
        if lead.status_id == WON and lead.closed_at is not None and start <= lead.closed_at < end \
                and not lead.is_deleted:
            amount, count = out.get(lead.responsible_user_id, (0.0, 0))
            out[lead.responsible_user_id] = (amount + lead.price, count + 1)
    return out


def remaining_plans(plans: Iterable[Plan], leads: Iterable[Lead], now: int, tz: str) -> dict[int, float]:
    """user_id -> plan amount still to win this month (for plan_impact)."""
    month, (start, end) = month_key(now, tz), month_bounds(now, tz)
    won = won_by_user(leads, start, end)
    return {p.user_id: max(0.0, p.amount - won.get(p.user_id, (0.0, 0))[0]) for p in plans
            if p.month == month and p.user_id is not None and p.amount is not None}
