"""Encodings of stored records: sorted JSON in, dataclasses out."""
from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Iterable, Iterator, Optional

import orjson
import redis

from service.model import Account
from service.store.records import record_builder


def decode_account(raw: Optional[bytes]) -> Optional[Account]:
    """Decode a stored account record."""
    return Account(**json.loads(raw)) if raw else None


def encode(record) -> str:
    """Dataclasses as sorted JSON, so the same record always has the same bytes."""
    return json.dumps(asdict(record) if is_dataclass(record) else record, sort_keys=True, ensure_ascii=False)


def decode_many(rows: Iterable[bytes]) -> list:
    """Decode many JSON documents in one parser call (per-call overhead dominates for small records; orjson reads
    the mirror's Cyrillic text several times faster than json, a fifth of a large account's load)."""
    return orjson.loads(b"[" + b",".join(rows) + b"]")


def scan_records(client: redis.Redis, key: str, cls) -> Iterator:
    """Every record of a hash once, decoded a page at a time (HSCAN may repeat a field if the hash grows)."""
    cursor, seen = 0, set()
    while True:
        cursor, page = client.hscan(key, cursor, count=5000)
        fresh = [value for field, value in page.items() if field not in seen]
        seen.update(page)
        yield from map(record_builder(cls), decode_many(fresh))
        if cursor == 0:
            return


def decode_hash(client: redis.Redis, key: str, ids: list, cls) -> dict:
    """Decode the fields `ids` of a hash of JSON records."""
    if not ids:
        return {}
    return {i: cls(**json.loads(r)) for i, r in zip(ids, client.hmget(key, ids)) if r}


def field_key(raw: bytes):
    """Hash fields are ids: numbers where they look like numbers."""
    text = raw.decode()
    return int(text) if text.isdigit() else text


def batches(items: Iterable, size: int) -> Iterator[list]:
    """Lists of up to `size` items."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
