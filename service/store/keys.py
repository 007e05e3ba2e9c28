"""Key names: every account key is built here (`acct:{<id>}:...`), and the few global ones."""
from __future__ import annotations


def account_key(account_id: int, *parts) -> str:
    """The one place account-scoped key names are made: `acct:{<id>}:<parts>` (hash-tagged by the account id)."""
    return ":".join([f"acct:{{{int(account_id)}}}", *map(str, parts)])


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
