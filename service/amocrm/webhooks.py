"""Webhook bodies → the sending account and typed events, with precise errors for bad items."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from marshmallow import ValidationError

from service.amocrm import events as ev
from service.amocrm.form import FormError, items_of, parse_php_form
from service.model import LeadEvent

# (form group, actions, schema). Contacts and companies both arrive under contacts[...] with [type].
KINDS = (
    ("leads", ("add", "update", "status", "responsible", "delete", "restore"), ev.LeadEventSchema),
    ("leads", ("note",), ev.NoteEventSchema),
    ("contacts", ("add", "update", "delete", "restore", "responsible"), ev.ContactEventSchema),
    ("contacts", ("note",), ev.NoteEventSchema),
    ("companies", ("add", "update", "delete", "restore", "responsible"), ev.ContactEventSchema),
    ("companies", ("note",), ev.NoteEventSchema),
    ("customers", ("add", "update", "delete", "restore", "responsible"), ev.ContactEventSchema),
    ("customers", ("note",), ev.NoteEventSchema),
    ("task", ("add", "update", "delete", "responsible"), ev.TaskEventSchema),
    ("talk", ("add", "update"), ev.TalkEventSchema),
    ("unsorted", ("add", "update", "delete"), ev.UnsortedEventSchema),
    ("message", ("add",), ev.MessageEventSchema),  # issue 21: an outgoing chat message is a first contact
)
KNOWN_KINDS = {(group, action) for group, actions, _ in KINDS for action in actions}
_KIND_PART = re.compile(r"[a-z_]{1,32}")


class WebhookError(ValueError):
    """The body cannot be used at all; the message says what was wrong."""


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
    events: list = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # {"talk[delete]": items} of valid kinds we do not read

    @property
    def leads(self) -> list[LeadEvent]:
        """The lead events only."""
        return [e for e in self.events if isinstance(e, LeadEvent)]


def parse_webhook(body: bytes, timezone: str = "Europe/Moscow") -> Webhook:
    """Decode a body (local dates in `timezone`); raise WebhookError when it is unusable as a whole."""
    try:
        form = parse_php_form(body)
    except FormError as exc:
        raise WebhookError(str(exc)) from None
    account = form.get("account")
    if not isinstance(account, dict) or not (account.get("id") or account.get("subdomain")):
        raise WebhookError("account[id] or account[subdomain] is required")
    account_id = _optional_int(account.get("id"), "account[id]")
    events, errors = _events(form, timezone)
    skipped = skipped_kinds(form)
    if not events and not errors and not skipped:
        raise WebhookError(f"no event in the body (groups: {', '.join(sorted(form)) or 'none'})")
    return Webhook(account_id, str(account.get("subdomain", "")), events, errors, skipped)


def skipped_kinds(form: dict) -> dict:
    """Items per `group[action]` of the kinds we do not read (`talk[delete]`, anything not in KINDS).

    amoCRM sends them when an admin ticks more events on our hook, or another integration shares the URL: valid
    deliveries, answered 2xx and counted (a 4xx is a failed delivery, and failures disable the hook). Names
    outside amoCRM's lowercase shape are counted as "other", so a hostile body cannot mint metric labels.
    """
    counts: dict = {}
    for group, actions in form.items():
        if group == "account" or not isinstance(actions, dict):
            continue
        for action, items in actions.items():
            if (group, action) in KNOWN_KINDS:
                continue
            kind = f"{group}[{action}]" if _KIND_PART.fullmatch(group) and _KIND_PART.fullmatch(action) else "other"
            counts[kind] = counts.get(kind, 0) + (len(items) if isinstance(items, dict) else 1)
    return counts


def _optional_int(raw, key: str) -> Optional[int]:
    """An integer field that may be absent."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not raw.isdecimal():
        raise WebhookError(f"{key}={raw!r} is not a number")
    return int(raw)


def _events(form: dict, timezone: str) -> tuple[list, list[ItemError]]:
    """Validate every item of every known kind, keeping the good and naming the bad."""
    events, errors = [], []
    for group, actions, schema_class in KINDS:
        entity, schema = form.get(group), None
        if not isinstance(entity, dict):
            continue  # a body carries one or two of the kinds: skip the rest at once
        for action in actions:
            for index, item in items_of(entity.get(action)):
                key = f"{group}[{action}][{index}]"
                schema = schema or _schema(schema_class, timezone, group)
                try:
                    events.append(schema.load_item({**ev.flatten(item), "action": action}))
                except ValidationError as exc:
                    errors.append(ItemError(key, _describe(exc.messages, ev.flatten(item))))
    return events, errors


@lru_cache(maxsize=256)
def _schema(schema_class, timezone: str, entity: str):
    """Schemas are costly to build and safe to share: one per kind, timezone and entity."""
    return schema_class(context_timezone=timezone, entity=entity)


def _describe(messages, item: dict) -> str:
    """`[status_id]='abc': Not a valid integer.` for each failed field."""
    if not isinstance(messages, dict):
        return " ".join(map(str, messages))
    parts = []
    for name, problems in sorted(messages.items()):
        shown = f"={item[name]!r}" if name in item else " is missing"
        text = " ".join(problems) if isinstance(problems, list) else str(problems)
        parts.append(f"[{name}]{shown}: {text}")
    return "; ".join(parts)
