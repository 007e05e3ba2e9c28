"""Compact in-memory records of a sandbox account (rendered to API JSON only on demand)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

WON = 142
LOST = 143

# Event type codes: events live as tuples, so the type is a small int, not a string.
EVENT_TYPES = (
    "lead_added",
    "lead_status_changed",
    "entity_responsible_changed",
    "lead_deleted",
    "task_added",
    "task_completed",
    "incoming_call",
    "outgoing_call",
    "contact_added",
    "custom_field_value_changed",  # rendered as custom_field_{ID}_value_changed
    "sale_field_changed",
)
EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
ENTITY_TYPES = ("lead", "contact", "task")
ENTITY_CODE = {name: i for i, name in enumerate(ENTITY_TYPES)}

# Event tuple layout: (created_at, seq, type, entity_type, entity_id, created_by, a, b, c, d).
# a..d carry the type's values, e.g. status before/after with pipelines, user before/after.
EV_AT, EV_SEQ, EV_TYPE, EV_ETYPE, EV_EID, EV_BY, EV_A, EV_B, EV_C, EV_D = range(10)


@dataclass(slots=True)
class Status:
    """A pipeline stage; type 1 is the unsorted stage."""

    id: int
    name: str
    sort: int
    pipeline_id: int
    color: str = "#99ccff"
    type: int = 0
    is_editable: bool = True


@dataclass(slots=True)
class Pipeline:
    """A pipeline with its statuses in sort order (142/143 included)."""

    id: int
    name: str
    sort: int
    is_main: bool
    statuses: list = field(default_factory=list)
    is_unsorted_on: bool = True
    is_archive: bool = False


@dataclass(slots=True)
class User:
    """An account user with the rights Deal Pulse reads."""

    id: int
    name: str
    email: str
    lang: str = "ru"
    is_admin: bool = False
    leads_view: str = "A"
    group_id: Optional[int] = None
    role_id: Optional[int] = None
    is_active: bool = True
    hidden_stages: tuple = ()  # ((pipeline_id, status_id), ...) whose deals this user may not view (status_rights D)


@dataclass(slots=True)
class Lead:
    """A deal; contact_ids[0] is the main contact."""

    id: int
    name: str
    price: int
    responsible_user_id: int
    group_id: int
    status_id: int
    pipeline_id: int
    created_by: int
    updated_by: int
    created_at: int
    updated_at: int
    closed_at: Optional[int] = None
    loss_reason_id: Optional[int] = None
    closest_task_at: Optional[int] = None
    is_deleted: bool = False
    contact_ids: tuple = ()
    close_date: Optional[int] = None  # value of the "planned close date" custom field
    source_id: Optional[int] = None
    tags: tuple = ()


@dataclass(slots=True)
class Task:
    """A task bound to a lead."""

    id: int
    entity_id: int
    responsible_user_id: int
    group_id: int
    task_type_id: int
    text: str
    complete_till: int
    created_by: int
    updated_by: int
    created_at: int
    updated_at: int
    is_completed: bool = False
    result_text: Optional[str] = None
    entity_type: str = "leads"
    duration: int = 0


@dataclass(slots=True)
class Note:
    """A call note (call_in / call_out) on a lead."""

    id: int
    entity_id: int
    note_type: str
    created_by: int
    created_at: int
    responsible_user_id: int
    group_id: int
    duration: int
    phone: str
    uniq: str
    source: str = "Sandbox PBX"
    link: Optional[str] = None


@dataclass(slots=True)
class Contact:
    """A contact with one phone."""

    id: int
    name: str
    responsible_user_id: int
    group_id: int
    created_by: int
    created_at: int
    updated_at: int
    phone: str = ""
    lead_ids: list = field(default_factory=list)
    is_deleted: bool = False


@dataclass(slots=True)
class Unsorted:
    """An incoming request (forms, sip, chats, mail) and the lead it created."""

    uid: str
    category: str
    source_name: str
    pipeline_id: int
    created_at: int
    lead_id: int
    contact_id: int
    phone: str = ""
    duration: int = 0


@dataclass(slots=True)
class LossReason:
    """A reason a lead was lost."""

    id: int
    name: str
    sort: int
    created_at: int
    updated_at: int


@dataclass(slots=True)
class Hook:
    """A webhook subscription."""

    id: int
    destination: str
    settings: list
    created_at: int
    updated_at: int
    created_by: int
    sort: int
    disabled: bool = False
