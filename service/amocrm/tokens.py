"""An account's OAuth tokens: encrypted at rest, refreshed by one worker at a time (refresh tokens are single-use)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Optional

import requests
from redis.exceptions import LockError

from service.amocrm import oauth
from service.amocrm.oauth import TokenPair
from service.config import Settings
from service.crypto import Cipher, CipherError

if TYPE_CHECKING:  # the store is passed in (the adapters do not import each other)
    from service.store.core import Store

log = logging.getLogger(__name__)
REFRESH_LOCK_SECONDS = 30


class AccountUnavailable(RuntimeError):
    """We must not (or cannot) call this account's API until a person acts."""

    state = "unavailable"


class NotInstalled(AccountUnavailable):
    state = "not_installed"


class NeedsReinstall(AccountUnavailable):
    state = "needs_reinstall"


class AccountBlocked(AccountUnavailable):
    state = "blocked"


class TransientError(RuntimeError):
    """The call may succeed later (network, 5xx, a busy lock): let the job be retried."""


class TokenKeeper:
    """Reads, stores and refreshes one deployment's account tokens."""

    def __init__(self, store: Store, settings: Settings, session: requests.Session,
                 clock: Callable[[], float]):
        self.store, self.settings, self.session, self.clock = store, settings, session, clock
        self.cipher = Cipher.from_settings(settings)

    def save(self, account_id: int, pair: TokenPair) -> None:
        """Persist a pair, encrypted with the first key."""
        self.store.save_tokens(account_id, self.cipher.seal(pair.to_dict()))

    def current(self, account_id: int) -> TokenPair:
        """The stored pair; NotInstalled when there is none, NeedsReinstall when no key opens it."""
        sealed = self.store.get_tokens(account_id)
        if sealed is None:
            raise NotInstalled(f"account {account_id} has no tokens")
        try:
            return TokenPair.from_dict(self.cipher.open(sealed))
        except CipherError:
            self.mark(account_id, NeedsReinstall.state, "tokens do not decrypt with the configured keys")
            raise NeedsReinstall(f"account {account_id}: tokens do not decrypt") from None

    def fresh(self, account_id: int, base: str) -> TokenPair:
        """The stored pair, refreshed first when it has expired."""
        pair = self.current(account_id)
        return pair if pair.expires_at > self.clock() else self.refresh(account_id, pair, base)

    def refresh(self, account_id: int, stale: Optional[TokenPair], base: str) -> TokenPair:
        """Replace `stale` once: whoever holds the lock refreshes; the others find the new pair stored."""
        lock = self.store.lock(account_id, "refresh", REFRESH_LOCK_SECONDS, REFRESH_LOCK_SECONDS + 5)
        try:
            with lock:
                current = self.current(account_id)
                if stale is not None and current.access_token != stale.access_token:
                    return current  # another worker refreshed while we waited
                return self._refresh_now(account_id, current, base)
        except LockError:
            raise TransientError(f"account {account_id}: token refresh lock is busy") from None

    def _refresh_now(self, account_id: int, current: TokenPair, base: str) -> TokenPair:
        """Call the token endpoint and persist the new pair before anyone uses it."""
        try:
            pair = oauth.refresh(self.session, self.settings, base, current.refresh_token, self.clock())
        except oauth.GrantRejected as exc:
            self.mark(account_id, NeedsReinstall.state, str(exc))
            raise NeedsReinstall(f"account {account_id}: {exc}") from None
        except oauth.OAuthError as exc:
            raise TransientError(f"account {account_id}: {exc}") from None
        self.save(account_id, pair)
        log.info("account %s: tokens refreshed", account_id)
        return pair

    def mark(self, account_id: int, state: str, reason: str) -> None:
        """Record why the account cannot be called (surfaced through sync status)."""
        log.warning("account %s is %s: %s", account_id, state, reason)
        self.store.set_account_state(account_id, state, reason[:300], int(self.clock()))
