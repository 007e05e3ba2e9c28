"""Frozen dataclasses shared by every layer: the vocabulary of Deal Pulse."""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Optional

WON = 142
LOST = 143
CLOSED_STATUSES = frozenset({WON, LOST})
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Account:
    """An installed amoCRM account."""

    id: int
    subdomain: str
    base_url: str = ""  # scheme and host, e.g. "https://example.amocrm.ru"; the API base
    timezone: str = "Europe/Moscow"
    is_api_filter_enabled: bool = False  # amoCRM's paid filter add-on: incremental sync by filter, else a walk
    hook_generation: str = ""  # new at every install: rotates the webhook URL's secret (services.hook_secret)

    @property
    def origin(self) -> str:
        """The browser origin the widget runs on (CORS) and the `iss` of its tokens."""
        return (self.base_url or f"https://{self.subdomain}.amocrm.ru").rstrip("/")


@dataclass(frozen=True)
class Stage:
    """One status of a pipeline, in funnel order (`sort`)."""

    id: int
    pipeline_id: int
    name: str
    sort: int = 0
    is_unsorted: bool = False  # amoCRM's "Неразобранное" (status type 1): requests not yet accepted as deals


@dataclass(frozen=True)
class Pipeline:
    """A sales pipeline with its stages in funnel order."""

    id: int
    name: str
    stages: tuple[Stage, ...] = ()


@dataclass(frozen=True)
class User:
    """An amoCRM user with the rights that decide what they may see."""

    id: int
    name: str
    is_admin: bool = False
    leads_view: str = "A"  # A all, G group, M mine, D denied
    group_id: int = 0
    stage_views: tuple = ()  # ((pipeline_id, status_id, view), ...): rights.status_rights, overriding leads_view

    def __post_init__(self) -> None:
        if self.stage_views and isinstance(self.stage_views[0], list):  # decoded from JSON
            object.__setattr__(self, "stage_views", tuple(map(tuple, self.stage_views)))


@dataclass(frozen=True)
class Lead:
    """A deal as mirrored from amoCRM; times are unix seconds."""

    id: int
    pipeline_id: int
    status_id: int
    responsible_user_id: int
    price: float = 0  # an int unless the account keeps minor units
    name: str = ""
    created_at: int = 0
    updated_at: int = 0
    closed_at: Optional[int] = None
    stage_entered_at: int = 0  # when the lead entered its current status
    loss_reason_id: Optional[int] = None
    group_id: int = 0
    source: str = ""
    is_deleted: bool = False
    date_fields: tuple = ()  # ((custom field id, unix seconds), ...) of its date fields, by field id
    deleted_at: int = 0  # a deleted lead: when we learnt it (a delete hook carries no time); 0 while it lives
    close_date: InitVar[Optional[int]] = None  # a key of mirrors written before date_fields: accepted, not kept

    def __post_init__(self, close_date) -> None:
        if isinstance(self.date_fields, list):  # decoded from JSON
            object.__setattr__(self, "date_fields", tuple(map(tuple, self.date_fields)))

    @property
    def is_open(self) -> bool:
        """True while the deal is neither won nor lost."""
        return self.status_id not in CLOSED_STATUSES and not self.is_deleted


@dataclass(frozen=True)
class StageChange:
    """A lead moved from one status to another at `at` (unix seconds)."""

    lead_id: int
    at: int
    pipeline_id: int
    status_id: int
    old_pipeline_id: Optional[int] = None
    old_status_id: Optional[int] = None


@dataclass(frozen=True)
class ResponsibleChange:
    """A lead was handed from `old_user_id` to `user_id` at `at` (unix seconds)."""

    lead_id: int
    at: int
    user_id: int
    old_user_id: Optional[int] = None


@dataclass(frozen=True)
class Task:
    """A task attached to a lead."""

    id: int
    lead_id: int
    responsible_user_id: int
    complete_till: int
    is_completed: bool = False
    created_at: int = 0
    updated_at: int = 0
    completed_at: Optional[int] = None
    task_type_id: int = 1
    text: str = ""


@dataclass(frozen=True)
class Call:
    """A phone call logged on a lead."""

    lead_id: int
    at: int
    duration: int
    direction: str  # "in" | "out"
    user_id: int = 0


@dataclass(frozen=True)
class Threshold:
    """The limit a value is compared with, and where that limit comes from."""

    value: float
    source: str  # human-readable, e.g. "P80 of 143 exits in the last 180 days"
    source_code: str = "default"  # machine-readable: stage | stage_current | pipeline | default | manual


@dataclass(frozen=True)
class Hint:
    """One insight about one deal, with its reason, in both languages."""

    code: str
    severity: str
    value: float
    unit: str
    threshold: Optional[Threshold]
    evidence: dict
    action: dict  # {"ru": ..., "en": ...}
    text: dict  # {"ru": ..., "en": ...}
    as_of: int
    lead_id: int = 0
    extra: dict = field(default_factory=dict)
    reasons: tuple = ()  # when one cause fired several rules: each rule's {code, severity, value, unit, threshold,
    # evidence, text}, the card's own first


@dataclass(frozen=True)
class DateField:
    """A lead custom field of the account whose values are dates: a candidate planned close date."""

    id: int
    name: str
    type: str  # date (a whole day) | date_time (a moment) | birthday


@dataclass(frozen=True)
class CloseDateChange:
    """A date field of the lead (the planned close date when it is the chosen one) changed at `at` (unix seconds)."""

    lead_id: int
    at: int
    old: Optional[int]
    new: Optional[int]
    field_id: int = 0  # the date custom field that changed


@dataclass(frozen=True)
class IncomingLead:
    """An incoming request (amoCRM "Неразобранное"); `lead_id` set once it was accepted as a deal."""

    id: str
    created_at: int
    category: str = ""  # sip | mail | forms | chats
    source_name: str = ""
    lead_id: Optional[int] = None
    accepted: Optional[bool] = None  # None = still waiting, True = became a deal, False = declined


@dataclass(frozen=True)
class LeadEvent:
    """One lead item of a webhook; times are unix seconds, None where the body does not carry them.

    Digital Pipeline "webhook" actions and some widgets send short bodies (only ids and stages: real/wh10-wh12):
    such an event has no `updated_at`, and `date_fields` is None (not carried), never () (all cleared).
    `received_at` is when we stored the delivery, set by the intake: what places a move the body gives no time for.
    """

    action: str
    id: int
    status_id: int
    pipeline_id: int
    updated_at: Optional[int] = None
    created_at: Optional[int] = None
    price: Optional[float] = None
    responsible_user_id: Optional[int] = None
    old_status_id: Optional[int] = None
    old_pipeline_id: Optional[int] = None
    old_responsible_user_id: Optional[int] = None
    modified_user_id: Optional[int] = None
    name: Optional[str] = None
    date_fields: Optional[tuple] = None  # ((field_id, unix seconds), ...) by field id; None: not carried
    loss_reason_id: Optional[int] = None
    received_at: Optional[int] = None

    @property
    def is_short(self) -> bool:
        """A body without the lead's time: what it does not carry is unknown."""
        return self.updated_at is None

    @property
    def at(self) -> Optional[int]:
        """When the change happened: amoCRM's time, else when we received it."""
        return self.updated_at if self.updated_at is not None else self.received_at


@dataclass(frozen=True)
class TaskEvent:
    """A task item; `lead_id` is set when the task belongs to a lead."""

    action: str
    id: int
    lead_id: Optional[int]
    responsible_user_id: Optional[int]
    complete_till: Optional[int]
    is_completed: bool
    updated_at: int = 0
    created_at: int = 0
    task_type_id: int = 1
    text: str = ""


@dataclass(frozen=True)
class NoteEvent:
    """A note on an entity; calls carry their duration."""

    action: str
    entity: str
    id: int
    element_id: int
    note_type: str
    created_at: int
    user_id: int = 0
    duration: int = 0

    @property
    def is_call(self) -> bool:
        """Incoming or outgoing call notes."""
        return self.note_type in ("call_in", "call_out")


@dataclass(frozen=True)
class ContactEvent:
    """A contact, company or customer change."""

    action: str
    entity: str
    id: int
    type: str = ""
    responsible_user_id: Optional[int] = None
    created_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True)
class TalkEvent:
    """A chat conversation (talk) event."""

    action: str
    id: int
    entity_id: Optional[int] = None
    entity_type: str = ""
    updated_at: int = 0


@dataclass(frozen=True)
class UnsortedEvent:
    """An incoming request in "Неразобранное", and what became of it."""

    action: str
    uid: str
    category: str = ""
    source: str = ""
    pipeline_id: Optional[int] = None
    created_at: int = 0
    lead_ids: tuple = ()
    outcome: str = ""  # accept | decline on delete


# --- issue 21: chat messages (`message[add][i]`, real/wh07): an outgoing one is a first contact
@dataclass(frozen=True)
class MessageEvent:
    """A chat message bound to an entity; `outgoing` is a message sent to the client."""

    action: str
    id: str
    entity_type: str
    entity_id: Optional[int]
    created_at: int
    outgoing: bool
    author_type: str = ""  # external (the client), a user's, or bot; bots are robots
