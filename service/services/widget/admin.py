"""Plans and settings: read by everyone, written by supervisors; every write queues a recompute of the account.

Who is a supervisor (`supervisor_ids`) is changed only by an amoCRM account admin: a chosen supervisor may tune
plans and thresholds, but letting them choose supervisors would let them raise anyone (themselves included) to
the panel's rights, which amoCRM never granted.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Optional

from service import errors
from service.deps import Deps
from service.insights.plans import month_key
from service.model import CLOSED_STATUSES
from service.services.widget.access import authorize, require_supervisor
from service.services.first_contacts import DEFAULT_MINUTES as DEFAULT_FIRST_CONTACT_MINUTES
from service.insights.workhours import DEFAULT as WORKING_HOURS_DEFAULT
from service.services.widget.overview import name_plans
from service.services import queueing

DEFAULT_NO_ACTIVITY_DAYS = 7.0
SETTING_KEYS = ("stage_overrides", "no_activity_days", "close_date_field_id", "supervisor_ids",
                "first_contact_minutes", "working_hours")


def queue_recompute(deps: Deps, account_id: int) -> str:
    """Recompute the account's insights soon (one job id per account)."""
    queueing.enqueue(deps, "recompute_account", account_id)
    return "queued"


# --- plans
def plans(deps: Deps, claims, month: Optional[str] = None) -> dict:
    """Every plan of a month (default: the current month in the account's timezone)."""
    caller, _ = authorize(deps, claims)
    month = month or month_key(caller.now, caller.account.timezone)
    rows = [p for p in deps.store.read_plans(caller.account.id) if p.get("month") == month]
    return {"month": month, "items": name_plans(rows, deps.store.get_users(caller.account.id))}


def put_plan(deps: Deps, claims, month: str, user_id: Optional[int], amount=None, count=None) -> dict:
    """Set (or, with neither amount nor count, remove) a month's plan for a manager or the whole account."""
    caller, (user,) = authorize(deps, claims, ("user", user_id or 0))
    require_supervisor(caller, "editing plans")
    if user_id is not None and user is None:
        raise errors.BadRequest("invalid plan", fields={"user_id": [f"user {user_id} is not a user of this account"]})
    plan = {"month": month, "user_id": user_id, "amount": amount, "count": count}
    if amount is None and count is None:
        deleted = deps.store.widget.delete_plan(caller.account.id, month, user_id)
    else:
        deps.store.save_plan(caller.account.id, plan)
        deleted = False
    return {"plan": {**plan, "user_name": user.name if user else ""}, "deleted": deleted,
            "recompute": queue_recompute(deps, caller.account.id)}


# --- settings
def settings_view(deps: Deps, claims) -> dict:
    """The widget settings with their defaults, the stages they may name, and the account's users."""
    caller, _ = authorize(deps, claims)
    return {**_view(deps, caller.account.id, caller.settings), "may_choose_supervisors": caller.is_admin}


def put_settings(deps: Deps, claims, changes: dict) -> dict:
    """Change the given settings (omitted ones stay); stage_overrides is replaced as a whole when given."""
    caller, _ = authorize(deps, claims)
    require_supervisor(caller, "changing the settings")
    account_id = caller.account.id
    _require_admin_for_supervisors(caller, changes)
    _check(deps, account_id, changes)
    doc = {**{k: caller.settings[k] for k in SETTING_KEYS if k in caller.settings}, **changes,
           "updated_at": caller.now, "updated_by": caller.user_id}
    deps.store.save_insight(account_id, "settings", doc)
    return {**_view(deps, account_id, doc), "may_choose_supervisors": caller.is_admin,
            "recompute": queue_recompute(deps, account_id)}


def _require_admin_for_supervisors(caller, changes: dict) -> None:
    """403 when a non-admin would change who is a supervisor; resending the same set (the form sends it) is fine."""
    if "supervisor_ids" not in changes or caller.is_admin:
        return
    if set(changes["supervisor_ids"] or ()) != set(caller.settings.get("supervisor_ids") or ()):
        raise errors.Forbidden("only an amoCRM account admin may choose who is a supervisor; "
                               "supervisors may change plans and thresholds")


def _check(deps: Deps, account_id: int, changes: dict) -> None:
    """Stage ids must be open stages of the account, supervisor ids its users (once they are mirrored)."""
    problems = {}
    stages = {s.id for p in deps.store.get_pipelines(account_id) for s in p.stages}
    for status_id in changes.get("stage_overrides") or {}:
        if int(status_id) in CLOSED_STATUSES or (stages and int(status_id) not in stages):
            problems.setdefault("stage_overrides", []).append(f"{status_id} is not an open stage of this account")
    users = deps.store.get_users(account_id)
    for user_id in changes.get("supervisor_ids") or ():
        if users and user_id not in users:
            problems.setdefault("supervisor_ids", []).append(f"{user_id} is not a user of this account")
    if problems:
        raise errors.BadRequest("invalid settings", fields=problems)


def _view(deps: Deps, account_id: int, doc: dict) -> dict:
    days = deps.settings.stuck_default_days
    pipelines, users = deps.store.get_pipelines(account_id), deps.store.get_users(account_id)
    date_fields = deps.store.all_records(account_id, "date_fields").values()
    return {"stage_overrides": doc.get("stage_overrides") or {},
            "no_activity_days": doc.get("no_activity_days", DEFAULT_NO_ACTIVITY_DAYS),
            "close_date_field_id": doc.get("close_date_field_id"),
            "supervisor_ids": list(doc.get("supervisor_ids") or []),
            "first_contact_minutes": doc.get("first_contact_minutes", DEFAULT_FIRST_CONTACT_MINUTES),
            "working_hours": doc.get("working_hours", WORKING_HOURS_DEFAULT),
            "updated_at": doc.get("updated_at"), "updated_by": doc.get("updated_by"),
            "defaults": {"warn_days": days, "crit_days": days * 1.5, "no_activity_days": DEFAULT_NO_ACTIVITY_DAYS,
                         "first_contact_minutes": DEFAULT_FIRST_CONTACT_MINUTES,
                         "working_hours": WORKING_HOURS_DEFAULT},
            "stages": [{"pipeline_id": p.id, "pipeline_name": p.name, "status_id": s.id, "name": s.name}
                       for p in pipelines for s in p.stages if s.id not in CLOSED_STATUSES],
            "users": [{"id": u.id, "name": u.name, "is_admin": u.is_admin}
                      for u in sorted(users.values(), key=lambda u: (u.name, u.id))],
            "date_fields": [asdict(f) for f in sorted(date_fields, key=lambda f: (f.name, f.id))]}
