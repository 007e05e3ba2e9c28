"""The screenshot scenario (tests/unit/insights/data/report_screenshots.json) expanded into a sandbox account file.

The one expansion of the hand-written spec: the sandbox serves it (e2e), and `synced_snapshot` reads it the way a
complete sync would for the insight unit tests and the browser tests' store.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from service.amocrm import schemas
from service.insights.snapshot import Snapshot, build_snapshot
from service.insights.spells import group_history
from service.model import LOST, WON
from service.sandbox.accountfile import FORMAT
from service.sandbox.render import event_id
from service.services.sync_apply import entered_at

SPEC = json.loads((Path(__file__).resolve().parents[1] / "unit" / "insights" / "data" / "report_screenshots.json")
                  .read_text(encoding="utf-8"))
DAY = 86400
ACCEPT_DELAY = 15 * 60  # a request waits a quarter of an hour in «Неразобранное» before a manager accepts it
ACCOUNT = {"id": 29000002, "name": "Отчёты amoCRM", "subdomain": "screenshots", "country": "RU",
           "is_api_filter_enabled": False,
           "_embedded": {"users_groups": [{"id": 0, "name": "Отдел продаж", "uuid": None}],
                         "datetime_settings": {"timezone": "Europe/Moscow", "timezone_offset": "+03:00"}}}
STATUS_IDS = {s["name"]: s["id"] for s in SPEC["pipeline"]["stages"]} | {"won": WON, "lost": LOST}
UNSORTED = next(s["id"] for s in SPEC["pipeline"]["stages"] if s.get("unsorted"))
MANAGERS = [u["id"] for u in SPEC["users"] if not u.get("is_admin")]


def report_account(now: int) -> dict:
    """The account document (format deal-pulse-sandbox/1) as it stands at `now`."""
    doc, deals = _reference(now), _deals(now)
    requested = _requested_deals(deals, now)
    for lead_id, group, start_at in deals:
        _add_deal(doc, lead_id, group, start_at, requested.get(lead_id))
    _add_declined_requests(doc, now, len(deals) + 1)
    doc["events"].sort(key=lambda e: e["created_at"])
    for seq, event in enumerate(doc["events"], 1):
        event["id"] = event_id(seq)
    return doc


def _deals(now: int) -> list:
    """(deal id, group, when it entered its first stage) for every deal, ids from 1 in spec order."""
    every = (group for group in SPEC["groups"] for _ in range(group["count"]))
    return [(lead_id, group, int(now - group["start"] * DAY)) for lead_id, group in enumerate(every, 1)]


def _reference(now: int) -> dict:
    """Account, users, the pipeline (with won and lost) and loss reasons; empty entity lists."""
    p = SPEC["pipeline"]
    statuses = [{"id": s["id"], "name": s["name"], "sort": s["sort"], "is_editable": not s.get("unsorted"),
                 "pipeline_id": p["id"], "color": "#99ccff", "type": int(bool(s.get("unsorted")))}
                for s in p["stages"]]
    closed = ((WON, "Успешно реализовано", 10000), (LOST, "Закрыто и не реализовано", 11000))
    statuses += [{"id": sid, "name": name, "sort": sort, "is_editable": False, "pipeline_id": p["id"],
                  "color": "#D5D8DB", "type": 0} for sid, name, sort in closed]
    supervisor = next(u["id"] for u in SPEC["users"] if u.get("is_admin"))
    return {"format": FORMAT, "account": {**ACCOUNT, "current_user_id": supervisor},
            "users": [_user(u) for u in SPEC["users"]],
            "pipelines": [{"id": p["id"], "name": p["name"], "sort": 1, "is_main": True, "is_unsorted_on": True,
                           "is_archive": False, "_embedded": {"statuses": statuses}}],
            "loss_reasons": [{"id": int(k), "name": v, "sort": 100 * int(k), "created_at": now - 365 * DAY,
                              "updated_at": now - 365 * DAY} for k, v in SPEC["loss_reasons"].items()],
            "leads": [], "contacts": [], "events": [], "unsorted": []}


def _user(u: dict) -> dict:
    """A user with the rights Deal Pulse reads: the supervisor sees all deals, a manager their own."""
    admin = bool(u.get("is_admin"))
    return {"id": u["id"], "name": u["name"], "email": f"user{u['id']}@screenshots.example", "lang": "ru",
            "rights": {"leads": {"view": "A" if admin else "M"}, "is_admin": admin, "is_active": True,
                       "group_id": None, "role_id": None}}


def _requested_deals(deals: list, now: int) -> dict:
    """deal id -> category: the youngest deals are the requests that became deals in the period."""
    categories = [c["category"] for c in SPEC["incoming"] for _ in range(c["became_deals"])]
    youngest = sorted(deals, key=lambda d: (-d[2], d[0]))[:len(categories)]
    period_start = now - SPEC["period_days"] * DAY
    if len(youngest) < len(categories) or youngest[-1][2] - ACCEPT_DELAY < period_start:
        raise ValueError(f"spec: {len(categories)} requests became deals in the period, fewer deals started in it")
    return {deal[0]: category for deal, category in zip(youngest, categories)}


def _add_deal(doc: dict, lead_id: int, group: dict, start_at: int, category) -> None:
    """A deal walking its group's path; one that came in as a request starts in «Неразобранное»."""
    first = STATUS_IDS[group["path"][0][0]]
    lead = _lead(lead_id, group["price"], UNSORTED if category else first, start_at - ACCEPT_DELAY * bool(category))
    doc["leads"].append(lead)
    if category:
        _add_request(doc, category, lead)
    at = start_at
    for name, days in group["path"]:
        if STATUS_IDS[name] != lead["status_id"]:
            _move(doc, lead, at, STATUS_IDS[name], group.get("loss_reason"))
        at += int(days * DAY)


def _lead(lead_id: int, price: int, status_id: int, created_at: int) -> dict:
    """A lead as GET /api/v4/leads lists it, handed to the managers round-robin by id."""
    user = MANAGERS[lead_id % len(MANAGERS)]
    return {"id": lead_id, "name": f"Сделка №{lead_id}", "price": price, "responsible_user_id": user, "group_id": 0,
            "status_id": status_id, "pipeline_id": SPEC["pipeline"]["id"], "loss_reason_id": None,
            "source_id": None, "created_by": user, "updated_by": user, "created_at": created_at,
            "updated_at": created_at, "closed_at": None, "closest_task_at": None, "is_deleted": False,
            "custom_fields_values": None, "_embedded": {"tags": [], "contacts": []}}


def _move(doc: dict, lead: dict, at: int, status_id: int, loss_reason) -> None:
    """A lead_status_changed event, and the lead where it leaves it."""
    pipeline = lead["pipeline_id"]
    doc["events"].append({"type": "lead_status_changed", "entity_id": lead["id"], "entity_type": "lead",
                          "created_by": lead["responsible_user_id"], "created_at": at,
                          "value_before": [{"lead_status": {"id": lead["status_id"], "pipeline_id": pipeline}}],
                          "value_after": [{"lead_status": {"id": status_id, "pipeline_id": pipeline}}]})
    lead.update(status_id=status_id, updated_at=at)
    if status_id in (WON, LOST):
        lead.update(closed_at=at, loss_reason_id=loss_reason if status_id == LOST else None)


def _add_request(doc: dict, category: str, lead: dict) -> None:
    """The unsorted record and contact of a request whose lead is `lead` (created with it)."""
    source = next(c["source_name"] for c in SPEC["incoming"] if c["category"] == category)
    contact_id = len(doc["contacts"]) + 1
    doc["contacts"].append({"id": contact_id, "name": f"Клиент №{contact_id}", "responsible_user_id":
                            lead["responsible_user_id"], "group_id": 0, "created_by": 0,
                            "created_at": lead["created_at"], "updated_at": lead["updated_at"],
                            "is_deleted": lead["is_deleted"], "custom_fields_values": None,
                            "_embedded": {"leads": [{"id": lead["id"]}]}})
    lead["_embedded"]["contacts"] = [{"id": contact_id, "is_main": True}]
    doc["unsorted"].append({"uid": f"{category}-{lead['id']}", "source_uid": None, "source_name": source,
                            "category": category, "pipeline_id": lead["pipeline_id"],
                            "created_at": lead["created_at"], "metadata": {},
                            "_embedded": {"contacts": [{"id": contact_id}], "leads": [{"id": lead["id"]}],
                                          "companies": []}})


def _add_declined_requests(doc: dict, now: int, next_id: int) -> None:
    """The requests that did not become deals, spread over the period; declining deletes their lead."""
    for source in SPEC["incoming"]:
        for i in range(source["became_deals"], source["count"]):
            created_at = now - (i % 28 + 1) * DAY
            lead = _lead(next_id, 0, UNSORTED, created_at)
            lead.update(is_deleted=True, updated_at=created_at + ACCEPT_DELAY)
            doc["leads"].append(lead)
            _add_request(doc, source["category"], lead)
            next_id += 1


def synced_snapshot(doc: dict) -> Snapshot:
    """What a complete sync mirrors from the document, read through the wire schemas (the API lists no deleted
    leads, and a lead's stage entry comes from its history)."""
    event_schema, lead_schema = schemas.EventSchema(), schemas.LeadSchema()  # one each: a schema takes ms to build
    history = [schemas.stage_change(event_schema.load(e)) for e in doc["events"] if e["type"] == "lead_status_changed"]
    by_lead = group_history(history)
    leads = [lead_schema.load(x) for x in doc["leads"] if not x["is_deleted"]]
    leads = [replace(lead, stage_entered_at=entered_at(lead, by_lead.get(lead.id, ()))) for lead in leads]
    return build_snapshot(schemas.make_account(doc["account"], f"https://{doc['account']['subdomain']}.amocrm.ru"),
                          schemas.PipelineSchema(many=True).load(doc["pipelines"]),
                          schemas.UserSchema(many=True).load(doc["users"]), leads, history=history,
                          incoming=schemas.UnsortedSchema(many=True).load(doc["unsorted"]),
                          loss_reasons={r["id"]: r["name"] for r in doc["loss_reasons"]})
