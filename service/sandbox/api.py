"""API v4 read endpoints Deal Pulse uses: account, leads, pipelines, users, tasks, events, notes, ..."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from . import render, render_account
from .guard import problem
from .listing import (BadRequest, as_ints, as_list, base_url, freeze, hal, nested_args, no_content,
                      order_arg, paged, time_range, with_totals)

bp = Blueprint("sandbox_api", __name__, url_prefix="/api/v4")


def state():
    """The app's sandbox state (world, caches, guards)."""
    return current_app.config["SANDBOX"]


def with_args() -> frozenset:
    """The with= parts of the query."""
    return frozenset(part.strip() for part in request.args.get("with", "").split(",") if part.strip())


@bp.errorhandler(BadRequest)
def bad_request(err: BadRequest):
    """Validation errors in amoCRM's problem shape."""
    return err.response()


@bp.get("/account")
def account():
    """The account; with= adds the documented extras."""
    world = state().world
    with world.lock:
        return hal(render_account.account(world, base_url(), with_args()))


# ---- leads ------------------------------------------------------------------------------
LEAD_RANGES = ("created_at", "updated_at", "closed_at", "closest_task_at", "price")


def paid_filter_gate() -> dict | None:
    """filter[...] on leads/contacts needs the paid add-on; None means 'refuse the request'."""
    filters = nested_args("filter")
    world = state().world
    if not filters or world.account.get("is_api_filter_enabled"):
        return filters
    if world.settings.get("api_filter_off") == "ignore":
        return {}
    return None


def refused_filter():
    """The refusal when the filter add-on is off.

    The docs only say filtering is a paid "Alpha" add-on; they do not show the refusal. We answer
    402 with a problem body, mirroring the documented 402 "Необходимо оплатить функционал" code.
    Set settings.api_filter_off = "ignore" for the other reading (filters silently ignored).
    """
    return problem(402, "Payment Required", "API filtering is a paid add-on that is not enabled for this account")


def lead_matches(lead, filters: dict) -> bool:
    """True when the lead passes every supported filter."""
    if "id" in filters and lead.id not in as_ints(filters["id"], "filter.id"):
        return False
    for key in ("pipeline_id", "responsible_user_id", "created_by", "updated_by"):
        if key in filters and getattr(lead, key) not in as_ints(filters[key], f"filter.{key}"):
            return False
    for key in LEAD_RANGES:
        if key in filters:
            low, high = time_range(filters[key], f"filter.{key}")
            value = getattr(lead, key)
            if value is None or not low <= value <= high:
                return False
    if "statuses" in filters:
        pairs = {(int(s.get("pipeline_id", 0)), int(s.get("status_id", 0))) for s in filters["statuses"].values()}
        if (lead.pipeline_id, lead.status_id) not in pairs:
            return False
    return True


def lead_ids(filters: dict, deleted: bool) -> list:
    """Ids of the leads a list request selects, in the requested order (cached per world version)."""
    field, desc = order_arg(("id", "updated_at", "created_at"), ("id", False))
    world = state().world
    key = ("leads", world.version, freeze(filters), field, desc, deleted)

    def compute():
        chosen = [lead for lead in world.leads.values()
                  if lead.is_deleted == deleted and lead_matches(lead, filters)]
        chosen.sort(key=lambda lead: (getattr(lead, field), lead.id), reverse=desc)
        return [lead.id for lead in chosen]
    return state().cache.get(key, compute)


@bp.get("/leads")
def leads():
    """Leads list: page, limit <= 250, order, filter (paid add-on), with=contacts,loss_reason,..."""
    filters = paid_filter_gate()
    if filters is None:
        return refused_filter()
    world, base, parts = state().world, base_url(), with_args()
    with world.lock:
        ids = lead_ids(filters, "only_deleted" in parts)
        return paged("leads", ids, lambda i: render.lead(world, world.leads[i], base, parts))


@bp.get("/leads/<int:lead_id>")
def lead(lead_id: int):
    """One lead; 204 when it does not exist, as the docs say."""
    world = state().world
    with world.lock:
        item = world.leads.get(lead_id)
        if item is None or item.is_deleted:
            return no_content()
        return hal(render.lead(world, item, base_url(), with_args()))


# ---- pipelines, loss reasons, users -----------------------------------------------------
@bp.get("/leads/pipelines")
def pipelines():
    """All pipelines with statuses embedded."""
    world, base = state().world, base_url()
    items = [render.pipeline(world, p, base) for p in sorted(world.pipelines.values(), key=lambda p: p.sort)]
    return hal({"_total_items": len(items), "_links": {"self": {"href": f"{base}/api/v4/leads/pipelines"}},
                "_embedded": {"pipelines": items}})


@bp.get("/leads/pipelines/<int:pipeline_id>")
def pipeline(pipeline_id: int):
    """One pipeline."""
    world = state().world
    item = world.pipelines.get(pipeline_id)
    return hal(render.pipeline(world, item, base_url())) if item else no_content()


@bp.get("/leads/pipelines/<int:pipeline_id>/statuses")
def statuses(pipeline_id: int):
    """The statuses of one pipeline."""
    world = state().world
    item = world.pipelines.get(pipeline_id)
    if item is None:
        return no_content()
    rows = [render.status(world, s, base_url(), descriptions=True) for s in item.statuses]
    return hal({"_total_items": len(rows), "_embedded": {"statuses": rows}})


@bp.get("/leads/loss_reasons")
def loss_reasons():
    """Loss reasons."""
    world, base = state().world, base_url()
    items = sorted(world.loss_reasons.values(), key=lambda r: r.sort)
    if not items:
        return no_content()
    return hal({"_total_items": len(items), "_page": 1, "_page_count": 1,
                "_links": {"self": {"href": f"{base}/api/v4/leads/loss_reasons"}},
                "_embedded": {"loss_reasons": [render.loss_reason(r, base) for r in items]}})


@bp.get("/leads/custom_fields")
def lead_custom_fields():
    """Lead custom fields: the planned-close-date field (id 0: none); up to 50 a page, the docs' per-request limit."""
    field, base = state().world.close_date_field, base_url()
    items = [field] if field["id"] else []
    return with_totals(paged("custom_fields", items, lambda f: render.custom_field(f, base), max_limit=50),
                       len(items), max_limit=50)


@bp.get("/users")
def users():
    """Users with rights (the API allows this to admins only; the sandbox token is an admin's)."""
    world, base, parts = state().world, base_url(), with_args()
    items = sorted(world.users.values(), key=lambda u: u.id)
    return with_totals(paged("users", items, lambda u: render_account.user(world, u, base, parts)), len(items))


# ---- tasks, notes, contacts, unsorted ---------------------------------------------------
def task_matches(task, filters: dict) -> bool:
    """True when a task passes the filters Deal Pulse may send."""
    if "is_completed" in filters:
        wanted = {v in ("1", "true") for v in as_list(filters["is_completed"])}
        if task.is_completed not in wanted:
            return False
    for key, attr in (("entity_id", "entity_id"), ("responsible_user_id", "responsible_user_id"),
                      ("task_type", "task_type_id"), ("id", "id")):
        if key in filters and getattr(task, attr) not in as_ints(filters[key], f"filter.{key}"):
            return False
    if "entity_type" in filters and task.entity_type not in as_list(filters["entity_type"]):
        return False
    if "updated_at" in filters:
        low, high = time_range(filters["updated_at"], "filter.updated_at")
        return low <= task.updated_at <= high
    return True


@bp.get("/tasks")
def tasks():
    """Tasks list."""
    world, base = state().world, base_url()
    filters = nested_args("filter")
    field, desc = order_arg(("id", "created_at", "complete_till", "updated_at"), ("id", False))
    with world.lock:
        key = ("tasks", world.version, freeze(filters), field, desc)
        ids = state().cache.get(key, lambda: [t.id for t in sorted(
            (t for t in world.tasks.values() if task_matches(t, filters)),
            key=lambda t: (getattr(t, field), t.id), reverse=desc)])
        return paged("tasks", ids, lambda i: render.task(world, world.tasks[i], base))


@bp.get("/tasks/<int:task_id>")
def task(task_id: int):
    """One task."""
    world = state().world
    item = world.tasks.get(task_id)
    return hal(render.task(world, item, base_url())) if item else no_content()


def note_matches(note, filters: dict) -> bool:
    """True when a note passes the notes filters."""
    if "note_type" in filters and note.note_type not in as_list(filters["note_type"]):
        return False
    for key in ("entity_id", "id"):
        if key in filters and getattr(note, key) not in as_ints(filters[key], f"filter.{key}"):
            return False
    if "updated_at" in filters:
        low, high = time_range(filters["updated_at"], "filter.updated_at")
        return low <= note.created_at <= high
    return True


@bp.get("/leads/notes")
def notes():
    """Lead notes (the sandbox keeps call notes: call_in / call_out with params.duration)."""
    world, base = state().world, base_url()
    filters = nested_args("filter")
    field, desc = order_arg(("id", "updated_at"), ("id", False))
    attr = "created_at" if field == "updated_at" else "id"
    with world.lock:
        key = ("notes", world.version, freeze(filters), attr, desc)
        ids = state().cache.get(key, lambda: [n.id for n in sorted(
            (n for n in world.notes.values() if note_matches(n, filters)),
            key=lambda n: (getattr(n, attr), n.id), reverse=desc)])
        return paged("notes", ids, lambda i: render.note(world, world.notes[i], base))


@bp.get("/contacts")
def contacts():
    """Contacts list (filter[...] is the same paid add-on as for leads)."""
    filters = paid_filter_gate()
    if filters is None:
        return refused_filter()
    world, base, parts = state().world, base_url(), with_args()
    wanted = as_ints(filters["id"], "filter.id") if "id" in filters else None
    with world.lock:
        ids = [c.id for c in world.contacts.values()
               if not c.is_deleted and (wanted is None or c.id in wanted)]
        return paged("contacts", ids, lambda i: render.contact(world, world.contacts[i], base, parts))


@bp.get("/contacts/<int:contact_id>")
def contact(contact_id: int):
    """One contact."""
    world = state().world
    item = world.contacts.get(contact_id)
    return hal(render.contact(world, item, base_url(), with_args())) if item else no_content()


@bp.get("/leads/unsorted")
def unsorted():
    """Incoming requests, newest first; filter[category][], filter[pipeline_id], filter[uid]."""
    world, base = state().world, base_url()
    filters = nested_args("filter")
    categories = set(as_list(filters.get("category"))) or None
    uids = set(as_list(filters.get("uid"))) or None
    pipes = as_ints(filters["pipeline_id"], "filter.pipeline_id") if "pipeline_id" in filters else None
    with world.lock:
        rows = [u for u in world.unsorted.values()
                if (categories is None or u.category in categories) and (uids is None or u.uid in uids)
                and (pipes is None or u.pipeline_id in pipes)]
        rows.sort(key=lambda u: u.created_at, reverse=True)
        return paged("unsorted", rows, lambda u: render_account.unsorted(world, u, base))
