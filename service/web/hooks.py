"""amoCRM webhook intake: store durably, queue, answer within amoCRM's 2 seconds.

A plain WSGI layer in front of Flask serves it: deliveries come in bursts, and Flask's per-request machinery
(contexts, routing, hooks, request and response objects) cost about as much CPU as the intake itself
(bench/intake_bench.py)."""
from __future__ import annotations

import json
import re

from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length, get_input_stream

from service.services import intake
from service import logs
from service.deps import Deps
from service.errors import PayloadTooLarge, UnsupportedMediaType
from service.web.errors import error_answer

HOOK_PATH = re.compile(r"/hooks/([0-9]{1,18})/([^/]+)")  # longer ids are no account's: Flask's 404
FORM = "application/x-www-form-urlencoded"


class HookIntake:
    """Answers `/hooks/<account_id>/<secret>`; hands every other request to the Flask app behind it."""

    def __init__(self, deps: Deps, app):
        self.deps, self.app = deps, app

    def __call__(self, environ, start_response):
        match = HOOK_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.app(environ, start_response)
        access = logs.AccessLine(environ.get("HTTP_X_REQUEST_ID"))
        document, status, extra = self.answer(environ, int(match[1]), match[2])
        headers, body = [("X-Request-Id", access.request_id), *extra.items()], b""
        if document is not None:
            body = json.dumps(document, ensure_ascii=False).encode()
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        access.finish(environ["REQUEST_METHOD"], _path(environ), status)
        return [body]

    def answer(self, environ, account_id: int, secret: str) -> tuple[dict | None, int, dict]:
        """204 when every item was stored, 202 naming the items refused, or the error."""
        try:
            if environ["REQUEST_METHOD"] != "POST":
                raise MethodNotAllowed(valid_methods=["POST"])
            result = intake.receive_webhook(self.deps, account_id, secret.encode("latin-1"), self.body(environ),
                                            EnvironHeaders(environ))
            # amoCRM reads only the status; a body would cost every delivery a second send (bench/intake_bench.py).
            return (result, 202, {}) if result["rejected"] else (None, 204, {})
        except Exception as exc:  # noqa: BLE001 (every error leaves as JSON; unexpected ones are logged)
            return error_answer(exc)

    def body(self, environ) -> bytes:
        """The form body, refused when of another type or over the size limit."""
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        if mimetype != FORM:
            raise UnsupportedMediaType(f"expected Content-Type {FORM}, got {mimetype or 'none'!r}")
        limit, length = self.deps.settings.max_webhook_bytes, get_content_length(environ)
        if (length or 0) > limit:
            raise PayloadTooLarge(f"body is {length} bytes; the limit is {limit}")
        # Without Content-Length (chunked, under gunicorn) the stream is cut at the limit it is given: read one
        # byte more, so that a longer body is refused instead of stored truncated.
        body = get_input_stream(environ, max_content_length=limit + 1).read()
        if len(body) > limit:
            raise PayloadTooLarge(f"body is more than {limit} bytes; the limit is {limit}")
        return body


def _path(environ) -> str:
    """The request path as the client wrote it (WSGI hands it over as latin-1)."""
    return environ["PATH_INFO"].encode("latin-1").decode("utf-8", "replace")
