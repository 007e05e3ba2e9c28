"""Read-only views: who am I, a manager's summary, the supervisor panel, sync progress, dead letters."""
from __future__ import annotations

import json
from typing import Optional
from urllib.parse import parse_qsl

from service import errors
from service.bootstrap import Deps
from service.insights.plans import month_key
from service.sync import sync_status
from service.widget_api.access import authorize, language_hint, require_supervisor
from service.widget_api.hints import usefulness

MANAGER_ROW_KEYS = ("plan", "projected_amount", "p_plan_met", "hygiene", "workload")


def me(deps: Deps, claims) -> dict:
    """The caller, their role and rights, and the account's sync state."""
    caller, _ = authorize(deps, claims)
    status = sync_status(deps, caller.account.id)
    return {"user_id": caller.user_id, "name": caller.name, "is_supervisor": caller.is_supervisor,
            "is_admin": caller.is_admin, "leads_view": caller.leads_view, "group_id": caller.group_id,
            "language": language_hint(caller.account),
            "account": {"id": caller.account.id, "subdomain": caller.account.subdomain,
                        "timezone": caller.account.timezone},
            "sync": {"state": status["state"], "percent": status["percent"],
                     "account_state": status["account"]["state"]}}


def manager_summary(deps: Deps, claims, user_id: Optional[int] = None) -> dict:
    """A manager's summary: one's own always, anyone's for supervisors."""
    target = claims.user_id if user_id is None else user_id
    caller, (summary, user) = authorize(deps, claims, ("manager", target), ("user", target))
    if target != caller.user_id:
        require_supervisor(caller, "another manager's summary")
        if summary is None and user is None:
            raise errors.NotFound(f"user {target} is not a user of this account")
    return {"user_id": target, "name": user.name if user else "", "as_of": (summary or {}).get("as_of"),
            "summary": visible_deals(deps, caller, summary)}


def visible_deals(deps: Deps, caller, summary: Optional[dict]) -> Optional[dict]:
    """The summary with its listed deals cut to those the caller may see (a stage hidden by status_rights)."""
    listed = (summary or {}).get("gap_deals")
    if not listed or caller.is_admin or caller.user is None or not caller.user.stage_views:
        return summary
    leads = deps.store.get_leads(caller.account.id, {row["lead_id"] for row in listed})
    return {**summary, "gap_deals": [row for row in listed if caller.may_view(leads.get(row["lead_id"]))]}


def panel(deps: Deps, claims) -> dict:
    """The supervisor panel: team, forecast and its accuracy, managers, sync, hint usefulness, freshness."""
    caller, (team, forecast, backtest, recompute, speed) = authorize(
        deps, claims, ("insight", "team"), ("insight", "forecast"), ("insight", "backtest"), ("insight", "recompute"),
        ("insight", "speed_to_lead"))
    require_supervisor(caller, "the supervisor panel")
    account_id = caller.account.id
    users, summaries = deps.store.get_users(account_id), deps.store.widget.all_managers(account_id)
    month = month_key(caller.now, caller.account.timezone)
    plans = [p for p in deps.store.read_plans(account_id) if p.get("month") == month]
    ids = sorted(set(summaries) | {p["user_id"] for p in plans if p.get("user_id")},
                 key=lambda u: ((users[u].name if u in users else ""), u))
    managers = [{"user_id": u, "name": users[u].name if u in users else "",
                 "is_admin": bool(u in users and users[u].is_admin),
                 "group_id": users[u].group_id if u in users else 0,
                 **{k: (summaries.get(u) or {}).get(k) for k in MANAGER_ROW_KEYS}} for u in ids]
    return {"as_of": (recompute or {}).get("as_of"), "recompute": recompute, "team": team, "forecast": forecast,
            "backtest": backtest, "managers": managers, "sync": sync_status(deps, account_id),
            "usefulness": usefulness(deps, account_id), "plans": {"month": month, "items": name_plans(plans, users)},
            "speed_to_lead": speed}


def name_plans(plans: list, users: dict) -> list:
    """Plans with their manager's name; the account's own plan first."""
    rows = [{**p, "user_name": users[p["user_id"]].name if p.get("user_id") in users else ""} for p in plans]
    return sorted(rows, key=lambda p: (p.get("user_id") is not None, p["user_name"], p.get("user_id") or 0))


def sync(deps: Deps, claims) -> dict:
    """The account's sync progress and whether we may call amoCRM."""
    caller, _ = authorize(deps, claims)
    return sync_status(deps, caller.account.id)


def dead_letters(deps: Deps, claims) -> dict:
    """Webhooks that could not be applied: their error, arrival and event kinds, never their contents."""
    caller, _ = authorize(deps, claims)
    require_supervisor(caller, "the dead-letter list")
    letters = deps.store.dead_letters(caller.account.id)
    return {"total": len(letters), "items": [letter_view(i, letter) for i, letter in enumerate(letters)]}


def letter_view(index: int, letter: dict) -> dict:
    """What a supervisor may see of a dead letter: no field values (names, phones, prices stay out)."""
    keys = [k for k, _ in parse_qsl(str(letter.get("body") or ""), keep_blank_values=True)]
    kinds, items = [], set()
    for key in keys:
        parts = key.replace("]", "").split("[")
        if parts[0] == "account" or len(parts) < 3:
            continue
        kind = f"{parts[0]}[{parts[1]}]"
        if kind not in kinds:
            kinds.append(kind)
        items.add((kind, parts[2]))
    try:
        received = int(float(letter.get("received_at") or 0)) or None
    except ValueError:
        received = None
    return {"index": index, "error": str(letter.get("error") or ""), "received_at": received, "kinds": kinds,
            "items": len(items), "request_id": _request_id(letter.get("headers"))}


def _request_id(headers) -> Optional[str]:
    try:
        return (json.loads(headers) if isinstance(headers, str) else headers or {}).get("X-Amocrm-Requestid")
    except (ValueError, AttributeError):
        return None
