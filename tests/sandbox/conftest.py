"""Fixtures: a small generated account, its sandbox app, a token, a loopback server and receiver."""
from __future__ import annotations

import pickle
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from werkzeug.serving import make_server

from service.sandbox.app import create_sandbox_app, sandbox_state
from service.sandbox.generator import generate

NOW = 1767225600  # 2026-01-01 00:00 UTC: generated histories end here


@pytest.fixture(scope="session")
def small_world_template():
    """One generated small account (the tests that mutate get their own copy)."""
    return generate("small", seed=7, now=NOW)


@pytest.fixture(scope="session")
def small_world_pickled() -> bytes:
    """The small account pickled once (without its lock): a copy loads in half the time generating one takes."""
    template = generate("small", seed=7, now=NOW)
    template.lock = None
    return pickle.dumps(template, protocol=pickle.HIGHEST_PROTOCOL)


@pytest.fixture
def world(small_world_pickled):
    """A fresh small account of its own (tests mutate it)."""
    copy = pickle.loads(small_world_pickled)
    copy.lock = threading.RLock()
    return copy


@pytest.fixture
def app(world):
    """The sandbox app around the world (webhooks sender running)."""
    application = create_sandbox_app(world)
    yield application
    sandbox_state(application).sender.stop()


@pytest.fixture
def state(app):
    """The sandbox state of the app."""
    return sandbox_state(app)


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()


@pytest.fixture
def auth(state):
    """Authorization headers with a valid access token."""
    with state.tokens.lock:
        pair = state.tokens.new_pair()
    return {"Authorization": f"Bearer {pair['access_token']}"}


@pytest.fixture
def get(client, auth, state):
    """GET an API path with the token, rate limit reset so fidelity tests never trip it."""
    def fetch(path: str):
        state.limiter.reset()
        return client.get(path, headers=auth)
    return fetch


@pytest.fixture
def live_server(app):
    """The app on a real socket: 127.0.0.1, a free port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class Receiver:
    """A tiny HTTP endpoint that records requests and answers from a list of statuses."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                self.record("POST", body)

            def do_GET(self):
                self.record("GET", "")

            def record(self, method: str, body: str):
                with receiver.lock:
                    receiver.requests.append({"method": method, "path": self.path, "body": body,
                                              "headers": dict(self.headers)})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """A local webhook/redirect receiver on 127.0.0.1."""
    rec = Receiver()
    yield rec
    rec.close()
