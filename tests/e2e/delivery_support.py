"""Webhook delivery end to end: our app on a live loopback port, a sandbox world whose sender posts to it.

Own fixtures (not conftest.py's): these tests need only Redis, our web app and the sandbox's webhook sender.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
import redis
from rq import SimpleWorker
from werkzeug.serving import WSGIRequestHandler, make_server

from service import bootstrap, create_app
from service.config import Settings
from service.deps import Deps
from service.model import Account
from service.sandbox.app import create_sandbox_app, sandbox_state
from service.sandbox.generator import generate
from service.sandbox.webhooks import WebhookSender
from service.services.hook_health import HOOK_EVENTS
from service.services.hook_urls import hook_url

# What the install subscribes, plus contacts (the sandbox sends add_contact; our intake records contacts).
EVENTS = [*HOOK_EVENTS, "add_contact"]


class QuietHandler(WSGIRequestHandler):
    """No access log line per webhook."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class LiveServer:
    """A WSGI app served by werkzeug on 127.0.0.1 at a free port, in a thread; the app may be set later."""

    def __init__(self):
        self.app = None
        self.server = make_server("127.0.0.1", 0, lambda env, start: self.app(env, start), threaded=True,
                                  request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Delivery:
    """Everything one delivery test drives and inspects."""

    deps: Deps
    world: object
    sender: WebhookSender
    account: Account
    hook: str

    def configure(self, **webhooks) -> None:
        """Set the sender's drop / duplicate / reorder shares (and seed) before driving changes."""
        self.world.settings["webhooks"].update(webhooks)

    def drain(self) -> None:
        """Apply what has arrived with a real RQ worker (burst)."""
        SimpleWorker(list(self.deps.queues.values()), connection=self.deps.redis,
                     serializer=self.deps.queues["webhooks"].serializer).work(burst=True, with_scheduler=False)

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until the sender has nothing queued or in flight (retries included), then drain."""
        assert self.sender.wait_idle(timeout), "the sandbox sender did not go idle"
        self.drain()


@pytest.fixture
def delivery(redis_url):
    """A small sandbox account installed in our store, its webhooks subscribed to our live hook URL."""
    server = LiveServer()
    deps = bootstrap.build(Settings(redis_url=redis_url, public_url=server.url))
    deps.redis.flushdb()
    server.app = create_app(deps=deps)
    world = generate("small", seed=23, leads=80, managers=4, months=2)
    world.settings["webhooks"].update(time_scale=0.0005, seed=5)  # retries after 0.15 s / 0.45 s, not minutes
    sender = sandbox_state(create_sandbox_app(world, start_webhooks=False)).sender
    account = Account(world.account["id"], world.account["subdomain"],
                      base_url=f"https://{world.account['subdomain']}.amocrm.ru",
                      timezone=world.account["timezone"])
    deps.store.save_account(account)
    hook = hook_url(deps, account.id)
    assert hook.startswith(server.url + "/hooks/")
    world.subscribe(hook, EVENTS)
    sender.start()
    yield Delivery(deps, world, sender, account, hook)
    sender.stop()
    server.close()
    deps.redis.close()


def failing_inbox(deps: Deps, every: int) -> list[bytes]:
    """Make every `every`-th new body fail to reach the inbox once (Redis error → our 503); returns the failed bodies."""
    real, failed, seen = deps.store.append_inbox, [], [0]

    def append(account_id, entry, *limits):
        seen[0] += 1
        if seen[0] % every == 0 and entry["body"] not in failed:
            failed.append(entry["body"])
            raise redis.ConnectionError("injected: inbox unavailable")
        return real(account_id, entry, *limits)

    deps.store.append_inbox = append
    return failed
