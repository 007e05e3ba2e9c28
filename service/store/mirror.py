"""The mirror of an account's amoCRM data: leads, tasks, timelines, records, pipelines, users."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterable, Iterator, Mapping

from service.model import Call, CloseDateChange, DateField, IncomingLead, Lead, Pipeline, Stage, StageChange, Task, User
from service.store import timelines
from service.store.codec import (Read, buckets_read, decode_many, encode, eval_in_buckets, field_key, key_read,
                                 scan_buckets, write_buckets)
from service.store.compact import pack, unpack_many
from service.store.keys import BUCKETS, account_key, bucket_key
from service.store.records import record_builder


TIMELINES = {"history": StageChange, "calls": Call, "close_dates": CloseDateChange}


RECORDS = {"contacts": None, "incoming": IncomingLead, "loss_reasons": None, "date_fields": DateField}
BUCKETED_RECORDS = {"incoming"}  # positional rows in bucket hashes (store/compact.py): 12,000 on a medium account


# ARGV: key index, lead, at, ... (KEYS: the bucket hashes)
_MAX_HSET = """
for i = 1, #ARGV, 3 do
  local key, field, at = KEYS[tonumber(ARGV[i])], ARGV[i + 1], tonumber(ARGV[i + 2])
  if at > tonumber(redis.call('HGET', key, field) or '0') then redis.call('HSET', key, field, ARGV[i + 2]) end
end
return 1
"""


# KEYS: bucket hashes; ARGV[1]: "+" (add) or "-" (remove), then key index, lead, task id, ... A lead's value is its
# task ids joined by commas; a repeat adds nothing, the last id removed removes the field.
_INDEX_TASKS = """
local add = ARGV[1] == '+'
for i = 2, #ARGV, 3 do
  local key, lead, task = KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]
  local held = redis.call('HGET', key, lead)
  local list = ',' .. (held or '') .. ','
  local at = string.find(list, ',' .. task .. ',', 1, true)
  if add and not at then
    redis.call('HSET', key, lead, held and (held .. ',' .. task) or task)
  elseif not add and at then
    local before, after = string.sub(list, 2, at - 1), string.sub(list, at + #task + 2, -2)
    local rest = (before ~= '' and after ~= '') and (before .. ',' .. after) or (before .. after)
    if rest == '' then redis.call('HDEL', key, lead) else redis.call('HSET', key, lead, rest) end
  end
end
return 1
"""


class Mirror:
    """Leads, tasks, timelines and reference records as amoCRM last told us."""

    # mirror: leads and tasks are positional rows (store/compact.py) in bucket hashes (store/keys.py BUCKETS)
    def lead_count_estimate(self, account_id: int, sampled: int = 8) -> int:
        """About how many leads the mirror holds: `sampled` evenly spaced buckets scaled up (amoCRM's ids are
        sequential, so id % buckets spreads them evenly), in one round trip."""
        count = BUCKETS["leads"]
        pipe = self.redis.pipeline(transaction=False)
        for n in range(0, count, count // sampled):
            pipe.hlen(bucket_key(account_id, "leads", n))
        return sum(pipe.execute()) * (count // sampled)

    def get_leads(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, Lead]:
        """The mirrored leads among `lead_ids`."""
        return self._read_rows(account_id, "leads", Lead, dict.fromkeys(map(int, lead_ids)))

    @staticmethod
    def leads_read(account_id: int, lead_ids: Iterable[int]) -> Read:
        """get_leads, to read together with others (Store.read)."""
        return _rows_read(account_id, "leads", Lead, dict.fromkeys(map(int, lead_ids)))

    def save_leads(self, account_id: int, leads: Iterable[Lead]) -> None:
        """Write mirrored leads."""
        write_buckets(self.redis, account_id, "leads", {lead.id: pack(lead) for lead in leads})

    def save_tasks(self, account_id: int, tasks: Iterable[Task]) -> None:
        """Write tasks and index them by lead."""
        tasks = list(tasks)
        if not tasks:
            return
        write_buckets(self.redis, account_id, "tasks", {t.id: pack(t) for t in tasks})
        self.index_tasks(account_id, "+", [(t.lead_id, t.id) for t in tasks])

    def delete_tasks(self, account_id: int, tasks: Iterable[Task]) -> None:
        """Forget deleted tasks."""
        tasks = list(tasks)
        pipe = self.redis.pipeline(transaction=False)
        for task in tasks:
            pipe.hdel(bucket_key(account_id, "tasks", task.id), task.id)
        pipe.execute()
        self.index_tasks(account_id, "-", [(t.lead_id, t.id) for t in tasks])

    def index_tasks(self, account_id: int, op: str, pairs: list) -> None:
        """Add ("+") or remove ("-") (lead, task) pairs in the per-lead task index (`lead_tasks` buckets: lead ->
        "id,id,..."; a set per lead cost a key each, 100 bytes a deal)."""
        eval_in_buckets(self.redis, _INDEX_TASKS, account_id, "lead_tasks",
                        [(lead_id, int(task_id)) for lead_id, task_id in pairs], head=(op,))

    def get_tasks(self, account_id: int, task_ids: Iterable[int]) -> dict[int, Task]:
        """The mirrored tasks among `task_ids`."""
        return self._read_rows(account_id, "tasks", Task, dict.fromkeys(map(int, task_ids)))

    def tasks_of(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, list[Task]]:
        """Each lead's tasks."""
        lead_ids = list(lead_ids)
        return self.tasks_by_lead(account_id, lead_ids, self.read(self.task_ids_read(account_id, lead_ids))[0])

    @staticmethod
    def task_ids_read(account_id: int, lead_ids: Iterable[int]) -> Read:
        """{lead: its task ids, ascending} of the leads that have tasks (Store.read; tasks_by_lead reads the tasks)."""
        return buckets_read(account_id, "lead_tasks", lead_ids, then=lambda held: {
            lead: sorted(map(int, raw.split(b","))) for lead, raw in held.items()})

    def tasks_by_lead(self, account_id: int, lead_ids: list[int], task_ids: dict[int, list[int]]) -> dict[int, list]:
        """Each lead's tasks, from task_ids_read's answer."""
        tasks = self.get_tasks(account_id, {i for ids in task_ids.values() for i in ids})
        return {lead: [tasks[i] for i in task_ids.get(lead, ()) if i in tasks] for lead in lead_ids}

    def add_timeline(self, account_id: int, kind: str, items: Iterable) -> None:
        """Add time-stamped facts (StageChange, Call, CloseDateChange, ...) to their lead's timeline (sets)."""
        timelines.add(self.redis, account_id, kind, items)

    def timelines(self, account_id: int, kind: str, lead_ids: Iterable[int]) -> dict[int, list]:
        """Each lead's facts of one kind, oldest first."""
        return self.read(self.timelines_read(account_id, kind, lead_ids))[0]

    @staticmethod
    def timelines_read(account_id: int, kind: str, lead_ids: Iterable[int]) -> Read:
        """timelines, to read together with others (Store.read)."""
        lead_ids = list(lead_ids)
        return buckets_read(account_id, "timeline", lead_ids, kind,
                            then=lambda held: timelines.decode(TIMELINES[kind], lead_ids, held))

    def timeline_leads(self, account_id: int, kind: str) -> list[int]:
        """The leads that have facts of one kind."""
        return [lead_id for ids, _ in scan_buckets(self.redis, account_id, "timeline", kind) for lead_id in ids]

    def touch_activity(self, account_id: int, times: Mapping[int, int]) -> None:
        """Remember the latest note time per lead (older times never overwrite newer): one script call per 5,000
        leads, its keys all in the account's slot."""
        eval_in_buckets(self.redis, _MAX_HSET, account_id, "last_note_at", list(times.items()))

    def last_note_at(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, int]:
        """The latest note time of each lead that has one."""
        return self.read(self.last_note_at_read(account_id, lead_ids))[0]

    @staticmethod
    def last_note_at_read(account_id: int, lead_ids: Iterable[int]) -> Read:
        """last_note_at, to read together with others (Store.read)."""
        return buckets_read(account_id, "last_note_at", lead_ids,
                            then=lambda held: {i: int(r) for i, r in held.items()})

    def save_records(self, account_id: int, kind: str, records: Mapping) -> None:
        """Write flat records by id (contacts, incoming leads, users, loss reasons)."""
        if kind in BUCKETED_RECORDS:
            write_buckets(self.redis, account_id, kind, {k: pack(v) for k, v in records.items()})
        elif records:
            self.redis.hset(account_key(account_id, kind), mapping={k: encode(v) for k, v in records.items()})

    def all_records(self, account_id: int, kind: str) -> dict:
        """Every record of a kind, decoded."""
        cls = RECORDS[kind]
        if kind in BUCKETED_RECORDS:
            return {record.id: record for record in self._scan_rows(account_id, kind, cls)}
        raw = self.redis.hgetall(account_key(account_id, kind))
        docs = decode_many(raw.values())
        return {field_key(k): d for k, d in zip(raw, map(record_builder(cls), docs) if cls else docs)}

    def save_pipelines(self, account_id: int, pipelines: Iterable[Pipeline]) -> None:
        """Replace the account's pipelines (with their stages)."""
        rows = [asdict(p) for p in pipelines]
        self.redis.set(account_key(account_id, "pipelines"), json.dumps(rows, ensure_ascii=False))

    def get_pipelines(self, account_id: int) -> list[Pipeline]:
        """The account's pipelines, stages in funnel order."""
        return _pipelines(self.redis.get(account_key(account_id, "pipelines")))

    @staticmethod
    def pipelines_read(account_id: int) -> Read:
        """get_pipelines, to read together with others (Store.read)."""
        return key_read(account_key(account_id, "pipelines"), _pipelines)

    def save_users(self, account_id: int, users: Iterable[User]) -> None:
        """Write the account's users (a page at a time)."""
        mapping = {u.id: encode(u) for u in users}
        if mapping:
            self.redis.hset(account_key(account_id, "users"), mapping=mapping)

    def get_records(self, account_id: int, kind: str, ids: Iterable) -> dict:
        """The records of a kind among `ids` (raw JSON documents)."""
        if kind in BUCKETED_RECORDS:
            return {i: asdict(record) for i, record in self._read_rows(account_id, kind, RECORDS[kind], ids).items()}
        ids = list(ids)
        raw = self.redis.hmget(account_key(account_id, kind), ids) if ids else []
        return {i: json.loads(r) for i, r in zip(ids, raw) if r}

    def get_users(self, account_id: int) -> dict[int, User]:
        """The account's users by id."""
        raw = self.redis.hgetall(account_key(account_id, "users"))
        return {int(k): User(**json.loads(v)) for k, v in raw.items()}

    def all_leads(self, account_id: int) -> Iterator[Lead]:
        """Every mirrored lead, streamed."""
        return self._scan_rows(account_id, "leads", Lead)

    def all_tasks(self, account_id: int) -> Iterator[Task]:
        """Every mirrored task, streamed."""
        return self._scan_rows(account_id, "tasks", Task)

    def _read_rows(self, account_id: int, family: str, cls, ids: Iterable) -> dict:
        """{id: record} of the ids present in a family of positional rows (store/compact.py)."""
        return self.read(_rows_read(account_id, family, cls, ids))[0]

    def _scan_rows(self, account_id: int, family: str, cls) -> Iterator:
        """Every record of a family of positional rows, a few dozen buckets at a time."""
        for ids, values in scan_buckets(self.redis, account_id, family):
            yield from unpack_many(cls, ids, decode_many(values))


def _rows_read(account_id: int, family: str, cls, ids: Iterable) -> Read:
    """{id: record} of the ids present in a family of positional rows (store/compact.py)."""
    return buckets_read(account_id, family, ids,
                        then=lambda held: dict(zip(held, unpack_many(cls, held, decode_many(held.values())))))


def _pipelines(raw) -> list[Pipeline]:
    """The stored pipelines, stages in funnel order."""
    return [Pipeline(p["id"], p["name"], tuple(Stage(**s) for s in p["stages"])) for p in json.loads(raw or "[]")]
