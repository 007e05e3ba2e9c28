"""Stable identities of a hint: the *problem* it reports and the *situation* a user snoozed or dismissed.

- problem key = rule code + the rule's anchor: the facts that, when they change, make it a different problem.
  It identifies a hint across recomputes for usefulness tracking (first shown, resolved within 48 h).
- situation key = problem key + severity + threshold (source and a ×1.5 bucket of its value) + for
  percentage rules (win_chance, plan_impact) a ×1.5 bucket of the value. A snooze or dismissal hides the hint while
  its situation key stays the same: escalation (warning → critical), a threshold that moved by about half, a
  different stage entry, task or close date, or a hint that went away and came back with new facts all show it again.

Anchors per rule:
  stuck_in_stage     the lead's status and when it entered it      no_open_task     completed tasks so far
  overdue_task       the task id and its due time                  no_activity      the last activity time
  close_date_passed  the planned close date                        close_date_pushed  the current close date
  win_chance         the lead's status                             plan_impact      the deal's price
Rules without an anchor are identified by their code.
"""
from __future__ import annotations

import hashlib
import math
from typing import Optional

from service.model import Lead

SEVERITY_RANK = {"critical": 3, "warning": 2, "info": 1}
PERCENT_UNITS = {"%"}


def _stage(ev: dict, lead: Optional[Lead]) -> tuple:
    return (lead.status_id, lead.stage_entered_at) if lead else (ev.get("stage_name"),)


ANCHORS = {
    "stuck_in_stage": _stage,
    "no_open_task": lambda ev, lead: (ev.get("completed_tasks"),),
    "overdue_task": lambda ev, lead: (ev.get("task_id"), ev.get("complete_till")),
    "no_activity": lambda ev, lead: (ev.get("last_activity_at"),),
    "close_date_passed": lambda ev, lead: (ev.get("close_date"),),
    "close_date_pushed": lambda ev, lead: (ev.get("close_date"),),
    "win_chance": lambda ev, lead: (lead.status_id if lead else ev.get("stage_name"),),
    "plan_impact": lambda ev, lead: (ev.get("price"),),
    "first_contact_overdue": lambda ev, lead: (ev.get("started_at"),),  # a new wait is a new problem
}


def bucket(value) -> str:
    """A coarse ×1.5 logarithmic bucket: moves of about half count, day-to-day drift does not."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    if number <= 0:
        return "0"
    return str(round(math.log(number) / math.log(1.5)))


def _digest(parts) -> str:
    return hashlib.blake2s("|".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def problem_key(hint: dict, lead: Optional[Lead]) -> str:
    """What the hint is about, stable while the problem lasts."""
    code = hint.get("code", "")
    anchor = ANCHORS.get(code, lambda ev, lead: ())(hint.get("evidence") or {}, lead)
    return f"{code}-{_digest(anchor)}"


def situation_key(hint: dict, lead: Optional[Lead], problem: Optional[str] = None) -> str:
    """The problem at its current severity and threshold: what a snooze or dismissal hides."""
    threshold = hint.get("threshold") or {}
    value = bucket(hint.get("value")) if hint.get("unit") in PERCENT_UNITS else ""
    parts = (problem or problem_key(hint, lead), hint.get("severity"), threshold.get("source_code", ""),
             bucket(threshold.get("value")), value)
    return _digest(parts)


def severity_rank(hint: dict) -> int:
    return SEVERITY_RANK.get(hint.get("severity"), 0)
