"""End-to-end: the sandbox amoCRM and our web app on real loopback sockets, our worker in-process."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from service import bootstrap, create_app
from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.config import DEV_CLIENT_ID, DEV_CLIENT_SECRET, Settings
from service.sandbox.app import create_sandbox_app, sandbox_state
from service.sandbox.generator import generate


class Served:
    """A WSGI app on 127.0.0.1 at a free port; the app can be set after the port is known."""

    def __init__(self, app=None):
        self.app = app
        self.server = make_server("127.0.0.1", 0, lambda env, start: self.app(env, start), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # shutdown() waits for the loop's next poll: 0.05 s, not the default 0.5 s, at every test's teardown
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def world():
    """A small generated account whose history ends today."""
    return generate("small", seed=11, leads=150, managers=4)


@pytest.fixture
def sandbox(world):
    app = create_sandbox_app(world, start_webhooks=False)
    world.settings["rate_limit"]["per_second"] = 100_000  # the bench measures the real limit; tests stay fast
    served = Served(app)
    served.state = sandbox_state(app)
    yield served
    served.close()


@pytest.fixture
def ours():
    served = Served()
    yield served
    served.close()


@pytest.fixture
def settings(redis_url, sandbox, ours, monkeypatch, world):
    """Our settings, shared with RQ workers through the environment: API calls go to the sandbox."""
    env = {"AMOCRM_API_BASE": sandbox.url, "PUBLIC_URL": ours.url, "AMOCRM_RPS": "100000",
           "AMOCRM_GLOBAL_RPS": "100000", "SYNC_PAGE_LIMIT": "25"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bootstrap.worker_deps.cache_clear()
    world.settings["oauth"].update(client_id=DEV_CLIENT_ID, client_secret=DEV_CLIENT_SECRET,
                                   redirect_uri=f"{ours.url}/oauth/callback",
                                   disable_hook_url=f"{ours.url}/oauth/disable")
    yield Settings.from_env()
    bootstrap.worker_deps.cache_clear()


@pytest.fixture
def app(deps, ours):
    application = create_app(deps=deps)
    ours.app = application
    return application


@pytest.fixture
def connected(deps, sandbox, world):
    """The sandbox account registered with a token pair, skipping the OAuth dance."""
    from service.amocrm import schemas
    with sandbox.state.tokens.lock:
        pair = sandbox.state.tokens.new_pair()
    account = schemas.make_account({**world.account, "_embedded": {}}, "https://sandbox.amocrm.ru")
    TokenKeeper(deps.store, deps.settings, None, deps.clock).save(
        account.id, TokenPair(pair["access_token"], pair["refresh_token"], int(deps.clock()) + 3600))
    deps.store.save_account(account)
    return account
