"""API v4 writes: tasks (POST/PATCH), lead edits (PATCH) and webhook subscriptions."""
from __future__ import annotations

from flask import request

from . import render, render_account
from .api import bp, state
from .listing import BadRequest, base_url, hal, nested_args, no_content

HOOK_EVENTS = {f"{action}_{entity}" for entity in ("lead", "contact", "company", "customer")
               for action in ("add", "update", "delete", "restore", "status", "responsible", "note")} | {
    "add_task", "update_task", "delete_task", "responsible_task", "add_talk", "update_talk"}


def body_list() -> list:
    """The JSON body as a list of objects (amoCRM takes arrays; a single object is accepted too)."""
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise BadRequest("", "Request body must be a JSON array of objects.")
    return data


def need_int(item: dict, key: str, index: int) -> int:
    """A required integer field of a body item."""
    value = item.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{index}.{key}", "This value should be of type int.")
    return value


@bp.post("/tasks")
def add_tasks():
    """Create tasks on leads; answers ids with request_id as amoCRM does."""
    world, base, out = state().world, base_url(), []
    items = body_list()
    with world.lock:
        for i, item in enumerate(items):
            if item.get("entity_type", "leads") != "leads":
                raise BadRequest(f"{i}.entity_type", "The sandbox keeps tasks on leads only.")
            lead_id, till = need_int(item, "entity_id", i), need_int(item, "complete_till", i)
            if lead_id not in world.leads or world.leads[lead_id].is_deleted:
                raise BadRequest(f"{i}.entity_id", "Entity not found.")
            task = world.add_task(lead_id, str(item.get("text", "")), till, item.get("responsible_user_id"),
                                  int(item.get("task_type_id", 1)), by=0)
            out.append({"id": task.id, "request_id": str(item.get("request_id", i)),
                        "_links": render.link(f"{base}/api/v4/tasks/{task.id}")})
    return hal({"_links": {"self": {"href": f"{base}/api/v4/tasks"}}, "_embedded": {"tasks": out}})


def patch_task(world, task_id: int, item: dict, index: int) -> None:
    """Apply one task edit: completion (with result text) is what the sandbox supports."""
    if task_id not in world.tasks:
        raise BadRequest(f"{index}.id", "Task not found.")
    if item.get("is_completed") is True and not world.tasks[task_id].is_completed:
        result = item.get("result") or {}
        world.complete_task(task_id, result.get("text") if isinstance(result, dict) else None, by=0)


@bp.patch("/tasks")
def edit_tasks():
    """Edit tasks in bulk (each item carries its id)."""
    world, out = state().world, []
    with world.lock:
        for i, item in enumerate(body_list()):
            task_id = need_int(item, "id", i)
            patch_task(world, task_id, item, i)
            out.append({"id": task_id, "updated_at": world.tasks[task_id].updated_at})
    return hal({"_embedded": {"tasks": out}})


@bp.patch("/tasks/<int:task_id>")
def edit_task(task_id: int):
    """Edit one task."""
    world = state().world
    with world.lock:
        patch_task(world, task_id, body_list()[0], 0)
        return hal(render.task(world, world.tasks[task_id], base_url()))


@bp.patch("/leads/<int:lead_id>")
def edit_lead(lead_id: int):
    """Change a lead's stage, responsible or planned close date (made by the API: modified_user_id 0)."""
    world = state().world
    item = body_list()[0]
    with world.lock:
        if lead_id not in world.leads or world.leads[lead_id].is_deleted:
            return no_content()
        if "status_id" in item or "pipeline_id" in item:
            lead = world.leads[lead_id]
            try:
                world.move_lead(lead_id, int(item.get("status_id", lead.status_id)),
                                int(item.get("pipeline_id", lead.pipeline_id)), item.get("loss_reason_id"))
            except ValueError as err:
                raise BadRequest("0.status_id", str(err)) from None
        if "responsible_user_id" in item:
            world.set_responsible(lead_id, need_int(item, "responsible_user_id", 0))
        return hal(render.lead(world, world.leads[lead_id], base_url()))


@bp.get("/webhooks")
def list_hooks():
    """Webhook subscriptions; filter[destination]; 204 when there are none."""
    world = state().world
    wanted = nested_args("filter").get("destination")
    hooks = [h for h in world.hooks.values() if wanted is None or h.destination == wanted]
    if not hooks:
        return no_content()
    return hal({"_total_items": len(hooks),
                "_embedded": {"webhooks": [render_account.hook(world, h) for h in hooks]}})


@bp.post("/webhooks")
def add_hook():
    """Subscribe {destination, settings:[events]} (at most 100 per account)."""
    data = request.get_json(silent=True) or {}
    destination, settings = data.get("destination"), data.get("settings")
    if not isinstance(destination, str) or not destination.startswith(("http://", "https://")):
        raise BadRequest("destination", "This value is not a valid URL.")
    if not isinstance(settings, list) or not settings or not set(settings) <= HOOK_EVENTS:
        raise BadRequest("settings", "The value you selected is not a valid choice.")
    world = state().world
    if len(world.hooks) >= 100 and all(h.destination != destination for h in world.hooks.values()):
        raise BadRequest("destination", "Too many webhooks.")
    hook = world.subscribe(destination, settings)
    return hal(render_account.hook(world, hook), 201)


@bp.delete("/webhooks")
def delete_hook():
    """Unsubscribe a destination."""
    data = request.get_json(silent=True) or {}
    if not state().world.unsubscribe(str(data.get("destination", ""))):
        raise BadRequest("destination", "Webhook not found.")
    return no_content()
