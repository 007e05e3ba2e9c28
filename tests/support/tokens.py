"""Widget tokens minted the way amoCRM mints them (FACTS §2), for tests and the harness."""
from __future__ import annotations

import time
import uuid

import jwt

from service.config import Settings
from service.model import Account


def mint_token(settings: Settings, account: Account, user_id: int = 1001, *,
               secret: str | None = None, now: float | None = None, **overrides) -> str:
    """An HS256 one-time token as amoCRM's `$authorizedAjax` would send it."""
    now = int(time.time() if now is None else now)
    claims = {
        "iss": account.origin,
        "aud": settings.token_audience,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 1800,
        "account_id": account.id,
        "user_id": user_id,
        "subdomain": account.subdomain,
        "client_uuid": settings.client_id,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret or settings.client_secret, algorithm="HS256")
