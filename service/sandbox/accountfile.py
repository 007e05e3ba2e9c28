"""Account files: the account as amoCRM API v4 objects, plus a separate "sandbox" section.

Layout (top-level keys):
  format         "deal-pulse-sandbox/1"
  account        GET /api/v4/account?with=users_groups,task_types,datetime_settings,is_api_filter_enabled,...
  users          GET /api/v4/users?with=role,group items
  pipelines      GET /api/v4/leads/pipelines items (statuses embedded)
  loss_reasons   GET /api/v4/leads/loss_reasons items
  custom_fields  GET /api/v4/leads/custom_fields items (the sandbox uses the first "date" field as
                 the planned close date)
  leads          GET /api/v4/leads?with=contacts,loss_reason items (deleted ones with is_deleted=true)
  contacts       GET /api/v4/contacts?with=leads items
  tasks, notes, events, unsorted, webhooks   the matching list items
  sandbox        what the API cannot express: the settings tree of settings.py (oauth client,
                 rate limit, faults, webhook delivery, simulator) and generator hints under
                 "profiles" (user id -> [skill, load]), "stage_profiles" (status id -> [mean days,
                 loss chance]) and "pipeline_weights" ([pipeline id, share]).
"""
from __future__ import annotations

import gc
import io
import json
from contextlib import contextmanager

import orjson

from . import eventjson, itemjson, render, render_account
from .accountload import load_document

FORMAT = "deal-pulse-sandbox/1"
ACCOUNT_WITH = frozenset(render_account.ACCOUNT_WITH)
# sections given as chunks of JSON bytes (eventjson, itemjson)
RAW_SECTIONS = frozenset({"leads", "contacts", "tasks", "notes", "events", "unsorted"})


def dump(world) -> dict:
    """The whole account as a JSON-ready dict (hrefs use https://{subdomain}.amocrm.ru)."""
    with world.lock:
        return {name: value if isinstance(value, (dict, str)) else list(value) for name, value in _sections(world)}


def write(world, out) -> None:
    """The account file as UTF-8 JSON into a binary stream, a thousand items at a time through orjson: the large
    account's text is over a gigabyte, and building it whole with json.dumps took most of `generate`'s time.
    Leads, contacts, tasks, notes, events and unsorted are written as bytes from their records (itemjson, eventjson),
    without a dict each."""
    with world.lock, gc_paused():
        out.write(b"{")
        for n, (name, value) in enumerate(_sections(world, raw_events=True)):
            out.write(b"," * bool(n) + orjson.dumps(name) + b":")
            if isinstance(value, (dict, str)):
                out.write(_json(value))
                continue
            out.write(b"[")
            if name in RAW_SECTIONS:  # already JSON bytes, a thousand items to a chunk
                for k, chunk in enumerate(value):
                    if k:
                        out.write(b",")  # apart: joined, the chunk's bytes were copied once more
                    out.write(chunk)
            else:
                for k, chunk in enumerate(_chunks(value, 1000)):
                    out.write(b"," * bool(k) + b",".join(map(_json, chunk)))
            out.write(b"]")
        out.write(b"}")


@contextmanager
def gc_paused():
    """Cyclic GC off while millions of short-lived, acyclic dicts are made: each full collection walks every
    object of the account (millions), and allocation-triggered collections were a third of the CPU."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sections(world, raw_events: bool = False):
    """(name, object or iterable of items) in file order; items are rendered as they are iterated (leads, contacts,
    tasks, notes, events and unsorted as JSON bytes when raw_events)."""
    base = f"https://{world.account['subdomain']}.amocrm.ru"
    lead_with = frozenset({"contacts", "loss_reason"})
    yield "format", FORMAT
    yield "account", render_account.account(world, base, ACCOUNT_WITH)
    yield "users", (render_account.user(world, u, base, frozenset({"role", "group"})) for u in world.users.values())
    yield "pipelines", (render.pipeline(world, p, base) for p in world.pipelines.values())
    yield "loss_reasons", (render.loss_reason(r, base) for r in world.loss_reasons.values())
    yield "custom_fields", [close_date_field(world)]
    if raw_events:
        yield "leads", itemjson.chunks(itemjson.leads_text(world, world.leads.values(), base))
        yield "contacts", itemjson.chunks(itemjson.contacts_text(world, world.contacts.values(), base))
        yield "tasks", itemjson.chunks(itemjson.tasks_text(world, world.tasks.values(), base))
        yield "notes", itemjson.chunks(itemjson.notes_text(world, world.notes.values(), base))
        yield "events", eventjson.events_chunks(world, world.events, base)
        yield "unsorted", itemjson.chunks(itemjson.unsorted_text(world, world.unsorted.values(), base))
    else:
        yield "leads", (render.lead(world, x, base, lead_with) for x in world.leads.values())
        yield "contacts", (render.contact(world, x, base, frozenset({"leads"})) for x in world.contacts.values())
        yield "tasks", (render.task(world, x, base) for x in world.tasks.values())
        yield "notes", (render.note(world, x, base) for x in world.notes.values())
        yield "events", render.events(world, world.events, base)
        yield "unsorted", (render_account.unsorted(world, x, base) for x in world.unsorted.values())
    yield "webhooks", (render_account.hook(world, h) for h in world.hooks.values())
    yield "sandbox", sandbox_section(world)


def _json(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _chunks(items, size: int):
    """Lists of up to `size` items."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def close_date_field(world) -> dict:
    """The planned-close-date custom field in the custom fields API shape."""
    field = world.close_date_field
    return {"id": field["id"], "name": field["name"], "type": "date", "code": None, "sort": 510,
            "is_api_only": False, "entity_type": "leads", "enums": None}


def sandbox_section(world) -> dict:
    """Settings plus generator hints, JSON-friendly (string keys)."""
    section = json.loads(json.dumps(world.settings))
    section["profiles"] = {str(k): list(v) for k, v in world.profiles.items()}
    section["stage_profiles"] = {str(k): list(v) for k, v in world.stage_profiles.items()}
    section["pipeline_weights"] = [list(pair) for pair in world.pipeline_weights]
    return section


def load(doc: dict):
    """A World from an account-file dict; ShapeError names the object and field on a wrong shape."""
    return load_document(doc)


def dumps(world) -> str:
    """The account file as JSON text."""
    out = io.BytesIO()
    write(world, out)
    return out.getvalue().decode()


def load_path(path: str):
    """A World from an account file on disk."""
    with open(path, encoding="utf-8") as handle:
        return load(json.load(handle))
