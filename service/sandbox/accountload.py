"""Build a World from an account file (API v4 objects), checking every field it reads."""
from __future__ import annotations

from .fields import Obj, ShapeError, objects
from .records import (ENTITY_CODE, EVENT_CODE, Contact, Hook, Lead, LossReason, Note, Pipeline, Status, Task,
                      Unsorted, User)
from .render import event_seq
from .settings import merged
from .world import World

NOTE_KINDS = ("call_in", "call_out")


def load_document(doc: dict) -> World:
    """Parse every section in dependency order; unknown event types are skipped and counted."""
    if not isinstance(doc, dict):
        raise ShapeError("account file: expected object")
    sandbox = doc.get("sandbox") or {}
    if not isinstance(sandbox, dict):
        raise ShapeError("sandbox: expected object")
    world = World(load_account(Obj(doc.get("account"), "account")),
                  merged({k: v for k, v in sandbox.items() if k not in HINTS}))
    load_hints(world, sandbox)
    load_reference(world, doc)
    load_entities(world, doc)
    load_events(world, objects(doc, "events", required=False))
    finish(world)
    return world


HINTS = ("profiles", "stage_profiles", "pipeline_weights")


def load_account(acc: Obj) -> dict:
    """The account fields the sandbox uses, plus groups/task types/timezone from _embedded."""
    emb = acc.obj("_embedded", default={})
    tz = emb.obj("datetime_settings", default={"timezone": "Europe/Moscow"}).str("timezone")
    out = {"id": acc.int("id"), "name": acc.str("name"), "subdomain": acc.str("subdomain"),
           "current_user_id": acc.int("current_user_id"), "country": acc.str("country", default="RU"),
           "timezone": tz, "is_api_filter_enabled": acc.bool("is_api_filter_enabled", default=False),
           "amojo_id": acc.str("amojo_id", default=""), "uuid": acc.str("uuid", default=""),
           "version": acc.int("version", default=16), "sources": {}}
    out["_groups"] = [(g.int("id"), g.str("name")) for g in emb.objs("users_groups", default=[])]
    out["_task_types"] = [(t.int("id"), t.str("name"), t.str("code", nullable=True, default=None))
                          for t in emb.objs("task_types", default=[])]
    return out


def load_hints(world: World, sandbox: dict) -> None:
    """Generator hints (optional) used by the live simulator."""
    world.profiles = {int(k): tuple(v) for k, v in (sandbox.get("profiles") or {}).items()}
    world.stage_profiles = {int(k): tuple(v) for k, v in (sandbox.get("stage_profiles") or {}).items()}
    world.pipeline_weights = [tuple(p) for p in sandbox.get("pipeline_weights") or []]


def load_reference(world: World, doc: dict) -> None:
    """Users, pipelines, loss reasons, the close-date field."""
    world.groups = world.account.pop("_groups") or [(0, "Отдел продаж")]
    world.task_types = world.account.pop("_task_types") or [(1, "Связаться", "FOLLOW_UP")]
    for u in objects(doc, "users"):
        rights = u.obj("rights")
        world.users[u.int("id")] = User(u.int("id"), u.str("name"), u.str("email"), u.str("lang", default="ru"),
                                        rights.bool("is_admin"), rights.obj("leads").str("view"),
                                        rights.int("group_id", nullable=True), rights.int("role_id", nullable=True),
                                        rights.bool("is_active", default=True))
    for p in objects(doc, "pipelines"):
        pipe = Pipeline(p.int("id"), p.str("name"), p.int("sort"), p.bool("is_main"),
                        is_unsorted_on=p.bool("is_unsorted_on", default=True), is_archive=p.bool("is_archive", default=False))
        for s in p.obj("_embedded").objs("statuses"):
            pipe.statuses.append(Status(s.int("id"), s.str("name"), s.int("sort"), s.int("pipeline_id"),
                                        s.str("color", default="#99ccff"), s.int("type"), s.bool("is_editable", default=True)))
        world.pipelines[pipe.id] = pipe
    for r in objects(doc, "loss_reasons", required=False):
        world.loss_reasons[r.int("id")] = LossReason(r.int("id"), r.str("name"), r.int("sort"), r.int("created_at"),
                                                     r.int("updated_at"))
    dates = [f for f in objects(doc, "custom_fields", required=False) if f.str("type") == "date"]
    if dates:
        world.close_date_field = {"id": dates[0].int("id"), "name": dates[0].str("name")}


def load_entities(world: World, doc: dict) -> None:
    """Leads, contacts, tasks, notes, unsorted, webhooks."""
    for x in objects(doc, "leads"):
        world.leads[x.int("id")] = parse_lead(world, x)
    for x in objects(doc, "contacts", required=False):
        world.contacts[x.int("id")] = parse_contact(world, x)
    for x in objects(doc, "tasks", required=False):
        task = Task(x.int("id"), x.int("entity_id"), x.int("responsible_user_id"), x.int("group_id"),
                    x.int("task_type_id"), x.str("text"), x.int("complete_till"), x.int("created_by"),
                    x.int("updated_by"), x.int("created_at"), x.int("updated_at"), x.bool("is_completed"),
                    result_text(x), x.str("entity_type"), x.int("duration", default=0))
        world.tasks[task.id] = task
        world.tasks_by_lead.setdefault(task.entity_id, []).append(task.id)
    for x in objects(doc, "notes", required=False):
        world.notes[x.int("id")] = parse_note(x)
    for x in objects(doc, "unsorted", required=False):
        emb = x.obj("_embedded")
        leads, contacts = emb.objs("leads"), emb.objs("contacts")
        meta = x.obj("metadata", default={})
        world.unsorted[x.str("uid")] = Unsorted(
            x.str("uid"), x.str("category"), x.str("source_name"), x.int("pipeline_id"), x.int("created_at"),
            leads[0].int("id") if leads else 0, contacts[0].int("id") if contacts else 0,
            meta.data["from"] if isinstance(meta.data.get("from"), str) else "", int(meta.data.get("duration") or 0))
    for x in objects(doc, "webhooks", required=False):
        hook = Hook(x.int("id"), x.str("destination"), x.get("settings", list), x.int("created_at"),
                    x.int("updated_at"), x.int("created_by"), x.int("sort"), x.bool("disabled", default=False))
        world.hooks[hook.id] = hook


def parse_lead(world: World, x: Obj) -> Lead:
    """One lead object."""
    emb = x.obj("_embedded", default={})
    contacts = tuple(c.int("id") for c in emb.objs("contacts", default=[]))
    tags = tuple((t.int("id"), t.str("name")) for t in emb.objs("tags", default=[]))
    source = emb.obj("source", default={})
    if source.data:
        world.account["sources"][str(source.int("id"))] = source.str("name")
    close = None
    for i, f in enumerate(x.get("custom_fields_values", list, nullable=True) or []):
        field = Obj(f, f"{x.path}.custom_fields_values[{i}]")
        if field.int("field_id") == world.close_date_field["id"]:
            close = field.objs("values")[0].int("value")
    return Lead(x.int("id"), x.str("name"), x.int("price"), x.int("responsible_user_id"), x.int("group_id"),
                x.int("status_id"), x.int("pipeline_id"), x.int("created_by"), x.int("updated_by"),
                x.int("created_at"), x.int("updated_at"), x.int("closed_at", nullable=True),
                x.int("loss_reason_id", nullable=True), x.int("closest_task_at", nullable=True),
                x.bool("is_deleted"), contacts, close, x.int("source_id", nullable=True, default=None), tags)


def parse_contact(world: World, x: Obj) -> Contact:
    """One contact object (the first PHONE value is kept)."""
    phone = ""
    for i, f in enumerate(x.get("custom_fields_values", list, nullable=True) or []):
        field = Obj(f, f"{x.path}.custom_fields_values[{i}]")
        if field.str("field_code", nullable=True, default=None) == "PHONE" and field.objs("values"):
            world.account["phone_field_id"] = field.int("field_id")
            phone = str(field.objs("values")[0].data.get("value", ""))
    leads = [item.int("id") for item in x.obj("_embedded", default={}).objs("leads", default=[])]
    return Contact(x.int("id"), x.str("name"), x.int("responsible_user_id"), x.int("group_id"), x.int("created_by"),
                   x.int("created_at"), x.int("updated_at"), phone, leads, x.bool("is_deleted", default=False))


def result_text(x: Obj):
    """Task result: [] (none) or {"text": ...}."""
    result = x.data.get("result", [])
    if isinstance(result, dict):
        return Obj(result, f"{x.path}.result").str("text")
    if isinstance(result, list):
        return None
    raise ShapeError(f"{x.path}.result: expected list or object")


def parse_note(x: Obj) -> Note:
    """A call note; other note types are not kept by the sandbox."""
    kind = x.str("note_type")
    if kind not in NOTE_KINDS:
        raise ShapeError(f"{x.path}.note_type: expected call_in or call_out, got {kind!r}")
    params = x.obj("params")
    return Note(x.int("id"), x.int("entity_id"), kind, x.int("created_by"), x.int("created_at"),
                x.int("responsible_user_id"), x.int("group_id"), params.int("duration"), params.str("phone", default=""),
                params.str("uniq", default=""), params.str("source", default="Sandbox PBX"),
                params.str("link", nullable=True, default=None))


def load_events(world: World, items: list) -> None:
    """Event objects back to compact rows; types the sandbox does not model are skipped."""
    field_type = f"custom_field_{world.close_date_field['id']}_value_changed"
    world.skipped_events = 0
    for seq, x in enumerate(items, 1):
        name = x.str("type")
        kind = "custom_field_value_changed" if name == field_type else name
        entity = x.str("entity_type")
        if kind not in EVENT_CODE or entity not in ENTITY_CODE:
            world.skipped_events += 1
            continue
        values = event_values(kind, x.get("value_before", list), x.get("value_after", list), x.path)
        try:
            seq = event_seq(x.str("id"))
        except ValueError:
            pass  # foreign ids get their position as sequence number
        world.events.append((x.int("created_at"), seq, EVENT_CODE[kind], ENTITY_CODE[entity], x.int("entity_id"),
                             x.int("created_by"), *values))


def event_values(kind: str, before: list, after: list, path: str) -> tuple:
    """The four compact value slots of an event type."""
    def first(items, key, field, where):
        return Obj(Obj(items[0], f"{path}.{where}[0]").get(key, dict), f"{path}.{where}[0].{key}").int(field)
    if kind == "lead_status_changed":
        return (first(before, "lead_status", "id", "value_before"), first(before, "lead_status", "pipeline_id", "value_before"),
                first(after, "lead_status", "id", "value_after"), first(after, "lead_status", "pipeline_id", "value_after"))
    if kind == "entity_responsible_changed":
        return (first(before, "responsible_user", "id", "value_before"), first(after, "responsible_user", "id", "value_after"), 0, 0)
    if kind in ("lead_added", "contact_added", "incoming_call", "outgoing_call"):
        return (first(after, "note", "id", "value_after") if after else 0, 0, 0, 0)
    if kind == "custom_field_value_changed":
        def text(items, where):
            return int(Obj(Obj(items[0], f"{path}.{where}[0]").get("custom_field_value", dict),
                           f"{path}.{where}[0].custom_field_value").str("text")) if items else 0
        return (text(before, "value_before"), text(after, "value_after"), 0, 0)
    return (0, 0, 0, 0)


def finish(world: World) -> None:
    """Sort the log, link contacts and leads, and set id counters past the loaded ids."""
    world.events.sort()
    for kind, items in (("leads", world.leads), ("contacts", world.contacts), ("tasks", world.tasks),
                        ("notes", world.notes), ("hooks", world.hooks)):
        world.next_ids[kind] = max(items, default=0) + 1
    world.next_ids["events"] = max((row[1] for row in world.events), default=0) + 1
    for lead in world.leads.values():
        for cid in lead.contact_ids:
            contact = world.contacts.get(cid)
            if contact is not None and lead.id not in contact.lead_ids:
                contact.lead_ids.append(lead.id)
    world.touch()
