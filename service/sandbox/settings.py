"""The simulator settings: what the amoCRM API cannot express (the account file's "sandbox" section)."""
from __future__ import annotations

import copy

# Every key is documented here; the account file's "sandbox" section holds the same tree.
DEFAULTS = {
    "oauth": {
        "client_id": "00000000-0000-4000-8000-000000000001",  # the integration id (client_uuid)
        "client_secret": "sandbox-client-secret",
        "redirect_uri": "http://127.0.0.1:8000/oauth/callback",  # must match exactly, as in amoCRM
        "disable_hook_url": None,  # GET target of the disable hook
        "code_ttl": 1200,  # authorization code: 20 min, single use
        "access_token_ttl": 86400,  # expires_in
        "refresh_token_ttl": 7776000,  # 3 months, single use
        "platform": 1,  # 1 = amocrm.ru, 2 = amocrm.com / kommo.com
        "referer": None,  # host given to the redirect URI; None = the sandbox's own host
    },
    "rate_limit": {
        "per_second": 7,  # requests admitted per sliding 1 s window
        "block_after_excess": 30,  # this many 429s within excess_window seconds => 403
        "excess_window": 60,
        "block_seconds": 60,  # how long the 403 lasts
        "retry_after": None,  # seconds for a Retry-After header on 429; amoCRM is not known to send one
    },
    # When is_api_filter_enabled is off: "refuse" answers filter[...] on leads/contacts with 402,
    # "ignore" returns the unfiltered list (what some integrators report). See api.py.
    "api_filter_off": "refuse",
    "faults": {
        "latency_ms": 0,  # added to every API answer
        "error_rate": 0.0,  # share of API requests answered with error_status
        "error_status": 503,
        "timeout_rate": 0.0,  # share of API requests that sleep timeout_seconds before answering
        "timeout_seconds": 35.0,
        "storm_429": 0,  # the next N API requests get 429 regardless of rate
        "seed": 0,
    },
    "webhooks": {
        "timeout": 2.0,  # amoCRM waits 2 s for a 1xx/2xx
        "time_scale": 1.0,  # retry delays are multiplied by this (tests use e.g. 0.001)
        "drop_rate": 0.0,  # share of deliveries silently never sent
        "duplicate_rate": 0.0,  # share of deliveries sent twice
        "reorder_rate": 0.0,  # share of deliveries held back so later ones overtake them
        "reorder_delay": 0.3,  # seconds a reordered delivery is held back
        "seed": 0,
        "task_date_format": "docs",  # "docs": "Y-m-d H:i:s" in the account timezone; "unix": seconds
    },
    "simulator": {"rate": 0.0, "seed": 0},  # events per second of the live simulator (0 = off)
    "base_url": None,  # scheme+host used in webhooks' account[_links][self]; None = https://{subdomain}.amocrm.ru
}


def default_settings() -> dict:
    """A fresh copy of the default settings tree."""
    return copy.deepcopy(DEFAULTS)


def merged(overrides: dict, base: dict | None = None) -> dict:
    """Defaults (or base) deep-updated with overrides; unknown keys are kept as given."""
    result = copy.deepcopy(DEFAULTS if base is None else base)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(value, result[key])
        else:
            result[key] = value
    return result
