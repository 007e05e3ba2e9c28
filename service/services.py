"""Use cases called by both the web edge and the jobs."""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from service.bootstrap import Deps
from service.model import Account


@lru_cache(maxsize=4096)  # checked on every delivery: one HMAC per account and process
def hook_secret(secret_key: str, account_id: int) -> str:
    """The unguessable part of an account's webhook URL."""
    return hmac.new(secret_key.encode(), f"hook:{int(account_id)}".encode(), hashlib.sha256).hexdigest()


def hook_url(deps: Deps, account_id: int) -> str:
    """The full URL amoCRM should post this account's webhooks to."""
    return f"{deps.settings.base_url}/hooks/{account_id}/{hook_secret(deps.settings.secret_key, account_id)}"


def register_account(deps: Deps, account: Account) -> None:
    """Install an account by hand (before OAuth exists, and for local runs)."""
    deps.store.save_account(account)
