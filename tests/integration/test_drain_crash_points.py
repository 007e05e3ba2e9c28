"""Exactly-once in effect: a drain that dies at any point loses no acknowledged delivery and applies none twice.

Each test stores real deliveries (with amoCRM's `X-Amocrm-Requestid`), makes the drain fail at one point with the
error a crash or a Redis outage would raise there, then lets the re-drain run and compares the mirror with what
the deliveries say.
"""
from urllib.parse import urlencode

import pytest
import redis

from service.services import intake
from service.services.hook_urls import hook_secret
from service.store.inbox import DRAIN_PENDING_SECONDS
from service.store.keys import account_key

FORM = "application/x-www-form-urlencoded"
LEADS = 3


def move_body(lead_id, status, at):
    pairs = [("account[id]", "16700680"), ("leads[status][0][id]", str(lead_id)),
             ("leads[status][0][status_id]", str(status)), ("leads[status][0][old_status_id]", str(status - 1)),
             ("leads[status][0][pipeline_id]", "10"), ("leads[status][0][updated_at]", str(at))]
    return urlencode(pairs).encode()


def deliver(client, settings, body, request_id):
    url = f"/hooks/16700680/{hook_secret(settings.secret_key, 16700680)}"
    answer = client.post(url, data=body, content_type=FORM, headers={"X-Amocrm-Requestid": request_id})
    assert answer.status_code == 204


def deliver_moves(client, settings):
    """Each lead moves 100 → 101 → 102; the first move of lead 1 is retried by amoCRM (same id, same body)."""
    for step in (101, 102):
        for lead in range(1, LEADS + 1):
            deliver(client, settings, move_body(lead, step, 1000 * step + lead), f"req-{lead}-{step}")
    deliver(client, settings, move_body(1, 101, 101_001), "req-1-101")


def assert_every_move_applied_once(deps, account):
    leads = deps.store.get_leads(account.id, range(1, LEADS + 1))
    assert {lead_id: lead.status_id for lead_id, lead in leads.items()} == {i: 102 for i in range(1, LEADS + 1)}
    history = deps.store.timelines(account.id, "history", range(1, LEADS + 1))
    assert {lead: [(c.old_status_id, c.status_id) for c in moves] for lead, moves in history.items()} == \
        {i: [(100, 101), (101, 102)] for i in range(1, LEADS + 1)}
    assert deps.store.inbox_length(account.id) == 0


def fail_once(monkeypatch, owner, name, error=redis.ConnectionError("Redis went away")):
    """Make `owner.name` raise the first time it is called (after doing nothing), then behave."""
    real = getattr(owner, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return calls


def crash_then_redrain(deps, account):
    with pytest.raises(redis.ConnectionError):
        intake.drain_inbox(deps, account.id)
    deps.redis.delete(account_key(account.id, "lock", "drain"))  # the dead worker's lease ran out
    intake.drain_inbox(deps, account.id)


def test_a_drain_lost_before_it_started_is_taken_over_within_seconds(client, settings, account, deps, monkeypatch):
    monkeypatch.setattr(intake, "queue_drain", lambda *_: None)  # the queued job dies before its first line
    deliver_moves(client, settings)
    monkeypatch.undo()
    pending = account_key(account.id, "drain_pending")
    assert 0 < deps.redis.ttl(pending) <= DRAIN_PENDING_SECONDS  # was an hour: 4,177 deliveries sat unapplied
    assert intake.sweep_inboxes(deps) == []  # a queued drain is trusted while its flag is fresh
    deps.redis.delete(pending)  # its seconds pass: the flag expires
    assert intake.sweep_inboxes(deps) == [account.id]
    intake.drain_inbox(deps, account.id)
    assert_every_move_applied_once(deps, account)


def test_a_drain_dying_after_marking_deliveries_applies_them_on_the_retry(client, settings, account, deps,
                                                                          monkeypatch):
    deliver_moves(client, settings)
    fail_once(monkeypatch, intake, "apply_events")  # marks written, nothing applied yet
    crash_then_redrain(deps, account)
    assert_every_move_applied_once(deps, account)
    assert deps.store.counters(account.id) == {"applied": 2 * LEADS, "duplicates": 1}


def test_a_drain_dying_mid_batch_applies_the_rest_on_the_retry(client, settings, account, deps, monkeypatch):
    deliver_moves(client, settings)
    fail_once(monkeypatch, deps.store, "save_leads")  # the stage history written, the leads not
    crash_then_redrain(deps, account)
    assert_every_move_applied_once(deps, account)


def test_a_drain_dying_after_applying_applies_nothing_twice(client, settings, account, deps, monkeypatch):
    deliver_moves(client, settings)
    fail_once(monkeypatch, deps.store, "mark_applied")  # everything applied, the cursor not moved
    crash_then_redrain(deps, account)
    assert_every_move_applied_once(deps, account)


def test_a_retry_after_the_batch_was_applied_is_still_a_duplicate(client, settings, account, deps):
    deliver_moves(client, settings)
    intake.drain_inbox(deps, account.id)
    deliver(client, settings, move_body(2, 102, 102_002), "req-2-102")  # amoCRM retries after our answer got lost
    intake.drain_inbox(deps, account.id)
    assert_every_move_applied_once(deps, account)
    assert deps.store.counters(account.id)["duplicates"] == 2


def test_a_reused_request_id_with_another_body_is_another_delivery(client, settings, account, deps):
    deliver(client, settings, move_body(1, 101, 101_001), "req-same")
    deliver(client, settings, move_body(1, 102, 102_001), "req-same")  # another sender reuses the id
    intake.drain_inbox(deps, account.id)
    [lead] = deps.store.get_leads(account.id, [1]).values()
    assert lead.status_id == 102
    assert deps.store.counters(account.id) == {"applied": 2}



def test_a_drain_that_outlived_its_lease_counts_nothing_the_drain_after_it_counted(client, settings, account, deps,
                                                                                   monkeypatch):
    deliver_moves(client, settings)
    real, stalled = intake.apply_events, []

    def stalling(*args):
        touched = real(*args)
        if not stalled:  # the first drain stalls past its lease; the sweeper's drain takes the account over
            stalled.append(1)
            deps.redis.delete(account_key(account.id, "lock", "drain"))
            intake.drain_inbox(deps, account.id)
        return touched

    monkeypatch.setattr(intake, "apply_events", stalling)
    try:
        intake.drain_inbox(deps, account.id)
    except redis.exceptions.LockNotOwnedError:
        pass  # told that its lease ran out: nothing it wrote after that counts
    assert_every_move_applied_once(deps, account)
    assert deps.store.counters(account.id) == {"applied": 2 * LEADS, "duplicates": 1}


def test_a_drain_that_outlived_its_lease_unnoticed_still_moves_the_cursor(client, settings, account, deps,
                                                                         monkeypatch):
    deliver_moves(client, settings)
    real, stalled = intake.apply_events, []

    def stalling(*args):
        stalled.append(1)
        deps.redis.delete(account_key(account.id, "lock", "drain"))  # stalled past its lease; nobody took over
        return real(*args)

    monkeypatch.setattr(intake, "apply_events", stalling)
    intake.drain_inbox(deps, account.id)
    assert_every_move_applied_once(deps, account)
    assert deps.store.counters(account.id) == {"applied": 2 * LEADS, "duplicates": 1}


@pytest.mark.parametrize("batch", [4, 7])  # 7 deliveries: two batches, the last one short; one batch exactly full
def test_batches_of_any_length_apply_every_delivery_once_and_let_go_of_the_lease(client, settings, account, deps,
                                                                                 monkeypatch, batch):
    monkeypatch.setattr("service.store.inbox.INBOX_BATCH", batch)
    monkeypatch.setattr(intake, "INBOX_BATCH", batch)
    deliver_moves(client, settings)
    intake.drain_inbox(deps, account.id)
    assert_every_move_applied_once(deps, account)
    assert deps.store.counters(account.id) == {"applied": 2 * LEADS, "duplicates": 1}
    assert not deps.redis.exists(account_key(account.id, "lock", "drain"))
