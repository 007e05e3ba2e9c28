"""Issue 16, point 3: floods of anonymous /oauth/callback and /install requests. Before: every callback queued a job
on the webhooks queue (ahead of installed accounts' webhooks) kept a year when it failed, and every /install GET
stored a key. Now: per-address fixed windows, a bounded number of counted addresses, jobs on the install queue with
short failure retention. Assertions are on queue order and key counts, never on timings (bench/ has the figures)."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest
import responses
from rq import SimpleWorker
from rq.job import JobStatus

from service.services import accounts, queueing
from service import create_app
from service.ops.redis_server import ROOT
from service.services.hook_urls import hook_secret
from tests.support.samples import webhook_bodies

LIMIT = 30
NOW = 1_800_000_030.0  # one fixed minute: no test may straddle two windows


@pytest.fixture(autouse=True)
def fixed_clock(deps):
    deps.clock = lambda: NOW


def callback(client, address="203.0.113.7", **query):
    query = {"code": "def50200code", "referer": "someone.amocrm.ru", **query}
    return client.get("/oauth/callback", query_string=query, environ_base={"REMOTE_ADDR": address})


def install_page(client, address="203.0.113.7"):
    return client.get("/install", environ_base={"REMOTE_ADDR": address})


def rate_keys(deps) -> list[bytes]:
    return deps.redis.keys("dp:rl:anon:*")


def test_one_address_is_limited_per_minute_and_others_are_not(client, deps):
    answers = [callback(client) for _ in range(LIMIT + 5)]
    assert [a.status_code for a in answers].count(200) == LIMIT
    refused = answers[-1]
    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert deps.queues["install"].count == LIMIT and deps.queues["webhooks"].count == 0
    assert callback(client, address="198.51.100.1").status_code == 200  # another client is not held up
    pages = [install_page(client) for _ in range(LIMIT + 1)]
    assert pages[-1].status_code == 429 and pages[0].status_code == 200  # /install has a window of its own


def test_an_ipv6_host_cannot_rotate_through_its_64(client):
    answers = [callback(client, address=f"2001:db8:1:2::{n:x}") for n in range(LIMIT + 1)]
    assert answers[-1].status_code == 429
    assert callback(client, address="2001:db8:1:3::1").status_code == 200


def test_many_addresses_add_no_keys_past_the_cap(deps):
    deps.settings = replace(deps.settings, oauth_rate_clients=50)
    client = create_app(deps=deps).test_client()
    statuses = [install_page(client, address=f"10.0.{n // 250}.{n % 250}").status_code for n in range(300)]
    assert statuses.count(200) == 50 and statuses.count(429) == 250
    assert len(rate_keys(deps)) <= 50 + 1  # the admitted clients and the window's client count
    assert all(0 < deps.redis.ttl(key) <= 61 for key in rate_keys(deps))


def test_a_flood_from_more_addresses_than_counted_still_queues_a_bounded_number_of_exchanges(client, deps,
                                                                                           monkeypatch):
    monkeypatch.setattr(accounts, "MAX_WAITING_INSTALLS", 40)
    statuses = [callback(client, address=f"10.1.{n // 250}.{n % 250}").status_code for n in range(60)]
    assert statuses.count(200) == 40 and statuses.count(503) == 20
    assert deps.queues["install"].count == 40


def test_x_forwarded_for_counts_only_behind_configured_proxies(deps):
    spoofed = create_app(deps=deps).test_client()
    answers = [spoofed.get("/install", headers={"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(LIMIT + 1)]
    assert answers[-1].status_code == 429  # a header the client wrote does not make it someone else
    deps.redis.flushdb()
    deps.settings = replace(deps.settings, forwarded_hops=1)
    proxied = create_app(deps=deps).test_client()
    answers = [proxied.get("/install", headers={"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(LIMIT + 1)]
    assert all(a.status_code == 200 for a in answers)  # our proxy's header names the real clients


@responses.activate
def test_a_burst_never_delays_installed_accounts_webhooks_and_leaves_bounded_memory(client, deps, account):
    """The attack as it was shown: many anonymous callbacks and install pages, then a webhook of a tenant."""
    responses.post("https://someone.amocrm.ru/oauth2/access_token", status=400, json={"hint": "Code is invalid"})
    before = set(deps.redis.keys("*"))
    addresses = [f"203.0.113.{n}" for n in range(8)]
    for address in addresses:
        for _ in range(LIMIT + 5):
            callback(client, address=address)
            install_page(client, address=address)
    queued_installs = deps.queues["install"].count
    assert queued_installs == LIMIT * len(addresses)

    secret = hook_secret(deps.settings.secret_key, account.id)
    assert client.post(f"/hooks/{account.id}/{secret}", data=webhook_bodies("status_lead_modern.txt")[0],
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 204
    worker = SimpleWorker(list(deps.queues.values()), connection=deps.redis,
                          serializer=deps.queues["webhooks"].serializer)
    worker.work(burst=True, max_jobs=1, with_scheduler=False)
    assert deps.store.counters(account.id).get("applied", 0) >= 1  # the first job any worker takes is the webhook's
    assert deps.queues["install"].count == queued_installs  # every anonymous job still waits behind it

    worker.work(burst=True, with_scheduler=False)  # the flood's jobs: refused codes, nothing stored
    assert deps.store.account_ids() == [account.id]
    new = set(deps.redis.keys("*")) - before
    lasting = [k for k in new if deps.redis.ttl(k) == -1]
    structural = {b"rq:queues", b"rq:workers", b"rq:workers:install", b"rq:workers:webhooks",
                  b"rq:workers:insights", b"rq:workers:sync"}
    assert all(k in structural or k.startswith((b"rq:queue:", b"rq:wip:", b"rq:finished:", b"rq:failed:",
                                                b"rq:clean_registries:", b"rq:deferred:", b"rq:scheduled:",
                                                b"rq:canceled:", b"acct:")) for k in lasting), lasting
    job_keys = [k for k in new if k.startswith(b"rq:job:")]
    assert len(job_keys) <= queued_installs + 5  # jobs: one per admitted callback, plus the tenant's own
    assert all(0 < deps.redis.ttl(k) <= max(queueing.INSTALL_FAILURE_TTL, 500) for k in job_keys)
    exchanges = [k for k in job_keys if b"complete_install" in deps.redis.hget(k, "description")]
    assert all(deps.redis.ttl(k) <= queueing.INSTALL_RESULT_TTL for k in exchanges
               if deps.redis.hget(k, "status") == b"finished")
    assert len(rate_keys(deps)) <= 2 * (len(addresses) + 1)


def test_the_procfile_worker_works_the_install_queue_after_webhooks(deps):
    """`python -m service worker` (Procfile, `make run` through honcho) listens to `install`, ranked below webhooks."""
    install = deps.queues["install"].enqueue("service.jobs.sweep_inboxes")
    hook = deps.queues["webhooks"].enqueue("service.jobs.sweep_inboxes")
    env = {**os.environ, "REDIS_URL": deps.settings.redis_url}
    subprocess.run([sys.executable, "-m", "service", "worker", "--burst"], cwd=ROOT, env=env, check=True,
                   timeout=120, capture_output=True)
    assert install.get_status(refresh=True) == hook.get_status(refresh=True) == JobStatus.FINISHED
    hook.refresh()
    install.refresh()
    assert hook.ended_at <= install.started_at
