"""gunicorn's worker with our error shape: what gunicorn refuses before the app sees a request answers JSON too.

gunicorn answers a request line over `limit_request_line` (414), too many or too long header fields (431) and other
unparseable requests (400) itself, with an HTML page; ours is `{"error", "message"}` like every other answer."""
from __future__ import annotations

import json

from gunicorn import util
from gunicorn.http import errors as http
from gunicorn.workers.gthread import ThreadWorker

# gunicorn's parse errors that are the client's fault: (class, status, reason, our error code), first match wins.
CLIENT_ERRORS = (
    (http.LimitRequestLine, 414, "URI Too Long", "uri_too_long"),
    (http.LimitRequestHeaders, 431, "Request Header Fields Too Large", "request_header_fields_too_large"),
    (http.UnsupportedTransferCoding, 501, "Not Implemented", "not_implemented"),
    (http.ExpectationFailed, 417, "Expectation Failed", "expectation_failed"),
    (http.ForbiddenProxyRequest, 403, "Forbidden", "forbidden"),
    (http.ParseException, 400, "Bad Request", "bad_request"),
)
APP_FAULTS = (http.InvalidResponseHeader, http.InvalidResponseHeaderName, http.ConfigurationProblem)
MESSAGES = {
    414: "the request line is longer than {line} bytes",
    431: "the request has more than {fields} header fields, or one longer than {size} bytes",
}


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker (the Procfile's), answering its own client errors as JSON."""

    def handle_error(self, req, client, addr, exc):
        refusal = client_error(exc, self.cfg)
        if refusal is None:  # a fault of ours: gunicorn's 500 (the app itself answers every error as JSON)
            return super().handle_error(req, client, addr, exc)
        status, reason, body = refusal
        self.log.warning("refused a request from %s: %s %s", (addr or ("",))[0], status, type(exc).__name__)
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n")
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:  # noqa: BLE001 — the client may be gone; nothing left to tell it
            self.log.debug("failed to send the error answer")


def client_error(exc: Exception, cfg) -> tuple[int, str, bytes] | None:
    """(status, reason, JSON body) for a client's request gunicorn could not parse; None for our own faults."""
    if isinstance(exc, APP_FAULTS):
        return None
    for kind, status, reason, code in CLIENT_ERRORS:
        if isinstance(exc, kind):
            message = MESSAGES.get(status, "malformed request: {error}").format(
                line=cfg.limit_request_line, fields=cfg.limit_request_fields, size=cfg.limit_request_field_size,
                error=type(exc).__name__)
            return status, reason, json.dumps({"error": code, "message": message}).encode()
    return None


def read_error(exc: Exception) -> str | None:
    """What was malformed in a body gunicorn's parser met while the app read it (a bad chunk), else None: the
    client's fault, answered 400 like gunicorn's own refusals (the app reads bodies lazily, after gunicorn answered
    nothing)."""
    if isinstance(exc, http.ParseException) and not isinstance(exc, APP_FAULTS):
        return f"malformed request body: {type(exc).__name__}"
    return None
