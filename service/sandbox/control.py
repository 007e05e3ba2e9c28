"""The /_sandbox control API: settings, faults, install/disable, direct tokens, actions, simulator."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import oauth
from .settings import merged

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")

# World mutations that POST /_sandbox/actions may call, with the arguments they accept.
ACTIONS = {"add_lead", "move_lead", "set_responsible", "set_close_date", "delete_lead", "add_task",
           "complete_task", "log_call", "add_contact", "add_incoming"}


def state():
    """The app's sandbox state."""
    return current_app.config["SANDBOX"]


def body() -> dict:
    """The JSON body, {} when absent."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.get("/state")
def summary():
    """Counts and settings, for humans and tests."""
    world = state().world
    with world.lock:
        counts = {name: len(getattr(world, name)) for name in
                  ("users", "pipelines", "leads", "contacts", "tasks", "notes", "events", "unsorted", "hooks")}
    return jsonify({"account_id": world.account["id"], "subdomain": world.account["subdomain"],
                    "is_api_filter_enabled": bool(world.account.get("is_api_filter_enabled")),
                    "counts": counts, "settings": world.settings})


@bp.patch("/settings")
def patch_settings():
    """Deep-merge settings (faults, rate_limit, oauth, webhooks, api_filter_off, ...)."""
    world = state().world
    updated = merged(body(), world.settings)
    world.settings.clear()
    world.settings.update(updated)
    return jsonify(world.settings)


@bp.patch("/account")
def patch_account():
    """Change account flags, e.g. {"is_api_filter_enabled": false}."""
    world = state().world
    for key, value in body().items():
        if key in ("is_api_filter_enabled", "timezone", "name"):
            world.account[key] = value
    world.touch()
    return jsonify({k: world.account.get(k) for k in ("is_api_filter_enabled", "timezone", "name")})


@bp.post("/install")
def install():
    """Start an install: call the redirect URI with a fresh code as amoCRM does."""
    return jsonify(oauth.start_install(body().get("state")))


@bp.post("/disable")
def disable():
    """Disable the integration: tokens die, the disable hook fires (optional url override)."""
    return jsonify(oauth.fire_disable_hook(body().get("url")))


@bp.post("/token")
def token():
    """Skip the dance: a fresh token pair straight from the store (optional "access_token_ttl")."""
    store, ttl = state().tokens, body().get("access_token_ttl")
    with store.lock:
        pair = store.new_pair()
    if ttl is not None:
        store.add_access_token(pair["access_token"], int(ttl))
        pair["expires_in"] = int(ttl)
    return jsonify(pair)


@bp.post("/disposable_token")
def disposable():
    """A widget one-time token (JWT HS256 keyed with the client secret)."""
    data = body()
    user_id = int(data.get("user_id") or state().world.account["current_user_id"])
    return jsonify({"token": oauth.disposable_token(str(data.get("aud", "http://127.0.0.1")), user_id)})


@bp.post("/actions")
def action():
    """Run one world mutation: {"action": "move_lead", "args": {...}}; webhooks follow."""
    data = body()
    name, args = data.get("action"), data.get("args") or {}
    if name not in ACTIONS:
        return jsonify({"error": "unknown_action", "message": f"choose one of {sorted(ACTIONS)}"}), 400
    try:
        record = getattr(state().world, name)(**args)
    except (KeyError, ValueError, TypeError) as err:
        return jsonify({"error": "bad_action", "message": str(err)}), 400
    return jsonify({"ok": True, "id": getattr(record, "id", getattr(record, "uid", None))})


@bp.post("/rate_limit/reset")
def reset_rate_limit():
    """Forget request history and lift a 403 block."""
    state().limiter.reset()
    return jsonify({"ok": True})


@bp.post("/webhooks/flush")
def flush_webhooks():
    """Wait until the webhook queue is empty (bounded by "timeout" seconds)."""
    idle = state().sender.wait_idle(float(body().get("timeout", 10)))
    return jsonify({"idle": idle, "attempts": len(state().sender.log)})


@bp.get("/webhooks/log")
def webhook_log():
    """Every delivery attempt so far."""
    return jsonify(state().sender.log)


@bp.post("/simulator")
def simulator():
    """Start ({"rate": events_per_second}) or stop ({"rate": 0}) the live simulator."""
    from .simulator import Simulator
    current = state()
    rate = float(body().get("rate", 0))
    if current.simulator is not None:
        current.simulator.stop()
        current.simulator = None
    if rate > 0:
        current.simulator = Simulator(current.world, rate, seed=int(body().get("seed", 0))).start()
    return jsonify({"running": current.simulator is not None, "rate": rate})
