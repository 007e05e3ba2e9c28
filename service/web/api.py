"""The widget API (/api/v1): one-time token auth, CORS for the account's own origin only, per-user rate limit.

Each view loads its input through a marshmallow schema, calls one `service.services.widget` function, and dumps the
answer through a schema. `@endpoint` records every route for the OpenAPI description (/api/v1/openapi.json)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional

from flask import Blueprint, Response, g, request
from marshmallow import ValidationError

from service import errors
from service.services import widget
from service.web import deps, panel_schemas as ps, schemas as s
from service.web.auth import request_claims
from service.web.dumping import dumper

bp = Blueprint("api", __name__, url_prefix="/api/v1")
CORS_HEADERS = "X-Auth-Token, Content-Type"
COMMON_ERRORS = (401, 403, 429, 503)
MAX_BODY_BYTES = 64 * 1024  # the largest real body (settings: 500 supervisors, every stage overridden) is a few KB
MAX_DEPTH = 32  # JSON nesting; the deepest real body (settings.stage_overrides.<id>.warn_days) has 3 levels


@dataclass(frozen=True)
class Route:
    """One documented operation."""

    method: str
    path: str
    summary: str
    answer: type
    status: int = 200
    body: Optional[type] = None
    query: Optional[type] = None
    errors: tuple = ()
    description: str = ""
    params: dict = field(default_factory=dict)


ROUTES: list[Route] = []


def endpoint(method: str, path: str, summary: str, answer: type, **more):
    """Register a view on the blueprint and in the OpenAPI route table."""
    def register(view):
        ROUTES.append(Route(method, path, summary, answer, **more))
        return bp.route(path, methods=[method], endpoint=view.__name__)(view)
    return register


def claims():
    """The verified token of this request (kept for CORS: its issuer is the account's origin)."""
    g.claims = request_claims(deps().settings)
    return g.claims


def load(schema: type, data) -> dict:
    """Validate input; 400 naming every invalid field."""
    try:
        return schema().load(data if data is not None else {})
    except ValidationError as exc:
        raise errors.BadRequest("invalid request: " + _first(exc.messages), fields=exc.messages) from None


def body() -> dict:
    """The JSON body (an object)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # the decoder recursed past Python's limit: never a 500
        data = TOO_DEEP
    if data is TOO_DEEP or _too_deep(data, MAX_DEPTH):
        raise errors.BadRequest(f"the JSON body is nested too deeply (at most {MAX_DEPTH} levels)")
    if data is None and request.get_data(cache=True):
        raise errors.BadRequest("the body must be JSON (Content-Type: application/json)")
    if data is not None and not isinstance(data, dict):
        raise errors.BadRequest("the body must be a JSON object")
    return data or {}


TOO_DEEP = object()


def _too_deep(data, limit: int) -> bool:
    """True when lists/objects nest more than `limit` levels (iterative: no recursion on hostile input)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((value, depth + 1) for value in (item.values() if isinstance(item, dict) else item))
    return False


def answer(schema: type, data, status: int = 200) -> Response:
    """Dump through the schema as compact UTF-8 JSON."""
    text = json.dumps(_dump(schema)(data), ensure_ascii=False, separators=(",", ":"))
    return Response(text, status=status, mimetype="application/json")


@lru_cache(maxsize=None)
def _dump(schema: type) -> Callable:
    """One dump per answer schema, built once: building a schema (and its nested ones) costs more than dumping a
    card, and a plain schema's compiled dump a fraction of marshmallow's (web/dumping.py)."""
    return dumper(schema())


def _first(messages) -> str:
    """One readable line from marshmallow's nested messages."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return f"{key}: {_first(value)}"
    if isinstance(messages, list) and messages:
        return _first(messages[0])
    return str(messages)


# --- deal hints
@endpoint("GET", "/leads/<int:lead_id>/hints", "The deal card's hints for the caller", s.Card, errors=(404,),
          description="Hints of deals the caller may view (amoCRM rights.leads.view and status_rights; admins "
                      "all), minus those they snoozed or dismissed for the current situation. One Redis round trip.")
def lead_hints(lead_id: int):
    return answer(s.Card, widget.card(deps(), claims(), lead_id))


@endpoint("POST", "/leads/<int:lead_id>/hints/<code>/feedback", "Dismiss or snooze a hint", s.FeedbackGiven,
          body=s.FeedbackWrite, status=201, errors=(400, 404),
          description="Hidden for the caller until the snooze ends or the hint's situation changes (severity, "
                      "threshold, or the facts it is about). Counted per rule for the panel's usefulness.")
def hint_feedback(lead_id: int, code: str):
    data = load(s.FeedbackWrite, body())
    return answer(s.FeedbackGiven, widget.give_feedback(deps(), claims(), lead_id, code, **data), 201)


@endpoint("DELETE", "/leads/<int:lead_id>/hints/<code>/feedback", "Undo a dismissal or snooze",
          s.FeedbackCleared)
def clear_hint_feedback(lead_id: int, code: str):
    return answer(s.FeedbackCleared, widget.clear_feedback(deps(), claims(), lead_id, code))


@endpoint("POST", "/leads/<int:lead_id>/tasks", "Create a follow-up task (no_open_task, overdue_task)",
          s.TaskAnswer, body=s.TaskWrite, status=201, errors=(400, 402, 404, 409, 422, 502),
          description="Created in amoCRM for the deal's responsible manager with the account's token, then "
                      "mirrored: the answer carries the recomputed card. 409 when the deal has no such hint or "
                      "a task is being created already; 502/503 when amoCRM fails (see the error code).")
def create_task(lead_id: int):
    data = load(s.TaskWrite, body())
    return answer(s.TaskAnswer, widget.create_follow_up(deps(), claims(), lead_id, **data), 201)


@endpoint("GET", "/attention", "My deals that need attention", s.Attention, query=s.AttentionQuery,
          errors=(400,), description="Open deals with visible hints, most severe first, then by price.")
def attention():
    query = load(s.AttentionQuery, request.args)
    return answer(s.Attention, widget.attention(deps(), claims(), **query))


# --- people and the panel
@endpoint("GET", "/me", "The caller: role, rights, language, sync state", s.Me)
def me():
    return answer(s.Me, widget.me(deps(), claims()))


@endpoint("GET", "/managers/<user>", "A manager's summary (own always; anyone's for supervisors)",
          s.ManagerAnswer, errors=(400, 404), params={"user": "a user id, or `me`"})
def manager(user: str):
    if user != "me" and not re.fullmatch(r"[0-9]{1,12}", user):
        raise errors.BadRequest("user must be a user id or 'me'")
    user_id = None if user == "me" else int(user)
    return answer(s.ManagerAnswer, widget.manager_summary(deps(), claims(), user_id))


@endpoint("GET", "/panel", "The supervisor panel", ps.Panel, query=s.PanelQuery, errors=(400,),
          description="Supervisors only. Without filters: the last 30 days of the main pipeline, every manager.")
def panel():
    query = load(s.PanelQuery, request.args)
    return answer(ps.Panel, widget.panel(deps(), claims(), **query))


@endpoint("GET", "/sync", "Sync status and progress", s.SyncStatus)
def sync():
    return answer(s.SyncStatus, widget.sync(deps(), claims()))


@endpoint("GET", "/dead-letters", "Webhooks that could not be applied (no contents)", s.DeadLetters,
          description="Supervisors only.")
def dead_letters():
    return answer(s.DeadLetters, widget.dead_letters(deps(), claims()))


# --- plans and settings
@endpoint("GET", "/plans", "A month's plans", s.Plans, query=s.PlansQuery, errors=(400,))
def plans():
    query = load(s.PlansQuery, request.args)
    return answer(s.Plans, widget.plans(deps(), claims(), **query))


@endpoint("PUT", "/plans", "Set or remove a month's plan (supervisors)", s.PlanWritten, body=s.PlanWrite,
          errors=(400,), description="amount and count both null remove the plan. Queues a recompute.")
def put_plan():
    data = load(s.PlanWrite, body())
    return answer(s.PlanWritten, widget.put_plan(deps(), claims(), **data))


@endpoint("GET", "/settings", "The widget settings", ps.SettingsAnswer)
def settings():
    return answer(ps.SettingsAnswer, widget.settings_view(deps(), claims()))


@endpoint("PUT", "/settings", "Change the widget settings (supervisors)", ps.SettingsAnswer, body=s.SettingsWrite,
          errors=(400,), description="Omitted fields keep their value; stage_overrides is replaced as a whole. "
                                     "Queues a recompute.")
def put_settings():
    data = load(s.SettingsWrite, body())
    return answer(ps.SettingsAnswer, widget.put_settings(deps(), claims(), data))


@bp.before_request
def limit_body():
    """413 for a body bigger than any widget call sends (the app-wide limit is the webhooks' 1 MB): up front from
    Content-Length, else (chunked) by reading one byte past the limit (werkzeug silently truncates at the limit)."""
    size = request.content_length or 0
    if size <= MAX_BODY_BYTES:
        request.max_content_length = MAX_BODY_BYTES + 1
        size = len(request.get_data(cache=True))  # cached: body() parses these bytes
    if size > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"body is {request.content_length or 'more than ' + str(MAX_BODY_BYTES)} "
                                     f"bytes; the widget API accepts at most {MAX_BODY_BYTES}")


# --- CORS
@bp.before_request
def preflight():
    """CORS preflight: allowed only from an installed account's pages."""
    if request.method != "OPTIONS":
        return None
    origin = request.headers.get("Origin", "")
    if not deps().store.origin_is_installed(origin):
        return Response(status=403)
    response = Response(status=204)
    _allow(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.after_request
def cors(response: Response) -> Response:
    """Let the browser read an answer (errors too) only on the token's own origin.

    The issuer of a verified token is the account's origin: only amoCRM can sign tokens with our client secret,
    and every use case rejects a token whose issuer differs from the installed account's origin."""
    token = g.get("claims")
    origin = request.headers.get("Origin", "")
    if token is not None and origin and origin == token.issuer.rstrip("/"):
        _allow(response, origin)
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def _allow(response: Response, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
