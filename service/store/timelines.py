"""Per-lead timelines (stage moves, calls, close dates, hand-overs) as one Redis hash per kind, reached from Store.

Key `acct:<id>:timeline:<kind>`: a hash lead id -> that lead's facts, one compact JSON object per line (sorted keys,
so the same fact always has the same bytes), kept in (at, row) order and without repeats by a Lua merge. One hash per
kind, not one key per lead: a whole account is read with a few HMGETs instead of one ZRANGE per lead.
"""
from __future__ import annotations

import json
from dataclasses import fields
from functools import cache
from typing import Iterable

import orjson
import redis

from service.store.records import record_builder

CHUNK = 5000  # leads per HMGET, facts per merge call: big enough to amortise, small enough not to stall Redis

# ARGV: lead, at, row, lead, at, row, ... A row already held is skipped (replays add nothing); a new one goes where
# it sorts by (at, row), so readers get time order without sorting. Facts mostly arrive in time order: a row that
# sorts after the last one is appended without splitting the lead's timeline.
_MERGE = r"""
local function at_of(line)  -- the "at" key: a quote inside a string value is escaped, so it cannot match there
  return tonumber(string.match(line, '[{,]"at":(%-?%d+)'))
end
local function sorts_after(row, at, line)
  local t = at_of(line)
  return at > t or (at == t and row > line)
end
local function last_line(held)
  local i = #held - 1
  while i > 0 and string.byte(held, i) ~= 10 do i = i - 1 end
  return string.sub(held, i + 1, -2)
end
local function inserted(held, row, at)
  local lines, placed = {}, false
  for line in string.gmatch(held, '[^\n]+') do
    if not placed and not sorts_after(row, at, line) then
      lines[#lines + 1] = row
      placed = true
    end
    lines[#lines + 1] = line
  end
  if not placed then lines[#lines + 1] = row end
  return table.concat(lines, '\n') .. '\n'
end
for i = 1, #ARGV, 3 do
  local field, at, row = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local held = redis.call('HGET', KEYS[1], field)
  if not held then
    redis.call('HSET', KEYS[1], field, row .. '\n')
  elseif not string.find('\n' .. held, '\n' .. row .. '\n', 1, true) then
    if sorts_after(row, at, last_line(held)) then
      redis.call('HSET', KEYS[1], field, held .. row .. '\n')
    else
      redis.call('HSET', KEYS[1], field, inserted(held, row, at))
    end
  end
end
return 1
"""


@cache
def _field_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def encode_row(fact) -> str:
    """One fact as compact JSON with sorted keys: the same fact always has the same bytes."""
    return json.dumps({name: getattr(fact, name) for name in _field_names(type(fact))}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))


def add(client: redis.Redis, key: str, facts: Iterable) -> None:
    """Merge facts into their leads' timelines (atomic per call of the script; idempotent)."""
    args = [arg for fact in facts for arg in (fact.lead_id, fact.at, encode_row(fact))]
    if not args:
        return
    merge = client.register_script(_MERGE)
    for start in range(0, len(args), 3 * CHUNK):
        merge(keys=[key], args=args[start:start + 3 * CHUNK])


def read(client: redis.Redis, key: str, cls, lead_ids: list) -> dict[int, list]:
    """Each lead's facts, oldest first ([] for a lead with none)."""
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(lead_ids), CHUNK):
        pipe.hmget(key, lead_ids[start:start + CHUNK])
    held = [value for chunk in pipe.execute() for value in chunk if value]
    out: dict[int, list] = {lead_id: [] for lead_id in lead_ids}
    build = record_builder(cls)
    for row in _decode_rows(held):
        out[row["lead_id"]].append(build(row))
    return out


def _decode_rows(values: list[bytes]) -> list[dict]:
    """Every row of many stored values in one parser call (rows never hold a raw newline: JSON escapes it)."""
    return orjson.loads(b"[" + b"".join(values).replace(b"\n", b",")[:-1] + b"]")
