"""Per-address limits on the anonymous install edges (/oauth/callback, /install): fixed windows in Redis.

The address is the one this web tier sees (`request.remote_addr`): the TCP peer, or with FORWARDED_HOPS set, the
address that many trusted proxies in front of us put in X-Forwarded-For (README, "Security model")."""
from __future__ import annotations

import ipaddress

from flask import request

from service import errors
from service.web import deps

WINDOW_SECONDS = 60


def limit(scope: str) -> None:
    """Count this request against its client's window of `scope`, or answer 429."""
    d = deps()
    wait = d.store.count_anonymous(scope, client_key(request.remote_addr or ""), d.settings.oauth_rate_per_minute,
                                   d.settings.oauth_rate_clients, WINDOW_SECONDS, d.clock())
    if wait:
        raise errors.TooManyRequests(f"too many {scope} requests from this address; retry in {wait} s",
                                     retry_after=wait)


def client_key(address: str) -> str:
    """An IPv4 address as is, an IPv6 one by its /64 (one host holds a whole /64 and could rotate through it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip)
