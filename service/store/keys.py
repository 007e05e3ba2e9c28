"""Key names: every account key is built here (`acct:{<id>}:...`), and the few global ones."""
from __future__ import annotations

import zlib


def account_key(account_id: int, *parts) -> str:
    """The one place account-scoped key names are made: `acct:{<id>}:<parts>` (hash-tagged by the account id)."""
    return ":".join([f"acct:{{{int(account_id)}}}", *map(str, parts)])


# Per-record families are spread over a fixed number of small hashes (`acct:{<id>}:<family>:<bucket>`, bucket =
# id % count) instead of one big hash: a hash of a few dozen fields is a listpack (ziplist before Redis 7), about 60
# bytes a field smaller than a hashtable entry. amoCRM ids are global across accounts, so one account's ids are
# sparse: a modulo, not `id // n`, keeps the buckets even. The counts are fixed forever (changing one moves every
# record): 256 per lead-keyed family, 1,024 for tasks (about 4 per deal), so a 100,000-deal account still fits the
# 512-entry listpack limit ops/redis_server.py sets.
BUCKETS = {"leads": 256, "cards": 256, "last_note_at": 256, "timeline": 256, "lead_tasks": 256, "touches": 256,
           "lead_requests": 256, "tasks": 1024, "incoming": 256}
TEXT_IDS = {"incoming"}  # families keyed by text (an incoming request's uid): bucketed by CRC-32 of the text


def bucket_key(account_id: int, family: str, record_id, *kind) -> str:
    """The hash holding one record of a bucketed family (`kind`: a timeline's kind)."""
    count = BUCKETS[family]
    n = zlib.crc32(str(record_id).encode()) % count if family in TEXT_IDS else int(record_id) % count
    return account_key(account_id, family, *kind, n)


def bucket_keys(account_id: int, family: str, *kind) -> list[str]:
    """Every hash of a bucketed family, in bucket order."""
    return [account_key(account_id, family, *kind, n) for n in range(BUCKETS[family])]


def legacy_account_prefix(account_id: int) -> str:
    """The untagged prefix account keys had before hash tags (`acct:<id>:`): only `migrate-to-cluster` reads it."""
    return f"acct:{int(account_id)}:"


# Keys of no account (README "Scaling out"): each is a single key on the account-data Redis (on a cluster, in its own
# slot, never in the same script or transaction as an account's keys). RQ's and the clock's keys are on REDIS_URL.
ACCOUNTS = "dp:accounts"  # global index: account ids (how sweeps list accounts on a cluster too)


SUBDOMAINS = "dp:subdomains"  # global index: subdomain -> account id


ORIGINS = "dp:origins"  # global index: browser origin -> account id (CORS)


# --- issue 4: install state, request rate, helpers
INSTALL_STATE = "dp:install_state"  # global: OAuth `state` nonces (no account is known yet)


ANON_RATE = "dp:rl:anon"  # global: fixed-window counters of anonymous install requests per client address


GLOBAL_RATE = "dp:rl:next"  # global: the earliest time (ms) the next request of any account may go


# --- issue 22: the drain board, on REDIS_URL beside RQ's keys (service/store/drains.py)
DRAIN_READY = "dp:drain:ready"  # list: accounts whose inbox waits for the coalesced drain job, oldest first


DRAIN_JOB_WAITING = "dp:drain:job_waiting"  # set while a drain job waits in the queue (not yet started)
