"""Every error leaves as `{"error": code, "message": text}` with its status; never an HTML page."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from service.errors import AppError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """Install the translators."""
    app.register_error_handler(AppError, _app_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _app_error(exc: AppError):
    return jsonify(error=exc.code, message=exc.message, **exc.details), exc.status, getattr(exc, "headers", None)


def _http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    return jsonify(error=code, message=exc.description), exc.code


def _unexpected(exc: Exception):
    log.exception("unhandled error")
    return jsonify(error="internal", message="internal error; it has been logged"), 500
