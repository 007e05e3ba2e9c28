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

import json

from . import render, render_account
from .accountload import load_document

FORMAT = "deal-pulse-sandbox/1"
ACCOUNT_WITH = frozenset(render_account.ACCOUNT_WITH)


def dump(world) -> dict:
    """The whole account as a JSON-ready dict (hrefs use https://{subdomain}.amocrm.ru)."""
    with world.lock:
        base = f"https://{world.account['subdomain']}.amocrm.ru"
        lead_with = frozenset({"contacts", "loss_reason"})
        return {
            "format": FORMAT,
            "account": render_account.account(world, base, ACCOUNT_WITH),
            "users": [render_account.user(world, u, base, frozenset({"role", "group"})) for u in world.users.values()],
            "pipelines": [render.pipeline(world, p, base) for p in world.pipelines.values()],
            "loss_reasons": [render.loss_reason(r, base) for r in world.loss_reasons.values()],
            "custom_fields": [close_date_field(world)],
            "leads": [render.lead(world, x, base, lead_with) for x in world.leads.values()],
            "contacts": [render.contact(world, x, base, frozenset({"leads"})) for x in world.contacts.values()],
            "tasks": [render.task(world, x, base) for x in world.tasks.values()],
            "notes": [render.note(world, x, base) for x in world.notes.values()],
            "events": [render.event(world, row, base) for row in world.events],
            "unsorted": [render_account.unsorted(world, x, base) for x in world.unsorted.values()],
            "webhooks": [render_account.hook(world, h) for h in world.hooks.values()],
            "sandbox": sandbox_section(world),
        }


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
    return json.dumps(dump(world), ensure_ascii=False)


def load_path(path: str):
    """A World from an account file on disk."""
    with open(path, encoding="utf-8") as handle:
        return load(json.load(handle))
