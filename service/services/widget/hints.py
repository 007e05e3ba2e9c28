"""Deal hints for one user: the card (filtered by rights and feedback), the "needs attention" list, feedback, and
usefulness tracking (first shown on a card read; resolved within 48 h when the problem left the card)."""
from __future__ import annotations

import heapq
import logging
from typing import Optional

import redis

from service import errors
from service.deps import Deps
from service.insights.cards import CODES
from service.model import Lead
from service.services.widget.access import Caller, authorize, require_view
from service.services.widget.situations import problem_key, severity_rank, situation_key
from service.services import queueing

log = logging.getLogger(__name__)
OUTCOME_WINDOW = 48 * 3600  # a shown hint whose problem leaves the card within this counts as resolved
DEFAULT_SNOOZE = 86400
MAX_SNOOZE = 90 * 86400
CHUNK = 500
PAST = {"snooze": "snoozed", "dismiss": "dismissed"}
URGENT = "first_contact_overdue"  # a client waiting for a first answer outranks everything else (issue 21)
CARD_CODES = (URGENT,) + CODES


def card(deps: Deps, claims, lead_id: int) -> dict:
    """The deal's hints the caller may see, minus those they snoozed or dismissed; one Redis round trip."""
    caller, (doc, lead, feedback, seen) = authorize(
        deps, claims, ("card", lead_id), ("lead", lead_id), ("feedback", claims.user_id, lead_id, CARD_CODES),
        ("seen", lead_id))
    require_view(deps, caller, lead_id, lead)
    if lead is None and not caller.may_view(None):
        doc = None  # a card whose lead left the mirror: only those who see every deal may read it
    answer, hints, shown = as_seen(doc, lead, lead_id, feedback, caller.now)
    track_views(deps, caller, lead_id, hints, shown, seen)
    return answer


def as_seen(doc: Optional[dict], lead: Optional[Lead], lead_id: int, feedback: dict,
            now: float) -> tuple[dict, list, list]:
    """The card answer as this caller sees it (most urgent first, what they hid counted), with the stored card's
    hints and those shown: what card reads and what a follow-up task answers."""
    hints, shown = visible(doc, lead, lead_id, feedback, now)
    answer = {"lead_id": lead_id, "as_of": (doc or {}).get("as_of"), "hints": by_severity(shown),
              "hidden": len(hints) - len(shown)}
    return answer, hints, shown


def visible(doc: Optional[dict], lead: Optional[Lead], lead_id: int, feedback: dict, now: float) -> tuple[list, list]:
    """A stored card's hints (with their problem and situation keys) and those of them this caller sees: not
    dismissed nor snoozed by them for the same situation (`feedback` is theirs: "<lead>:<code>" -> record)."""
    hints = annotate((doc or {}).get("hints") or [], lead)
    return hints, [h for h in hints if not is_hidden(h, feedback.get(f"{lead_id}:{h['code']}"), now)]


def annotate(hints: list, lead: Optional[Lead]) -> list:
    """Hints with their problem and situation keys."""
    out = []
    for hint in hints:
        problem = problem_key(hint, lead)
        out.append({**hint, "problem": problem, "situation": situation_key(hint, lead, problem)})
    return out


def by_severity(hints: list) -> list:
    """A waiting client first, then most severe; the rule catalogue's order within a severity."""
    return sorted(hints, key=lambda h: (h.get("code") != URGENT, -severity_rank(h)))


def is_hidden(hint: dict, record: Optional[dict], now: float) -> bool:
    """Hidden while the user's dismissal or unexpired snooze is about this very situation."""
    if not record or record.get("situation") != hint["situation"]:
        return False
    return record.get("action") == "dismiss" or (record.get("until") or 0) > now


# --- usefulness: first shown, resolved within 48 h
def track_views(deps: Deps, caller: Caller, lead_id: int, hints: list, shown: list, seen: dict) -> None:
    """Record problems shown for the first time and problems that left the card inside their window."""
    new = {h["problem"]: h["code"] for h in shown if h["problem"] not in seen}
    current = {h["problem"] for h in hints}
    resolved = {p: (r.get("code", p.split("-")[0]), r.get("at", 0), "resolved") for p, r in seen.items()
                if r.get("outcome") == "pending" and p not in current and caller.now - r.get("at", 0) <= OUTCOME_WINDOW}
    if not new and not resolved:
        return
    account_id = caller.account.id
    try:
        if deps.store.widget.record_hint_views(account_id, lead_id, new, resolved, OUTCOME_WINDOW, caller.now):
            queueing.enqueue(deps, "settle_hint_outcomes", account_id, delay=OUTCOME_WINDOW + 3600)
    except redis.RedisError:
        log.warning("account %s: could not record hint views of lead %s", account_id, lead_id)


def settle_hint_outcomes(deps: Deps, account_id: int) -> dict:
    """Close every 48 h window that has ended: resolved when the problem is no longer on the card."""
    now = int(deps.clock())
    due = deps.store.widget.due_hint_outcomes(account_id, now)
    lead_ids = sorted({lead_id for lead_id, _, _ in due})
    docs, leads = deps.store.widget.cards_and_leads(account_id, lead_ids)
    seen = deps.store.widget.seen_records(account_id, lead_ids)
    current = {lead_id: {problem_key(h, lead) for h in (doc or {}).get("hints", [])}
               for lead_id, doc, lead in zip(lead_ids, docs, leads)}
    outcomes = []
    for lead_id, code, problem in due:
        record = seen.get(lead_id, {}).get(problem)
        if record is None or record.get("outcome") != "pending":
            outcomes.append((lead_id, code, problem, 0, None))  # settled on a card read already
            continue
        outcome = "unresolved" if problem in current[lead_id] else "resolved"
        outcomes.append((lead_id, code, problem, record.get("at", 0), outcome))
    deps.store.widget.settle_hint_outcomes(account_id, outcomes)
    return {"settled": sum(1 for o in outcomes if o[4]), "resolved": sum(1 for o in outcomes if o[4] == "resolved")}


def usefulness(deps: Deps, account_id: int) -> list[dict]:
    """Per rule: shown, dismissed, snoozed, resolved/unresolved within 48 h, pending, and feedback reasons."""
    stats = deps.store.widget.hint_stats(account_id)
    pending = deps.store.widget.pending_hint_counts(account_id)
    rows = []
    codes = list(CARD_CODES) + sorted({k.split(":", 1)[0] for k in stats} - set(CARD_CODES))
    for code in codes:
        get = lambda metric: stats.get(f"{code}:{metric}", 0)  # noqa: E731
        settled = get("resolved_48h") + get("unresolved_48h")
        reasons = {k.split(":", 2)[2]: v for k, v in stats.items() if k.startswith(f"{code}:reason:")}
        rows.append({"code": code, "shown": get("shown"), "dismissed": get("dismissed"), "snoozed": get("snoozed"),
                     "resolved_48h": get("resolved_48h"), "unresolved_48h": get("unresolved_48h"),
                     "pending": pending.get(code, 0),
                     "resolved_share": round(get("resolved_48h") / settled, 4) if settled else None,
                     "reasons": reasons})
    return rows


# --- feedback
def give_feedback(deps: Deps, claims, lead_id: int, code: str, action: str, reason: Optional[str] = None,
                  comment: str = "", until: Optional[int] = None) -> dict:
    """Dismiss or snooze one hint of a deal for the caller; counted per rule."""
    caller, (doc, lead) = authorize(deps, claims, ("card", lead_id), ("lead", lead_id))
    require_view(deps, caller, lead_id, lead)
    hint = next((h for h in annotate((doc or {}).get("hints") or [], lead) if h["code"] == code), None)
    if hint is None:
        raise errors.NotFound(f"deal {lead_id} has no {code!r} hint now; reload the card")
    now = caller.now
    if action == "snooze":
        until = until if until is not None else now + DEFAULT_SNOOZE
        if not now < until <= now + MAX_SNOOZE:
            raise errors.BadRequest("until must be in the future and at most 90 days ahead (unix seconds)")
    else:
        until = None
    record = {"code": code, "action": action, "situation": hint["situation"], "problem": hint["problem"],
              "until": until, "reason": reason, "comment": comment, "at": now}
    counters = {f"{code}:{PAST[action]}": 1}
    if reason:
        counters[f"{code}:reason:{reason}"] = 1
    held = deps.store.widget.user_feedback(caller.account.id, caller.user_id)
    expired = [f for f, r in held.items() if r.get("action") == "snooze" and (r.get("until") or 0) < now - 7 * 86400]
    deps.store.widget.save_feedback(caller.account.id, caller.user_id, lead_id, record, counters, expired)
    return {"lead_id": lead_id, **{k: record[k] for k in ("code", "action", "situation", "until", "reason")},
            "hidden": True}


def clear_feedback(deps: Deps, claims, lead_id: int, code: str) -> dict:
    """Undo the caller's snooze or dismissal of a hint: it shows again."""
    caller, (lead,) = authorize(deps, claims, ("lead", lead_id))
    require_view(deps, caller, lead_id, lead)
    cleared = deps.store.widget.clear_feedback(caller.account.id, caller.user_id, lead_id, code)
    return {"lead_id": lead_id, "code": code, "cleared": cleared}


# --- "my deals that need attention"
def attention(deps: Deps, claims, limit: int = 20, scope: str = "mine", user_id: Optional[int] = None) -> dict:
    """The caller's (scope=mine) or visible (scope=visible) open deals with hints: most severe, then priciest;
    `user_id` keeps one manager's deals among those (the manager report's click), within the caller's rights."""
    caller, (index,) = authorize(deps, claims, ("open_index",))
    if caller.leads_view == "D":
        raise errors.Forbidden("your amoCRM rights do not let you view deals")
    index = index if index is not None else open_index(deps, caller.account.id)
    groups = _groups(deps, caller, scope)
    ids = [int(k) for k, (owner, group) in index.items()
           if (owner == caller.user_id if scope == "mine" else _may(caller, owner, group, groups))
           and (user_id is None or owner == user_id)]
    feedback = deps.store.widget.user_feedback(caller.account.id, caller.user_id)
    names = {u.id: u.name for u in deps.store.get_users(caller.account.id).values()} if scope == "visible" else {}
    items = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        docs, leads = deps.store.widget.cards_and_leads(caller.account.id, chunk)
        for lead_id, doc, lead in zip(chunk, docs, leads):
            item = _item(caller, scope, lead_id, doc, lead, feedback, groups)
            if item:
                items.append({**item, "responsible_name": names[lead.responsible_user_id]}
                             if lead.responsible_user_id in names else item)
    ranked = heapq.nsmallest(limit, items, key=lambda i: (i["top_hint"]["code"] != URGENT, -severity_rank(i),
                                                          -(i["price"] or 0), i["lead_id"]))
    as_of = max((i.pop("_as_of") or 0 for i in items), default=None) or None
    return {"scope": scope, "total": len(items), "as_of": as_of, "items": ranked}


def open_index(deps: Deps, account_id: int) -> dict:
    """{lead_id: [responsible, group]} of open deals, cached for a couple of minutes."""
    index = {str(lead.id): [lead.responsible_user_id, lead.group_id]
             for lead in deps.store.all_leads(account_id) if lead.is_open}
    deps.store.widget.save_open_index(account_id, index)
    return index


def _groups(deps: Deps, caller: Caller, scope: str) -> dict:
    """user -> group, needed only to place deals without a group for G rights."""
    if scope == "mine" or caller.leads_view != "G":
        return {}
    return {u.id: u.group_id for u in deps.store.get_users(caller.account.id).values()}


def _may(caller: Caller, owner: int, group: int, groups: dict) -> bool:
    return caller.may_view(Lead(0, 0, 0, owner, group_id=group), groups.get(owner))


def _item(caller: Caller, scope: str, lead_id: int, doc, lead, feedback: dict, groups: dict) -> Optional[dict]:
    """One deal of the list, re-checked on the fresh lead; None when it has no visible hint."""
    if doc is None or lead is None or not lead.is_open:
        return None
    if scope == "mine" and lead.responsible_user_id != caller.user_id:
        return None
    if not caller.may_view(lead, groups.get(lead.responsible_user_id)):  # stage rights hide even one's own
        return None
    _, hints = visible(doc, lead, lead_id, feedback, caller.now)
    if not hints:
        return None
    top = by_severity(hints)[0]
    return {"lead_id": lead_id, "name": lead.name, "price": lead.price, "status_id": lead.status_id,
            "pipeline_id": lead.pipeline_id, "responsible_user_id": lead.responsible_user_id,
            "severity": top["severity"], "hints_count": len(hints),
            "top_hint": {k: top.get(k) for k in ("code", "severity", "text", "action")},
            "link": f"/leads/detail/{lead_id}", "_as_of": doc.get("as_of")}
