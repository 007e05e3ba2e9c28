"""Use cases called by both the web edge and the jobs."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from service.deps import Deps
from service.model import Account


@lru_cache(maxsize=4096)  # checked on every delivery: one HMAC per account and process
def hook_secret(secret_key: str, account_id: int, generation: str = "") -> str:
    """The unguessable part of an account's webhook URL: `<generation>-<HMAC>`, so a reinstall (a new generation)
    revokes the old URL without rotating SECRET_KEY for everyone. Accounts installed before generations existed
    (and accounts registered by hand) keep the plain HMAC until their next install."""
    if not generation:
        return hmac.new(secret_key.encode(), f"hook:{int(account_id)}".encode(), hashlib.sha256).hexdigest()
    mac = hmac.new(secret_key.encode(), f"hook:{int(account_id)}:{generation}".encode(), hashlib.sha256)
    return f"{generation}-{mac.hexdigest()}"


HOOK_GENERATION_CHARS = 8


def new_hook_generation() -> str:
    """A fresh generation for an install."""
    return secrets.token_hex(HOOK_GENERATION_CHARS // 2)


def hook_generation_of(secret: str) -> str | None:
    """The generation a presented secret claims ("" for a plain one), or None when it cannot be one of ours."""
    generation, dash, _ = secret.partition("-")
    if not dash:
        return ""
    return generation if len(generation) == HOOK_GENERATION_CHARS else None


def hook_url(deps: Deps, account_id: int) -> str:
    """The full URL amoCRM should post this account's webhooks to (its current install's generation)."""
    account = deps.store.get_account(account_id)
    secret = hook_secret(deps.settings.secret_key, account_id, account.hook_generation if account else "")
    return f"{deps.settings.base_url}/hooks/{account_id}/{secret}"


def register_account(deps: Deps, account: Account) -> None:
    """Install an account by hand (before OAuth exists, and for local runs)."""
    deps.store.save_account(account)
