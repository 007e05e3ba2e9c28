"""Widget tokens minted the way amoCRM mints them (FACTS §2): the preview's minting, with test defaults."""
from __future__ import annotations

from service.config import Settings
from service.model import Account
from service.preview import widget_token


def mint_token(settings: Settings, account: Account, user_id: int = 1001, *,
               secret: str | None = None, now: float | None = None, **overrides) -> str:
    """An HS256 one-time token as amoCRM's `$authorizedAjax` would send it."""
    return widget_token(settings, account, user_id, now=now, secret=secret, **overrides)
