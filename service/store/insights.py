"""What recompute writes and the widget reads: cards, documents, models, managers, plans."""
from __future__ import annotations

import json
import uuid
from typing import Iterable, Mapping, Optional, Iterator

import orjson

from service.store.codec import BUCKETS_PER_CALL, Read, batches, key_read, scan_buckets, write_buckets
from service.store.compact import decode_card, decode_document, encode_card, encode_document
from service.store.keys import account_key, bucket_key, bucket_keys


_MARK_TOUCHED = """
local seq = redis.call('INCR', KEYS[1])
for _, id in ipairs(ARGV) do redis.call('ZADD', KEYS[2], seq, id) end
return seq
"""


class Insights:
    """What recompute writes and the widget reads: cards, documents, models, managers, plans."""

    # precomputed card hints
    def save_card(self, account_id: int, lead_id: int, card: dict) -> None:
        """Store a lead's precomputed hints: the exact document the API returns, deflated (store/compact.py)."""
        self.redis.hset(bucket_key(account_id, "cards", lead_id), lead_id, encode_card(card))

    def read_card(self, account_id: int, lead_id: int) -> Optional[dict]:
        """One precomputed card, or None."""
        return decode_card(self.redis.hget(bucket_key(account_id, "cards", lead_id), lead_id))

    # --- precomputed insights
    def save_cards(self, account_id: int, cards: Mapping[int, dict]) -> None:
        """Store many cards at once."""
        for batch in batches(list(cards.items()), 1000):
            write_buckets(self.redis, account_id, "cards", {k: encode_card(v) for k, v in batch})

    def mark_cards_touched(self, account_id: int, lead_ids: Iterable[int]) -> None:
        """Note that these cards are being recomputed from the current mirror (before computing them): a full
        recompute whose snapshot is older leaves them alone."""
        self.read(self.cards_touched_mark(account_id, lead_ids))

    @staticmethod
    def cards_touched_mark(account_id: int, lead_ids: Iterable[int]) -> Read:
        """mark_cards_touched as the first of reads that follow it in one round trip (Store.read)."""
        ids = list(lead_ids)
        keys = account_key(account_id, "cards_seq"), account_key(account_id, "cards_touched")
        return Read(lambda pipe: pipe.eval(_MARK_TOUCHED, 2, *keys, *ids) if ids else None, lambda answers: None)

    def cards_seq(self, account_id: int) -> int:
        """The latest card mark (read before a full recompute's snapshot)."""
        return int(self.redis.get(account_key(account_id, "cards_seq")) or 0)

    def cards_touched_since(self, account_id: int, seq: int) -> set[int]:
        """Leads whose cards were marked after `seq`; marks up to `seq` are dropped (no later snapshot needs them)."""
        key = account_key(account_id, "cards_touched")
        pipe = self.redis.pipeline()
        pipe.zrangebyscore(key, f"({seq}", "+inf")
        pipe.zremrangebyscore(key, "-inf", seq)
        touched, _ = pipe.execute()
        return {int(x) for x in touched}

    def save_insight(self, account_id: int, name: str, document: dict) -> None:
        """Store one precomputed document (team, forecast, backtest, settings...)."""
        self.redis.set(account_key(account_id, "insight", name), encode_document(document))

    def read_insight(self, account_id: int, name: str) -> Optional[dict]:
        """One precomputed document, or None."""
        return decode_document(self.redis.get(account_key(account_id, "insight", name)))

    def save_models(self, account_id: int, encoded: str) -> None:
        """The account-level models single cards are recomputed with."""
        self.redis.set(account_key(account_id, "models"), encoded)

    def read_models(self, account_id: int) -> Optional[str]:
        """The encoded models, or None before the first full recompute."""
        return self.read(self.models_read(account_id))[0]

    @staticmethod
    def models_read(account_id: int) -> Read:
        """read_models, to read together with others (Store.read)."""
        return key_read(account_key(account_id, "models"), lambda raw: raw.decode() if raw else None)

    def save_managers(self, account_id: int, summaries: Mapping[int, dict]) -> None:
        """Per-manager summaries, replaced as a whole."""
        pipe = self.redis.pipeline()
        pipe.delete(account_key(account_id, "managers"))
        if summaries:
            pipe.hset(account_key(account_id, "managers"),
                      mapping={k: json.dumps(v, ensure_ascii=False) for k, v in summaries.items()})
        pipe.execute()

    def read_manager(self, account_id: int, user_id: int) -> Optional[dict]:
        """One manager's summary, or None."""
        raw = self.redis.hget(account_key(account_id, "managers"), user_id)
        return json.loads(raw) if raw else None

    def save_plan(self, account_id: int, plan: dict) -> None:
        """Store a month's plan for a manager (user_id None: the whole account)."""
        field = f"{plan['month']}:{plan.get('user_id') or 'account'}"
        self.redis.hset(account_key(account_id, "plans"), field, json.dumps(plan))

    def read_plans(self, account_id: int) -> list[dict]:
        """Every plan of the account."""
        return [json.loads(v) for v in self.redis.hvals(account_key(account_id, "plans"))]

    def scan_cards(self, account_id: int, batch: int = 1000) -> Iterator[tuple[int, dict]]:
        """(lead id, card) of the account's stored cards, in no order, a few dozen buckets at a time (`batch`: kept
        for callers; a bucket is small)."""
        for lead_ids, raws in scan_buckets(self.redis, account_id, "cards"):
            yield from zip(lead_ids, map(decode_card, raws))

    # --- the fresh panel's debounce (services/fresh_panel.py)
    def recompute_pending_key(self, account_id: int) -> str:
        """The key that says a fresh-panel recompute of the account waits."""
        return account_key(account_id, "recompute", "pending")

    def ask_fresh_recompute(self, account_id: int, shards: Iterable[int], ttl: int) -> Optional[float]:
        """Mark cube shards dirty, then claim the account's next fresh-panel job, in one round trip: None when one
        already waits (it sees the marks), else the seconds until it may run (0: now). The claim holds until the job
        starts, or `ttl` passes."""
        pipe = self.redis.pipeline(transaction=False)
        if shards := list(shards):
            pipe.sadd(account_key(account_id, "cube", "dirty"), *shards)
        pipe.set(self.recompute_pending_key(account_id), 1, nx=True, ex=ttl)
        pipe.pttl(account_key(account_id, "recompute", "resting"))
        *_, claimed, rest = pipe.execute()
        return max(0, rest) / 1000 if claimed else None

    def clear_fresh_recompute(self, account_id: int) -> None:
        """The job started: changes from now on ask for the next run."""
        self.redis.delete(self.recompute_pending_key(account_id))

    def rest_fresh_recompute(self, account_id: int, seconds: int) -> None:
        """The job ran: the account's next one waits `seconds` from now."""
        self.redis.set(account_key(account_id, "recompute", "resting"), 1, ex=seconds)

    # --- the cube in shards of leads (insights/cube_shards.py): the fresh panel rewrites only the changed ones
    def save_cube(self, account_id: int, account_part: dict, shards: Mapping[int, dict], full: bool = False) -> dict:
        """Write the account part and these shards, each under a new version, and the index naming the versions,
        in one transaction (a reader sees the old cube or the new one). `full`: a full recompute wrote every shard."""
        versions, pipe = {}, self.redis.pipeline(transaction=True)
        for shard, tables in shards.items():
            versions[str(shard)] = version = uuid.uuid4().hex
            pipe.set(account_key(account_id, "cube", "shard", shard), orjson.dumps({"version": version,
                                                                                    "tables": tables}))
        versions["account"] = version = uuid.uuid4().hex
        pipe.set(account_key(account_id, "cube", "account"), orjson.dumps({**account_part, "version": version}))
        if full:
            versions["full"] = version
            pipe.delete(account_key(account_id, "insight", "cube"))  # the whole-cube document shards replaced
        pipe.hset(account_key(account_id, "cube", "index"), mapping=versions)
        pipe.execute()
        return versions

    def cube_index(self, account_id: int) -> dict[str, str]:
        """{"account" | "full" | shard number: version} of the stored cube; empty before the first full recompute."""
        return {k.decode(): v.decode() for k, v in self.redis.hgetall(account_key(account_id, "cube", "index")).items()}

    def read_cube_parts(self, account_id: int, names: Iterable[str]) -> dict[str, Optional[bytes]]:
        """The stored JSON of the account part ("account") and of shards (their numbers), as bytes."""
        names = list(names)
        keys = [account_key(account_id, "cube", *(("account",) if n == "account" else ("shard", n))) for n in names]
        return dict(zip(names, self.redis.mget(keys))) if keys else {}

    def mark_cube_dirty(self, account_id: int, shards: Iterable[int]) -> None:
        """Shards whose leads changed since they were built (the drain, before asking for a fresh panel)."""
        shards = list(shards)
        if shards:
            self.redis.sadd(account_key(account_id, "cube", "dirty"), *shards)

    def take_cube_dirty(self, account_id: int) -> set[int]:
        """The marked shards, unmarked in the same step: marks made afterwards ask for the next run."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.smembers(account_key(account_id, "cube", "dirty"))
        pipe.delete(account_key(account_id, "cube", "dirty"))
        marked, _ = pipe.execute()
        return {int(x) for x in marked}

    def lead_ids(self, account_id: int) -> list[int]:
        """Every lead id of the account's mirror (which leads a shard holds): the buckets' field names only, not
        every lead's row (a fresh-panel update reads just its shards' leads after this)."""
        ids = []
        for keys in batches(bucket_keys(account_id, "leads"), BUCKETS_PER_CALL):
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.hkeys(key)
            ids.extend(int(i) for held in pipe.execute() for i in held)
        return ids
