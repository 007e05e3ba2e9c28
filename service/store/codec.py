"""Encodings of stored records: sorted JSON in, dataclasses out."""
from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional, Sequence

import orjson
import redis

from service.model import Account
from service.store.keys import TEXT_IDS, bucket_key, bucket_keys

BUCKETS_PER_CALL = 64  # bucket hashes per pipelined read of a whole family: a few dozen fields each


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


def by_bucket(account_id: int, family: str, ids: Iterable, *kind) -> dict[str, list]:
    """Ids grouped by the bucket hash that holds them."""
    groups: dict[str, list] = {}
    for i in ids:
        groups.setdefault(bucket_key(account_id, family, i, *kind), []).append(i)
    return groups


def queue_bucket_reads(pipe, groups: dict[str, list]) -> None:
    """One HMGET per bucket on a pipeline (see bucket_values)."""
    for key, members in groups.items():
        pipe.hmget(key, members)


def bucket_values(groups: dict[str, list], answers: Iterable[list]) -> dict:
    """{id: stored value} of the ids present, from queue_bucket_reads' answers."""
    return {i: value for members, values in zip(groups.values(), answers)
            for i, value in zip(members, values) if value is not None}


class Read(NamedTuple):
    """One read that can share a round trip with others (read_together): it queues its commands on a pipeline,
    then makes its value from their answers."""

    queue: Callable[[Any], None]
    decode: Callable[[list], Any]


def read_together(client: redis.Redis, reads: Sequence[Read]) -> list:
    """The values of several reads, in one round trip (none when nothing is queued). On a cluster the pipeline goes
    to one node when the reads are all one account's (issue 22: a card recompute was eleven round trips)."""
    pipe = client.pipeline(transaction=False)
    spans = []
    for read in reads:
        start = len(pipe)
        read.queue(pipe)
        spans.append((start, len(pipe)))
    answers = pipe.execute() if len(pipe) else []
    return [read.decode(answers[start:end]) for read, (start, end) in zip(reads, spans)]


def key_read(key: str, decode: Callable[[Optional[bytes]], Any]) -> Read:
    """GET one key, decoded."""
    return Read(lambda pipe: pipe.get(key), lambda answers: decode(answers[0]))


def buckets_read(account_id: int, family: str, ids: Iterable, *kind,
                 then: Callable[[dict], Any] = lambda held: held) -> Read:
    """{id: stored value} of the ids present in a bucketed family (passed through `then`)."""
    groups = by_bucket(account_id, family, ids, *kind)
    return Read(lambda pipe: queue_bucket_reads(pipe, groups), lambda answers: then(bucket_values(groups, answers)))


def read_buckets(client: redis.Redis, account_id: int, family: str, ids: Iterable, *kind) -> dict:
    """{id: stored value} of the ids present in a bucketed family, in one round trip."""
    return read_together(client, [buckets_read(account_id, family, ids, *kind)])[0]


def write_buckets(client: redis.Redis, account_id: int, family: str, mapping: dict, *kind) -> None:
    """HSET {id: value} into their buckets, one HSET per bucket in one round trip."""
    groups = by_bucket(account_id, family, mapping, *kind)
    if not groups:
        return
    pipe = client.pipeline(transaction=False)
    for key, members in groups.items():
        pipe.hset(key, mapping={i: mapping[i] for i in members})
    pipe.execute()


def eval_in_buckets(client: redis.Redis, script: str, account_id: int, family: str, rows: Iterable[tuple], *kind,
                    head: tuple = (), size: int = 5000) -> None:
    """Run a script over rows (id, *values) of a bucketed family: KEYS are the rows' bucket hashes, ARGV is `head`
    then, per row, its bucket's index in KEYS (from 1), its id and its values. One call per `size` rows, every key
    in the account's slot."""
    run = client.register_script(script)
    for batch in batches(rows, size):
        keys: dict[str, int] = {}
        args = list(head)
        for record_id, *values in batch:
            args += (keys.setdefault(bucket_key(account_id, family, record_id, *kind), len(keys) + 1), record_id,
                     *values)
        run(keys=list(keys), args=args)


def scan_buckets(client: redis.Redis, account_id: int, family: str, *kind) -> Iterator[tuple[list, list]]:
    """(ids, values) of a whole bucketed family, a few dozen buckets per round trip (each bucket is small)."""
    field = (lambda raw: raw.decode()) if family in TEXT_IDS else int
    for keys in batches(bucket_keys(account_id, family, *kind), BUCKETS_PER_CALL):
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        for held in pipe.execute():
            if held:
                yield [field(k) for k in held], list(held.values())
