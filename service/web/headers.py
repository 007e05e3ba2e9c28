"""Security headers, set in one place for every answer Flask gives (webhooks are answered before Flask)."""
from __future__ import annotations

from flask import Flask, request

EVERY_ANSWER = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# Our own HTML pages (/install, /oauth/callback): inline styles only, no script, never framed, never cached (the
# install page carries a one-time `state`, the callback URL a code).
OWN_PAGES = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
OWN_PAGE_BLUEPRINTS = {"oauth"}


def install(app: Flask) -> None:
    """Add the headers to every Flask answer, errors included."""

    @app.after_request
    def _security_headers(response):
        for name, value in EVERY_ANSWER.items():
            response.headers.setdefault(name, value)
        if request.blueprint in OWN_PAGE_BLUEPRINTS:
            response.headers.update(OWN_PAGES)
        return response
