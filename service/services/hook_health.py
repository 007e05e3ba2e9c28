"""The account's webhook subscription, kept alive: amoCRM disables a hook after more than 100 failed answers in 2 h
(FACTS §4) until an admin turns it back on. Found disabled or missing, it is subscribed again, said in the log, in
/metrics and in the sync status, and a reconcile catches up with what the hook did not deliver."""
from __future__ import annotations

import logging

from service.amocrm.client import AmoClient
from service.amocrm.tokens import AccountUnavailable
from service.deps import Deps
from service.services import queueing
from service.services.hook_urls import hook_url

log = logging.getLogger(__name__)
HOOKS = "/api/v4/webhooks"  # GET lists {id, destination, settings, disabled, ...} (developers.kommo.com, webhooks)
CHECK_MINUTES = 5  # the clock's check of every account: a disabled hook costs at most this much webhook silence
HOOK_EVENTS = ["add_lead", "update_lead", "delete_lead", "restore_lead", "status_lead", "responsible_lead",
               "note_lead", "add_task", "update_task", "delete_task", "responsible_task",
               "add_contact"]  # contacts created vs deals created, per manager


def check_webhook(deps: Deps, client: AmoClient, account_id: int) -> dict:
    """Look at our subscription; subscribe again when it is disabled or gone. Returns the account's hook status."""
    destination = hook_url(deps, account_id)
    body = client.get(HOOKS, {"filter[destination]": destination}) or {}
    ours = [h for h in (body.get("_embedded") or {}).get("webhooks") or []
            if isinstance(h, dict) and h.get("destination") == destination]
    found = "missing" if not ours else "disabled" if all(h.get("disabled") for h in ours) else "active"
    now = int(deps.clock())
    status = {**deps.store.get_sync(account_id, "webhook"), "found": found, "checked_at": now}
    if found != "active":
        if ours:  # a fresh subscription is enabled; an update of a disabled one may not be
            client.request("DELETE", HOOKS, json={"destination": destination})
        client.post(HOOKS, {"destination": destination, "settings": HOOK_EVENTS})
        log.warning("account %s: webhook subscription was %s; subscribed again", account_id, found)
        status.update(resubscribed_at=now, resubscribed=int(status.get("resubscribed", 0)) + 1, repaired=found)
    deps.store.save_sync(account_id, "webhook", status)
    return status


def check_account(deps: Deps, account_id: int) -> dict:
    """The clock's check of one account: a repaired hook queues the reconcile at once, not in its period."""
    account = deps.store.get_account(account_id)
    if account is None or deps.store.get_account_state(account_id)["state"] != "active":
        return {"found": "skipped"}
    try:
        status = check_webhook(deps, AmoClient(deps, account_id, account.base_url), account_id)
    except AccountUnavailable as exc:
        return {"found": "skipped", "reason": exc.state}
    if status["found"] != "active":
        queueing.enqueue(deps, "incremental_sync", account_id)
    return status


def check_all(deps: Deps) -> int:
    """Queue the hook check of every account we may call."""
    accounts = [a for a in deps.store.account_ids() if deps.store.get_account_state(a)["state"] == "active"]
    for account_id in accounts:
        queueing.enqueue(deps, "check_webhook", account_id)
    return len(accounts)
