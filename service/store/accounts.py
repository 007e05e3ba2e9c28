"""An account's record, tokens, state and install bookkeeping."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Optional

from service.model import Account
from service.store.codec import Read, batches, decode_account, key_read
from service.store.keys import ACCOUNTS, INSTALL_STATE, ORIGINS, SUBDOMAINS, account_key


class AccountRecords:
    """An account's record, tokens, state and install bookkeeping."""

    # accounts
    def save_account(self, account: Account) -> None:
        """Register (or update) an installed account."""
        pipe = self.redis.pipeline(transaction=not self.cluster)  # on a cluster the index keys are other slots
        pipe.set(account_key(account.id, "account"), json.dumps(asdict(account)))
        pipe.sadd(ACCOUNTS, account.id)
        pipe.hset(SUBDOMAINS, account.subdomain, account.id)
        pipe.hset(ORIGINS, account.origin, account.id)
        pipe.execute()

    def get_account(self, account_id: int) -> Optional[Account]:
        """The installed account, or None."""
        return decode_account(self.redis.get(account_key(account_id, "account")))

    @staticmethod
    def account_read(account_id: int) -> Read:
        """get_account, to read together with others (Store.read)."""
        return key_read(account_key(account_id, "account"), decode_account)

    def account_id_for(self, subdomain: str) -> Optional[int]:
        """The id of the installed account on `subdomain`, or None."""
        raw = self.redis.hget(SUBDOMAINS, subdomain)
        return int(raw) if raw else None

    def origin_is_installed(self, origin: str) -> bool:
        """True when some installed account's pages live on `origin`."""
        return bool(self.redis.hexists(ORIGINS, origin))

    def account_ids(self) -> list[int]:
        """Every installed account id."""
        return sorted(int(x) for x in self.redis.smembers(ACCOUNTS))

    # --- tokens, sync and mirror (issue 4)
    def save_tokens(self, account_id: int, sealed: bytes) -> None:
        """Store the account's encrypted token pair (only ever ciphertext)."""
        self.redis.set(account_key(account_id, "tokens"), sealed)

    def get_tokens(self, account_id: int) -> Optional[bytes]:
        """The account's encrypted token pair, or None."""
        return self.redis.get(account_key(account_id, "tokens"))

    def set_account_state(self, account_id: int, state: str, reason: str = "", at: int = 0) -> None:
        """Record whether we may call the account: active | blocked | needs_reinstall."""
        self.redis.hset(account_key(account_id, "state"), mapping={"state": state, "reason": reason, "at": at})

    def get_account_state(self, account_id: int) -> dict:
        """{'state', 'reason', 'at'}; an account never marked is active."""
        raw = {k.decode(): v.decode() for k, v in self.redis.hgetall(account_key(account_id, "state")).items()}
        return {"state": raw.get("state", "active"), "reason": raw.get("reason", ""), "at": int(raw.get("at", 0))}

    def claim_install_state(self, nonce: str, ttl: int) -> bool:
        """True the first time a signed install `state` comes back (its nonce is kept only until it expires, and
        only for states whose signature checked: page views store nothing)."""
        return bool(self.redis.set(f"{INSTALL_STATE}:{nonce}", 1, ex=max(1, int(ttl)), nx=True))

    def set_install_id(self, account_id: int, install_id: str) -> None:
        """Name the account's current install (a disable hook is checked against it)."""
        self.redis.set(account_key(account_id, "install_id"), install_id)

    def install_id(self, account_id: int) -> str:
        """The account's current install ('' before the first one)."""
        return (self.redis.get(account_key(account_id, "install_id")) or b"").decode()

    def claim_disable(self, account_id: int, ttl: int) -> bool:
        """True when no disable check of the account is pending (repeated hooks queue one check)."""
        return bool(self.redis.set(account_key(account_id, "disable_pending"), 1, ex=ttl, nx=True))

    def release_disable(self, account_id: int, hold: int = 0) -> None:
        """A disable check is over and deleted nothing; with `hold`, repeats queue no check for that long."""
        key = account_key(account_id, "disable_pending")
        self.redis.set(key, 1, ex=hold) if hold else self.redis.delete(key)

    def account_for_origin(self, origin: str) -> Optional[int]:
        """The installed account whose pages live on `origin`, if any."""
        owner = self.redis.hget(ORIGINS, origin)
        return int(owner) if owner is not None else None

    def delete_account(self, account_id: int) -> int:
        """Remove every key of the account and its global index entries; return the keys deleted."""
        account = self.get_account(account_id)
        # The record first: the intake's append checks it atomically, so no delivery lands after this line.
        deleted, node = self.redis.unlink(account_key(account_id, "account")), self.node_client(account_id)
        for batch in batches(node.scan_iter(match=account_key(account_id, "*"), count=1000), 500):
            deleted += node.unlink(*batch)  # on a cluster, only the account's node holds its keys
        pipe = self.redis.pipeline(transaction=not self.cluster)
        pipe.srem(ACCOUNTS, account_id)
        if account is not None:
            pipe.hdel(SUBDOMAINS, account.subdomain)
            pipe.hdel(ORIGINS, account.origin)
        pipe.execute()
        return deleted
