"""Typed webhook events and the marshmallow schemas that validate raw form items into them."""
from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, post_load, pre_load

from service.model import ContactEvent, LeadEvent, MessageEvent, NoteEvent, TalkEvent, TaskEvent, UnsortedEvent

NESTED = ("note", "custom_fields", "data", "result", "accept_result", "decline_result", "params", "author",
          "source_data")
NOTE_TYPES = {"10": "call_in", "11": "call_out", "4": "common", "13": "task_result"}


def flatten(item) -> dict:
    """The scalar fields of an item, plus the nested groups schemas know how to read."""
    if not isinstance(item, dict):
        return {}
    flat = {k: v for k, v in item.items() if isinstance(v, str)}
    flat.update({k: item[k] for k in NESTED if isinstance(item.get(k), dict)})
    if isinstance(item.get("note"), dict):  # leads[note][i][note][...]
        flat.update({k: v for k, v in item["note"].items() if isinstance(v, str) and k not in flat})
    return flat


class Integer(fields.Integer):
    """fields.Integer with a short way for the plain digits webhooks carry (a dozen per item, on every delivery)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if type(value) is str and value.isdecimal() and len(value) < 19 and not self.validators:  # noqa: E721
            return int(value)
        return super().deserialize(value, attr, data, **kwargs)


class Money(fields.Field):
    """A price: whole units, or with a fraction (Kommo accounts with minor units; the official PHP client takes
    floats too). A whole number stays an int."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip().replace(",", ".")
        try:
            amount = float(text)
        except ValueError:
            raise ValidationError("Not a valid number.") from None
        if not math.isfinite(amount) or abs(amount) >= 1e15:
            raise ValidationError("price out of range (|price| < 1e15)")
        return int(amount) if amount.is_integer() else round(amount, 2)


class Timestamp(fields.Field):
    """Unix seconds, or 'YYYY-MM-DD HH:MM:SS' in the account's timezone (the docs' task and note format)."""

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        text = str(value).strip()
        if text.isdecimal():
            return _in_range(int(text))
        try:
            local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise ValidationError("not a unix time or 'YYYY-MM-DD HH:MM:SS'") from None
        return _in_range(int(local.replace(tzinfo=self.parent.zone).timestamp()))


MAX_TIMESTAMP = 2 ** 32 - 1  # 2106: later times overflow the clocks of what consumes them (and poison "newest wins")


def _in_range(seconds: int) -> int:
    """A time the mirror can order and schedule by; anything else is refused at the edge, not dead-lettered later."""
    if not 0 <= seconds <= MAX_TIMESTAMP:
        raise ValidationError(f"time out of range (0..{MAX_TIMESTAMP})")
    return seconds


class EventSchema(Schema):
    """Base: unknown keys ignored, empty strings treated as absent, the account timezone at hand."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True)
    # Old senders' names for modern fields (modern name -> old name); the modern one wins when both are sent.
    OLD_NAMES = {"updated_at": "last_modified", "created_at": "date_create"}

    def __init__(self, context_timezone: str = "Europe/Moscow", entity: str = "", **kwargs):
        super().__init__(**kwargs)
        self.entity = entity
        try:
            self.zone = ZoneInfo(context_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")

    @pre_load
    def _normalize(self, data: dict, **kwargs) -> dict:
        """Empty strings mean absent; old field names fill in the modern ones."""
        data = {k: v for k, v in data.items() if v != ""}
        for modern, old in self.OLD_NAMES.items():
            if old in data:
                data.setdefault(modern, data[old])
        return data

    def load_item(self, data: dict):
        """What `load(data)` gives; a valid item skips marshmallow's per-call bookkeeping (half its time)."""
        # Equal to `load` while these schemas declare no validators and no hooks but `_normalize` and `_make`
        # (tests/unit/test_event_loading.py); an item a field refuses goes through `load` for its precise errors.
        normal, values = self._normalize(data), {}
        try:
            for name, field in self.load_fields.items():
                value = field.deserialize(normal.get(field.data_key or name, missing), name, normal)
                if value is not missing:
                    values[name] = value
            return self._make(values)
        except ValidationError:
            return self.load(data)


class LeadEventSchema(EventSchema):
    """`leads[<action>][i]`; old senders use last_modified/date_create."""

    id = Integer(required=True)
    status_id = Integer(required=True)
    pipeline_id = Integer(required=True)
    updated_at = Timestamp(load_default=None)
    created_at = Timestamp(load_default=None)
    price = Money(load_default=None)
    responsible_user_id = Integer(load_default=None)
    old_status_id = Integer(load_default=None)
    old_pipeline_id = Integer(load_default=None)
    old_responsible_user_id = Integer(load_default=None)
    modified_user_id = Integer(load_default=None)
    loss_reason_id = Integer(load_default=None)
    name = fields.String(load_default=None)
    custom_fields = fields.Raw(load_default=None)

    @post_load
    def _make(self, data: dict, **kwargs) -> LeadEvent:
        fields_sent = data.pop("custom_fields")
        # A full body (it carries the lead's time) lists every filled field: no date there means none is set.
        # A short body lists none, and says nothing about them.
        if data["updated_at"] is not None or fields_sent is not None:
            data["date_fields"] = date_field_values(fields_sent)
        return LeadEvent(**data)


def date_field_values(raw) -> tuple:
    """((field_id, unix seconds), ...) of the date fields among `[custom_fields][i]`, by field id.

    amoCRM sends a date as a bare `[values][0]=<unix ts>`; every other type (text, number, checkbox, select) as
    `[values][0][value]=...` (FACTS §4 and real captures), so the shape tells dates apart without the field list.
    """
    entries = raw.values() if isinstance(raw, dict) else ()
    return tuple(sorted(dict(pair for pair in map(_date_value, entries) if pair).items()))


def _date_value(entry) -> Optional[tuple[int, int]]:
    """(field_id, unix seconds) of a custom field entry sent in the date shape, else None."""
    if not isinstance(entry, dict) or not isinstance(entry.get("values"), dict):
        return None
    field_id, first = str(entry.get("id", "")), entry["values"].get("0")
    if not (field_id.isdecimal() and isinstance(first, str) and first.isdecimal()) or int(first) > MAX_TIMESTAMP:
        return None
    return int(field_id), int(first)


class TaskEventSchema(EventSchema):
    """`task[<action>][i]`: element_type 2 is a lead; status 1 is completed."""

    id = Integer(required=True)
    element_id = Integer(load_default=None)
    element_type = Integer(load_default=None)
    responsible_user_id = Integer(load_default=None)
    complete_till = Timestamp(load_default=None)
    status = Integer(load_default=0)
    updated_at = Timestamp(load_default=0)
    created_at = Timestamp(load_default=0)
    task_type = Integer(load_default=1)
    text = fields.String(load_default="")

    @post_load
    def _make(self, data: dict, **kwargs) -> TaskEvent:
        lead_id = data["element_id"] if data["element_type"] == 2 else None
        return TaskEvent(data["action"], data["id"], lead_id, data["responsible_user_id"], data["complete_till"],
                         data["status"] == 1, data["updated_at"], data["created_at"], data["task_type"], data["text"])


class NoteEventSchema(EventSchema):
    """`leads[note][i][note][...]`; a call's duration is in params or in the JSON text.

    The person on a call is the note's author (`created_by`, the API's `created_by` too: real/api08 and api09);
    `main_user_id` is the responsible user, someone else when a call is logged on a colleague's deal.
    """

    OLD_NAMES = {"created_at": "date_create"}

    id = Integer(required=True)
    element_id = Integer(required=True)
    note_type = fields.String(required=True)
    created_at = Timestamp(load_default=0)
    created_by = Integer(load_default=None)
    main_user_id = Integer(load_default=None)
    text = fields.String(load_default="")
    params = fields.Raw(load_default=None)

    @post_load
    def _make(self, data: dict, **kwargs) -> NoteEvent:
        kind = NOTE_TYPES.get(data["note_type"], data["note_type"])
        author = data["created_by"] or data["main_user_id"] or 0  # 0: a robot, or a sender that names no one
        return NoteEvent(data["action"], self.entity, data["id"], data["element_id"], kind, data["created_at"],
                         author, call_duration(data.get("params"), data["text"]))


def call_duration(params, text: str) -> int:
    """Seconds of a call from `params[duration]` or the DURATION key of the note's JSON text."""
    if isinstance(params, dict):
        raw = params.get("duration") or params.get("DURATION")
        if isinstance(raw, str) and raw.isdecimal():
            return int(raw)
    try:
        decoded = json.loads(text) if text.startswith("{") else {}
    except ValueError:
        return 0
    raw = decoded.get("DURATION", decoded.get("duration", 0)) if isinstance(decoded, dict) else 0
    return int(raw) if str(raw).isdecimal() else 0


class ContactEventSchema(EventSchema):
    """`contacts[<action>][i]` (contacts and companies) and customers."""

    id = Integer(required=True)
    type = fields.String(load_default="")
    responsible_user_id = Integer(load_default=None)
    created_at = Timestamp(load_default=0)
    updated_at = Timestamp(load_default=0)

    @post_load
    def _make(self, data: dict, **kwargs) -> ContactEvent:
        return ContactEvent(entity=self.entity, **data)


class TalkEventSchema(EventSchema):
    """`talk[<action>][i]`: a chat bound to an entity."""

    talk_id = Integer(load_default=None)
    id = Integer(load_default=None)
    entity_id = Integer(load_default=None)
    entity_type = fields.String(load_default="")
    updated_at = Timestamp(load_default=0)

    @post_load
    def _make(self, data: dict, **kwargs) -> TalkEvent:
        talk_id = data.get("talk_id") or data.get("id")
        if talk_id is None:
            raise ValidationError({"talk_id": ["Missing data for required field."]})
        return TalkEvent(data["action"], talk_id, data["entity_id"], data["entity_type"], data["updated_at"])


class UnsortedEventSchema(EventSchema):
    """`unsorted[<action>][i]`: an incoming request, its source and the lead it produced.

    Real chat requests (real/wh08) name the lead in a top-level `[lead_id]` and the readable source in
    `[source_data][source_name]`, while `[source]` is a source id (`telegram:<uuid>`); the docs' form example
    has a readable `[source]` and the lead under `[data][leads][i][id]`. `0` is no lead.
    """

    uid = fields.String(required=True)
    category = fields.String(load_default="")
    source = fields.String(load_default="")
    source_data = fields.Raw(load_default=None)
    pipeline_id = Integer(load_default=None)
    created_at = Timestamp(load_default=0)
    lead_id = fields.String(load_default=None)
    data = fields.Raw(load_default=None)
    accept_result = fields.Raw(load_default=None)
    decline_result = fields.Raw(load_default=None)

    @post_load
    def _make(self, data: dict, **kwargs) -> UnsortedEvent:
        outcome = "accept" if data.get("accept_result") else "decline" if data.get("decline_result") else ""
        top = (data["lead_id"],) if data["lead_id"] else ()
        leads = _lead_ids(top, data.get("data"), data.get("accept_result") or data.get("decline_result"))
        return UnsortedEvent(data["action"], data["uid"], data["category"], source_name(data), data["pipeline_id"],
                             data["created_at"], leads, outcome)


SOURCE_ID = re.compile(r"[A-Za-z_]+:[0-9A-Za-z-]+|[0-9]+")


def source_name(data: dict) -> str:
    """The request's readable source: `[source_data][source_name]`, else a `[source]` that is not an id."""
    named = data.get("source_data")
    named = named.get("source_name") if isinstance(named, dict) else None
    if isinstance(named, str) and named.strip():
        return named.strip()
    raw = data.get("source") or ""
    return "" if SOURCE_ID.fullmatch(raw) else raw


def _lead_ids(top: tuple, data, result) -> tuple:
    """Lead ids: the top-level `[lead_id]`, then `[data][leads][i][id]` or `[accept_result][leads][i]`; never 0."""
    ids = [int(raw) for raw in top if raw.isdecimal()]
    for group in (data, result):
        leads = group.get("leads") if isinstance(group, dict) else None
        for value in (leads or {}).values() if isinstance(leads, dict) else ():
            raw = value.get("id") if isinstance(value, dict) else value
            if isinstance(raw, str) and raw.isdecimal():
                ids.append(int(raw))
    return tuple(dict.fromkeys(i for i in ids if i > 0))


class MessageEventSchema(EventSchema):
    """`message[add][i]`: `entity_type`/`entity_id` (older: `element_type` 2 / `element_id`), `type`, `author`."""

    id = fields.String(required=True)
    entity_type = fields.String(load_default="")
    entity_id = Integer(load_default=None)
    element_type = Integer(load_default=None)
    element_id = Integer(load_default=None)
    created_at = Timestamp(load_default=0)
    type = fields.String(load_default="")
    author = fields.Raw(load_default=None)

    @post_load
    def _make(self, data: dict, **kwargs) -> MessageEvent:
        entity = data["entity_type"] or ("lead" if data["element_type"] == 2 else "")
        entity_id = data["entity_id"] if data["entity_id"] is not None else data["element_id"]
        author = data["author"] if isinstance(data["author"], dict) else {}
        return MessageEvent(data["action"], data["id"], entity, entity_id, data["created_at"],
                            data["type"] == "outgoing", str(author.get("type") or ""))
