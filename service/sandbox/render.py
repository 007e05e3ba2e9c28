"""Records rendered as amoCRM API v4 JSON objects (shapes follow tests/data/samples/api)."""
from __future__ import annotations

from .records import (ENTITY_TYPES, EVENT_TYPES, EV_A, EV_AT, EV_B, EV_BY, EV_C, EV_D, EV_EID,
                      EV_ETYPE, EV_SEQ, EV_TYPE, LOST)

ENTITY_PATH = {"lead": "leads", "contact": "contacts", "task": "tasks"}


def link(href: str) -> dict:
    """A HAL _links block with only self."""
    return {"self": {"href": href}}


def event_id(seq: int) -> str:
    """amoCRM event ids are 26-char strings; ours encode the sequence number."""
    return f"01sb{seq:022x}"


def event_seq(event_id_text: str) -> int:
    """Inverse of event_id (ValueError on foreign ids)."""
    if not event_id_text.startswith("01sb"):
        raise ValueError(event_id_text)
    return int(event_id_text[4:], 16)


def status(world, s, base: str, descriptions: bool = False) -> dict:
    """A pipeline status."""
    out = {"id": s.id, "name": s.name, "sort": s.sort, "is_editable": s.is_editable,
           "pipeline_id": s.pipeline_id, "color": s.color, "type": s.type,
           "account_id": world.account["id"],
           "_links": link(f"{base}/api/v4/leads/pipelines/{s.pipeline_id}/statuses/{s.id}")}
    if descriptions:
        out["descriptions"] = []
    return out


def pipeline(world, p, base: str) -> dict:
    """A pipeline with its statuses embedded."""
    return {"id": p.id, "name": p.name, "sort": p.sort, "is_main": p.is_main,
            "is_unsorted_on": p.is_unsorted_on, "is_archive": p.is_archive,
            "account_id": world.account["id"], "_links": link(f"{base}/api/v4/leads/pipelines/{p.id}"),
            "_embedded": {"statuses": [status(world, s, base) for s in p.statuses]}}


def loss_reason(reason, base: str) -> dict:
    """A loss reason."""
    return {"id": reason.id, "name": reason.name, "sort": reason.sort, "created_at": reason.created_at,
            "updated_at": reason.updated_at, "_links": link(f"{base}/api/v4/leads/loss_reasons/{reason.id}")}


def custom_field(field: dict, base: str) -> dict:
    """A lead custom field as GET /api/v4/leads/custom_fields lists it (the sandbox keeps its close date field)."""
    return {"id": field["id"], "name": field["name"], "sort": 510, "type": "date", "is_predefined": False,
            "settings": None, "remind": None, "is_api_only": False, "group_id": None, "enums": None,
            "required_statuses": None, "_links": link(f"{base}/api/v4/custom_fields/{field['id']}/")}


def close_date_values(world, lead) -> list | None:
    """custom_fields_values for the planned-close-date field (date fields carry unix seconds)."""
    if lead.close_date is None:
        return None
    field = world.close_date_field
    return [{"field_id": field["id"], "field_name": field["name"], "field_code": None, "field_type": "date",
             "values": [{"value": lead.close_date}]}]


def lead(world, item, base: str, with_: frozenset = frozenset()) -> dict:
    """A lead; with_ may hold contacts, loss_reason, source, source_id, catalog_elements, is_price_modified_by_robot."""
    out = {"id": item.id, "name": item.name, "price": item.price,
           "responsible_user_id": item.responsible_user_id, "group_id": item.group_id,
           "status_id": item.status_id, "pipeline_id": item.pipeline_id,
           "loss_reason_id": item.loss_reason_id, "source_id": item.source_id,
           "created_by": item.created_by, "updated_by": item.updated_by, "created_at": item.created_at,
           "updated_at": item.updated_at, "closed_at": item.closed_at,
           "closest_task_at": item.closest_task_at, "is_deleted": item.is_deleted,
           "custom_fields_values": close_date_values(world, item), "score": None,
           "account_id": world.account["id"]}
    if "is_price_modified_by_robot" in with_:
        out["is_price_modified_by_robot"] = False
    out["_links"] = link(f"{base}/api/v4/leads/{item.id}")
    out["_embedded"] = lead_embedded(world, item, base, with_)
    return out


def lead_embedded(world, item, base: str, with_: frozenset) -> dict:
    """The _embedded block of a lead for the requested with= parts."""
    emb = {"tags": [{"id": tag_id, "name": name, "color": None} for tag_id, name in item.tags]}
    if "catalog_elements" in with_:
        emb["catalog_elements"] = []
    if "loss_reason" in with_ and item.status_id == LOST and item.loss_reason_id in world.loss_reasons:
        emb["loss_reason"] = [loss_reason(world.loss_reasons[item.loss_reason_id], base)]
    emb["companies"] = []
    if "contacts" in with_:
        emb["contacts"] = [{"id": cid, "is_main": i == 0, "_links": link(f"{base}/api/v4/contacts/{cid}")}
                           for i, cid in enumerate(item.contact_ids)]
    if "source" in with_ and item.source_id is not None:
        emb["source"] = {"id": item.source_id, "name": world.account.get("sources", {}).get(
            str(item.source_id), "Sandbox source")}
    return emb


def task(world, item, base: str) -> dict:
    """A task."""
    return {"id": item.id, "created_by": item.created_by, "updated_by": item.updated_by,
            "created_at": item.created_at, "updated_at": item.updated_at,
            "responsible_user_id": item.responsible_user_id, "group_id": item.group_id,
            "entity_id": item.entity_id, "entity_type": item.entity_type, "duration": item.duration,
            "is_completed": item.is_completed, "task_type_id": item.task_type_id, "text": item.text,
            # amoCRM returns [] when the task has no result and {"text": ...} when it has one.
            "result": {"text": item.result_text} if item.result_text else [],
            "complete_till": item.complete_till, "account_id": world.account["id"],
            "_links": link(f"{base}/api/v4/tasks/{item.id}")}


def note(world, item, base: str) -> dict:
    """A call note; params as the docs give them for call_in / call_out."""
    params = {"uniq": item.uniq, "duration": item.duration, "source": item.source, "link": item.link,
              "phone": item.phone}
    if item.note_type == "call_out":
        params["call_responsible"] = item.responsible_user_id
    else:
        user = world.users.get(item.responsible_user_id)
        params["call_responsible"] = user.name if user else ""
    return {"id": item.id, "entity_id": item.entity_id, "created_by": item.created_by,
            "updated_by": item.created_by, "created_at": item.created_at, "updated_at": item.created_at,
            "responsible_user_id": item.responsible_user_id, "group_id": item.group_id,
            "note_type": item.note_type, "params": params, "account_id": world.account["id"],
            "_links": link(f"{base}/api/v4/leads/{item.entity_id}/notes/{item.id}")}


def contact(world, item, base: str, with_: frozenset = frozenset()) -> dict:
    """A contact (shape from the contacts API docs; no shared sample)."""
    first, _, last = item.name.partition(" ")
    fields = None
    if item.phone:
        fields = [{"field_id": world.account.get("phone_field_id", 1), "field_name": "Телефон",
                   "field_code": "PHONE", "field_type": "multitext",
                   "values": [{"value": item.phone, "enum_id": 1, "enum_code": "WORK"}]}]
    out = {"id": item.id, "name": item.name, "first_name": first, "last_name": last,
           "responsible_user_id": item.responsible_user_id, "group_id": item.group_id,
           "created_by": item.created_by, "updated_by": item.created_by, "created_at": item.created_at,
           "updated_at": item.updated_at, "closest_task_at": None, "is_deleted": item.is_deleted,
           "is_unsorted": False, "custom_fields_values": fields, "account_id": world.account["id"],
           "_links": link(f"{base}/api/v4/contacts/{item.id}"), "_embedded": {"tags": [], "companies": []}}
    if "leads" in with_:
        out["_embedded"]["leads"] = [{"id": lid, "_links": link(f"{base}/api/v4/leads/{lid}")}
                                     for lid in item.lead_ids]
    return out


def event(world, row: tuple, base: str) -> dict:
    """An event from its compact tuple."""
    entity = ENTITY_TYPES[row[EV_ETYPE]]
    eid = event_id(row[EV_SEQ])
    type_name, before, after = event_values(world, row)
    return {"id": eid, "type": type_name, "entity_id": row[EV_EID], "entity_type": entity,
            "created_by": row[EV_BY], "created_at": row[EV_AT], "value_after": after,
            "value_before": before, "account_id": world.account["id"],
            "_links": link(f"{base}/api/v4/events/{eid}"),
            "_embedded": {"entity": {"id": row[EV_EID],
                                     "_links": link(f"{base}/api/v4/{ENTITY_PATH[entity]}/{row[EV_EID]}")}}}


def events(world, rows, base: str):
    """event() for many rows, with what every event shares looked up once (the large account has 1.6 M)."""
    account_id, events_href = world.account["id"], f"{base}/api/v4/events/"
    entity_hrefs = {code: (name, f"{base}/api/v4/{ENTITY_PATH[name]}/") for code, name in enumerate(ENTITY_TYPES)}
    for row in rows:
        entity, href = entity_hrefs[row[EV_ETYPE]]
        eid, entity_id = f"01sb{row[EV_SEQ]:022x}", row[EV_EID]
        type_name, before, after = event_values(world, row)
        yield {"id": eid, "type": type_name, "entity_id": entity_id, "entity_type": entity,
               "created_by": row[EV_BY], "created_at": row[EV_AT], "value_after": after,
               "value_before": before, "account_id": account_id,
               "_links": {"self": {"href": events_href + eid}},
               "_embedded": {"entity": {"id": entity_id, "_links": {"self": {"href": f"{href}{entity_id}"}}}}}


def event_type_name(world, row: tuple) -> str:
    """The public type name of an event row."""
    name = EVENT_TYPES[row[EV_TYPE]]
    if name == "custom_field_value_changed":
        return f"custom_field_{world.close_date_field['id']}_value_changed"
    return name


def event_values(world, row: tuple) -> tuple[str, list, list]:
    """(type, value_before, value_after) as documented per event type."""
    name = event_type_name(world, row)
    a, b, c, d = row[EV_A], row[EV_B], row[EV_C], row[EV_D]
    kind = EVENT_TYPES[row[EV_TYPE]]
    if kind == "lead_status_changed":
        return name, [{"lead_status": {"id": a, "pipeline_id": b}}], [{"lead_status": {"id": c, "pipeline_id": d}}]
    if kind == "entity_responsible_changed":
        return name, [{"responsible_user": {"id": a}}], [{"responsible_user": {"id": b}}]
    if kind in ("lead_added", "contact_added", "incoming_call", "outgoing_call"):
        return name, [], [{"note": {"id": a}}]
    if kind == "custom_field_value_changed":
        return name, field_value(world, a), field_value(world, b)
    if kind == "sale_field_changed":
        return name, [{"sale_field_value": {"sale": a}}], [{"sale_field_value": {"sale": b}}]
    return name, [], []


def field_value(world, value: int) -> list:
    """A date custom field value in an event (text = unix seconds; unverified against a live account)."""
    if not value:
        return []
    return [{"custom_field_value": {"field_id": world.close_date_field["id"], "field_type": 6,
                                    "enum_id": None, "text": str(value)}}]
