"""Pure rules that fold webhook events into the mirrored leads: idempotent and order-safe."""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Optional

from service.model import LeadEvent, NoteEvent, TaskEvent, UnsortedEvent
from service.model import CLOSED_STATUSES, LOST, Call, CloseDateChange, IncomingLead, Lead, StageChange, Task


def supersedes(held, incoming) -> bool:
    """Whether `incoming` (a webhook event, or a lead or task an API page lists) replaces `held` in the mirror.

    The one rule of both mirror writers: the newer updated_at wins; a tie applies (a replay changes nothing, and
    a move within the same second is settled by _overtaken_in_the_same_second); a change without a time (a short
    body) applies, as nothing orders it; nothing held, anything applies.
    """
    return held is None or not incoming.updated_at or incoming.updated_at >= held.updated_at


def apply_lead_event(current: Optional[Lead], event: LeadEvent,
                     groups: Optional[Mapping[int, int]] = None) -> Optional[Lead]:
    """The lead after `event`; an event older than what we hold changes nothing. `groups` maps users to their group:
    a lead handed over joins its new responsible's group (webhooks carry no group_id).

    A short body (no time, no fields: real/wh10-wh12) changes only what it carries: the stage, placed at its
    arrival; price, owner, name and date fields stay as held, and nothing becomes 0 or 1970.
    """
    if not supersedes(current, event):
        return current
    if current and _overtaken_in_the_same_second(current, event):
        return current
    if event.action == "delete":
        return _deleted(current, event)
    if current is None:
        lead = _new_lead(event)
        if lead is None:
            return None
        after = replace(lead, group_id=(groups or {}).get(lead.responsible_user_id, 0))
    else:
        after = _folded(current, event, groups)
    restored = event.action == "restore"
    if current and current.is_deleted and not revives(current, (event.updated_at or 0) - CLOCK_SKEW, restored):
        return replace(after, is_deleted=True, deleted_at=current.deleted_at)  # a held-back change stays dead
    return after


def _overtaken_in_the_same_second(current: Lead, event: LeadEvent) -> bool:
    """A status move stamped with the same second as what we hold, from a stage the lead is not in: a move that
    the one we hold overtook (amoCRM's robots move a deal twice within a second), delivered late or retried."""
    return (event.action == "status" and event.updated_at == current.updated_at and event.old_status_id is not None
            and (event.old_pipeline_id or event.pipeline_id, event.old_status_id)
            != (current.pipeline_id, current.status_id)
            and (event.pipeline_id, event.status_id) != (current.pipeline_id, current.status_id))


# amoCRM stamps changes with its clock, we stamp a delete with ours: a change stamped less than this after our
# delete time is not taken as proof it came later (a lost restore plus such a change waits for the reconcile).
CLOCK_SKEW = 300


def revives(deleted: Lead, changed_at: int, restored: bool = False) -> bool:
    """Whether a change brings a deleted lead back: a restore, or a change made after we learnt of the delete
    (amoCRM changes no deleted lead: its restore hook was lost). A change stamped earlier was held back.
    `changed_at` is on our clock; see CLOCK_SKEW for amoCRM's."""
    return restored or changed_at > deleted.deleted_at


def _deleted(current: Optional[Lead], event: LeadEvent) -> Lead:
    """The lead deleted, with when we learnt it; an unknown lead leaves a tombstone so that a held-back change
    does not create it."""
    at = max(event.received_at or 0, current.deleted_at if current else 0)
    if current is None:
        return Lead(id=event.id, pipeline_id=event.pipeline_id, status_id=event.status_id, responsible_user_id=0,
                    updated_at=event.updated_at or 0, is_deleted=True, deleted_at=at)
    return replace(current, is_deleted=True, deleted_at=at)


def _folded(current: Lead, event: LeadEvent, groups: Optional[Mapping[int, int]]) -> Lead:
    """A held lead with what the event carries; a move into won or lost closes it at the event's time."""
    moved = (event.status_id, event.pipeline_id) != (current.status_id, current.pipeline_id)
    responsible = _keep(event.responsible_user_id, current.responsible_user_id)
    closed_at, loss_reason = current.closed_at, current.loss_reason_id
    if moved:
        closed_at = event.at if event.status_id in CLOSED_STATUSES else None
        loss_reason = None
    if event.status_id == LOST:
        loss_reason = _keep(event.loss_reason_id or None, loss_reason)  # 0: none given
    return replace(
        current,
        status_id=event.status_id,
        pipeline_id=event.pipeline_id,
        responsible_user_id=responsible,
        group_id=_group_after(current, responsible, groups),
        price=_keep(event.price, current.price),
        name=_keep(event.name, current.name),
        updated_at=max(event.updated_at or 0, current.updated_at),
        stage_entered_at=(event.at or current.updated_at) if moved else current.stage_entered_at,
        closed_at=closed_at,
        loss_reason_id=loss_reason,
        is_deleted=False,
        deleted_at=0,
        # A full hook carries all the lead's filled fields (a date left out was cleared); a short one, none.
        date_fields=current.date_fields if event.date_fields is None else event.date_fields,
    )


def _new_lead(event: LeadEvent) -> Optional[Lead]:
    """A lead first seen through a webhook; it entered its stage when the event says.

    A short `add` (a robot's hook at creation) is placed at its arrival. A short body of another kind about a
    lead we do not hold says too little (no owner, price, creation time) to show a card: the reconcile reads it.
    """
    created = event.created_at if event.created_at is not None else (
        event.received_at if event.action == "add" else None)
    if created is None and event.updated_at is None:
        return None
    entered = created if event.action == "add" else event.updated_at
    return Lead(
        id=event.id,
        pipeline_id=event.pipeline_id,
        status_id=event.status_id,
        responsible_user_id=event.responsible_user_id or 0,
        price=event.price or 0,
        name=event.name or "",
        created_at=created or 0,
        updated_at=event.updated_at or 0,  # 0: no order known yet, so any full hook about it wins
        stage_entered_at=entered or event.updated_at or 0,
        date_fields=event.date_fields or (),
        closed_at=event.at if event.status_id in CLOSED_STATUSES else None,
        loss_reason_id=(event.loss_reason_id or None) if event.status_id == LOST else None,
    )


def _group_after(current: Lead, responsible: int, groups: Optional[Mapping[int, int]]) -> int:
    """The lead's group once `responsible` holds it: unchanged without a hand-over; after one, the new responsible's
    group, or 0 (unknown: rights then look up the responsible's group) when the users mirror does not know them."""
    if responsible == current.responsible_user_id:
        return current.group_id
    return (groups or {}).get(responsible, 0)


def _keep(new, old):
    """The event's value when it carries one, else what we had."""
    return old if new is None else new


def stage_change(before: Optional[Lead], after: Optional[Lead], event: LeadEvent) -> Optional[StageChange]:
    """The stage move a status event reports, stamped with amoCRM's own time of the change.

    The event's own old → new is used, not a diff with what we hold: a retried or overtaken status event still
    records its move, and other events (update, responsible) never invent a move from a stale mirror.
    """
    if event.action != "status":
        return None
    if event.old_status_id is not None:
        old_pipeline, old_status = event.old_pipeline_id or event.pipeline_id, event.old_status_id
    elif before is not None and after != before:  # no old status sent: what we held, if this event moved it
        old_pipeline, old_status = before.pipeline_id, before.status_id
    else:
        return None
    if (old_pipeline, old_status) == (event.pipeline_id, event.status_id):
        return None
    if event.at is None:
        return None  # neither amoCRM's time nor ours: the reconcile reads the move from stage history
    return StageChange(lead_id=event.id, at=event.at, pipeline_id=event.pipeline_id,
                       status_id=event.status_id, old_pipeline_id=old_pipeline, old_status_id=old_status)


def date_changes(before: Optional[Lead], after: Optional[Lead], at: int) -> list[CloseDateChange]:
    """The date fields `after` holds differently from `before`, as changes made at `at`.

    Callers pass only a newer state (an older event or page never replaces the mirror), so an overtaken change is
    folded into the newer one instead of being recorded backwards.
    """
    if before is None or after is None:
        return []
    old, new = dict(before.date_fields), dict(after.date_fields)
    return [CloseDateChange(lead_id=after.id, at=at, old=old.get(field), new=new.get(field), field_id=field)
            for field in sorted(old.keys() | new.keys()) if old.get(field) != new.get(field)]


def apply_task_event(current: Optional[Task], event: TaskEvent) -> Optional[Task]:
    """The task after `event` (None once deleted); older events change nothing."""
    if not supersedes(current, event):
        return current
    if current and _overtaken_in_the_same_second(current, event):
        return current
    if event.action == "delete":
        return None
    lead_id = event.lead_id if event.lead_id is not None else (current.lead_id if current else None)
    if lead_id is None:
        return None  # a task on a contact or company: not a deal's task
    completed_at = (current.completed_at if current and current.is_completed else event.updated_at) \
        if event.is_completed else None
    return Task(id=event.id, lead_id=lead_id,
                responsible_user_id=_keep(event.responsible_user_id, current.responsible_user_id if current else 0),
                complete_till=_keep(event.complete_till, current.complete_till if current else 0),
                is_completed=event.is_completed, created_at=event.created_at or (current.created_at if current else 0),
                updated_at=event.updated_at, completed_at=completed_at, task_type_id=event.task_type_id,
                text=event.text or (current.text if current else ""))


def call_of(note: NoteEvent) -> Optional[Call]:
    """A call on a lead, from its note."""
    if not note.is_call or note.entity != "leads":
        return None
    return Call(lead_id=note.element_id, at=note.created_at, duration=note.duration,
                direction="in" if note.note_type == "call_in" else "out", user_id=note.user_id)


def incoming_of(event: UnsortedEvent, current: Optional[IncomingLead]) -> IncomingLead:
    """An incoming request as it stands after `event`."""
    accepted = {"accept": True, "decline": False}.get(event.outcome, current.accepted if current else None)
    lead_id = event.lead_ids[0] if event.lead_ids else (current.lead_id if current else None)
    return IncomingLead(id=event.uid, created_at=event.created_at or (current.created_at if current else 0),
                        category=event.category or (current.category if current else ""),
                        source_name=event.source or (current.source_name if current else ""),
                        lead_id=lead_id, accepted=accepted)
