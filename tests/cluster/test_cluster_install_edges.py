"""Issue 16's keys on a Redis Cluster: the per-address windows (one script, two keys under one hash tag), the used
install states, the install id and the pending disable check."""
from __future__ import annotations

from service.model import Account

ACCOUNT = Account(31000011, "tenant11", "https://tenant11.amocrm.ru")


def test_anonymous_windows_count_on_the_cluster(deps):
    counts = [deps.store.count_anonymous("callback", "203.0.113.7", 3, 100, 60, 1_800_000_000) for _ in range(4)]
    assert counts[:3] == [0, 0, 0] and counts[3] > 0
    assert deps.store.count_anonymous("callback", "198.51.100.1", 3, 100, 60, 1_800_000_000) == 0


def test_install_edges_on_the_cluster(deps):
    assert deps.store.claim_install_state("nonce", 60) and not deps.store.claim_install_state("nonce", 60)
    deps.store.save_account(ACCOUNT)
    deps.store.set_install_id(ACCOUNT.id, "one")
    assert deps.store.install_id(ACCOUNT.id) == "one"
    assert deps.store.account_for_origin(ACCOUNT.origin) == ACCOUNT.id
    assert deps.store.claim_disable(ACCOUNT.id, 60) and not deps.store.claim_disable(ACCOUNT.id, 60)
    deps.store.release_disable(ACCOUNT.id)
    assert deps.store.claim_disable(ACCOUNT.id, 60)
