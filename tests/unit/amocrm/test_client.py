"""The API client at the wire: pages, 204, 429 backoff, 401 refresh, 403 stop, bounded GET retries."""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace

import pytest
import requests
import responses

from service.amocrm.client import AmoClient, NeedsReinstall, AccountBlocked, RateLimited, TransientError
from service.amocrm.oauth import TokenPair
from service.sandbox.guard import RateLimiter
from service.sandbox.settings import default_settings
from service.store.limits import WINDOW_MS
from tests.unit.amocrm.conftest import BASE

TOKEN_URL = f"{BASE}/oauth2/access_token"
NEW_PAIR = {"token_type": "Bearer", "expires_in": 86400, "server_time": 1, "access_token": "access-2",
            "refresh_token": "refresh-2"}


def client(deps, account):
    return AmoClient(deps, account.id, account.base_url, backoff=0.001)


@responses.activate
def test_empty_list_is_204_and_none(deps, installed):
    responses.get(f"{BASE}/api/v4/leads", status=204)
    assert client(deps, installed).get("/api/v4/leads") is None
    assert responses.calls[0].request.headers["Authorization"] == "Bearer access-1"


@responses.activate
def test_pages_follow_next_links_on_our_own_host(deps, installed):
    responses.get(f"{BASE}/api/v4/leads", match=[responses.matchers.query_param_matcher({"limit": "2"})],
                  json={"_links": {"next": {"href": "https://evil.example/api/v4/leads?limit=2&page=2"}},
                        "_embedded": {"leads": [{"id": 1}, {"id": 2}]}})
    responses.get(f"{BASE}/api/v4/leads", match=[responses.matchers.query_param_matcher({"limit": "2", "page": "2"})],
                  json={"_links": {}, "_embedded": {"leads": [{"id": 3}]}})
    pages = list(client(deps, installed).pages("/api/v4/leads", {"limit": 2}, "leads"))
    assert [[i["id"] for i in items] for items, _ in pages] == [[1, 2], [3]]
    assert all(call.request.url.startswith(BASE) for call in responses.calls)


@responses.activate
def test_429_pauses_the_account_honouring_retry_after_then_succeeds(deps, installed, monkeypatch):
    pauses = []
    real = deps.store.pause_requests
    monkeypatch.setattr(deps.store, "pause_requests", lambda a, ms: (pauses.append(ms), real(a, 1)))
    responses.get(f"{BASE}/api/v4/account", status=429, headers={"Retry-After": "3"})
    responses.get(f"{BASE}/api/v4/account", json={"id": 1})
    assert client(deps, installed).get("/api/v4/account") == {"id": 1}
    assert pauses == [3000]


@responses.activate
def test_endless_429_gives_up_with_a_retryable_error(deps, installed):
    responses.get(f"{BASE}/api/v4/account", status=429)
    with pytest.raises(RateLimited):
        client(deps, installed).get("/api/v4/account")
    assert len(responses.calls) == 7


@responses.activate
def test_403_marks_the_account_blocked_and_no_further_call_is_made(deps, installed):
    responses.get(f"{BASE}/api/v4/leads", status=403, json={"title": "Forbidden", "detail": "blocked"})
    with pytest.raises(AccountBlocked):
        client(deps, installed).get("/api/v4/leads")
    assert deps.store.get_account_state(installed.id)["state"] == "blocked"
    with pytest.raises(AccountBlocked):
        client(deps, installed).get("/api/v4/leads")
    assert len(responses.calls) == 1


@responses.activate
def test_401_refreshes_once_persists_the_new_pair_and_retries(deps, installed, keeper):
    responses.get(f"{BASE}/api/v4/account", status=401)
    responses.get(f"{BASE}/api/v4/account", json={"id": 1})
    responses.post(TOKEN_URL, json=NEW_PAIR)
    assert client(deps, installed).get("/api/v4/account") == {"id": 1}
    grant = responses.calls[1].request
    assert b'"grant_type": "refresh_token"' in grant.body and b'"refresh_token": "refresh-1"' in grant.body
    assert responses.calls[2].request.headers["Authorization"] == "Bearer access-2"
    assert keeper.current(installed.id).refresh_token == "refresh-2"


@responses.activate
def test_401_after_refresh_marks_needs_reinstall(deps, installed):
    responses.get(f"{BASE}/api/v4/account", status=401)
    responses.post(TOKEN_URL, json=NEW_PAIR)
    with pytest.raises(NeedsReinstall):
        client(deps, installed).get("/api/v4/account")
    assert deps.store.get_account_state(installed.id)["state"] == "needs_reinstall"


@responses.activate
def test_refused_refresh_marks_needs_reinstall(deps, installed):
    responses.get(f"{BASE}/api/v4/account", status=401)
    responses.post(TOKEN_URL, status=400, json={"hint": "Token has been revoked"})
    with pytest.raises(NeedsReinstall, match="revoked"):
        client(deps, installed).get("/api/v4/account")
    assert deps.store.get_account_state(installed.id)["state"] == "needs_reinstall"


@responses.activate
def test_get_timeouts_and_5xx_are_retried_a_bounded_number_of_times(deps, installed):
    responses.get(f"{BASE}/api/v4/tasks", body=requests.Timeout())
    responses.get(f"{BASE}/api/v4/tasks", status=503)
    responses.get(f"{BASE}/api/v4/tasks", json={"ok": 1})
    assert client(deps, installed).get("/api/v4/tasks") == {"ok": 1}
    responses.replace(responses.GET, f"{BASE}/api/v4/tasks", status=503)
    with pytest.raises(TransientError):
        client(deps, installed).get("/api/v4/tasks")
    assert len(responses.calls) == 3 + 3


@responses.activate
def test_post_is_never_retried_on_timeout(deps, installed):
    responses.post(f"{BASE}/api/v4/webhooks", body=requests.ConnectionError())
    with pytest.raises(TransientError):
        client(deps, installed).post("/api/v4/webhooks", {"destination": "x"})
    assert len(responses.calls) == 1


@responses.activate
def test_twenty_concurrent_jobs_with_an_expired_token_refresh_exactly_once(deps, keeper, account):
    keeper.save(account.id, TokenPair("expired", "refresh-1", int(deps.clock()) - 10))
    responses.post(TOKEN_URL, json=NEW_PAIR)
    responses.get(f"{BASE}/api/v4/account", json={"id": 1})
    barrier, results = threading.Barrier(20), []

    def job():
        barrier.wait()
        results.append(client(deps, account).get("/api/v4/account"))

    threads = [threading.Thread(target=job) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [{"id": 1}] * 20
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 1
    assert {c.request.headers["Authorization"] for c in responses.calls if "/api/v4/" in c.request.url} == {
        "Bearer access-2"}


def test_tokens_are_encrypted_at_rest(deps, installed):
    raw = deps.store.get_tokens(installed.id)
    assert b"access-1" not in raw and b"refresh-1" not in raw


def test_requests_are_spaced_by_the_shared_rate_limit(deps, account):
    assert deps.store.acquire_request_slot(account.id, 1000, 0) == 0
    assert deps.store.acquire_request_slot(account.id, 1000, 0) > 0  # a second worker must wait
    assert deps.store.acquire_request_slot(777, 1000, 0) == 0  # another account has its own budget


def test_the_global_cap_spans_accounts(deps):
    assert deps.store.acquire_request_slot(1, 1, 1000) == 0
    assert deps.store.acquire_request_slot(2, 1, 1000) > 0


def test_a_paused_account_waits(deps, account):
    deps.store.pause_requests(account.id, 5000)
    assert deps.store.acquire_request_slot(account.id, 1, 1) > 1000


def test_a_window_ticket_is_held_until_one_window_after_the_answer(deps, account):
    assert deps.store.acquire_request_slot(account.id, 0, 0, 2, "a") == 0
    assert deps.store.acquire_request_slot(account.id, 0, 0, 2, "b") == 0
    assert deps.store.acquire_request_slot(account.id, 0, 0, 2, "c") > 0  # two unanswered: the second is full
    deps.store.release_request_slot(account.id, "a")
    assert deps.store.acquire_request_slot(account.id, 0, 0, 2, "c") > 0  # amoCRM may have counted "a" just now
    time.sleep(WINDOW_MS / 1000)
    assert deps.store.acquire_request_slot(account.id, 0, 0, 2, "c") == 0


@responses.activate
def test_no_second_of_arrivals_holds_more_than_the_limit_however_late_requests_arrive(deps, installed, monkeypatch):
    """amoCRM counts a request when it arrives: somewhere between our sending it and our reading the answer. Here
    every eighth request arrives 100 ms late (a busy host); spacing alone at 7/s would then put eight arrivals in
    one second of the sandbox's own limiter, the window tickets never do."""
    monkeypatch.setattr(deps, "settings", replace(deps.settings, amocrm_rps=7))
    limiter, sent, verdicts = RateLimiter(default_settings()), itertools.count(), []

    def arrive(request):
        if next(sent) % 8 == 0:
            time.sleep(0.1)
        verdicts.append(limiter.check())
        return verdicts[-1], {}, "{}"

    responses.add_callback(responses.GET, f"{BASE}/api/v4/account", callback=arrive)
    amo = client(deps, installed)
    for _ in range(24):
        amo.get("/api/v4/account")
    assert verdicts == [200] * 24


@responses.activate
def test_secrets_never_reach_the_log(deps, installed, caplog):
    caplog.set_level("DEBUG")
    responses.get(f"{BASE}/api/v4/account", status=401)
    responses.post(TOKEN_URL, json=NEW_PAIR)
    responses.get(f"{BASE}/api/v4/account", json={})
    client(deps, installed).get("/api/v4/account")
    assert not any(s in caplog.text for s in ("access-1", "refresh-1", "access-2", "refresh-2"))


@responses.activate
@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_from_the_api_is_an_error_and_the_token_stays_home(deps, installed, status):
    from service.amocrm.client import ApiError
    responses.get(f"{BASE}/api/v4/account", status=status, headers={"Location": "https://evil.example/x"})
    elsewhere = responses.get("https://evil.example/x", json={})
    with pytest.raises(ApiError, match="redirect"):
        client(deps, installed).get("/api/v4/account")
    assert elsewhere.call_count == 0
