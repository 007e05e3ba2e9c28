"""create_sandbox_app(world): a Flask app that, as far as a client can tell, is an amoCRM account's host."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask import Flask, request

from . import api, api_events, api_write, control, oauth  # noqa: F401  (api_* register routes on api.bp)
from .guard import Faults, RateLimiter, guard_response, problem
from .listing import QueryCache
from .oauth import Tokens
from .webhooks import WebhookSender
from .world import World


@dataclass
class SandboxState:
    """Everything one sandbox app holds besides the world's data."""

    world: World
    tokens: Tokens
    limiter: RateLimiter
    faults: Faults
    cache: QueryCache
    sender: WebhookSender
    simulator: Optional[object] = None


def create_sandbox_app(world: World, start_webhooks: bool = True) -> Flask:
    """Build the app around a world; webhooks start sending at once unless told otherwise."""
    app = Flask("service.sandbox")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    sender = WebhookSender(world)
    state = SandboxState(world, Tokens(world), RateLimiter(world.settings), Faults(world.settings),
                         QueryCache(), sender)
    app.config.update(SANDBOX=state, SANDBOX_TOKENS=state.tokens)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)

    @app.before_request
    def guard():
        """Bearer, rate limit and injected faults apply to API v4 only."""
        if request.path.startswith("/api/v4/"):
            return guard_response(app)
        return None

    @app.errorhandler(404)
    def not_found(_err):
        """Unknown paths answer in the problem shape."""
        return problem(404, "Not Found", f"No route {request.path}")

    if start_webhooks:
        sender.start()
    return app


def sandbox_state(app: Flask) -> SandboxState:
    """The state behind an app made by create_sandbox_app."""
    return app.config["SANDBOX"]
