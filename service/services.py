"""Use cases called by both the web edge and the jobs."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict
from typing import Mapping

import redis

from service import errors, mirror
from service.amocrm.webhooks import WebhookError, parse_webhook
from service.bootstrap import Deps
from service.insights import cards
from service.insights.stages import StageStats
from service.model import Account, Lead

KEPT_HEADERS = ("User-Agent", "X-Amocrm-Requestid", "Content-Type")


def hook_secret(secret_key: str, account_id: int) -> str:
    """The unguessable part of an account's webhook URL."""
    return hmac.new(secret_key.encode(), f"hook:{int(account_id)}".encode(), hashlib.sha256).hexdigest()


def hook_url(deps: Deps, account_id: int) -> str:
    """The full URL amoCRM should post this account's webhooks to."""
    return f"{deps.settings.base_url}/hooks/{account_id}/{hook_secret(deps.settings.secret_key, account_id)}"


def register_account(deps: Deps, account: Account) -> None:
    """Install an account by hand (before OAuth exists, and for local runs)."""
    deps.store.save_account(account)


def receive_webhook(deps: Deps, account_id: int, secret: str, body: bytes,
                    headers: Mapping[str, str]) -> dict:
    """Check, store durably and queue one webhook; the 2xx is only given after this returns."""
    expected = hook_secret(deps.settings.secret_key, account_id)
    if not hmac.compare_digest(expected, secret):
        raise errors.Forbidden("wrong webhook secret for this account")
    try:
        webhook = parse_webhook(body)
    except WebhookError as exc:
        raise errors.BadRequest(f"malformed webhook: {exc}") from None
    try:
        account = deps.store.get_account(account_id)
        if account is None:
            raise errors.NotFound(f"account {account_id} has not installed Deal Pulse")
        _check_sender(account, webhook.account_id, webhook.subdomain)
        if webhook.errors and not webhook.leads:
            raise errors.BadRequest("no valid item: " + "; ".join(map(str, webhook.errors)))
        _store_and_queue(deps, account_id, body, headers)
    except redis.RedisError:
        raise errors.Unavailable("storage is unavailable; retry later") from None
    return {"accepted": len(webhook.leads), "rejected": [str(e) for e in webhook.errors]}


def _check_sender(account: Account, body_account_id, subdomain: str) -> None:
    """The body must name the account the URL belongs to (old senders give only the subdomain)."""
    if body_account_id is not None and body_account_id != account.id:
        raise errors.Forbidden(f"body is from account {body_account_id}, URL is for account {account.id}")
    if body_account_id is None and subdomain != account.subdomain:
        raise errors.Forbidden(f"body is from subdomain {subdomain!r}, URL is for {account.subdomain!r}")


def _store_and_queue(deps: Deps, account_id: int, body: bytes, headers: Mapping[str, str]) -> None:
    """Append to the durable inbox, then make sure one drain job is queued."""
    entry = {"body": body, "received_at": f"{deps.clock():.3f}",
             "headers": json.dumps({h: headers[h] for h in KEPT_HEADERS if h in headers})}
    _, must_queue = deps.store.append_inbox(account_id, entry)
    if must_queue:
        try:
            deps.queues["webhooks"].enqueue("service.jobs.drain_inbox", account_id)
        except redis.RedisError:
            deps.store.clear_drain_pending(account_id)  # the next delivery queues it
            raise


def drain_inbox(deps: Deps, account_id: int) -> int:
    """Apply every stored webhook of the account to the mirror; recompute touched cards once."""
    deps.store.clear_drain_pending(account_id)
    applied = 0
    with deps.redis.lock(f"acct:{account_id}:lock:drain", timeout=300, blocking_timeout=120):
        while entries := deps.store.read_inbox(account_id):
            touched = _apply_entries(deps, account_id, entries)
            recompute_cards(deps, account_id, touched)
            deps.store.mark_applied(account_id, entries[-1][0])
            applied += len(entries)
    return applied


def _apply_entries(deps: Deps, account_id: int, entries) -> set[int]:
    """Fold the lead events of a batch into the mirror; return the lead ids that changed."""
    events = [event for _, entry in entries for event in _lead_events(entry)]
    leads = deps.store.get_leads(account_id, {e.id for e in events})
    changed = {}
    for event in events:
        updated = mirror.apply_lead_event(leads.get(event.id), event)
        if updated is not None and updated != leads.get(event.id):
            leads[event.id] = changed[event.id] = updated
    deps.store.save_leads(account_id, changed.values())
    return set(changed)


def _lead_events(entry: dict):
    """The valid lead events of one stored body (invalid items were refused at intake)."""
    try:
        return parse_webhook(entry["body"]).leads
    except WebhookError:
        return []


def recompute_cards(deps: Deps, account_id: int, lead_ids) -> None:
    """Precompute the card of each lead so that opening it is one Redis read."""
    now = int(deps.clock())
    for lead in deps.store.get_leads(account_id, lead_ids).values():
        deps.store.save_card(account_id, lead.id, card_payload(deps, lead, now))


def card_payload(deps: Deps, lead: Lead, now: int) -> dict:
    """The JSON the widget receives for one lead card."""
    # Until sync brings stage history, tasks and calls, only the stage age is known: the default limits apply.
    days = deps.settings.stuck_default_days
    ctx = cards.DealContext(StageStats(window_days=180, default_warn_days=days, default_crit_days=days * 1.5))
    hints = [h for h in [cards.stuck_in_stage(lead, ctx, now)] if h is not None] if lead.is_open else []
    return {"lead_id": lead.id, "as_of": now, "hints": [asdict(h) for h in hints]}


def read_card(deps: Deps, claims, lead_id: int) -> tuple[Account, str]:
    """Authorize a widget token against its account and return the card JSON, in one round trip."""
    ttl = int(claims.exp - deps.clock()) + deps.settings.token_leeway_seconds
    try:
        account, fresh, card = deps.store.read_card_authorized(claims.account_id, claims.jti, ttl, lead_id)
    except redis.RedisError:
        raise errors.Unavailable("storage is unavailable; retry later") from None
    if account is None:
        raise errors.Forbidden(f"account {claims.account_id} has not installed Deal Pulse")
    if claims.issuer.rstrip("/") != account.origin:
        raise errors.Unauthorized("token issuer does not match the account")
    if not fresh:
        raise errors.Unauthorized("token already used")
    empty = json.dumps({"lead_id": lead_id, "as_of": None, "hints": []})
    return account, card.decode() if card else empty
