"""Pure rules that fold webhook events into the mirrored leads: idempotent and order-safe."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from service.amocrm.webhooks import LeadEvent
from service.model import Lead


def apply_lead_event(current: Optional[Lead], event: LeadEvent) -> Optional[Lead]:
    """The lead after `event`; an event older than what we hold changes nothing."""
    if current and event.updated_at and event.updated_at < current.updated_at:
        return current
    if event.action == "delete":
        return replace(current, is_deleted=True) if current else None
    if current is None:
        return _new_lead(event)
    moved = (event.status_id, event.pipeline_id) != (current.status_id, current.pipeline_id)
    return replace(
        current,
        status_id=event.status_id,
        pipeline_id=event.pipeline_id,
        responsible_user_id=_keep(event.responsible_user_id, current.responsible_user_id),
        price=_keep(event.price, current.price),
        name=_keep(event.name, current.name),
        updated_at=max(event.updated_at, current.updated_at),
        stage_entered_at=event.updated_at if moved else current.stage_entered_at,
        is_deleted=False,
    )


def _new_lead(event: LeadEvent) -> Lead:
    """A lead first seen through a webhook; it entered its stage when the event says."""
    entered = event.created_at if event.action == "add" else event.updated_at
    return Lead(
        id=event.id,
        pipeline_id=event.pipeline_id,
        status_id=event.status_id,
        responsible_user_id=event.responsible_user_id or 0,
        price=event.price or 0,
        name=event.name or "",
        created_at=event.created_at,
        updated_at=event.updated_at,
        stage_entered_at=entered or event.updated_at,
    )


def _keep(new, old):
    """The event's value when it carries one, else what we had."""
    return old if new is None else new
