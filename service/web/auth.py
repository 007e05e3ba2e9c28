"""Widget one-time tokens (FACTS §2): HS256 JWTs signed with our client secret."""
from __future__ import annotations

from dataclasses import dataclass

import jwt
from flask import request

from service.config import Settings
from service.errors import Unauthorized

REQUIRED_CLAIMS = ["iss", "aud", "jti", "iat", "nbf", "exp", "account_id", "user_id", "client_uuid"]


@dataclass(frozen=True)
class Claims:
    """Who is calling: the verified content of a widget token."""

    account_id: int
    user_id: int
    jti: str
    exp: int
    issuer: str
    is_admin: bool = False


def verify_token(token: str, settings: Settings) -> Claims:
    """Check signature, algorithm, audience, time and integration; the caller checks the account and jti."""
    if not token:
        raise Unauthorized("X-Auth-Token header is missing")
    try:
        data = jwt.decode(token, settings.client_secret, algorithms=["HS256"],
                          audience=settings.token_audience, leeway=settings.token_leeway_seconds,
                          options={"require": REQUIRED_CLAIMS})
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid widget token: {_reason(exc)}") from None
    if data["client_uuid"] != settings.client_id:
        raise Unauthorized("token was issued for another integration")
    try:
        return Claims(int(data["account_id"]), int(data["user_id"]), str(data["jti"]),
                      int(data["exp"]), str(data["iss"]), bool(data.get("is_admin", False)))
    except (TypeError, ValueError):
        raise Unauthorized("token account_id and user_id must be numbers") from None


def _reason(exc: jwt.InvalidTokenError) -> str:
    """What was wrong with a token, in words a widget developer can act on."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the {exc.claim!r} claim is missing"
    for kind, reason in REASONS:
        if isinstance(exc, kind):
            return reason
    return str(exc)


REASONS = (
    (jwt.ExpiredSignatureError, "it has expired"),
    (jwt.ImmatureSignatureError, "it is not valid yet (nbf or iat in the future)"),
    (jwt.InvalidAudienceError, "its audience is not this service"),
    (jwt.InvalidAlgorithmError, "its algorithm must be HS256"),
    (jwt.InvalidSignatureError, "its signature does not match our client secret"),
    (jwt.DecodeError, "it is not a well-formed JWT"),
)


def request_claims(settings: Settings) -> Claims:
    """The verified claims of the current request's X-Auth-Token."""
    return verify_token(request.headers.get("X-Auth-Token", ""), settings)
