"""Issue 16, point 4: a disable URL deleted an account forever. amoCRM's signature has no time or nonce, so an
observed URL replayed after a reinstall deleted the account again, and each call scanned the keyspace in a web
thread. Now the hook only queues a check; the job deletes when amoCRM confirms, or after a grace period that a
reinstall cancels."""
from __future__ import annotations

import pytest
import responses
from rq import SimpleWorker

from service.services import uninstall
from service.services.accounts import disable_signature
from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.store.core import Store

HOST = "https://unirock.amocrm.ru"


def hook(client, settings, account_id):
    return client.get("/oauth/disable", query_string={
        "account_id": account_id, "client_uuid": settings.client_id,
        "signature": disable_signature(settings.client_secret, settings.client_id, account_id)})


def work_install_queue(deps):
    SimpleWorker([deps.queues["install"]], connection=deps.redis,
                 serializer=deps.queues["install"].serializer).work(burst=True, with_scheduler=False)


@pytest.fixture
def installed(deps, settings, account):
    TokenKeeper(deps.store, settings, None, deps.clock).save(account.id, TokenPair("acc", "ref", 9_000_000_000))
    deps.store.set_install_id(account.id, "second")  # reinstalled after the URL was observed
    deps.store.save_sync(account.id, "progress", {"state": "done"})
    return account


@responses.activate
def test_replaying_an_observed_url_after_a_reinstall_deletes_nothing(client, deps, settings, installed, caplog):
    amocrm = responses.get(f"{HOST}/api/v4/account", json={"id": installed.id})  # our tokens work: not disabled
    for _ in range(5):
        assert hook(client, settings, installed.id).status_code == 202
    assert deps.queues["install"].count == 1  # repeats queue one check
    work_install_queue(deps)
    assert deps.store.get_account(installed.id) == installed and deps.store.get_sync(installed.id, "progress")
    assert amocrm.call_count == 1 and "disable hook ignored" in caplog.text


@responses.activate
def test_a_refreshable_token_is_not_a_disable(client, deps, settings, installed):
    responses.get(f"{HOST}/api/v4/account", status=401)
    responses.post(f"{HOST}/oauth2/access_token", json={"access_token": "acc-2", "refresh_token": "ref-2",
                                                         "expires_in": 86400})
    hook(client, settings, installed.id)
    work_install_queue(deps)
    assert deps.store.get_account(installed.id) is not None
    assert TokenKeeper(deps.store, settings, None, deps.clock).current(installed.id).refresh_token == "ref-2"


@responses.activate
def test_a_reinstall_between_hook_and_check_cancels_the_delete(client, deps, settings, installed):
    revoked = responses.get(f"{HOST}/api/v4/account", status=401)
    hook(client, settings, installed.id)
    deps.store.set_install_id(installed.id, "third")  # the tenant reinstalls before the job runs
    work_install_queue(deps)
    assert deps.store.get_account(installed.id) is not None and revoked.call_count == 0


@responses.activate
def test_an_outage_deletes_nothing_and_the_check_is_retried(client, deps, settings, installed):
    responses.get(f"{HOST}/api/v4/account", status=503)
    hook(client, settings, installed.id)
    work_install_queue(deps)
    assert deps.store.get_account(installed.id) is not None
    assert deps.queues["install"].scheduled_job_registry.count == 1  # RQ's retry


@responses.activate
def test_an_unconfirmable_disable_waits_out_a_grace_period_that_a_reinstall_cancels(client, deps, settings,
                                                                                   installed):
    responses.get(f"{HOST}/api/v4/account", status=403, json={"title": "Account is blocked"})
    hook(client, settings, installed.id)
    work_install_queue(deps)
    assert deps.store.get_account(installed.id) is not None  # not yet
    [job_id] = deps.queues["install"].scheduled_job_registry.get_job_ids()
    scheduled = deps.queues["install"].fetch_job(job_id)
    assert scheduled.func_name == "service.jobs.delete_after_grace"
    assert hook(client, settings, installed.id).json["queued"] is False  # a replay adds no second countdown

    deps.store.set_install_id(installed.id, "fourth")  # reinstalled during the grace period
    assert uninstall.delete_after_grace(deps, *scheduled.args)["deleted"] is False
    deps.store.set_install_id(installed.id, scheduled.args[1])  # not reinstalled: the grace period ends
    assert uninstall.delete_after_grace(deps, *scheduled.args)["deleted"] is True
    assert deps.store.get_account(installed.id) is None


def test_the_hook_scans_and_deletes_nothing_in_the_web_thread(client, deps, settings, installed, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a keyspace scan or delete inside the request")
    monkeypatch.setattr(Store, "delete_account", refuse)
    monkeypatch.setattr(type(deps.redis), "scan_iter", refuse)
    answer = hook(client, settings, installed.id)
    assert answer.status_code == 202 and answer.json == {"account_id": installed.id, "accepted": True,
                                                         "queued": True}


def test_a_hook_for_an_account_we_do_not_have_queues_nothing(client, deps, settings):
    assert hook(client, settings, 424242).json["queued"] is False and deps.queues["install"].count == 0
