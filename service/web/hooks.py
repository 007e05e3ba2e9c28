"""amoCRM webhook intake: store durably, queue, answer within amoCRM's 2 seconds.

A WSGI layer in front of Flask serves it: deliveries come in bursts, and Flask's per-request machinery (contexts,
routing, hooks, its response) cost about as much CPU as the intake itself (bench/intake_bench.py)."""
from __future__ import annotations

import json
import re

from werkzeug.exceptions import MethodNotAllowed
from werkzeug.wrappers import Request, Response

from service import intake, logs
from service.bootstrap import Deps
from service.errors import PayloadTooLarge, UnsupportedMediaType
from service.web.errors import error_answer

HOOK_PATH = re.compile(r"/hooks/(\d+)/([^/]+)")
FORM = "application/x-www-form-urlencoded"


class HookIntake:
    """Answers `/hooks/<account_id>/<secret>`; hands every other request to the Flask app behind it."""

    def __init__(self, deps: Deps, app):
        self.deps, self.app = deps, app

    def __call__(self, environ, start_response):
        match = HOOK_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.app(environ, start_response)
        request = Request(environ)
        access = logs.AccessLine(request.headers.get("X-Request-Id"))
        response = self.answer(request, int(match[1]), match[2])
        response.headers["X-Request-Id"] = access.request_id
        access.finish(request.method, request.path, response.status_code)
        return response(environ, start_response)

    def answer(self, request: Request, account_id: int, secret: str) -> Response:
        """200 with what was accepted, 202 when some items were refused, or the error."""
        try:
            if request.method != "POST":
                raise MethodNotAllowed(valid_methods=["POST"])
            result = intake.receive_webhook(self.deps, account_id, secret, self.body(request), request.headers)
            return _json(result, 202 if result["rejected"] else 200)
        except Exception as exc:  # noqa: BLE001 (every error leaves as JSON; unexpected ones are logged)
            return _json(*error_answer(exc))

    def body(self, request: Request) -> bytes:
        """The form body, refused when of another type or over the size limit."""
        if request.mimetype != FORM:
            raise UnsupportedMediaType(f"expected Content-Type {FORM}, got {request.mimetype or 'none'!r}")
        limit = self.deps.settings.max_webhook_bytes
        if (request.content_length or 0) > limit:
            raise PayloadTooLarge(f"body is {request.content_length} bytes; the limit is {limit}")
        # Without Content-Length (chunked, under gunicorn) werkzeug silently cuts the body at the limit: read one
        # byte more, so that a longer body is refused instead of stored truncated.
        request.max_content_length = limit + 1
        body = request.get_data(cache=False)
        if len(body) > limit:
            raise PayloadTooLarge(f"body is more than {limit} bytes; the limit is {limit}")
        return body


def _json(document: dict, status: int, headers: dict | None = None) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status, headers, mimetype="application/json")
