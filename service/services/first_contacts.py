"""First contact use cases: touches recorded from webhooks and API events, the card hint with its timed re-check
(no webhook needed when the limit passes), and the panel's speed-to-lead section."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Optional

from service.amocrm import events as ev
from service.deps import Deps
from service.services import queueing
from service.insights import first_contact as fc
from service.insights.speed_to_lead import Row, facts_of, speed_of_facts
from service.insights.workhours import DEFAULT, WorkingHours, working_hours
from service.model import Hint, Lead, LeadEvent, MessageEvent, NoteEvent

DEFAULT_MINUTES = 15.0
ROBOT_AUTHORS = {"bot", "system", "robot"}
# Webhook note types (names, and the numeric codes older senders use) that are a touch, and of which kind.
# E-mail note names are unverified against a live account (FACTS has no sample): both readings are accepted.
NOTE_KINDS = {"call_out": "call", "11": "call", "common": "note", "4": "note", "sms_out": "message",
              "103": "message", "amomail_message": "email", "mail_message": "email"}
# API v4 event types read in sync and reconcile (FACTS §5) and the touch each one is.
EVENT_KINDS = {"outgoing_call": "call", "outgoing_chat_message": "message", "outgoing_sms": "message",
               "common_note_added": "note", "lead_status_changed": "move"}
RECHECK_SLOT = 10  # seconds: re-checks due within one slot are one job per account


def store(deps: Deps):
    """The store's first-contact part."""
    return deps.store.first_contact


def limits(doc: Optional[dict], tz: str) -> tuple[float, Optional[WorkingHours]]:
    """(first_contact_minutes, working hours) from the account's settings document."""
    doc = doc or {}
    return float(doc.get("first_contact_minutes", DEFAULT_MINUTES)), working_hours(
        doc.get("working_hours", DEFAULT), tz)


# --- recording touches
def _add(out: dict, lead_id: Optional[int], kind: str, user, at: int) -> None:
    if lead_id and at:
        key = fc.touch_key(kind, user)
        fields = out.setdefault(lead_id, {})
        fields[key] = min(at, fields.get(key, at))


def webhook_touches(events: Iterable, unsorted_stages: set) -> dict[int, dict]:
    """{lead: {"kind:user": at}} of the touches among webhook events (robots are recorded as user 0)."""
    out: dict = {}
    for e in events:
        if isinstance(e, LeadEvent) and e.action == "status" and e.modified_user_id is not None:
            if e.old_status_id not in unsorted_stages:  # accepting a request into a deal is sorting, not contact
                _add(out, e.id, "move", e.modified_user_id, e.updated_at)
        elif isinstance(e, NoteEvent) and e.entity == "leads" and e.note_type in NOTE_KINDS:
            _add(out, e.element_id, NOTE_KINDS[e.note_type], e.user_id, e.created_at)
        elif isinstance(e, MessageEvent) and e.outgoing and e.entity_type in ("lead", "leads"):
            _add(out, e.entity_id, "message", 0 if e.author_type in ROBOT_AUTHORS else fc.PERSON, e.created_at)
    return out


def request_docs(items: Iterable) -> dict[int, dict]:
    """{lead: {"at", "source"}} from incoming requests (IncomingLead) that became or made a lead."""
    return {i.lead_id: {"at": i.created_at, "source": i.source_name or i.category}
            for i in items if i.lead_id and i.created_at}


def record_webhook_events(deps: Deps, account_id: int, events: list) -> set[int]:
    """Store the touches and request origins webhook events carry; return leads whose card may change."""
    wanted = [e for e in events if isinstance(e, (LeadEvent, NoteEvent, MessageEvent))]
    if not wanted:
        return set()
    moves = any(isinstance(e, LeadEvent) and e.action == "status" and e.modified_user_id for e in wanted)
    unsorted = _unsorted_stages(deps, account_id) if moves else set()  # read only when a person moved a deal
    touches = webhook_touches(wanted, unsorted)
    store(deps).add_touches(account_id, touches)
    return set(touches)


def record_requests(deps: Deps, account_id: int, items: Iterable) -> None:
    """Remember the request each lead came from: its wait started when the request arrived."""
    store(deps).add_requests(account_id, request_docs(items))


def _unsorted_stages(deps: Deps, account_id: int) -> set:
    return {s.id for p in deps.store.get_pipelines(account_id) for s in p.stages if s.is_unsorted}


def api_touches(events: Iterable[dict], unsorted_stages: set) -> dict[int, dict]:
    """{lead: {"kind:user": at}} from API v4 events on leads (created_by 0 is a robot)."""
    out: dict = {}
    for e in events:
        kind = EVENT_KINDS.get(e.get("type"))
        if kind is None or e.get("created_by") is None:
            continue
        if kind == "move" and _old_status(e) in unsorted_stages:
            continue
        _add(out, e["entity_id"], kind, e["created_by"], e["created_at"])
    return out


def _old_status(event: dict) -> Optional[int]:
    for value in event.get("value_before") or ():
        if isinstance(value, dict) and isinstance(value.get("lead_status"), dict):
            return value["lead_status"].get("id")
    return None


def record_api_events(deps_store, account_id: int, events: list) -> int:
    """Store the touches among a page of API events (sync and reconcile)."""
    unsorted = {s.id for p in deps_store.get_pipelines(account_id) for s in p.stages if s.is_unsorted}
    touches = api_touches(events, unsorted)
    deps_store.first_contact.add_touches(account_id, touches)
    return len(touches)


# --- the card hint and its timed re-check
def waiting_of(lead: Lead, snap, touches: dict, request: Optional[dict], limit: float,
               hours: Optional[WorkingHours], limit_is_default: bool = True) -> fc.Waiting:
    """One lead's first-contact facts from the mirror."""
    request = request or {}
    started = fc.wait_started_at(lead, request.get("at"))
    touch = fc.first_touch(lead, touches, snap.tasks_by_lead.get(lead.id, ()), snap.calls_by_lead.get(lead.id, ()),
                           since=started)
    return fc.Waiting(started, touch, hours, limit, request.get("source") or lead.source, limit_is_default)


def card_hints(deps: Deps, account_id: int, snap, now: int, settings_doc: Optional[dict] = None,
               facts: Optional[tuple] = None) -> dict:
    """{lead: [first_contact_overdue]} for the snapshot's open leads; schedules each lead's next re-check. `facts`:
    card_facts already read for these leads (or more)."""
    ids = [lead.id for lead in snap.leads.values() if lead.is_open]
    touches, requests, doc, raw_model = facts or store(deps).card_facts(account_id, ids)
    doc = settings_doc if settings_doc is not None else doc
    limit, hours = limits(doc, snap.account.timezone)
    model = decode_model(raw_model)
    out, due, done = {}, {}, []
    for lead_id in ids:
        lead = snap.leads[lead_id]
        waiting = waiting_of(lead, snap, touches.get(lead_id, {}), requests.get(lead_id), limit, hours,
                             "first_contact_minutes" not in (doc or {}))
        hint = fc.first_contact_overdue(lead, waiting, fc.stake_of(lead, waiting.source, model), now)
        if hint:
            out[lead_id] = [hint]
        check = fc.next_check(waiting, now)
        if check:
            due[lead_id] = check
        elif fc.is_new(waiting.started_at, now):  # touched or escalated: its pending re-check is not needed
            done.append(lead_id)
    schedule_checks(deps, account_id, due)
    store(deps).unschedule(account_id, done)
    return out


def with_first_contact(extra: dict, lead_id: int, hints: list[Hint]) -> list[Hint]:
    """The card's hints with the first-contact hint first: nothing else matters while the client waits."""
    return extra.get(lead_id, []) + hints


def schedule_checks(deps: Deps, account_id: int, due: dict) -> None:
    """Look at each lead's card again when its limit passes: one RQ job per account and slot, whatever the count."""
    if not due:
        return
    store(deps).schedule(account_id, due)
    for slot in {-(-at // RECHECK_SLOT) * RECHECK_SLOT for at in due.values()}:
        queueing.enqueue(deps, "recheck_first_contacts", account_id, slot,
                         at=datetime.fromtimestamp(slot, timezone.utc), job_id=f"fc-{account_id}-{slot}")


def take_due(deps: Deps, account_id: int, until: Optional[float] = None) -> list[int]:
    """The leads whose first-contact limit passed by `until` (now at the latest), taken off the schedule."""
    now = deps.clock()
    return store(deps).take_due(account_id, now if until is None else min(now, until))


# --- account-level: the stake model and the panel section
def encode_model(model: fc.StakeModel) -> dict:
    return {"avg_won": model.avg_won, "won_deals": model.won_deals, "account": list(model.account),
            "sources": {s: list(c) for s, c in (model.sources or {}).items()}}


def decode_model(doc: Optional[dict]) -> Optional[fc.StakeModel]:
    if not doc:
        return None
    return fc.StakeModel(doc["avg_won"], doc["won_deals"], tuple(doc["account"]),
                         {s: tuple(c) for s, c in doc["sources"].items()})


def panel_rows(deps: Deps, account_id: int, snap, requests: Optional[dict] = None) -> list[Row]:
    """Every lead's wait start, first touch and source (`requests`: all_requests already read)."""
    touches = store(deps).all_touches(account_id)
    requests = store(deps).all_requests(account_id) if requests is None else requests
    rows = []
    for lead in snap.leads.values():
        if lead.is_deleted:
            continue
        waiting = waiting_of(lead, snap, touches.get(lead.id, {}), requests.get(lead.id), 0, None)
        rows.append(Row(lead, waiting.started_at, waiting.touch, waiting.source))
    return rows


def refresh_account(deps: Deps, account_id: int, snap, now: int, period: tuple[int, int],
                    window_days: int = 180) -> dict:
    """After a full recompute: the stake model, each deal's facts (for filtered panels) and the default section."""
    requests = store(deps).all_requests(account_id)
    model = fc.stake_model(snap.leads.values(), {k: v.get("source", "") for k, v in requests.items()},
                           now - window_days * 86400)
    deps.store.save_insight(account_id, "first_contact_model", encode_model(model))
    limit, hours = limits(deps.store.read_insight(account_id, "settings"), snap.account.timezone)
    facts = facts_of(panel_rows(deps, account_id, snap, requests), hours)
    deps.store.save_insight(account_id, "speed_facts", [list(vars(f).values()) for f in facts])
    section = speed_of_facts(facts, hours, limit, now, *period, names={u.id: u.name for u in snap.users})
    deps.store.save_insight(account_id, "speed_to_lead", section)
    return section
