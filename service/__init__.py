"""Deal Pulse: amoCRM deal hints and supervisor insights. `create_app` builds the web app."""
from __future__ import annotations

from flask import Flask


def create_app(settings=None, deps=None) -> Flask:
    """The Flask app; tests pass their own `deps`, production builds them from the environment."""
    from service import bootstrap
    from service.web import api, errors, health, hooks, openapi  # noqa: F401 (openapi adds its route to api.bp)
    from service.web import oauth  # issue 4: install, disable hook

    deps = deps or bootstrap.build(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = deps.settings.max_webhook_bytes
    app.extensions["deps"] = deps
    errors.register(app)
    for blueprint in (health.bp, api.bp, oauth.bp):
        app.register_blueprint(blueprint)
    _add_operations(app, deps.settings)  # issue 8
    if deps.settings.forwarded_hops:  # issue 16: the client address behind our own proxies (README, security)
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=deps.settings.forwarded_hops, x_proto=0, x_host=0)
    app.wsgi_app = hooks.HookIntake(deps, app.wsgi_app)  # webhooks are answered before Flask is reached
    return app


def _add_operations(app: Flask, settings) -> None:
    """Request ids and access lines, /metrics, and the widget previews (never in production)."""
    from service import logs
    from service.web import headers, metrics

    logs.install(app)
    headers.install(app)  # issue 16
    app.register_blueprint(metrics.bp)
    if settings.serves_preview:
        from service import preview
        app.register_blueprint(preview.bp)
