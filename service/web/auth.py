"""Widget one-time tokens (FACTS §2): HS256 JWTs signed with our client secret."""
from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from flask import request

from service.config import Settings
from service.errors import Unauthorized
from service.web import auth_hs256

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
    """Check signature, algorithm, audience, time and integration; the caller checks the account and jti.
    PyJWT's checks, made without its generic path for tokens in amoCRM's form (web/auth_hs256.py)."""
    if not token:
        raise Unauthorized("X-Auth-Token header is missing")
    try:
        data = auth_hs256.decode(token, settings.client_secret, list(settings.token_audiences),
                                 settings.token_leeway_seconds, REQUIRED_CLAIMS)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid widget token: {_reason(exc)}") from None
    if data["client_uuid"] != settings.client_id:
        raise Unauthorized("token was issued for another integration")
    return Claims(_id(data, "account_id"), _id(data, "user_id"), _jti(data["jti"]), _exp(data["exp"]),
                  str(data["iss"]), _flag(data.get("is_admin", False)))


MAX_ID = 2 ** 53  # amoCRM ids are JavaScript-safe integers
MAX_LIFETIME = 3600  # amoCRM's tokens live 30 minutes (FACTS §2); an `exp` further out is not theirs


def _id(data: dict, name: str) -> int:
    """A positive integer id; a digit string is taken as the PHP client takes it, nothing else (no floats)."""
    value = data[name]
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        value = int(value)
    if type(value) is not int or not 0 < value < MAX_ID:
        raise Unauthorized(f"token {name} must be a positive integer")
    return value


def _jti(value) -> str:
    """The token's id: a short string (it names a Redis key)."""
    if not isinstance(value, str) or not 0 < len(value) <= 128:
        raise Unauthorized("token jti must be a string of 1 to 128 characters")
    return value


def _exp(value) -> int:
    """The expiry, bounded: a token claiming to live for years would make its one-use key live as long."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value > time.time() + MAX_LIFETIME:
        raise Unauthorized(f"token exp must be a time at most {MAX_LIFETIME // 60} minutes from now")
    return int(value)


FLAGS = {True: True, False: False, 1: True, 0: False, "true": True, "false": False, "1": True, "0": False,
         None: False}  # null: not said, as when absent


def _flag(value) -> bool:
    """`is_admin` as a strict boolean: true/false, 1/0 or their strings; "false" or "no" is never truthy."""
    key = value.lower() if isinstance(value, str) else value
    try:
        return FLAGS[key]
    except (KeyError, TypeError):  # an unhashable list or dict
        raise Unauthorized("token is_admin must be true or false") from None


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
