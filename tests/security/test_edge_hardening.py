"""Issue 16, the HTTP edge: security headers on our own pages, no cookies across tenants, gunicorn's limits."""
from __future__ import annotations

import pytest
import responses

OWN_PAGES = ["/install", "/oauth/callback?error=access_denied", "/oauth/callback?code=x&referer=evil.example"]


@pytest.mark.parametrize("path", OWN_PAGES)
def test_our_html_pages_carry_security_headers(client, path):
    answer = client.get(path)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["Cache-Control"] == "no-store"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy


def test_api_answers_are_not_sniffed_either(client):
    answer = client.get("/api/v1/leads/1/hints")
    assert answer.status_code == 401 and answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["http", "click_http"])
@responses.activate
def test_amocrm_sessions_keep_no_cookie_from_one_tenant_for_another(deps, name):
    """One session per process serves every account: a cookie set by one host was sent on later calls."""
    session = getattr(deps, name)
    responses.get("https://tenant-a.amocrm.ru/api/v4/account", json={},
                  headers={"Set-Cookie": "session_id=tenant-a; Domain=.amocrm.ru; Path=/"})
    second = responses.get("https://tenant-b.amocrm.ru/api/v4/account", json={})
    session.get("https://tenant-a.amocrm.ru/api/v4/account")
    session.get("https://tenant-b.amocrm.ru/api/v4/account")
    assert len(session.cookies) == 0 and "Cookie" not in second.calls[0].request.headers


def test_gunicorn_bounds_what_one_client_may_hold():
    """Slow clients held gthread workers: the limits are set (behaviour past them is gunicorn's, tested below)."""
    from service.config import Settings
    from service.ops.processes import gunicorn_options
    options = gunicorn_options(Settings())
    assert options["worker_class"] == "service.web.edge.JsonErrorWorker" and options["timeout"] == 30
    assert options["keepalive"] <= 5 and options["limit_request_line"] <= 4094
    assert options["limit_request_fields"] <= 100 and options["limit_request_field_size"] <= 8190


@pytest.fixture(scope="module")
def web_process(redis_url):
    """`python -m service web` (gunicorn with our options) on a free loopback port."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import requests as http

    from service.ops.redis_server import ROOT, free_port
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k not in ("DEAL_PULSE_ENV", "PORT")}, "REDIS_URL": redis_url,
           "PORT": str(port), "BIND_HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "LOG_FORMAT": "text"}
    web = subprocess.Popen([sys.executable, "-m", "service", "web"], cwd=ROOT, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if http.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except http.RequestException:
            time.sleep(0.1)
    yield port
    os.killpg(web.pid, signal.SIGTERM)
    web.wait(timeout=30)


def raw(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes, read the whole answer: (status, headers, body)."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431,
     "request_header_fields_too_large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n", 431, "request_header_fields_too_large"),
    (b"\x00\x01garbage\r\n\r\n", 400, "bad_request"),
])
def test_gunicorns_own_refusals_are_json(web_process, request_bytes, status, code):
    import json
    answer_status, headers, body = raw(web_process, request_bytes)
    assert answer_status == status and headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["error"] == code and document["message"]


BAD_CHUNKS = {"size-not-hex": b"zz\r\n", "no-terminator": b"2\r\nabXY", "cut-short": b"ff\r\nab"}


@pytest.mark.parametrize("path", ["/hooks/16700680/not-a-secret", "/api/v1/settings"])
@pytest.mark.parametrize("chunks", BAD_CHUNKS.values(), ids=BAD_CHUNKS.keys())
def test_a_malformed_chunked_body_is_400_not_500(web_process, path, chunks):
    """gunicorn's parser raises while the app reads a chunked body (InvalidChunkSize, ChunkMissingTerminator,
    NoMoreData): the client's fault, a 400 like gunicorn's own refusals; it used to be our 500 "internal"."""
    import json
    import socket
    method = "POST" if path.startswith("/hooks") else "PUT"
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", web_process), timeout=10) as conn:
        conn.sendall(head + chunks)
        conn.shutdown(socket.SHUT_WR)  # the client is done: a short chunk can never be completed
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    assert int(status_line.split()[1]) == 400, data[:400]
    document = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert document["error"] == "bad_request" and document["message"]
