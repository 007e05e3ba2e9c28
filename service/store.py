"""The Redis adapter: owns every key name and encoding. Every account key starts with `acct:<id>:`."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterable, Optional

import redis

from service.model import Account, Lead

INBOX_BATCH = 500


def account_key(account_id: int, *parts) -> str:
    """The one place account-scoped key names are made."""
    return ":".join([f"acct:{int(account_id)}", *map(str, parts)])


ACCOUNTS = "dp:accounts"  # global index: account ids
SUBDOMAINS = "dp:subdomains"  # global index: subdomain -> account id
ORIGINS = "dp:origins"  # global index: browser origin -> account id (CORS)


class Store:
    """Typed reads and writes over one Redis connection."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    # accounts
    def save_account(self, account: Account) -> None:
        """Register (or update) an installed account."""
        pipe = self.redis.pipeline()
        pipe.set(account_key(account.id, "account"), json.dumps(asdict(account)))
        pipe.sadd(ACCOUNTS, account.id)
        pipe.hset(SUBDOMAINS, account.subdomain, account.id)
        pipe.hset(ORIGINS, account.origin, account.id)
        pipe.execute()

    def get_account(self, account_id: int) -> Optional[Account]:
        """The installed account, or None."""
        return _account(self.redis.get(account_key(account_id, "account")))

    def origin_is_installed(self, origin: str) -> bool:
        """True when some installed account's pages live on `origin`."""
        return bool(self.redis.hexists(ORIGINS, origin))

    def account_ids(self) -> list[int]:
        """Every installed account id."""
        return sorted(int(x) for x in self.redis.smembers(ACCOUNTS))

    # durable inbox
    def append_inbox(self, account_id: int, entry: dict) -> tuple[str, bool]:
        """Store a raw webhook; return its id and whether a drain must be queued."""
        pipe = self.redis.pipeline()
        pipe.xadd(account_key(account_id, "inbox"), entry)
        pipe.set(account_key(account_id, "drain_pending"), 1, nx=True, ex=3600)
        entry_id, first = pipe.execute()
        return entry_id.decode(), bool(first)

    def clear_drain_pending(self, account_id: int) -> None:
        """Let the next webhook queue a drain (called when a drain starts)."""
        self.redis.delete(account_key(account_id, "drain_pending"))

    def read_inbox(self, account_id: int) -> list[tuple[str, dict]]:
        """Entries after the applied cursor, oldest first."""
        cursor = self.redis.get(account_key(account_id, "inbox_cursor")) or b"0-0"
        rows = self.redis.xrange(account_key(account_id, "inbox"),
                                 min=b"(" + cursor, count=INBOX_BATCH)
        return [(rid.decode(), {k.decode(): v for k, v in fields.items()}) for rid, fields in rows]

    def mark_applied(self, account_id: int, entry_id: str) -> None:
        """Advance the cursor and drop applied entries."""
        pipe = self.redis.pipeline()
        pipe.set(account_key(account_id, "inbox_cursor"), entry_id)
        pipe.xtrim(account_key(account_id, "inbox"), minid=entry_id, approximate=False)
        pipe.xdel(account_key(account_id, "inbox"), entry_id)
        pipe.execute()

    def inbox_length(self, account_id: int) -> int:
        """Events stored but not yet applied."""
        return self.redis.xlen(account_key(account_id, "inbox"))

    # mirror
    def get_leads(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, Lead]:
        """The mirrored leads among `lead_ids`."""
        ids = list(lead_ids)
        if not ids:
            return {}
        raw = self.redis.hmget(account_key(account_id, "leads"), ids)
        return {i: Lead(**json.loads(r)) for i, r in zip(ids, raw) if r}

    def save_leads(self, account_id: int, leads: Iterable[Lead]) -> None:
        """Write mirrored leads."""
        mapping = {lead.id: json.dumps(asdict(lead)) for lead in leads}
        if mapping:
            self.redis.hset(account_key(account_id, "leads"), mapping=mapping)

    # precomputed card hints
    def save_card(self, account_id: int, lead_id: int, card: dict) -> None:
        """Store a lead's precomputed hints as the exact JSON the API returns."""
        self.redis.hset(account_key(account_id, "cards"), lead_id, json.dumps(card, ensure_ascii=False))

    def read_card_authorized(self, account_id: int, jti: str, ttl: int, lead_id: int):
        """One round trip: the account, a claim on the token id, and the card JSON."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(account_key(account_id, "account"))
        pipe.set(account_key(account_id, "jti", jti), 1, nx=True, ex=max(ttl, 1))
        pipe.hget(account_key(account_id, "cards"), lead_id)
        account, fresh, card = pipe.execute()
        return _account(account), bool(fresh), card

    # workers
    def ping(self) -> bool:
        """True when Redis answers."""
        return bool(self.redis.ping())


def _account(raw: Optional[bytes]) -> Optional[Account]:
    """Decode a stored account record."""
    return Account(**json.loads(raw)) if raw else None
