"""`python -m service migrate-encoding`: rewrite a mirror stored before the compact encodings (issue 22) into them.

Before: one hash per family (`acct:{<id>}:leads`, `tasks`, `incoming`, `cards`, `last_note_at`, `timeline:<kind>`,
`touches`, `lead_requests`)
of JSON objects with named fields, and a set of task ids per lead (`tasks_of:<lead>`). After: bucket hashes of
positional rows, deflated cards and comma-joined task ids per lead (store/compact.py, keys.py).
Each old hash is read a page at a time, written through the Store (so in exactly the encodings the code reads), and
deleted once all of it is written; a re-run after an interruption converts what is left and repeats nothing
harmful (leads newer-wins, timelines are sets, note times only move forward, cards and tasks are the same values).
Run it with the workers stopped (README "Memory"): webhooks keep landing in the inboxes meanwhile and are
applied when the workers start. The `responsible` timeline, which nothing reads, is deleted, not converted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import orjson

from service.mirror import supersedes
from service.model import Call, CloseDateChange, IncomingLead, Lead, StageChange, Task
from service.store.codec import batches
from service.store.first_contact import FirstContactStore
from service.store.keys import account_key

PAGE = 2000
TIMELINES = {"history": StageChange, "calls": Call, "close_dates": CloseDateChange}
DROPPED = ("timeline:responsible",)


@dataclass
class Converted:
    """What one account's conversion did: records rewritten per old key, old keys deleted."""

    account_id: int
    records: dict = field(default_factory=dict)
    deleted: list = field(default_factory=list)


def convert_account(store, account_id: int) -> Converted:
    """Rewrite every old-format family of one account into the compact encodings, then delete the old hashes."""
    report = Converted(account_id)
    writers = {"leads": lambda page: _save_newer_leads(store, account_id, [Lead(**json.loads(v))
                                                                           for v in page.values()]),
               "tasks": lambda page: store.save_tasks(account_id, [Task(**json.loads(v)) for v in page.values()]),
               "incoming": lambda page: store.save_records(account_id, "incoming", {
                   k.decode(): IncomingLead(**json.loads(v)) for k, v in page.items()}),
               "cards": lambda page: store.save_cards(account_id, {int(k): json.loads(v) for k, v in page.items()}),
               "touches": lambda page: FirstContactStore(store.redis).add_touches(account_id, _lead_docs(page)),
               "lead_requests": lambda page: FirstContactStore(store.redis).add_requests(account_id,
                                                                                         _lead_docs(page)),
               "last_note_at": lambda page: store.touch_activity(account_id,
                                                                 {int(k): int(v) for k, v in page.items()})}
    for kind, cls in TIMELINES.items():
        writers[f"timeline:{kind}"] = _timeline_writer(store, account_id, kind, cls)
    for name, write in writers.items():
        key = account_key(account_id, *name.split(":"))
        if store.redis.type(key) != b"hash":
            continue
        report.records[name] = 0
        for page in _pages(store.redis, key):
            write(page)
            report.records[name] += len(page)
        store.redis.delete(key)
        report.deleted.append(name)
    sets = _convert_task_sets(store, account_id)
    if sets:
        report.records["tasks_of"] = sets
        report.deleted.append("tasks_of:*")
    for name in DROPPED:
        if store.redis.delete(account_key(account_id, *name.split(":"))):
            report.deleted.append(name)
    return report


def _save_newer_leads(store, account_id: int, leads: list) -> None:
    """Old leads the mirror holds nothing newer of (mirror.supersedes, the rule of both mirror writers)."""
    held = store.get_leads(account_id, [lead.id for lead in leads])
    store.save_leads(account_id, [lead for lead in leads if supersedes(held.get(lead.id), lead)])


def _lead_docs(page: dict) -> dict:
    """{lead: document} of a page of an old first-contact hash (merged again: earliest wins)."""
    return {int(k): json.loads(v) for k, v in page.items()}


def _convert_task_sets(store, account_id: int) -> int:
    """The per-lead task sets (`tasks_of:<lead>`, a key each) into the `lead_tasks` buckets; the sets deleted."""
    node, converted = store.node_client(account_id), 0
    for keys in batches(node.scan_iter(match=account_key(account_id, "tasks_of", "*"), count=1000), 500):
        pipe = node.pipeline(transaction=False)
        for key in keys:
            pipe.smembers(key)
        pairs = [(int(key.rsplit(b":", 1)[1]), int(task)) for key, tasks in zip(keys, pipe.execute())
                 for task in tasks]
        store.index_tasks(account_id, "+", pairs)
        node.delete(*keys)
        converted += len(keys)
    return converted


def _timeline_writer(store, account_id: int, kind: str, cls):
    """A page of an old timeline hash (lead -> JSON objects, one per line) merged into the new buckets."""
    def write(page: dict) -> None:
        rows = orjson.loads(b"[" + b"".join(page.values()).replace(b"\n", b",")[:-1] + b"]")
        store.add_timeline(account_id, kind, [cls(**row) for row in rows])
    return write


def _pages(client, key: str):
    """The hash a page of fields at a time (HSCAN: a field may come twice if the hash changes; writes are
    idempotent)."""
    cursor = 0
    while True:
        cursor, page = client.hscan(key, cursor, count=PAGE)
        if page:
            yield page
        if cursor == 0:
            return
