"""A webhook amoCRM turned off heals itself: found disabled or missing, it is subscribed again, the log, /metrics and
the sync status say so, and the reconcile runs at once instead of in its period."""
from __future__ import annotations

import logging

from service.services import hook_health, sync
from service.services.hook_health import HOOK_EVENTS
from service.sandbox.webhooks import DISABLE_AFTER, WebhookSender
from service.services.hook_urls import hook_url
from service.web.metrics import render
from tests.e2e.conftest import connected, sandbox, settings, world  # noqa: F401  (fixtures)


def our_hook(world, deps, account_id):
    return next(h for h in world.hooks.values() if h.destination == hook_url(deps, account_id))


def test_the_sandbox_disables_a_hook_after_more_than_100_failed_answers(deps, connected, world):
    hook = world.subscribe(hook_url(deps, connected.id), HOOK_EVENTS)
    sender = WebhookSender(world)
    for _ in range(DISABLE_AFTER):
        sender.note_failure(hook.id)
    assert not hook.disabled
    sender.note_failure(hook.id)
    assert hook.disabled


def test_a_disabled_hook_is_subscribed_again_and_the_reconcile_queued_at_once(deps, connected, world, caplog):
    world.subscribe(hook_url(deps, connected.id), HOOK_EVENTS).disabled = True
    with caplog.at_level(logging.WARNING):
        status = hook_health.check_account(deps, connected.id)
    assert (status["found"], status["resubscribed"]) == ("disabled", 1)
    hook = our_hook(world, deps, connected.id)
    assert not hook.disabled and set(hook.settings) == set(HOOK_EVENTS)
    assert [j.func_name for j in deps.queues["sync"].jobs] == ["service.jobs.incremental_sync"]
    assert "webhook subscription was disabled; subscribed again" in caplog.text
    assert hook_url(deps, connected.id) not in caplog.text  # the URL's secret never reaches a log
    assert sync.sync_status(deps, connected.id)["webhook"]["repaired"] == "disabled"
    text = render(deps)
    assert f'deal_pulse_webhook_resubscribed_total{{account="{connected.id}"}} 1' in text
    assert f'deal_pulse_webhook_subscription{{account="{connected.id}",found="disabled"}} 1' in text


def test_the_reconcile_subscribes_a_missing_hook_before_it_reads_the_lists(deps, connected, world):
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    assert not [h for h in world.hooks.values() if h.destination == hook_url(deps, connected.id)]
    assert sync.incremental_sync(deps, connected.id)["state"] == "done"
    assert not our_hook(world, deps, connected.id).disabled
    assert sync.sync_status(deps, connected.id)["webhook"]["found"] == "missing"


def test_an_active_hook_is_left_alone(deps, connected, world):
    hook = world.subscribe(hook_url(deps, connected.id), HOOK_EVENTS)
    before = hook.updated_at
    assert hook_health.check_account(deps, connected.id)["found"] == "active"
    assert our_hook(world, deps, connected.id) is hook and hook.updated_at == before
    assert deps.queues["sync"].count == 0
