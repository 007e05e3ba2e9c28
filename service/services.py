"""Use cases called by both the web edge and the jobs."""
from __future__ import annotations

import hashlib
import hmac
import json

import redis

from service import errors
from service.bootstrap import Deps
from service.model import Account


def hook_secret(secret_key: str, account_id: int) -> str:
    """The unguessable part of an account's webhook URL."""
    return hmac.new(secret_key.encode(), f"hook:{int(account_id)}".encode(), hashlib.sha256).hexdigest()


def hook_url(deps: Deps, account_id: int) -> str:
    """The full URL amoCRM should post this account's webhooks to."""
    return f"{deps.settings.base_url}/hooks/{account_id}/{hook_secret(deps.settings.secret_key, account_id)}"


def register_account(deps: Deps, account: Account) -> None:
    """Install an account by hand (before OAuth exists, and for local runs)."""
    deps.store.save_account(account)


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
