"""The redirect URI and the disable hook at the HTTP edge (amoCRM mocked at the wire)."""
from __future__ import annotations

import json

import pytest
import responses

from service.services.accounts import disable_signature
from service.amocrm.client import AmoClient
from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.services.hook_urls import hook_secret
from service.store.keys import account_key
from tests.conftest import ACCOUNT

HOST = "https://unirock.amocrm.ru"
ACCOUNT_BODY = {"id": ACCOUNT.id, "subdomain": "unirock", "is_api_filter_enabled": False,
                "_embedded": {"datetime_settings": {"timezone": "Asia/Yekaterinburg"}}}
PAIR = {"token_type": "Bearer", "expires_in": 86400, "server_time": 1, "access_token": "acc", "refresh_token": "ref"}


def callback(client, **query):
    query = {"code": "def50200code", "referer": "unirock.amocrm.ru", "platform": "1", "from_widget": "1", **query}
    return client.get("/oauth/callback", query_string=query)


def test_widget_install_is_answered_at_once_and_the_code_exchanged_in_a_job(client, deps):
    answer = callback(client)
    assert answer.status_code == 200 and "Deal Pulse подключается" in answer.text and "connecting" in answer.text
    [job] = deps.queues["install"].jobs
    assert job.func_name == "service.jobs.complete_install" and deps.queues["webhooks"].count == 0
    assert 0 < job.failure_ttl <= 3600  # a failed exchange is not kept for a year
    assert "def50200code" not in str(job.args)  # the code travels encrypted


@responses.activate
def test_the_install_job_registers_the_account_and_subscribes_its_webhooks(client, deps, run_worker):
    responses.post(f"{HOST}/oauth2/access_token", json=PAIR)
    responses.get(f"{HOST}/api/v4/account", json=ACCOUNT_BODY)
    hook = responses.post(f"{HOST}/api/v4/webhooks", status=201, json={"id": 1})
    responses.get(responses.matchers.re.compile(rf"{HOST}/api/v4/.*"), status=204)  # an empty account
    callback(client)
    run_worker()
    account = deps.store.get_account(ACCOUNT.id)
    assert (account.base_url, account.timezone, account.is_api_filter_enabled) == (HOST, "Asia/Yekaterinburg", False)
    assert hook.call_count == 1 and b"/hooks/16700680/" in hook.calls[0].request.body
    assert b"status_lead" in hook.calls[0].request.body
    assert TokenKeeper(deps.store, deps.settings, None, deps.clock).current(ACCOUNT.id).access_token == "acc"
    assert deps.store.get_sync(ACCOUNT.id, "progress")["state"] == "done"


def test_our_own_install_page_issues_a_state_that_works_once(client, deps):
    page = client.get("/install")
    assert page.status_code == 200 and "amocrm.ru/oauth" in page.text and "kommo.com/oauth" in page.text
    state = page.text.split("state=")[1].split('"')[0]
    assert callback(client, state=state).status_code == 200
    again = callback(client, state=state)
    assert again.status_code == 403 and again.json["error"] == "forbidden"


def test_an_unknown_state_is_refused(client, deps):
    answer = callback(client, state="forged")
    assert answer.status_code == 403 and deps.queues["install"].count == 0


@pytest.mark.parametrize("referer", ["evil.example", "unirock.amocrm.ru.evil.example", "unirock.amocrm.ru:444"])
def test_a_referer_outside_amocrm_is_refused(client, deps, referer):
    answer = callback(client, referer=referer)
    assert answer.status_code == 400 and "not an amoCRM host" in answer.json["message"]
    assert deps.queues["install"].count == 0


def test_kommo_and_amocrm_com_referers_work(client, deps):
    for referer in ("unirock.kommo.com", "unirock.amocrm.com"):
        assert callback(client, referer=referer).status_code == 200
    assert deps.queues["install"].count == 2


def test_another_integrations_install_is_refused(client):
    assert callback(client, client_id="someone-else").status_code == 400


def test_denied_access_shows_a_cancelled_page(client, deps):
    answer = client.get("/oauth/callback", query_string={"error": "access_denied"})
    assert "Установка отменена" in answer.text and deps.queues["install"].count == 0


def test_missing_code_is_400(client):
    answer = client.get("/oauth/callback", query_string={"referer": "unirock.amocrm.ru"})
    assert answer.status_code == 400 and "code" in answer.json["message"]


def disable_query(settings, account_id=ACCOUNT.id, id_name="client_uuid", **over):
    query = {"account_id": account_id, id_name: settings.client_id,
             "signature": disable_signature(settings.client_secret, settings.client_id, account_id)}
    return {**query, **over}


@responses.activate
@pytest.mark.parametrize("id_name", ["client_uuid", "client_id"])
def test_disable_hook_deletes_every_key_of_the_account(client, deps, settings, account, id_name):
    """Issue 16: the delete runs in a job once amoCRM confirms (it answers 401 and refuses the refresh)."""
    from rq import SimpleWorker
    responses.get(f"{HOST}/api/v4/account", status=401, json={"title": "Unauthorized"})
    responses.post(f"{HOST}/oauth2/access_token", status=400, json={"hint": "Token has been revoked"})
    TokenKeeper(deps.store, settings, None, deps.clock).save(account.id, TokenPair("a", "r", 1))
    deps.store.save_sync(account.id, "progress", {"state": "done"})
    deps.store.add_timeline(account.id, "history", [])
    deps.redis.set(account_key(account.id, "plans"), "{}")
    deps.queues["sync"].enqueue("service.jobs.full_sync", account.id)
    deps.queues["webhooks"].enqueue("service.jobs.drain_inbox", 777)
    answer = client.get("/oauth/disable", query_string=disable_query(settings, id_name=id_name))
    assert answer.status_code == 202 and answer.json["queued"] is True
    assert deps.store.get_account(account.id) is not None  # nothing is deleted in the web thread
    SimpleWorker([deps.queues["install"]], connection=deps.redis,
                 serializer=deps.queues["install"].serializer).work(burst=True, with_scheduler=False)
    assert deps.redis.keys(account_key(account.id, "*")) == []
    assert deps.store.get_account(account.id) is None and not deps.store.origin_is_installed(account.origin)
    assert deps.queues["sync"].count == 0 and deps.queues["webhooks"].count == 1  # other accounts' work stays


def test_disable_hook_with_a_wrong_signature_deletes_nothing(client, deps, settings, account):
    answer = client.get("/oauth/disable", query_string=disable_query(settings, signature="0" * 64))
    assert answer.status_code == 403 and deps.store.get_account(account.id) is not None
    theirs = disable_query(settings)["signature"]
    other = client.get("/oauth/disable", query_string=disable_query(settings, account_id=777, signature=theirs))
    assert other.status_code == 403  # a signature is bound to its account id


@responses.activate
def test_a_reinstall_rotates_the_webhook_url_and_the_old_one_stops_working(client, deps, run_worker):
    """The hook URL secret was HMAC(SECRET_KEY, account id): a leaked URL survived reinstalls, revocable only by
    rotating SECRET_KEY for every tenant (issue 16)."""
    from urllib.parse import urlsplit
    responses.post(f"{HOST}/oauth2/access_token", json=PAIR)
    responses.get(f"{HOST}/api/v4/account", json=ACCOUNT_BODY)
    hook = responses.post(f"{HOST}/api/v4/webhooks", status=201, json={"id": 1})
    responses.get(responses.matchers.re.compile(rf"{HOST}/api/v4/(?!account\b).*"), status=204)
    paths = []
    for _ in range(2):
        callback(client)
        run_worker()
        paths.append(urlsplit(json.loads(hook.calls[-1].request.body)["destination"]).path)
    first, second = paths
    assert first != second
    body = {"account[id]": str(ACCOUNT.id), "account[subdomain]": "unirock", "leads[update][0][id]": "1",
            "leads[update][0][status_id]": "1", "leads[update][0][pipeline_id]": "1"}
    old = client.post(first, data=body)
    assert old.status_code == 403 and "earlier install" in old.json["message"]
    assert client.post(second, data=body).status_code == 204
    legacy = f"/hooks/{ACCOUNT.id}/{hook_secret(deps.settings.secret_key, ACCOUNT.id)}"
    assert client.post(legacy, data=body).status_code == 403


@responses.activate
def test_the_install_reads_the_account_through_the_shared_rate_limit(client, deps, monkeypatch):
    responses.post(f"{HOST}/oauth2/access_token", json=PAIR)
    responses.get(f"{HOST}/api/v4/account", json=ACCOUNT_BODY)
    callback(client)
    deps.queues["install"].jobs[0].perform()  # complete_install alone: before the account is known
    assert deps.redis.exists(account_key(0, "rl", "next"))  # a first install's turn, under the global cap
    assert deps.store.get_account(ACCOUNT.id) is not None
    deps.store.pause_requests(ACCOUNT.id, 60_000)  # a re-install waits for the account's own 429 pause
    callback(client, code="def50200again")
    job = deps.queues["install"].jobs[-1]
    slept, original = [], AmoClient.__init__

    def recording(self, *args, **kwargs):  # sleeps are recorded, and the pause ends instead of being waited out
        original(self, *args, **kwargs)
        self.sleep = lambda seconds: (slept.append(seconds), deps.store.pause_requests(ACCOUNT.id, 1))

    monkeypatch.setattr(AmoClient, "__init__", recording)
    job.perform()
    assert slept and slept[0] > 1  # it waited on the account's pause instead of calling amoCRM during it
