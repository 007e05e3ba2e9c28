"""Logs: one JSON object per line, with the request or job id, and never a token, secret or personal field."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import unquote

import orjson

REDACTED = "[redacted]"
# Every pattern runs in linear time: it starts with a negative lookbehind (or a character none of its repeats
# takes), so a search can begin only at the first character of a run, never again inside a run an earlier start
# scanned (the old e-mail pattern cost n²: 28.8 ms for a 4 KB path); no repeat sits inside another; a quoted value
# ends at its closing quote or runs to the end, never backtracks (tests/unit/test_logs.py, bench/logs_bench.py).
# Whole values that are credentials wherever they appear.
SECRET_SHAPES = [
    (re.compile(r"(?<![\w-])eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+"), "[jwt]"),  # widget tokens (JWT)
    # Authorization: <scheme> <credentials>, as a header line, a dict repr or escaped JSON (Basic included).
    (re.compile(r"(?i)(?<![\w-])((?:proxy-)?authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?)"
                r"[a-z][\w-]*[ \t]+[^\s\"'\\,;&]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(?<![\w-])bearer\s+[\w\-.~+/=]+"), "Bearer " + REDACTED),
    # amoCRM authorization codes and refresh tokens, also right after an escape (`%3Ddef50200...`).
    (re.compile(r"(?<![0-9a-f])def50200[0-9a-f]{16,}"), REDACTED),
    (re.compile(r"(?<![\w-])gAAAAA[\w-]{16,}=*"), REDACTED),  # Fernet tokens (sealed secrets)
    (re.compile(r"(/hooks\\?/\d+\\?/)[^/\\\s?\"'&]+"), r"\1" + REDACTED),  # webhook URL secrets (`\/` too)
]
# key=value, "key": "value" and key: value where the key names a credential or a personal field.
SENSITIVE_KEYS = ("access_token", "refresh_token", "client_secret", "secret_key", "secret", "password", "token",
                  "code", "signature", "authorization", "x-auth-token", "metrics_token", "api_key",
                  "token_encryption_keys",
                  "name", "first_name", "last_name", "phone", "email", "text", "note", "comment", "result")
_KEYS = "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS, key=len, reverse=True))
# The value: an escaped-quoted string (JSON inside JSON), a quoted one, or a bare word. A quote never closed takes
# the rest of the text (masked whole) instead of being re-scanned from every later key.
_VALUE = r"""(\\"(?:[^"\\]|\\[^"])*(?:\\")?|"[^"]*"?|'[^']*'?|[^\s&,;}\]\)]+)"""
KEY_VALUE = re.compile(r"(?i)(?<![\w-])(\\?[\"']?(?:%s)\\?[\"']?)([ \t]*[:=][ \t]*)%s" % (_KEYS, _VALUE))
FORM_FIELD = re.compile(r"(?i)(\[(?:%s|value)\]=)([^&\n]*)" % _KEYS)  # webhook bodies: leads[add][0][name]=...
PERSONAL_SHAPES = [
    (re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"), "[email]"),
    (re.compile(r"\+\d[\d\s()\-]{8,20}\d"), "[phone]"),
    (re.compile(r"(?<![\w.])[78][\s(\-]{0,3}\d{3}[\s)\-]{0,3}\d{3}[\s\-]{0,2}\d{2}[\s\-]{0,2}\d{2}(?![\w.])"),
     "[phone]"),
]
PATTERNS = [p for p, _ in SECRET_SHAPES] + [KEY_VALUE, FORM_FIELD] + [p for p, _ in PERSONAL_SHAPES]
MAX_REDACTED = 4096  # characters of one message or field kept (and redacted); the rest is cut with a marker
MAX_REDACTED_TRACE = 16384  # a traceback keeps more
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "job_id", "process_name"}


def redact(text: str, limit: int = MAX_REDACTED) -> str:
    """The text with credentials and personal data replaced (safe to call on any log line); longer text is cut."""
    if len(text) > limit:
        text = _cut(text, limit)
    return _redact_short(text) if len(text) <= SHORT_TEXT else _redact(text)


def _redact(text: str) -> str:
    if "%" in text:  # `access%5Ftoken=`, `%5Bcode%5D=`, `%3Ddef50200...`: the patterns read the decoded text
        text = _unescape(text)
    for pattern, replacement in SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    text = FORM_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    text = KEY_VALUE.sub(_mask_value, text)
    for pattern, replacement in PERSONAL_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def _unescape(text: str) -> str:
    """Percent-escapes decoded, twice over at most (`%255F` is `%5F` is `_`); the line is logged decoded."""
    for _ in range(2):
        decoded = unquote(text, errors="replace")
        if decoded == text:
            break
        text = decoded
    return text


def _cut(text: str, limit: int) -> str:
    """The first `limit` characters, less the word the cut falls in (it may be the head of a secret), and a marker."""
    head = text[:limit]
    space = max(head.rfind(c, limit - 256) for c in " \t\n&,;")
    head = head[:space + 1] if space >= 0 else head[:limit - 256]
    return f"{head}…[truncated {len(text) - len(head)} chars]"


# Access lines and most messages repeat: "POST /hooks/1/<secret> 200" on every webhook costs ten regexes only once.
SHORT_TEXT = 200
_redact_short = lru_cache(maxsize=512)(_redact)


def _mask_value(match: re.Match) -> str:
    value = match.group(3)
    if value.startswith("[") or REDACTED in value:  # already masked by a shape above
        return match.group(0)
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{match.group(1)}{match.group(2)}{quote}{REDACTED}{quote}"


def _safe(key: str, value):
    """An `extra` field as it may be logged."""
    if key.lower() in SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(repr(value))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged in) and extra fields before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        for key, value in list(vars(record).items()):
            if key not in STANDARD:
                setattr(record, key, _safe(key, value))
        return True


class ContextFilter(logging.Filter):
    """Adds the process name, the current request id (web) and the current job id (worker)."""

    def __init__(self, process_name: str = ""):
        super().__init__()
        self.process_name = process_name

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_name = self.process_name
        record.request_id = getattr(record, "request_id", None) or _request_id.get()
        record.job_id = getattr(record, "job_id", None) or current_job_id()
        return True


def current_job_id():
    """The id of the RQ job being performed in this process, if any."""
    try:
        from rq import get_current_job
        job = get_current_job()
    except Exception:
        return None
    return job.id if job is not None else None


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "process", "request_id", "job_id", "msg", ...extra, "exc"}."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name,
               "process": getattr(record, "process_name", "") or None,
               "request_id": getattr(record, "request_id", None), "job_id": getattr(record, "job_id", None),
               "msg": record.getMessage()}
        doc.update({k: v for k, v in vars(record).items() if k not in STANDARD and not k.startswith("_")})
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info), MAX_REDACTED_TRACE)
        doc = {k: v for k, v in doc.items() if v is not None}
        try:
            return orjson.dumps(doc, default=str).decode()  # a tenth of json.dumps' time, on every line
        except TypeError:  # an integer past 64 bits
            return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level process [request/job id] logger: message` for people reading a terminal.

    One record is one line: control characters are escaped (a `%0A` in a path must not forge a line), and a
    traceback's lines are indented behind `  | `."""

    def format(self, record: logging.LogRecord) -> str:
        ids = getattr(record, "request_id", None) or getattr(record, "job_id", None)
        line = (f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {getattr(record, 'process_name', '')}"
                f"{f' [{ids}]' if ids else ''} {record.name}: {_escape(record.getMessage())}")
        if record.exc_info:
            trace = redact(self.formatException(record.exc_info), MAX_REDACTED_TRACE)
            line += "".join(f"\n  | {_escape(part)}" for part in trace.split("\n"))
        return line


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(text: str) -> str:
    """Control characters (newlines, CR, ESC, Unicode line separators) as visible escapes."""
    return CONTROL.sub(lambda m: repr(m.group())[1:-1] if m.group() in "\n\r\t" else f"\\u{ord(m.group()):04x}",
                       text)


def handler(process_name: str, log_format: str = "json", stream=None) -> logging.Handler:
    """A stream handler with our filters and formatter."""
    # Our lines never name the caller's file, thread or process: spare every record looking them up.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    out = logging.StreamHandler(stream or sys.stderr)
    out.addFilter(ContextFilter(process_name))
    out.addFilter(RedactingFilter())
    out.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return out


def configure(settings, process_name: str, stream=None) -> None:
    """Route every logger (ours, RQ's, gunicorn's, werkzeug's) through one redacting handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(process_name, settings.log_format, stream))
    root.setLevel(settings.log_level.upper())
    for name in ("rq.worker", "rq.job", "rq.scheduler", "gunicorn.error", "werkzeug"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


# --- request ids and access lines for the web app
REQUEST_ID = re.compile(r"[\w\-.]{1,64}")
QUIET_PATHS = ("/healthz", "/readyz", "/metrics")
access_log = logging.getLogger("service.access")
_request_id: ContextVar = ContextVar("request_id", default=None)  # set while a request is served


class AccessLine:
    """One request's id (the caller's X-Request-Id when well-formed) and, at its end, its access line."""

    def __init__(self, given_id: str | None):
        self.request_id = given_id if given_id and REQUEST_ID.fullmatch(given_id) else os.urandom(16).hex()
        self.started = time.perf_counter()
        _request_id.set(self.request_id)

    def finish(self, method: str, path: str, status: int) -> None:
        """Log `METHOD path status` with the time taken; later lines of this thread belong to no request."""
        level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
        access_log.log(level, "%s %s %s", method, path, status,
                       extra={"status": status, "ms": round((time.perf_counter() - self.started) * 1000, 1)})
        _request_id.set(None)


def install(app) -> None:
    """Give every Flask request an id and an access line (the webhook layer in front of Flask does its own)."""
    from flask import g, request

    @app.before_request
    def _start():
        g.access = AccessLine(request.headers.get("X-Request-Id"))

    @app.after_request
    def _finish(response):
        access = g.get("access")
        if access is not None:
            response.headers["X-Request-Id"] = access.request_id
            access.finish(request.method, request.path, response.status_code)
        return response
