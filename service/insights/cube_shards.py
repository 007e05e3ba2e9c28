"""The cube in shards of leads (lead id % SHARDS): a change rebuilds only its leads' shard, and the panel adds up.

Every lead table of the cube (cube.lead_part) is a sum over leads, so the cube of all leads is the row-wise sum of
its shards' cubes: rows with the same key add their values. A reader keeps that sum and, when a shard is replaced,
takes the old shard out and puts the new one in; the account-wide part (pipelines, users, requests, contacts) is
small and rebuilt with every change.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from typing import Iterable, Optional

from service.insights.cube import account_part, lead_part
from service.insights.snapshot import Snapshot
from service.insights.spells import Spell

SHARDS = 16  # a large account (87k leads) rebuilds ~5k leads for one change
KEY_LENGTH = {"entries": 4, "exits": 5, "censored": 4, "losses": 4, "loss_reasons": 5, "deals": 4, "open": 3,
              "calls": 3}  # leading columns that key a row; the rest are counts and sums
EVENTS = "recent"  # single events, not sums: a multiset of rows


def shard_of(lead_id: int) -> int:
    """The shard a lead's rows live in."""
    return int(lead_id) % SHARDS


def shards_of(lead_ids: Iterable[int]) -> set[int]:
    """The shards a change of these leads touches."""
    return {shard_of(i) for i in lead_ids}


def split_snapshot(snap: Snapshot, spells: list[Spell]) -> dict[int, tuple[Snapshot, list[Spell]]]:
    """shard -> (the snapshot with only that shard's leads and their timelines, their spells), every shard present."""
    per_lead = ("leads", "tasks_by_lead", "calls_by_lead", "history_by_lead")
    parts: dict = {i: {name: {} for name in per_lead} for i in range(SHARDS)}
    for name in per_lead:
        for lead_id, value in getattr(snap, name).items():
            parts[shard_of(lead_id)][name][lead_id] = value
    spell_parts = defaultdict(list)
    for s in spells:
        spell_parts[shard_of(s.lead_id)].append(s)
    return {i: (replace(snap, **parts[i]), spell_parts[i]) for i in range(SHARDS)}


def shard_parts(snap: Snapshot, spells: list[Spell], now: int,
                only: Optional[Iterable[int]] = None) -> dict[int, dict]:
    """shard -> its lead tables as of `now` (`only`: those shards; `snap` needs to hold just their leads)."""
    wanted = set(range(SHARDS) if only is None else only)
    return {i: lead_part(sub, sub_spells, now)
            for i, (sub, sub_spells) in split_snapshot(snap, spells).items() if i in wanted}


def full_parts(snap: Snapshot, spells: list[Spell], now: int) -> tuple[dict, dict[int, dict]]:
    """The account part and every shard of a full recompute."""
    return account_part(snap, now), shard_parts(snap, spells, now)


def empty_sum() -> dict:
    """The sum of no shards."""
    return {**{table: {} for table in KEY_LENGTH}, EVENTS: Counter()}


def add_part(total: dict, part: dict, sign: int = 1) -> None:
    """Add a shard's tables into the running sum (sign -1: take them out); rows that reach zero are dropped."""
    for table, width in KEY_LENGTH.items():
        rows = total[table]
        for row in part.get(table, ()):
            key, values = tuple(row[:width]), row[width:]
            held = rows.get(key)
            if held is None:
                rows[key] = [sign * v for v in values]
                continue
            for i, v in enumerate(values):
                held[i] += sign * v
            if not any(held):
                del rows[key]
    events = total[EVENTS]
    for row in part.get(EVENTS, ()):
        key = tuple(row)
        events[key] += sign
        if not events[key]:
            del events[key]


def assemble(account: dict, total: dict) -> dict:
    """The cube (the shape cube.build_cube returns) of the account part and the sum of the shards."""
    cube = dict(account)
    for table in KEY_LENGTH:
        cube[table] = [[*key, *values] for key, values in sorted(total[table].items())]
    cube[EVENTS] = [list(row) for row, n in sorted(total[EVENTS].items()) for _ in range(n)]
    return cube


def cube_of_parts(account: dict, shards: Iterable[dict]) -> dict:
    """The cube from the account part and every shard's tables."""
    total = empty_sum()
    for part in shards:
        add_part(total, part)
    return assemble(account, total)
