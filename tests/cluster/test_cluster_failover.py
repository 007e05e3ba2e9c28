"""A primary dies while webhooks arrive: a replica takes over, and every delivery answered 2xx is applied."""
from __future__ import annotations

import threading
import time

import pytest

from service.services import intake
from service.store.cluster import TOPOLOGY_CHANGED
from service.store.keys import account_key
from tests.cluster.test_cluster_spine import ACCOUNTS, post

DELIVERIES_PER_ACCOUNT = 40


@pytest.fixture
def tenants(deps):
    for account in ACCOUNTS:
        deps.store.save_account(account)
    return ACCOUNTS


def deliver(app, settings, account, lead_ids, acked: dict, refused: list, give_up: float) -> None:
    """Post each delivery until it is answered 2xx (as amoCRM retries); remember what was acknowledged."""
    client = app.test_client()
    for lead_id in lead_ids:
        while time.monotonic() < give_up:
            answer = post(client, settings, account, lead_id, f"{account.id}-{lead_id}")
            if answer.status_code == 204:
                acked[lead_id] = time.monotonic()
                break
            assert answer.status_code == 503, answer.data  # storage trouble is a retry, never a 500 or a 4xx
            refused.append(lead_id)
            time.sleep(0.05)
        time.sleep(0.01)


def test_a_primary_killed_while_webhooks_arrive_loses_no_acknowledged_delivery(cluster, app, settings, deps,
                                                                                 tenants, run_worker):
    victim = tenants[0]
    inbox = account_key(victim.id, "inbox")
    dead = cluster.primary_of(inbox)
    acked = {a.id: {} for a in tenants}
    refused: list = []
    give_up = time.monotonic() + 40
    threads = [threading.Thread(target=deliver, args=(app, settings, a, range(a.id * 100, a.id * 100 +
                                                                            DELIVERIES_PER_ACCOUNT),
                                                    acked[a.id], refused, give_up)) for a in tenants]
    for thread in threads:
        thread.start()
    while len(acked[victim.id]) < 5:
        time.sleep(0.01)
    killed_at = time.monotonic()
    cluster.kill(dead)
    assert cluster.wait_promoted(inbox, dead) != dead
    cluster.start_node(dead)  # the old primary comes back as a replica of the promoted one
    for thread in threads:
        thread.join()

    print(f"refused during the failover: {len(refused)}")
    before = [lead for lead, at in acked[victim.id].items() if at < killed_at]
    assert len(before) >= 5
    for account in tenants:
        assert len(acked[account.id]) == DELIVERIES_PER_ACCOUNT, (account.id, len(acked[account.id]))
    run_worker()
    for account in tenants:
        held = deps.store.get_leads(account.id, acked[account.id])
        assert sorted(held) == sorted(acked[account.id]), account.id
        assert deps.store.inbox_length(account.id) == 0


def test_a_primary_without_a_live_replica_answers_503(cluster, app, settings, deps, tenants):
    account = tenants[1]
    primary = cluster.primary_of(account_key(account.id, "inbox"))
    replicas = [p for p in cluster.live_ports() if p != primary and cluster.replica_of(p) == primary]
    assert replicas
    for port in replicas:
        cluster.kill(port)
    client = app.test_client()
    answer = post(client, settings, account, 7, "no-replica")
    assert answer.status_code == 503 and answer.json["error"]
    for port in replicas:
        cluster.start_node(port)
    cluster.wait_healthy()
    assert post(client, settings, account, 7, "no-replica").status_code == 204


def test_a_drain_after_a_failover_fails_once_then_asks_the_promoted_primary(cluster, app, settings, deps, tenants):
    """A drain talks straight to the account's node (Store.on_account_node): after a failover its first try meets
    the old node, refreshes the slot map and fails (the sweeper queues it again); the next one applies everything."""
    account = tenants[2]
    assert post(app.test_client(), settings, account, 11, "before-the-failover").status_code == 204
    inbox = account_key(account.id, "inbox")
    dead = cluster.primary_of(inbox)
    assert deps.store.node_client(account.id).connection_pool.connection_kwargs["port"] == dead
    cluster.kill(dead)
    promoted = cluster.wait_promoted(inbox, dead)
    cluster.start_node(dead)  # back as a replica: it answers MOVED for the account's keys
    cluster.wait_healthy()

    with pytest.raises(TOPOLOGY_CHANGED):
        intake.drain_inbox(deps, account.id)
    assert intake.drain_inbox(deps, account.id) == {"applied": 1}
    assert deps.store.node_client(account.id).connection_pool.connection_kwargs["port"] == promoted
    assert list(deps.store.get_leads(account.id, [11])) == [11]
    assert deps.store.inbox_length(account.id) == 0
