"""Webhook bodies → the sending account and typed events, with precise errors for bad items."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load

from service.amocrm.form import FormError, items_of, parse_php_form

LEAD_ACTIONS = ("add", "update", "status", "responsible", "delete", "restore")


class WebhookError(ValueError):
    """The body cannot be used at all; the message says what was wrong."""


@dataclass(frozen=True)
class LeadEvent:
    """One lead item of a webhook; times are unix seconds."""

    action: str
    id: int
    status_id: int
    pipeline_id: int
    updated_at: int = 0
    created_at: int = 0
    price: Optional[int] = None
    responsible_user_id: Optional[int] = None
    old_status_id: Optional[int] = None
    old_pipeline_id: Optional[int] = None
    old_responsible_user_id: Optional[int] = None
    modified_user_id: Optional[int] = None
    name: Optional[str] = None


@dataclass(frozen=True)
class ItemError:
    """A webhook item that failed validation, named by its form key."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass(frozen=True)
class Webhook:
    """A decoded webhook body: who sent it and what happened."""

    account_id: Optional[int]
    subdomain: str
    leads: list[LeadEvent] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)


class LeadEventSchema(Schema):
    """A `leads[<action>][i]` item; old senders use last_modified/date_create."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True)
    id = fields.Integer(required=True, strict=False)
    status_id = fields.Integer(required=True)
    pipeline_id = fields.Integer(required=True)
    updated_at = fields.Integer(load_default=0)
    created_at = fields.Integer(load_default=0)
    price = fields.Integer(load_default=None, allow_none=True)
    responsible_user_id = fields.Integer(load_default=None)
    old_status_id = fields.Integer(load_default=None)
    old_pipeline_id = fields.Integer(load_default=None)
    old_responsible_user_id = fields.Integer(load_default=None)
    modified_user_id = fields.Integer(load_default=None)
    name = fields.String(load_default=None)

    @pre_load
    def _modern_names(self, data: dict, **kwargs) -> dict:
        """Map the old field names onto the modern ones; empty strings mean absent."""
        data = {k: v for k, v in data.items() if v != ""}
        data.setdefault("updated_at", data.get("last_modified", 0))
        data.setdefault("created_at", data.get("date_create", 0))
        return data

    @post_load
    def _make(self, data: dict, **kwargs) -> LeadEvent:
        return LeadEvent(**data)


_lead_schema = LeadEventSchema()


def parse_webhook(body: bytes) -> Webhook:
    """Decode a body; raise WebhookError when it is unusable as a whole."""
    try:
        form = parse_php_form(body)
    except FormError as exc:
        raise WebhookError(str(exc)) from None
    account = form.get("account")
    if not isinstance(account, dict) or not (account.get("id") or account.get("subdomain")):
        raise WebhookError("account[id] or account[subdomain] is required")
    account_id = _optional_int(account.get("id"), "account[id]")
    leads, errors = _lead_events(form.get("leads"))
    return Webhook(account_id, str(account.get("subdomain", "")), leads, errors)


def _optional_int(raw, key: str) -> Optional[int]:
    """An integer field that may be absent."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not raw.isdigit():
        raise WebhookError(f"{key}={raw!r} is not a number")
    return int(raw)


def _lead_events(group) -> tuple[list[LeadEvent], list[ItemError]]:
    """Validate every `leads[action][i]` item, keeping the good and naming the bad."""
    events, errors = [], []
    if not isinstance(group, dict):
        return events, errors
    for action in LEAD_ACTIONS:
        for index, item in items_of(group.get(action)):
            key = f"leads[{action}][{index}]"
            try:
                events.append(_lead_schema.load({**_flat(item), "action": action}))
            except ValidationError as exc:
                errors.append(ItemError(key, _describe(exc.messages, item)))
    return events, errors


def _flat(item) -> dict:
    """Only the scalar fields of an item (custom fields and tags are read elsewhere)."""
    return {k: v for k, v in item.items() if isinstance(v, str)} if isinstance(item, dict) else {}


def _describe(messages: dict, item) -> str:
    """`[status_id]='abc': Not a valid integer.` for each failed field."""
    item = item if isinstance(item, dict) else {}
    parts = []
    for name, problems in sorted(messages.items()):
        shown = f"={item[name]!r}" if name in item else " is missing"
        parts.append(f"[{name}]{shown}: {' '.join(problems)}")
    return "; ".join(parts)
