"""Fold one page of API objects into the mirror. Every write is idempotent: replaying a page changes nothing."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Iterable, Optional

from service.services import first_contacts
from service.amocrm import schemas
from service.mirror import CLOCK_SKEW, date_changes, revives, supersedes
from service.model import Lead, StageChange

log = logging.getLogger(__name__)
PIPELINES, USERS, LEADS, TASKS = (schemas.PipelineSchema(), schemas.UserSchema(), schemas.LeadSchema(),
                                  schemas.TaskSchema())
EVENTS, CALLS, UNSORTED = schemas.EventSchema(), schemas.CallNoteSchema(), schemas.UnsortedSchema()
DATE_FIELDS = schemas.DateFieldSchema()


def _load(schema, items: list, what: str, account_id: int) -> list:
    """Load a page; malformed items are logged and skipped, never fatal."""
    loaded, problems = schemas.load_each(schema, items)
    if problems:
        log.warning("account %s: %d malformed %s skipped, e.g. %s", account_id, len(problems), what, problems[0])
    return loaded


def apply_pipelines(ctx, items: list) -> int:
    """Replace the pipelines and their stages."""
    pipelines = _load(PIPELINES, items, "pipelines", ctx.account_id)
    ctx.store.save_pipelines(ctx.account_id, pipelines)
    return len(pipelines)


def apply_users(ctx, items: list) -> int:
    """Write users with their rights and groups."""
    users = _load(USERS, items, "users", ctx.account_id)
    ctx.store.save_users(ctx.account_id, users)
    return len(users)


def apply_loss_reasons(ctx, items: list) -> int:
    """Write loss reasons as id -> name."""
    reasons = {int(r["id"]): str(r.get("name") or "") for r in items if isinstance(r, dict) and "id" in r}
    ctx.store.save_records(ctx.account_id, "loss_reasons", reasons)
    return len(reasons)


def apply_date_fields(ctx, items: list) -> int:
    """Write the lead fields of date types by id: the choices for the planned close date."""
    date_fields = _load(DATE_FIELDS, items, "lead custom fields", ctx.account_id)
    ctx.store.save_records(ctx.account_id, "date_fields", {f.id: f for f in date_fields})
    return len(date_fields)


def apply_events(ctx, items: list) -> int:
    """Stage moves of leads into their per-lead timelines (sets: replays add nothing). Hand-overs are validated but
    not stored: no insight, card or sync reads them (issue 22: memory per deal); a reader would start storing them."""
    events = [e for e in _load(EVENTS, items, "events", ctx.account_id) if e["entity_type"] == "lead"]
    moves = [c for c in map(schemas.stage_change, _typed(events, "lead_status_changed")) if c]
    handovers = [c for c in map(schemas.responsible_change, _typed(events, "entity_responsible_changed")) if c]
    ctx.store.add_timeline(ctx.account_id, "history", moves)
    first_contacts.record_api_events(ctx.store, ctx.account_id, events)
    return len(moves) + len(handovers)


def _typed(events: list, kind: str) -> list:
    return [e for e in events if e["type"] == kind]


def apply_leads(ctx, items: list) -> int:
    """Write open leads and those closed inside the window, with the time they entered their stage."""
    leads = [lead for lead in _load(LEADS, items, "leads", ctx.account_id) if in_window(lead, ctx.since)]
    history = ctx.store.timelines(ctx.account_id, "history", [lead.id for lead in leads])
    leads = [replace(lead, stage_entered_at=entered_at(lead, history.get(lead.id, ()))) for lead in leads]
    held = ctx.store.get_leads(ctx.account_id, [lead.id for lead in leads])
    leads = [lead for lead in leads if not _still_deleted(held.get(lead.id), lead, ctx)]
    ctx.store.add_timeline(ctx.account_id, "close_dates", synced_date_changes(held, leads))
    ctx.store.save_leads(ctx.account_id, _superseding(ctx, leads))
    return len(leads)


def _superseding(ctx, leads: list[Lead]) -> list[Lead]:
    """The listed leads that replace what the mirror holds (a webhook may have written a newer one meanwhile: the
    mirror is read again just before the write)."""
    held = ctx.store.get_leads(ctx.account_id, [lead.id for lead in leads])
    return [lead for lead in leads if supersedes(held.get(lead.id), lead)]


def _still_deleted(held: Optional[Lead], listed: Lead, ctx) -> bool:
    """A lead we hold as deleted that a page lists alive: alive only when the page is provably newer than the
    delete (read after we stored it, or changed after it); a page read earlier and applied late is not."""
    changed_at = max(listed.updated_at - CLOCK_SKEW, getattr(ctx, "started_at", 0))  # its clock vs ours
    return bool(held and held.is_deleted and not revives(held, changed_at))


def apply_deleted_leads(ctx, items: list) -> int:
    """Leads in amoCRM's trash: the ones we hold are deleted in the mirror too, unless we hold a change made after the
    page was read (a restore). The trash list may carry only a few fields: an id is enough."""
    listed = {int(i["id"]): i for i in items if isinstance(i, dict) and isinstance(i.get("id"), int)}
    held = ctx.store.get_leads(ctx.account_id, listed)
    started = getattr(ctx, "started_at", 0)
    deleted = []
    for lead_id, item in listed.items():
        at = item.get("updated_at") if isinstance(item.get("updated_at"), int) else 0
        lead = held.get(lead_id)
        if lead is None or lead.is_deleted or lead.updated_at > max(at, started):
            continue  # one we never held stays out of the mirror (insights count what the mirror holds)
        deleted.append(replace(lead, is_deleted=True, deleted_at=at or started))
    ctx.store.save_leads(ctx.account_id, deleted)
    return len(listed)



def synced_date_changes(held: dict, leads: list[Lead]) -> list:
    """Date fields a page reports otherwise than an older mirror (a webhook was lost), changed at updated_at."""
    # updated_at is the latest time they can have changed; a mirror newer than the page keeps its own dates
    return [change for lead in leads if lead.id in held and supersedes(held[lead.id], lead)
            for change in date_changes(held[lead.id], lead, lead.updated_at)]


def in_window(lead: Lead, since: int) -> bool:
    """Open deals always; closed ones when they closed inside the sync window."""
    return lead.is_open or (lead.closed_at or lead.updated_at) >= since


def entered_at(lead: Lead, history: Iterable[StageChange]) -> int:
    """When the lead entered its current stage: the latest move into it, else its creation."""
    moves = [c.at for c in history if (c.status_id, c.pipeline_id) == (lead.status_id, lead.pipeline_id)]
    if moves:
        return max(moves)
    if lead.closed_at and not lead.is_open:
        return lead.closed_at
    return lead.created_at


def apply_tasks(ctx, items: list) -> int:
    """Write lead tasks unless the mirror holds a newer version (a webhook got there first)."""
    tasks = _load(TASKS, items, "tasks", ctx.account_id)
    held = ctx.store.get_tasks(ctx.account_id, [t.id for t in tasks])
    fresh = [task for task in tasks if supersedes(held.get(task.id), task)]
    ctx.store.save_tasks(ctx.account_id, fresh)
    return len(tasks)


def apply_calls(ctx, items: list) -> int:
    """Call notes into the per-lead call timelines; the latest note time marks activity."""
    calls = _load(CALLS, items, "notes", ctx.account_id)
    ctx.store.add_timeline(ctx.account_id, "calls", calls)
    latest: dict[int, int] = {}
    for call in calls:
        latest[call.lead_id] = max(latest.get(call.lead_id, 0), call.at)
    ctx.store.touch_activity(ctx.account_id, latest)
    return len(calls)


def apply_unsorted(ctx, items: list) -> int:
    """Incoming requests; what a webhook already learnt (accepted or declined) is kept."""
    incoming = _load(UNSORTED, items, "unsorted", ctx.account_id)
    held = ctx.store.get_records(ctx.account_id, "incoming", [i.id for i in incoming])
    merged = {i.id: _keep_outcome(i, held.get(i.id)) for i in incoming}
    ctx.store.save_records(ctx.account_id, "incoming", merged)
    first_contacts.record_requests(ctx, ctx.account_id, merged.values())
    return len(merged)


def _keep_outcome(item, held: Optional[dict]):
    """The API's record with the outcome a webhook reported."""
    if held and held.get("accepted") is not None and item.accepted is None:
        return replace(item, accepted=held["accepted"])
    return item


def oldest(items: list, field: str) -> Optional[int]:
    """The smallest `field` among raw items (a walk newest-first stops below its watermark)."""
    values = [int(i[field]) for i in items if isinstance(i, dict) and isinstance(i.get(field), int)]
    return min(values) if values else None
