"""Per-lead timelines (stage moves, calls, close dates) in bucket hashes per kind, reached from Store.

Keys `acct:{<id>}:timeline:<kind>:<bucket>` (store/keys.py): hashes lead id -> that lead's facts, one positional JSON
array per line (store/compact.py: "at" first, no lead id; the same fact always has the same bytes), kept in
(at, row) order and without repeats by a Lua merge. Buckets, not one key per lead: a whole account is read with a
few HMGETs instead of one ZRANGE per lead; small hashes stay listpacks.
"""
from __future__ import annotations

from typing import Iterable

import orjson
import redis

from service.store.codec import eval_in_buckets
from service.store.compact import pack, unpack_many

CHUNK = 5000  # leads per HMGET, facts per merge call: big enough to amortise, small enough not to stall Redis

# KEYS: bucket hashes; ARGV: key index, lead, at, row, ... A row already held is skipped (replays add nothing); a new
# one goes where it sorts by (at, row), so readers get time order without sorting. Facts mostly arrive in time order:
# a row that sorts after the last one is appended without splitting the lead's timeline.
_MERGE = r"""
local function at_of(line)  -- a row is a JSON array whose first value is "at"
  return tonumber(string.match(line, '^%[(%-?%d+)'))
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
for i = 1, #ARGV, 4 do
  local key, field, at, row = KEYS[tonumber(ARGV[i])], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local held = redis.call('HGET', key, field)
  if not held then
    redis.call('HSET', key, field, row .. '\n')
  elseif not string.find('\n' .. held, '\n' .. row .. '\n', 1, true) then
    if sorts_after(row, at, last_line(held)) then
      redis.call('HSET', key, field, held .. row .. '\n')
    else
      redis.call('HSET', key, field, inserted(held, row, at))
    end
  end
end
return 1
"""


def add(client: redis.Redis, account_id: int, kind: str, facts: Iterable) -> None:
    """Merge facts into their leads' timelines of one kind (atomic per call of the script; idempotent)."""
    eval_in_buckets(client, _MERGE, account_id, "timeline", [(f.lead_id, f.at, pack(f)) for f in facts], kind,
                    size=CHUNK)


def decode(cls, lead_ids: list, held: dict) -> dict[int, list]:
    """Each lead's facts, oldest first ([] for a lead with none), from {lead id: stored value}."""
    out: dict[int, list] = {lead_id: [] for lead_id in lead_ids}
    if not held:
        return out
    # Every lead's rows in one parser call: [[rows of lead 1], [rows of lead 2], ...] (a row never holds a raw
    # newline: JSON escapes it).
    per_lead = orjson.loads(b"[[" + b"],[".join(v[:-1].replace(b"\n", b",") for v in held.values()) + b"]]")
    for lead_id, rows in zip(held, per_lead):
        out[lead_id] = unpack_many(cls, [lead_id] * len(rows), rows)
    return out
