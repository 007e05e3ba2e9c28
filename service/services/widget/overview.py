"""Read-only views: who am I, a manager's summary, the supervisor panel, sync progress, dead letters."""
from __future__ import annotations

import json
from typing import Optional
from urllib.parse import parse_qsl

from service import errors
from service.services import first_contacts
from service.services.cube_cache import cube_parts
from service.deps import Deps
from service.insights.cube import HORIZON_DAYS, day_of
from service.insights.manager_report import manager_report
from service.insights.panel_rights import Rights, stage_rule, visible_part
from service.insights.panel_query import PanelFilter, days_back, main_pipeline, midnight, periods, team_view
from service.insights.plans import month_key
from service.insights.speed_to_lead import speed_of_facts
from service.insights.settings import DAY
from service.services.recompute import jsonable
from service.services.sync import sync_status
from service.services.widget.access import authorize, language_hint, require_supervisor
from service.services.widget.hints import usefulness

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
    users = None
    if target != caller.user_id:
        require_supervisor(caller, "another manager's summary")
        if summary is None and user is None:
            raise errors.NotFound(f"user {target} is not a user of this account")
        users = deps.store.get_users(caller.account.id)
        rights = rights_of(caller, users)
        if rights is not None and not rights.sees_all_of(target):  # its figures sum deals hidden from the caller
            return {"user_id": target, "name": user.name if user else "", "as_of": (summary or {}).get("as_of"),
                    "summary": None, "hidden_by_rights": True}
    return {"user_id": target, "name": user.name if user else "", "as_of": (summary or {}).get("as_of"),
            "summary": visible_deals(deps, caller, summary, users)}


def visible_deals(deps: Deps, caller, summary: Optional[dict], users: Optional[dict] = None) -> Optional[dict]:
    """The summary with its listed deals cut to those the caller may see (amoCRM's general and per-stage rights);
    `users`: the account's users when the caller already read them."""
    listed = (summary or {}).get("gap_deals")
    if not listed or caller.is_admin or (caller.leads_view == "A" and not (caller.user and caller.user.stage_views)):
        return summary
    leads = deps.store.get_leads(caller.account.id, {row["lead_id"] for row in listed})
    users = deps.store.get_users(caller.account.id) if users is None else users
    groups = {u.id: u.group_id for u in users.values()}
    return {**summary, "gap_deals": [row for row in listed if row["lead_id"] in leads and caller.may_view(
        leads[row["lead_id"]], groups.get(leads[row["lead_id"]].responsible_user_id))]}


def panel(deps: Deps, claims, from_: Optional[int] = None, to: Optional[int] = None,
          pipeline_id: Optional[int] = None, user_id: Optional[int] = None, group_id: Optional[int] = None) -> dict:
    """The supervisor panel: team (filtered by period, pipeline and managers), the per-manager report, forecast and
    its accuracy, managers, sync, hint usefulness, freshness, speed to lead."""
    caller, (team, forecast, backtest, recompute, speed) = authorize(
        deps, claims, ("insight", "team"), ("insight", "forecast"), ("insight", "backtest"), ("insight", "recompute"),
        ("insight", "speed_to_lead"))
    require_supervisor(caller, "the supervisor panel")
    account_id = caller.account.id
    users, summaries = deps.store.get_users(account_id), deps.store.widget.all_managers(account_id)
    rights = rights_of(caller, users)
    cube = cube_parts(deps, account_id)
    view = filtered_view(cube, caller.now, from_, to, pipeline_id, user_id, group_id, history_since(deps, caller),
                         rights)
    if view and (view["filters"]["history"] == "before" or view.get("hidden_by_rights")):
        speed = None  # a period we hold no history for, or managers hidden: unknown, not the stored last 30 days
    else:  # the stored section counts every deal: not for a caller some stages hide deals from
        speed = filtered_speed(deps, caller, cube, view, users, rights) or (speed if rights is None else None)
    month = month_key(caller.now, caller.account.timezone)
    plans = [p for p in deps.store.read_plans(account_id) if p.get("month") == month]
    ids = sorted(set(summaries) | {p["user_id"] for p in plans if p.get("user_id")},
                 key=lambda u: ((users[u].name if u in users else ""), u))
    managers = [{"user_id": u, "name": users[u].name if u in users else "",
                 "is_admin": bool(u in users and users[u].is_admin),
                 "group_id": users[u].group_id if u in users else 0,
                 **{k: (summaries.get(u) or {}).get(k) for k in MANAGER_ROW_KEYS}} for u in ids]
    if rights is not None:  # figures summed over every deal of the account or a manager, hidden deals included
        team = forecast = backtest = None
        managers = [row if rights.sees_all_of(row["user_id"]) else
                    {**row, **dict.fromkeys(MANAGER_ROW_KEYS), "hidden_by_rights": True} for row in managers]
    return {"restricted": rights is not None, "as_of": (recompute or {}).get("as_of"),
            "timezone": caller.account.timezone, "recompute": recompute, "team": team, "forecast": forecast,
            "backtest": backtest, "managers": managers, "sync": sync_status(deps, account_id),
            "usefulness": usefulness(deps, account_id), "plans": {"month": month, "items": name_plans(plans, users)},
            "speed_to_lead": speed, **(view or {"filters": None, "options": None, "report": None})}


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


DEFAULT_DAYS = 30
def filtered_speed(deps: Deps, caller, parsed: Optional[dict], view: Optional[dict], users: dict,
                   rights: Optional[Rights] = None) -> Optional[dict]:
    """speed_to_lead for the panel's filters, from the deals' facts the recompute stored beside the cube, without
    the deals the caller's rights hide."""
    if not view or not parsed or parsed.get("speed_facts") is None:
        return None
    facts = parsed["speed_facts"]
    if rights is not None:
        facts = [fact for fact in facts if rights.may_see(fact.pipeline_id, fact.status_id, fact.user_id)]
    f = view["filters"]
    chosen = (frozenset({f["user_id"]}) if f["user_id"] is not None else
              frozenset(u for u, user in users.items() if user.group_id == f["group_id"])
              if f["group_id"] is not None else None)
    limit, hours = first_contacts.limits(deps.store.read_insight(caller.account.id, "settings"),
                                         caller.account.timezone)
    return speed_of_facts(facts, hours, limit, caller.now, f["from"], f["to"], f["pipeline_id"],
                          chosen, {u: user.name for u, user in users.items()})


def history_since(deps: Deps, caller) -> int:
    """Since when the mirror holds the account's history: the first full sync's window, else (an account synced
    before that was recorded) the window a sync takes now, which is never earlier than the real one."""
    since = deps.store.get_sync(caller.account.id, "history").get("since")
    return int(since) if since is not None else caller.now - deps.settings.sync_history_days * DAY


def rights_of(caller, users: dict) -> Optional[Rights]:
    """The caller's view rights as the panel applies them (insights/panel_rights.py): their general `leads.view`
    (a chosen supervisor keeps theirs: G their group, M their own) and per-stage `status_rights`; None when they see
    every deal, as admins and users whose general right is A with no stage hiding anything do."""
    if caller.is_admin:
        return None
    stage_views = caller.user.stage_views if caller.user is not None else ()
    views = {(p, s): v for p, s, v in stage_views if v != caller.leads_view}
    if not views and caller.leads_view == "A":
        return None
    group = frozenset(u for u, user in users.items() if caller.group_id and user.group_id == caller.group_id)
    return stage_rule(views, caller.leads_view, caller.user_id, group)


def available_from(cube: dict, history_since: int) -> int:
    """The first whole account-local day the panel's figures are complete from: past the cube's horizon and the
    start of the mirror's history, both of which fall inside a day."""
    tz = cube["timezone"]
    first = cube.get("first_day", day_of(cube["as_of"] - HORIZON_DAYS * DAY, tz))
    return midnight(max(first, day_of(history_since, tz)) + 1, tz)


def filtered_view(parsed: Optional[dict], now: int, from_: Optional[int], to: Optional[int],
                  pipeline_id: Optional[int], user_id: Optional[int], group_id: Optional[int],
                  history: Optional[int] = None, rights: Optional[Rights] = None) -> Optional[dict]:
    """team, report, filters and options for one filter, added up from the cube; None before the first recompute.

    A figure we hold no history for is unknown, never zero: a period that starts before the history is cut to the
    days we hold (`history` "clamped", the asked start in `requested_from`); one that ends before it has no figures
    at all (`history` "before", team and report null). The widget says where the history starts. `rights` (from
    rights_of) cut the figures to the stages and managers the caller's amoCRM rights show."""
    if not parsed or not parsed["cube"].get("pipelines"):
        return None
    cube = parsed["cube"]
    to = to if to is not None else now
    from_ = from_ if from_ is not None else days_back(now, cube["timezone"], DEFAULT_DAYS)
    pipeline_id = pipeline_id if pipeline_id is not None else main_pipeline(cube)
    if pipeline_id not in {p["id"] for p in cube["pipelines"]}:
        raise errors.BadRequest(f"pipeline {pipeline_id} is not a pipeline of this account")
    users = {u["id"]: u for u in cube["users"]}
    if user_id is not None and user_id not in users:
        raise errors.BadRequest(f"user {user_id} is not a user of this account")
    chosen = (frozenset({user_id}) if user_id is not None else
              frozenset(u for u, doc in users.items() if doc["group_id"] == group_id) if group_id is not None
              else None)
    start = available_from(cube, history if history is not None else cube["as_of"] - HORIZON_DAYS * DAY)
    state = "before" if to <= start else "clamped" if from_ < start else None
    filters = {"from": start if state == "clamped" else from_, "to": to, "pipeline_id": pipeline_id, "user_id": user_id,
               "group_id": None if user_id is not None else group_id, "timezone": cube["timezone"],
               "available_from": start, "history": state, "requested_from": from_}
    shown = {"options": {**options(cube, rights), "periods": periods(now, cube["timezone"])}, "filters": filters}
    if state == "before":
        return {"team": None, "report": None, **shown}
    f = PanelFilter(filters["from"], to, pipeline_id, chosen)
    part = parsed["parts"][pipeline_id]
    if rights is not None:
        if chosen and not any(rights.sees(u) for u in chosen):  # managers amoCRM hides: unknown, never zeros
            return {"team": None, "report": None, "hidden_by_rights": True, **shown}
        part = visible_part(part, rights)
    team = jsonable(team_view(part, f))
    if rights is not None and not rights.whole:
        team["incoming"] = None  # requests with no manager yet are the account's: not for a G or M view
    return {"team": team, "report": jsonable(manager_report(part, f)), **shown}


def options(cube: dict, rights: Optional[Rights] = None) -> dict:
    """What the filters offer: pipelines (main first), managers, and groups when the account has them; only the
    managers (and their groups) whose deals the caller's general amoCRM right shows."""
    users = [u for u in cube["users"] if rights is None or rights.sees(u["id"])]
    groups = sorted({u["group_id"] for u in users if u["group_id"]})
    return {"pipelines": [{"id": p["id"], "name": p["name"], "main": p["main"]} for p in cube["pipelines"]],
            "users": [{"id": u["id"], "name": u["name"], "group_id": u["group_id"]}
                      for u in sorted(users, key=lambda u: (u["name"], u["id"]))],
            "groups": groups}
