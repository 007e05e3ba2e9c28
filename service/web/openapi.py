"""The OpenAPI 3 description of /api/v1, generated with apispec from the marshmallow schemas and the route table."""
from __future__ import annotations

import json
import re
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response

from service.web import schemas as s
from service.web.api import COMMON_ERRORS, MAX_BODY_BYTES, ROUTES, bp

VERSION = "1.0.0"
ERROR_TEXT = {
    400: "Invalid input: `fields` names each problem",
    401: "Missing, invalid, expired or already used X-Auth-Token",
    402: "amoCRM refused: the account is unpaid (error amocrm_payment_required)",
    403: "Another account's token, an account that has not installed Deal Pulse, or the caller's rights do not "
         "allow it",
    404: "Nothing of that kind here (also: a path id that is not a non-negative integer)",
    409: "Conflict with the current state (e.g. no follow-up offered; one is being created)",
    413: f"The body is larger than the widget API accepts ({MAX_BODY_BYTES // 1024} KB)",
    422: "amoCRM rejected the request (error amocrm_rejected)",
    429: "More than the per-user rate (20 requests/s by default): wait Retry-After seconds",
    502: "amoCRM failed or did not answer in time (error amocrm_unavailable)",
    503: "Storage unavailable, or amoCRM blocked / rate-limited / needs a re-install (see error)",
}
DESCRIPTION = """Deal Pulse widget API. Every call carries amoCRM's one-time widget token in `X-Auth-Token`
(`self.$authorizedAjax`); each token is accepted once. Errors are `{"error": code, "message": text}`.
Times are unix seconds. Supervisors are the account's admins plus the users chosen in the settings; admins see
every deal, everyone else (a chosen supervisor too) as amoCRM's rights.leads.view allows (A all, G group, M own,
D none) and status_rights per stage."""


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API, generated from the schemas."""
    return Response(json.dumps(spec(), ensure_ascii=False), mimetype="application/json")


@lru_cache(maxsize=1)
def spec() -> dict:
    """The OpenAPI document (built once per process)."""
    api = APISpec(title="Deal Pulse widget API", version=VERSION, openapi_version="3.0.3",
                  info={"description": DESCRIPTION}, servers=[{"url": "/api/v1"}],
                  plugins=[MarshmallowPlugin()])
    api.components.security_scheme("widgetToken", {"type": "apiKey", "in": "header", "name": "X-Auth-Token"})
    api.components.schema("Error", schema=s.Error)
    for route in ROUTES:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path)
        api.path(path=path, operations={route.method.lower(): _operation(route)})
    api.path(path="/openapi.json", operations={"get": {
        "summary": "This description", "security": [],
        "responses": {"200": {"description": "OpenAPI 3 document", "content": {"application/json": {}}}}}})
    return api.to_dict()


def _operation(route) -> dict:
    operation = {"summary": route.summary, "operationId": _operation_id(route),
                 "security": [{"widgetToken": []}],
                 "responses": {str(route.status): {"description": "OK", "content": {
                     "application/json": {"schema": route.answer}}}}}
    if route.description:
        operation["description"] = route.description
    parameters = [{"in": "path", "name": name, "required": True,
                   "schema": {"type": "integer", "minimum": 0} if kind == "int" else {"type": "string"},
                   "description": route.params.get(name, "")}
                  for kind, name in re.findall(r"<(?:(\w+):)?(\w+)>", route.path)]
    if route.query:
        parameters.append({"in": "query", "schema": route.query})
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
    statuses = set(COMMON_ERRORS) | set(route.errors)
    if "<" in route.path:
        statuses.add(404)  # the router's answer to an id that is not a number (or to an unknown path)
    if route.body:
        statuses.add(413)
    for status in sorted(statuses):
        operation["responses"][str(status)] = {"description": ERROR_TEXT[status], "content": {
            "application/json": {"schema": "Error"}}}
    return operation


def _operation_id(route) -> str:
    words = re.sub(r"<[^>]+>", "", route.path).strip("/").replace("-", "_").split("/")
    return route.method.lower() + "_" + "_".join(w for w in words if w)
