"""Every error leaves as `{"error": code, "message": text}` with its status; never an HTML page."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from service.errors import AppError
from service.web.edge import read_error

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """Install the translator (Flask finds it for every exception class)."""
    app.register_error_handler(Exception, _translate)


def _translate(exc: Exception):
    body, status, headers = error_answer(exc)
    return jsonify(body), status, headers


def error_answer(exc: Exception) -> tuple[dict, int, dict]:
    """The document, status and headers that answer an exception; an unexpected one is logged with its trace."""
    if isinstance(exc, AppError):
        return {"error": exc.code, "message": exc.message, **exc.details}, exc.status, getattr(exc, "headers", {})
    if isinstance(exc, HTTPException):
        headers = {k: v for k, v in exc.get_headers() if k != "Content-Type"}  # Allow on a 405
        return {"error": (exc.name or "error").lower().replace(" ", "_"), "message": exc.description}, exc.code, headers
    malformed = read_error(exc)
    if malformed:
        return {"error": "bad_request", "message": malformed}, 400, {}
    log.exception("unhandled error")
    return {"error": "internal", "message": "internal error; it has been logged"}, 500, {}
