"""`python -m service migrate-to-cluster`: an account of a single Redis (keys in the old untagged form) copied to
the cluster and verified, webhooks stored at the old deployment after the copy caught up, then applied there."""
from __future__ import annotations

import pytest

from service import bootstrap
from service.services import intake
from service.ops import migrate
from service.__main__ import main
from service.config import Settings
from service.store.keys import BUCKETS, account_key, legacy_account_prefix
from tests.cluster.test_cluster_spine import ACCOUNTS, body

ACCOUNT = ACCOUNTS[2]


@pytest.fixture
def single(redis_url, deps):
    """The old deployment: everything on one Redis (emptied by `deps`)."""
    built = bootstrap.build(Settings(redis_url=redis_url))
    yield built
    built.redis.close()


def entry(lead_id: int, request_id: str) -> dict:
    return {"body": body(ACCOUNT, lead_id), "received_at": "1", "headers": f'{{"X-Amocrm-Requestid": "{request_id}"}}'}


def old_layout(single) -> None:
    """Rename the account's keys to the untagged form a deployment before hash tags wrote."""
    for raw in single.redis.scan_iter(match="acct:{%d}:*" % ACCOUNT.id):
        rest = raw.decode()[len(account_key(ACCOUNT.id, "")):]
        single.redis.rename(raw, legacy_account_prefix(ACCOUNT.id) + rest)


def test_an_account_is_copied_verified_and_caught_up_while_webhooks_arrive(single, deps, run_worker, capsys):
    single.store.save_account(ACCOUNT)
    for lead_id in (101, 102):
        single.store.append_inbox(ACCOUNT.id, entry(lead_id, f"r{lead_id}"))
    intake.drain_inbox(single, ACCOUNT.id)  # applied at the old deployment
    single.store.append_inbox(ACCOUNT.id, entry(103, "r103"))  # stored there, not applied yet
    old_layout(single)
    assert single.redis.exists(legacy_account_prefix(ACCOUNT.id) + f"leads:{101 % BUCKETS['leads']}")  # a lead bucket

    assert main(["migrate-to-cluster", "--account", str(ACCOUNT.id)]) == 0
    out = capsys.readouterr().out
    assert f"account {ACCOUNT.id}:" in out and "MISMATCHED" not in out
    copied, verified = (int(x) for x in out.split(":")[1].replace(" keys copied,", "").split()[:2])
    assert copied == verified >= 5
    assert deps.store.get_account(ACCOUNT.id) == ACCOUNT and ACCOUNT.id in deps.store.account_ids()
    assert sorted(deps.store.get_leads(ACCOUNT.id, [101, 102, 103])) == [101, 102]

    # The old deployment still takes a webhook after the copy (its key name is the old one).
    single.redis.xadd(legacy_account_prefix(ACCOUNT.id) + "inbox", entry(104, "r104"))
    assert main(["migrate-to-cluster", "--account", str(ACCOUNT.id), "--catch-up"]) == 0
    assert "1 inbox entries caught up" in capsys.readouterr().out
    assert main(["migrate-to-cluster", "--account", str(ACCOUNT.id), "--catch-up"]) == 0
    assert "0 inbox entries caught up" in capsys.readouterr().out  # nothing twice
    run_worker()
    assert sorted(deps.store.get_leads(ACCOUNT.id, [101, 102, 103, 104])) == [101, 102, 103, 104]
    assert deps.store.inbox_length(ACCOUNT.id) == 0


def test_an_account_already_on_the_cluster_is_not_overwritten(single, deps):
    single.store.save_account(ACCOUNT)
    deps.store.save_account(ACCOUNT)
    with pytest.raises(migrate.MigrationError):
        migrate.copy_account(single.redis, deps, ACCOUNT.id)
    assert migrate.copy_account(single.redis, deps, ACCOUNT.id, replace=True).mismatched == []


def test_the_digest_sees_content_not_order(single):
    single.redis.hset("a", mapping={"x": 1, "y": 2})
    single.redis.hset("b", mapping={"y": 2, "x": 1})
    single.redis.hset("c", mapping={"y": 2, "x": 3})
    assert migrate.digest(single.redis, "a") == migrate.digest(single.redis, "b")
    assert migrate.digest(single.redis, "a") != migrate.digest(single.redis, "c")


def test_without_a_cluster_the_old_keys_are_copied_to_their_tagged_names_in_place(single, monkeypatch, capsys):
    single.store.save_account(ACCOUNT)
    single.store.append_inbox(ACCOUNT.id, entry(201, "r201"))
    intake.drain_inbox(single, ACCOUNT.id)
    old_layout(single)
    assert single.store.get_account(ACCOUNT.id) is None  # the new code does not see the old names
    monkeypatch.delenv("REDIS_CLUSTER_URL")
    assert main(["migrate-to-cluster", "--account", str(ACCOUNT.id)]) == 0
    assert "MISMATCHED" not in capsys.readouterr().out
    assert single.store.get_account(ACCOUNT.id) == ACCOUNT
    assert sorted(single.store.get_leads(ACCOUNT.id, [201])) == [201]
