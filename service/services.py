"""Use cases called by both the web edge and the jobs."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict

import redis

from service import errors
from service.bootstrap import Deps
from service.insights import cards
from service.insights.stages import StageStats
from service.model import Account, Lead


def hook_secret(secret_key: str, account_id: int) -> str:
    """The unguessable part of an account's webhook URL."""
    return hmac.new(secret_key.encode(), f"hook:{int(account_id)}".encode(), hashlib.sha256).hexdigest()


def hook_url(deps: Deps, account_id: int) -> str:
    """The full URL amoCRM should post this account's webhooks to."""
    return f"{deps.settings.base_url}/hooks/{account_id}/{hook_secret(deps.settings.secret_key, account_id)}"


def register_account(deps: Deps, account: Account) -> None:
    """Install an account by hand (before OAuth exists, and for local runs)."""
    deps.store.save_account(account)


def recompute_cards(deps: Deps, account_id: int, lead_ids) -> None:
    """Precompute the card of each lead so that opening it is one Redis read."""
    now = int(deps.clock())
    leads = deps.store.get_leads(account_id, lead_ids)
    tasks = deps.store.tasks_of(account_id, leads)
    for lead in leads.values():
        deps.store.save_card(account_id, lead.id, card_payload(deps, lead, tasks.get(lead.id, []), now))


def card_payload(deps: Deps, lead: Lead, tasks, now: int) -> dict:
    """The JSON the widget receives for one lead card."""
    # Until sync brings stage history, only the stage age and the tasks seen are known: default limits apply,
    # and only rules that cannot fire on missing data run.
    days = deps.settings.stuck_default_days
    ctx = cards.DealContext(StageStats(window_days=180, default_warn_days=days, default_crit_days=days * 1.5),
                            tasks=tuple(tasks))
    rules = (cards.stuck_in_stage, cards.overdue_task)
    hints = [h for rule in rules if (h := rule(lead, ctx, now)) is not None] if lead.is_open else []
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
