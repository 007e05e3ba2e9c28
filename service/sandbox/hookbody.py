"""Webhook bodies in amoCRM's wire format: form-encoded, PHP-style keys, every value a string."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

NOTE_TYPES = {"call_in": 10, "call_out": 11}  # amoCRM's numeric note types in webhooks
ENTITY_ACTION = {
    "add_lead": ("leads", "add"), "update_lead": ("leads", "update"), "status_lead": ("leads", "status"),
    "responsible_lead": ("leads", "responsible"), "delete_lead": ("leads", "delete"),
    "note_lead": ("leads", "note"), "add_task": ("task", "add"), "update_task": ("task", "update"),
    "add_contact": ("contacts", "add"), "dp_status_lead": ("leads", "status"), "add_message": ("message", "add"),
}
SUBSCRIPTION = {"dp_status_lead": "status_lead"}  # the robot's short body goes where status hooks go


def account_pairs(world) -> list[tuple[str, str]]:
    """The account block; modern senders put it first."""
    acc = world.account
    base = world.settings.get("base_url") or f"https://{acc['subdomain']}.amocrm.ru"
    return [("account[subdomain]", acc["subdomain"]), ("account[id]", str(acc["id"])),
            ("account[_links][self]", base.rstrip("/"))]


def local_time(world, ts: int) -> str:
    """'Y-m-d H:i:s' in the account timezone (the docs' format for task and note dates)."""
    zone = ZoneInfo(world.account.get("timezone", "Europe/Moscow"))
    return dt.datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S")


def lead_fields(world, lead, hook: str, extra: dict) -> list[tuple[str, object]]:
    """A lead item; delete carries only id, status_id, pipeline_id."""
    if hook == "delete_lead":
        return [("[id]", lead.id), ("[status_id]", lead.status_id), ("[pipeline_id]", lead.pipeline_id)]
    pairs = [("[id]", lead.id), ("[name]", lead.name), ("[status_id]", lead.status_id), ("[price]", lead.price),
             ("[responsible_user_id]", lead.responsible_user_id), ("[last_modified]", lead.updated_at),
             ("[modified_user_id]", lead.updated_by), ("[created_user_id]", lead.created_by),
             ("[date_create]", lead.created_at), ("[pipeline_id]", lead.pipeline_id)]
    for i, (tag_id, name) in enumerate(lead.tags):
        pairs += [(f"[tags][{i}][id]", tag_id), (f"[tags][{i}][name]", name)]
    pairs.append(("[account_id]", world.account["id"]))
    if lead.close_date is not None:
        field = world.close_date_field
        pairs += [("[custom_fields][0][id]", field["id"]), ("[custom_fields][0][name]", field["name"]),
                  ("[custom_fields][0][values][0]", lead.close_date)]
    if hook == "status_lead":
        pairs.append(("[old_status_id]", extra["old_status_id"]))
        if extra["old_pipeline_id"] != lead.pipeline_id:
            pairs.append(("[old_pipeline_id]", extra["old_pipeline_id"]))
    if hook == "responsible_lead":
        pairs.append(("[old_responsible_user_id]", extra["old_responsible_user_id"]))
    return pairs + [("[created_at]", lead.created_at), ("[updated_at]", lead.updated_at)]


def task_fields(world, task, hook: str, extra: dict) -> list[tuple[str, object]]:
    """A task item (element_type 2 = lead)."""
    unix = world.settings["webhooks"].get("task_date_format") == "unix"
    when = (lambda ts: ts) if unix else (lambda ts: local_time(world, ts))
    pairs = [("[id]", task.id), ("[element_id]", task.entity_id), ("[element_type]", 2),
             ("[task_type]", task.task_type_id), ("[date_create]", when(task.created_at)), ("[text]", task.text),
             ("[status]", int(task.is_completed)), ("[account_id]", world.account["id"]),
             ("[created_user_id]", task.created_by), ("[last_modified]", when(task.updated_at)),
             ("[responsible_user_id]", task.responsible_user_id), ("[complete_till]", when(task.complete_till))]
    if hook == "update_task":
        pairs.append(("[action_close]", int(extra.get("action_close", 0))))
        if task.result_text:
            pairs += [("[result][id]", task.id), ("[result][text]", task.result_text)]
    return pairs


def note_fields(world, note, hook: str, extra: dict) -> list[tuple[str, object]]:
    """A call note item: leads[note][0][note][...], the call details JSON-encoded in text."""
    text = json.dumps({"UNIQ": note.uniq, "DURATION": note.duration, "SRC": note.source, "LINK": note.link or "",
                       "PHONE": note.phone, "call_status": 4, "call_result": ""}, ensure_ascii=False)
    stamp = local_time(world, note.created_at)
    pairs = [("id", note.id), ("element_id", note.entity_id), ("element_type", 2),
             ("note_type", NOTE_TYPES[note.note_type]), ("text", text), ("account_id", world.account["id"]),
             ("date_create", stamp), ("timestamp_x", stamp), ("created_by", note.created_by),
             ("modified_by", note.created_by), ("main_user_id", note.responsible_user_id),
             ("group_id", note.group_id), ("created_at", note.created_at), ("updated_at", note.created_at)]
    return [(f"[note][{key}]", value) for key, value in pairs]


def contact_fields(world, contact, hook: str, extra: dict) -> list[tuple[str, object]]:
    """A contact item (contacts and companies both arrive under contacts[...] with [type])."""
    pairs = [("[id]", contact.id), ("[name]", contact.name), ("[responsible_user_id]", contact.responsible_user_id),
             ("[date_create]", contact.created_at), ("[last_modified]", contact.updated_at),
             ("[created_user_id]", contact.created_by), ("[modified_user_id]", contact.created_by),
             ("[account_id]", world.account["id"])]
    if contact.phone:
        pairs += [("[custom_fields][0][id]", world.account.get("phone_field_id", 1)),
                  ("[custom_fields][0][name]", "Телефон"), ("[custom_fields][0][values][0][value]", contact.phone),
                  ("[custom_fields][0][values][0][enum]", 1), ("[custom_fields][0][code]", "PHONE")]
    for lead_id in contact.lead_ids:
        pairs.append((f"[linked_leads_id][{lead_id}][ID]", lead_id))
    return pairs + [("[created_at]", contact.created_at), ("[updated_at]", contact.updated_at), ("[type]", "contact")]


def short_lead_fields(world, lead, hook: str, extra: dict) -> list[tuple[str, object]]:
    """A Digital Pipeline "webhook" action's body: ids and stages only (real/wh10, wh12)."""
    return [("[id]", lead.id), ("[status_id]", lead.status_id), ("[pipeline_id]", lead.pipeline_id),
            ("[old_status_id]", extra["old_status_id"]), ("[old_pipeline_id]", extra["old_pipeline_id"])]


def message_fields(world, message: dict, hook: str, extra: dict) -> list[tuple[str, object]]:
    """A chat message item (real/wh07)."""
    return [(f"[{key}]", value) for key, value in message.items()]


FIELDS = {"leads": lead_fields, "task": task_fields, "contacts": contact_fields, "message": message_fields}


def item_pairs(world, hook: str, record, extra: dict, index: int = 0) -> list[tuple[str, str]]:
    """Form pairs of one changed entity, e.g. leads[status][0][id]=..."""
    entity, action = ENTITY_ACTION[hook]
    fields = note_fields if action == "note" else short_lead_fields if hook == "dp_status_lead" else FIELDS[entity]
    prefix = f"{entity}[{action}][{index}]"
    return [(prefix + key, str(value)) for key, value in fields(world, record, hook, extra)]


def encode(pairs: list[tuple[str, str]]) -> str:
    """application/x-www-form-urlencoded body, brackets escaped as amoCRM sends them."""
    return urlencode(pairs)
