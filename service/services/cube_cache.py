"""The cube a web process answers filtered panels from: held parsed, and on a change only the new shards are read.

Parsing a large account's whole cube (36 MB) costs seconds; a fresh-panel update rewrites one shard or a few
(insights/cube_shards.py). The process keeps the sum of the shards and each shard's stored JSON: a shard whose
version changed is taken out of the sum (its old JSON parsed again) and the new one put in.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

import orjson

from service.deps import Deps
from service.insights.cube_shards import add_part, assemble, empty_sum
from service.insights.panel_query import split_by_pipeline
from service.insights.speed_to_lead import Fact

HELD = 32  # accounts whose cube a web process keeps


@dataclass
class _Held:
    """One account's cube as this process holds it."""

    index: dict = field(default_factory=dict)  # {"account" | "full" | shard: version} it was built from
    shards: dict = field(default_factory=dict)  # shard -> stored JSON, to take it out of the sum later
    total: dict = field(default_factory=empty_sum)
    speed_facts: Optional[list] = None
    parsed: Optional[dict] = None


_held: "OrderedDict[int, _Held]" = OrderedDict()
_changing = threading.Lock()  # a web process answers from threads: one of them updates a held sum at a time


def cube_parts(deps: Deps, account_id: int) -> Optional[dict]:
    """{"cube", "parts" (split by pipeline), "speed_facts"} of the account; None before the first recompute."""
    index = deps.store.cube_index(account_id)
    if not index:
        return _whole(deps, account_id)
    held = _held.get(account_id)
    if held is not None and held.index == index:
        return held.parsed
    with _changing:
        held = _held.get(account_id) or _Held()
        if held.index != index:
            _refresh(deps, account_id, held, index)
            _held[account_id] = held
        _held.move_to_end(account_id)
        while len(_held) > HELD:
            _held.popitem(last=False)
        return held.parsed


def _refresh(deps: Deps, account_id: int, held: _Held, index: dict) -> None:
    """Replace the shards whose version changed, re-read the account part, and assemble the cube."""
    changed = [n for n in index if n not in ("account", "full") and held.index.get(n) != index[n]]
    raw = deps.store.read_cube_parts(account_id, ["account", *changed])
    for name in changed:
        if raw[name] is None:
            continue
        if name in held.shards:
            add_part(held.total, orjson.loads(held.shards[name])["tables"], -1)
        add_part(held.total, orjson.loads(raw[name])["tables"])
        held.shards[name] = raw[name]
    if held.parsed is None or held.index.get("full") != index.get("full"):
        facts = deps.store.read_insight(account_id, "speed_facts")  # saved by the full recompute, with the cube
        held.speed_facts = None if facts is None else [Fact(*row) for row in facts]
    cube = assemble(orjson.loads(raw["account"]), held.total)
    held.parsed = {"cube": cube, "parts": split_by_pipeline(cube), "speed_facts": held.speed_facts}
    held.index = index  # last: a thread reading without the lock sees the new index only beside the new cube


def _whole(deps: Deps, account_id: int) -> Optional[dict]:
    """A cube stored whole, before shards (until the first full recompute after an upgrade), parsed per request."""
    cube = deps.store.read_insight(account_id, "cube")
    if not cube:
        return None
    facts = deps.store.read_insight(account_id, "speed_facts")
    return {"cube": cube, "parts": split_by_pipeline(cube),
            "speed_facts": None if facts is None else [Fact(*row) for row in facts]}
