"""Wire schemas: API v4 JSON objects in, model dataclasses out. Unknown keys are ignored, nulls become defaults."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load

from service.amocrm.events import MAX_TIMESTAMP, Money
from service.model import (Account, Call, DateField, IncomingLead, Lead, Pipeline, ResponsibleChange, Stage,
                           StageChange, Task, User)


class Wire(Schema):
    """Base: tolerant of unknown keys; an explicit null reads as absent."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _drop_nulls(self, data, **kwargs):
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


def _embedded(data: dict, name: str) -> list:
    """`_embedded[name]` as a list (amoCRM omits or nulls it when empty)."""
    value = (data.get("_embedded") or {}).get(name)
    return value if isinstance(value, list) else []


class AccountSchema(Wire):
    id = fields.Integer(required=True)
    subdomain = fields.String(required=True)
    is_api_filter_enabled = fields.Boolean(load_default=False)
    timezone = fields.Method(deserialize="_timezone", data_key="_embedded", load_default="Europe/Moscow")

    def _timezone(self, embedded) -> str:
        return str(((embedded or {}).get("datetime_settings") or {}).get("timezone") or "Europe/Moscow")

    @post_load
    def _make(self, data, **kwargs) -> dict:
        return data  # the caller adds base_url (it comes from `referer`, not from this body)


class StageSchema(Wire):
    id = fields.Integer(required=True)
    pipeline_id = fields.Integer(required=True)
    name = fields.String(load_default="")
    sort = fields.Integer(load_default=0)
    type = fields.Integer(load_default=0)

    @post_load
    def _make(self, data, **kwargs) -> Stage:
        return Stage(is_unsorted=data.pop("type") == 1, **data)


class PipelineSchema(Wire):
    id = fields.Integer(required=True)
    name = fields.String(load_default="")
    stages = fields.Method(deserialize="_stages", data_key="_embedded", load_default=())

    def _stages(self, embedded) -> tuple:
        statuses = StageSchema(many=True).load((embedded or {}).get("statuses") or [])
        return tuple(sorted(statuses, key=lambda s: (s.sort, s.id)))

    @post_load
    def _make(self, data, **kwargs) -> Pipeline:
        return Pipeline(**data)


class UserSchema(Wire):
    id = fields.Integer(required=True)
    name = fields.String(load_default="")
    rights = fields.Dict(load_default=dict)

    @post_load
    def _make(self, data, **kwargs) -> User:
        rights = data["rights"] or {}
        return User(id=data["id"], name=data["name"], is_admin=bool(rights.get("is_admin")),
                    leads_view=str((rights.get("leads") or {}).get("view") or "D"),
                    group_id=int(rights.get("group_id") or 0), stage_views=stage_views(rights.get("status_rights")))


def stage_views(entries) -> tuple:
    """((pipeline_id, status_id, view), ...) from `rights.status_rights`: per stage, who may view its deals.

    A user whose `leads.view` is A may still see nothing in a stage whose entry says `view: "D"` (real/api11).
    """
    views = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or entry.get("entity_type", "leads") != "leads":
            continue
        view = (entry.get("rights") or {}).get("view") if isinstance(entry.get("rights"), dict) else None
        pipeline, status = entry.get("pipeline_id"), entry.get("status_id")
        if isinstance(pipeline, int) and isinstance(status, int) and view in ("A", "G", "M", "D"):
            views[(pipeline, status)] = view
    return tuple((p, s, v) for (p, s), v in sorted(views.items()))


class LeadSchema(Wire):
    id = fields.Integer(required=True)
    pipeline_id = fields.Integer(required=True)
    status_id = fields.Integer(required=True)
    responsible_user_id = fields.Integer(load_default=0)
    price = Money(load_default=0)
    name = fields.String(load_default="")
    created_at = fields.Integer(load_default=0)
    updated_at = fields.Integer(load_default=0)
    closed_at = fields.Integer(load_default=None)
    loss_reason_id = fields.Integer(load_default=None)
    group_id = fields.Integer(load_default=0)
    is_deleted = fields.Boolean(load_default=False)
    source = fields.Method(deserialize="_source", data_key="_embedded", load_default="")
    date_fields = fields.Method(deserialize="_dates", data_key="custom_fields_values", load_default=())

    def _source(self, embedded) -> str:
        return str(((embedded or {}).get("source") or {}).get("name") or "")

    def _dates(self, values) -> tuple:
        return tuple(sorted(dict(pair for pair in map(date_value, values or ()) if pair).items()))

    @post_load
    def _make(self, data, **kwargs) -> Lead:
        # stage_entered_at is not in the API: the sync sets it from stage history.
        return Lead(stage_entered_at=data["created_at"], **data)


DATE_TYPES = frozenset({"date", "date_time", "birthday"})  # field types whose values are unix seconds


def date_value(entry) -> Optional[tuple[int, int]]:
    """(field_id, unix seconds) of a date-typed `custom_fields_values` entry, else None."""
    if not isinstance(entry, dict) or entry.get("field_type") not in DATE_TYPES:
        return None
    values, field_id = entry.get("values"), entry.get("field_id")
    first = values[0].get("value") if isinstance(values, list) and values and isinstance(values[0], dict) else None
    seconds = unix_seconds(first)
    return (field_id, seconds) if isinstance(field_id, int) and seconds is not None else None


def unix_seconds(value) -> Optional[int]:
    """A date field's value: unix seconds (what the API returns) or RFC 3339 (what it also takes), else None."""
    seconds = int(value) if str(value).isdecimal() else _rfc3339_seconds(value)
    return seconds if seconds is not None and 0 <= seconds <= MAX_TIMESTAMP else None


def _rfc3339_seconds(value) -> Optional[int]:
    """Unix seconds of an RFC 3339 time (its offset required), else None."""
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return int(when.timestamp()) if when.tzinfo else None


class DateFieldSchema(Wire):
    """A `GET /api/v4/leads/custom_fields` item; fields of other types load as None."""

    id = fields.Integer(required=True)
    name = fields.String(load_default="")
    type = fields.String(load_default="")

    @post_load
    def _make(self, data, **kwargs) -> Optional[DateField]:
        return DateField(**data) if data["type"] in DATE_TYPES else None


class TaskSchema(Wire):
    id = fields.Integer(required=True)
    entity_id = fields.Integer(load_default=None)
    entity_type = fields.String(load_default="")
    responsible_user_id = fields.Integer(load_default=0)
    complete_till = fields.Integer(load_default=0)
    is_completed = fields.Boolean(load_default=False)
    created_at = fields.Integer(load_default=0)
    updated_at = fields.Integer(load_default=0)
    task_type_id = fields.Integer(load_default=1)
    text = fields.String(load_default="")

    @post_load
    def _make(self, data, **kwargs) -> Optional[Task]:
        if data["entity_type"] != "leads" or data["entity_id"] is None:
            return None  # tasks on contacts and companies are not a deal's tasks
        done = data["is_completed"]
        return Task(id=data["id"], lead_id=data["entity_id"], responsible_user_id=data["responsible_user_id"],
                    complete_till=data["complete_till"], is_completed=done, created_at=data["created_at"],
                    updated_at=data["updated_at"], completed_at=data["updated_at"] if done else None,
                    task_type_id=data["task_type_id"], text=data["text"])


class EventSchema(Wire):
    id = fields.String(required=True)
    type = fields.String(required=True)
    entity_id = fields.Integer(required=True)
    entity_type = fields.String(load_default="")
    created_at = fields.Integer(required=True)
    created_by = fields.Integer(load_default=None)  # 0 = a robot or the API; absent = unknown
    value_before = fields.List(fields.Dict(), load_default=list)
    value_after = fields.List(fields.Dict(), load_default=list)


class CallNoteSchema(Wire):
    id = fields.Integer(required=True)
    entity_id = fields.Integer(required=True)
    note_type = fields.String(required=True)
    created_at = fields.Integer(load_default=0)
    created_by = fields.Integer(load_default=0)
    responsible_user_id = fields.Integer(load_default=0)
    params = fields.Dict(load_default=dict)

    @post_load
    def _make(self, data, **kwargs) -> Optional[Call]:
        if data["note_type"] not in ("call_in", "call_out"):
            return None
        try:
            duration = int(float((data["params"] or {}).get("duration") or 0))
        except (TypeError, ValueError):
            duration = 0
        return Call(lead_id=data["entity_id"], at=data["created_at"], duration=duration,
                    direction="in" if data["note_type"] == "call_in" else "out",
                    user_id=data["created_by"] or data["responsible_user_id"])  # the caller (real/api08, api09)


class UnsortedSchema(Wire):
    uid = fields.String(required=True)
    created_at = fields.Integer(load_default=0)
    category = fields.String(load_default="")
    source_name = fields.String(load_default="")
    lead_id = fields.Method(deserialize="_lead", data_key="_embedded", load_default=None)

    def _lead(self, embedded) -> Optional[int]:
        leads = (embedded or {}).get("leads") or []
        found = leads[0].get("id") if leads and isinstance(leads[0], dict) else None
        return int(found) if str(found).isdecimal() and int(found) > 0 else None  # 0 is no lead (declined)

    @post_load
    def _make(self, data, **kwargs) -> IncomingLead:
        return IncomingLead(id=data.pop("uid"), **data)


def load_each(schema: Schema, items: Iterable) -> tuple[list, list[str]]:
    """Load items one by one: a malformed item is reported, never fatal to its page."""
    loaded, problems = [], []
    for item in items:
        try:
            value = schema.load(item)
        except ValidationError as exc:
            problems.append(f"{(item or {}).get('id', '?') if isinstance(item, dict) else '?'}: {exc.messages}")
            continue
        if value is not None:
            loaded.append(value)
    return loaded, problems


def stage_change(event: dict) -> Optional[StageChange]:
    """A lead_status_changed event (loaded by EventSchema) as a StageChange."""
    after, before = _first(event["value_after"], "lead_status"), _first(event["value_before"], "lead_status")
    if after is None or "id" not in after:
        return None
    return StageChange(lead_id=event["entity_id"], at=event["created_at"], status_id=int(after["id"]),
                       pipeline_id=int(after.get("pipeline_id") or 0),
                       old_pipeline_id=_int(before, "pipeline_id"), old_status_id=_int(before, "id"))


def responsible_change(event: dict) -> Optional[ResponsibleChange]:
    """An entity_responsible_changed event on a lead as a ResponsibleChange."""
    after, before = (_first(event["value_after"], "responsible_user"),
                     _first(event["value_before"], "responsible_user"))
    if after is None or "id" not in after:
        return None
    return ResponsibleChange(lead_id=event["entity_id"], at=event["created_at"], user_id=int(after["id"]),
                             old_user_id=_int(before, "id"))


def _first(values: list, name: str) -> Optional[dict]:
    """The `name` object of an event value list ([{"lead_status": {...}}])."""
    for value in values or []:
        if isinstance(value, dict) and isinstance(value.get(name), dict):
            return value[name]
    return None


def _int(obj: Optional[dict], key: str) -> Optional[int]:
    """An optional integer field of an event value."""
    return int(obj[key]) if obj and obj.get(key) is not None else None


def account_fields(body: dict) -> dict:
    """id, subdomain, timezone and is_api_filter_enabled from GET /api/v4/account?with=..."""
    return AccountSchema().load(body)


def make_account(body: dict, base_url: str) -> Account:
    """The Account to register after an install."""
    return Account(base_url=base_url, **account_fields(body))
