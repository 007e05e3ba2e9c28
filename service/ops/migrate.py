"""`python -m service migrate-to-cluster`: copy accounts from one Redis to the cluster, renaming keys to their tagged
form, while webhooks keep arriving (README "Scaling out").

copy: one atomic snapshot per account on the source (MULTI: PTTL + DUMP of every key, and where its inbox stood),
RESTORE under the tagged names on the account's primary, then each key verified by content against the snapshot
(the payload restored into a short-lived scratch key on the source and both sides digested the same way).
catch-up (after the switch): the inbox entries the old deployment stored after the snapshot are appended to the
cluster inbox (a drain is queued) and counted.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field

import redis

from service.services import intake
from service.deps import Deps
from service.store.keys import ACCOUNTS, account_key, legacy_account_prefix

# Not copied: a drain mark or lock would stall the new deployment's first drain; rate-limit state is seconds old.
TRANSIENT = ("drain_pending", "lock:", "rl:", "migrated_from")


class MigrationError(RuntimeError):
    """The copy cannot be made or does not match its source."""


@dataclass
class Copied:
    """What one account's copy did."""

    account_id: int
    keys: int = 0
    verified: int = 0
    inbox_entries: int = 0
    mismatched: list = field(default_factory=list)


def source_keys(source: redis.Redis, account_id: int) -> dict[str, str]:
    """The account's keys on the source (untagged `acct:<id>:` or tagged) -> the part after the prefix."""
    found = {}
    for prefix in (legacy_account_prefix(account_id), account_key(account_id, "")):
        for raw in source.scan_iter(match=_glob_escape(prefix) + "*", count=1000):
            name = raw.decode()
            found[name] = name[len(prefix):]
    return {name: rest for name, rest in found.items() if not rest.startswith(TRANSIENT)}


def copy_account(source: redis.Redis, deps: Deps, account_id: int, replace: bool = False) -> Copied:
    """Copy one account in one snapshot, then verify every key; refuses to overwrite an account already there."""
    target = deps.store.node_client(account_id)
    if not replace and next(iter(target.scan_iter(match=_glob_escape(account_key(account_id, "")) + "*")), None):
        raise MigrationError(f"account {account_id} already has keys on the cluster (--replace to overwrite)")
    names = source_keys(source, account_id)
    snapshot = source.pipeline(transaction=True)  # one consistent moment: the mirror and its inbox cursor agree
    for name in names:
        snapshot.pttl(name)
        snapshot.dump(name)
    inbox = _inbox_name(names)
    if inbox:
        snapshot.xinfo_stream(inbox)
    rows = snapshot.execute()
    inbox_last = _last_id(rows.pop()) if inbox else "0-0"
    payloads = {name: (ttl, payload) for name, ttl, payload in zip(names, rows[::2], rows[1::2]) if payload}
    restore = target.pipeline(transaction=False)
    for name, (ttl, payload) in payloads.items():
        restore.restore(account_key(account_id, names[name]), max(ttl, 0), payload, replace=True)
    restore.set(account_key(account_id, "migrated_from"), json.dumps({"inbox": inbox, "last_id": inbox_last}))
    restore.execute()
    report = Copied(account_id, keys=len(payloads))
    for name, (_, payload) in payloads.items():
        if _snapshot_digest(source, payload) == digest(target, account_key(account_id, names[name])):
            report.verified += 1
        else:
            report.mismatched.append(names[name])
    account = deps.store.get_account(account_id)
    if account is not None:
        deps.store.save_account(account)  # the global indexes (ids, subdomains, origins) on the cluster
    return report


def catch_up(source: redis.Redis, deps: Deps, account_id: int) -> int:
    """Append to the cluster inbox what the source inbox received after the copy; queue a drain; return the count."""
    mark_key = account_key(account_id, "migrated_from")
    mark = json.loads(deps.store.redis.get(mark_key) or "null")
    if mark is None:
        raise MigrationError(f"account {account_id} was not copied yet")
    inbox = mark["inbox"] or _inbox_name(source_keys(source, account_id))
    copied, last, must_queue = 0, mark["last_id"], False
    while inbox and (rows := source.xrange(inbox, min=f"({last}", count=500)):
        for entry_id, fields in rows:
            _, first = deps.store.append_inbox(account_id, {k.decode(): v for k, v in fields.items()})
            last, copied, must_queue = entry_id.decode(), copied + 1, must_queue or first
        deps.store.redis.set(mark_key, json.dumps({"inbox": inbox, "last_id": last}))
    if must_queue:
        intake.queue_drain(deps, account_id)
    return copied


def source_accounts(source: redis.Redis) -> list[int]:
    """Every account id the source's global index holds."""
    return sorted(int(x) for x in source.smembers(ACCOUNTS))


def digest(client: redis.Redis, key: str) -> tuple[str, int, str]:
    """(type, element count, sha256) of a key's content, independent of how the server orders it internally."""
    kind = client.type(key).decode()
    reads = {"string": lambda: [client.get(key) or b""],
             "hash": lambda: sorted(b"%s=%s" % kv for kv in client.hscan_iter(key, count=1000)),
             "set": lambda: sorted(client.sscan_iter(key, count=1000)),
             "zset": lambda: sorted(b"%s=%r" % (m, s) for m, s in client.zscan_iter(key, count=1000)),
             "list": lambda: client.lrange(key, 0, -1),
             "stream": lambda: [i + json.dumps({k.decode(): v.decode("latin-1") for k, v in f.items()},
                                               sort_keys=True).encode() for i, f in client.xrange(key)]}
    items = reads.get(kind, lambda: [])()
    sha = hashlib.sha256()
    for item in items:
        sha.update(hashlib.sha256(item).digest())
    return kind, len(items), sha.hexdigest()


def _snapshot_digest(source: redis.Redis, payload: bytes) -> tuple[str, int, str]:
    """The digest of a snapshot payload: restored under a scratch name on the source for a moment."""
    scratch = f"dp:migrate:verify:{secrets.token_hex(8)}"
    source.restore(scratch, 60_000, payload)
    try:
        return digest(source, scratch)
    finally:
        source.delete(scratch)


def _inbox_name(names: dict[str, str]):
    return next((name for name, rest in names.items() if rest == "inbox"), None)


def _last_id(info: dict) -> str:
    last = info.get("last-generated-id") or b"0-0"
    return last.decode() if isinstance(last, bytes) else str(last)


def _glob_escape(text: str) -> str:
    """A key prefix as a SCAN pattern that matches it literally."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
