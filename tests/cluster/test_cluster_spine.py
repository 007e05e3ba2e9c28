"""Webhook -> hint on a real Redis Cluster: several accounts on different primaries, and a primary killed while
webhooks arrive (a replica promoted, every acknowledged delivery applied)."""
from __future__ import annotations

import pytest

from service.model import Account
from service.services.hook_urls import hook_secret
from service.store.keys import account_key
from tests.support.samples import webhook_bodies
from tests.support.tokens import mint_token

FORM = "application/x-www-form-urlencoded"
TEMPLATE = webhook_bodies("status_lead_modern.txt")[0]
ACCOUNTS = [Account(id=i, subdomain=f"tenant{i}", base_url=f"https://tenant{i}.amocrm.ru")
            for i in (31000001, 31000002, 31000003, 31000004, 31000005, 31000006)]


def body(account: Account, lead_id: int) -> bytes:
    """The captured status_lead delivery, re-addressed to another account and lead."""
    return (TEMPLATE.replace(b"16700680", str(account.id).encode()).replace(b"unirock", account.subdomain.encode())
            .replace(b"30052055", str(lead_id).encode()))


def post(client, settings, account: Account, lead_id: int, request_id: str):
    secret = hook_secret(settings.secret_key, account.id)
    return client.post(f"/hooks/{account.id}/{secret}", data=body(account, lead_id), content_type=FORM,
                       headers={"X-Amocrm-Requestid": request_id})


@pytest.fixture
def tenants(deps):
    for account in ACCOUNTS:
        deps.store.save_account(account)
    return ACCOUNTS


def test_accounts_spread_over_every_primary_and_each_keeps_one_slot(cluster, deps, tenants):
    homes = {cluster.primary_of(account_key(a.id, "inbox")) for a in tenants}
    assert len(homes) == 3  # the test accounts really are on three primaries
    for account in tenants:
        slots = {deps.store.redis.keyslot(account_key(account.id, part)) for part in ("inbox", "leads", "cards",
                                                                                        "timeline:history")}
        assert len(slots) == 1
    assert deps.store.account_ids() == sorted(a.id for a in tenants)


def test_webhooks_become_hints_for_accounts_on_every_primary(client, settings, deps, tenants, run_worker):
    for n, account in enumerate(tenants):
        answer = post(client, settings, account, 50_000 + n, f"r-{n}")
        assert answer.status_code == 204, answer.data
    assert all(deps.store.inbox_length(a.id) == 1 for a in tenants)
    run_worker()
    for n, account in enumerate(tenants):
        assert deps.store.inbox_length(account.id) == 0
        reply = client.get(f"/api/v1/leads/{50_000 + n}/hints",
                           headers={"X-Auth-Token": mint_token(settings, account)})
        assert reply.status_code == 200, reply.json
        assert [h["code"] for h in reply.json["hints"]] == ["stuck_in_stage"]
        assert deps.store.counters(account.id)["applied"] == 1


def test_the_rate_slot_keeps_each_account_in_its_own_slot(deps, tenants):
    first = deps.store.acquire_request_slot(tenants[0].id, 1000, 0, per_second=1, ticket="a")
    again = deps.store.acquire_request_slot(tenants[0].id, 1000, 0, per_second=1, ticket="b")
    other = deps.store.acquire_request_slot(tenants[1].id, 1000, 0, per_second=1, ticket="c")
    assert (first, other) == (0, 0) and again > 0
    deps.store.release_request_slot(tenants[0].id, "a")


def test_a_deleted_account_leaves_nothing_on_the_cluster(deps, tenants, client, settings):
    assert post(client, settings, tenants[0], 1, "x").status_code == 204
    assert deps.store.delete_account(tenants[0].id) >= 3
    node = deps.store.node_client(tenants[0].id)
    assert list(node.scan_iter(match=account_key(tenants[0].id, "*"))) == []
    assert tenants[0].id not in deps.store.account_ids()
