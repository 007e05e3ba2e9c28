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


@pytest.mark.parametrize("make", ["http_session", "bounded_session"])
@responses.activate
def test_amocrm_sessions_keep_no_cookie_from_one_tenant_for_another(make):
    """One session per process serves every account: a cookie set by one host was sent on later calls."""
    from service.amocrm.client import http_session
    from service.widget_api.tasks import bounded_session
    session = {"http_session": http_session, "bounded_session": bounded_session}[make]()
    responses.get("https://tenant-a.amocrm.ru/api/v4/account", json={},
                  headers={"Set-Cookie": "session_id=tenant-a; Domain=.amocrm.ru; Path=/"})
    second = responses.get("https://tenant-b.amocrm.ru/api/v4/account", json={})
    session.get("https://tenant-a.amocrm.ru/api/v4/account")
    session.get("https://tenant-b.amocrm.ru/api/v4/account")
    assert len(session.cookies) == 0 and "Cookie" not in second.calls[0].request.headers
