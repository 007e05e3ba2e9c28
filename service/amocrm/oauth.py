"""amoCRM's OAuth token endpoint (FACTS §1): code and refresh grants, and where an account's API lives."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from service.config import Settings

AMO_DOMAINS = ("amocrm.ru", "amocrm.com", "kommo.com")
TIMEOUT = (5, 20)  # connect, read
# One label, then one of amoCRM's domains: `example.amocrm.ru`. Deeper names (`x.y.amocrm.ru`) are never accounts.
AMO_HOST = re.compile(r"(?P<label>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.(?:amocrm\.ru|amocrm\.com|kommo\.com)")
# One-label names amoCRM (or a vendor it points a name at) serves itself: a token request there would hand our
# client secret to a host that is not an account (issue 16: `www.`, `status.`).
SERVICE_LABELS = frozenset({  # a deny-list (accounts can't be enumerated): names no account is given
    "www", "status", "api", "id", "auth", "oauth", "login", "developers", "help", "support", "blog", "market",
    "marketplace", "shop", "mail", "smtp", "cdn", "static", "docs", "admin", "partners", "amojo", "drive",
    "widgets", "hooks", "webhooks"})


class OAuthError(RuntimeError):
    """The token endpoint could not be reached or answered with something unusable (retry later)."""


class GrantRejected(OAuthError):
    """The token endpoint refused the code or refresh token: only a new install helps."""


@dataclass(frozen=True)
class TokenPair:
    """An access/refresh pair; repr never shows the secrets."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: int = 0

    def to_dict(self) -> dict:
        """The document that is encrypted at rest."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at}

    @classmethod
    def from_dict(cls, data: dict) -> "TokenPair":
        """Rebuild from the decrypted document."""
        return cls(str(data["access_token"]), str(data["refresh_token"]), int(data.get("expires_at", 0)))


def referer_host(referer: str) -> str:
    """The bare host[:port] of a `referer` value ('example.amocrm.ru' or a full URL)."""
    text = (referer or "").strip()
    if "//" not in text:
        text = "https://" + text
    return (urlsplit(text).netloc or "").lower()


def is_amo_host(host: str) -> bool:
    """True for an account host: one label on one of amoCRM's own domains, not a service name (no port, no
    userinfo)."""
    return account_label(host) is not None


def account_label(host: str) -> str | None:
    """The account subdomain of an account host (`example` of `example.amocrm.ru`), else None."""
    match = AMO_HOST.fullmatch(host or "")
    if match is None or match["label"] in SERVICE_LABELS:
        return None
    return match["label"]


def account_host_base(settings: Settings, referer: str) -> str:
    """`https://<referer host>`, refusing hosts outside amoCRM's domains unless AMOCRM_API_BASE is set."""
    host = referer_host(referer)
    if not host:
        raise ValueError("referer is missing")
    if not settings.amocrm_api_base and not is_amo_host(host):
        raise ValueError(f"referer {host!r} is not an amoCRM host ({', '.join(AMO_DOMAINS)})")
    return f"https://{host}"


def api_base(settings: Settings, account_base: str) -> str:
    """Where API calls go: the sandbox override, else the account's own host."""
    return (settings.amocrm_api_base or account_base).rstrip("/")


def exchange_code(session: requests.Session, settings: Settings, base: str, code: str, now: float) -> TokenPair:
    """Trade an authorization code (single use, 20 min) for a token pair."""
    return _grant(session, settings, base, now, grant_type="authorization_code", code=code)


def refresh(session: requests.Session, settings: Settings, base: str, refresh_token: str,
            now: float) -> TokenPair:
    """Trade a refresh token (single use) for a new pair; the caller persists it before anything else."""
    return _grant(session, settings, base, now, grant_type="refresh_token", refresh_token=refresh_token)


def _grant(session: requests.Session, settings: Settings, base: str, now: float, **grant) -> TokenPair:
    """POST one grant to the token endpoint as JSON."""
    body = {"client_id": settings.client_id, "client_secret": settings.client_secret,
            "redirect_uri": settings.redirect_uri, **grant}
    try:
        # A redirect is never followed: it would carry the client secret to a host the account's name didn't pick.
        answer = session.post(f"{base.rstrip('/')}/oauth2/access_token", json=body, timeout=TIMEOUT,
                              allow_redirects=False)
    except requests.RequestException as exc:
        raise OAuthError(f"token endpoint unreachable: {type(exc).__name__}") from None
    if answer.is_redirect or 300 <= answer.status_code < 400:
        raise OAuthError(f"token endpoint answered a redirect ({answer.status_code}); not followed")
    if answer.status_code in (400, 401, 403):
        raise GrantRejected(f"token endpoint refused the {grant['grant_type']} grant: {_hint(answer)}")
    if answer.status_code != 200:
        raise OAuthError(f"token endpoint answered {answer.status_code}")
    return _pair(answer, now)


def _pair(answer: requests.Response, now: float) -> TokenPair:
    """Parse the token response; expiry is kept on our clock, a minute early."""
    try:
        data = answer.json()
        return TokenPair(str(data["access_token"]), str(data["refresh_token"]),
                         int(now) + int(data.get("expires_in", 86400)) - 60)
    except (ValueError, KeyError, TypeError):
        raise OAuthError("token endpoint answered 200 without a token pair") from None


def _hint(answer: requests.Response) -> str:
    """The problem's hint (never the request body, which holds secrets)."""
    try:
        data = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    return str(data.get("hint") or data.get("detail") or data.get("title") or answer.status_code)[:200]
