"""The widget token's check as PyJWT 2.15 makes it (`jwt.decode` with algorithms=["HS256"], an audience, a leeway and
required claims), without its generic path on every request.

PyJWT tests each base64 character of the ~460-byte token in a Python loop and prepares the key on each call: about
half of a card read's own CPU went there. A token in the form amoCRM issues (a header seen and vetted before, three
unpadded canonical base64url segments) is checked here; any other form (padding, another header, junk) goes to
PyJWT itself. The checks and their order are PyJWT's: the header, the HMAC-SHA256 signature (constant-time
compare), the payload, then iat, nbf, exp with the leeway, aud, sub and jti, raising PyJWT's own exceptions, so the
caller's messages do not change. tests/security/test_token_check.py holds this and PyJWT to the same verdict on a
corpus of valid, tampered and malformed tokens.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable, Optional

import jwt
from jwt import exceptions as errors
from jwt.algorithms import HMACAlgorithm

SEGMENT = re.compile(rb"[A-Za-z0-9_-]+")
VETTED: dict[bytes, bool] = {}  # header segments PyJWT's header checks pass for HS256, seen on a well-signed token
MAX_VETTED = 64  # amoCRM sends one header; a flood of made-up ones is checked by PyJWT, not remembered


def decode(token: str, secret: str, audience: list[str], leeway: float, require: list[str]) -> dict:
    """The verified claims, as `jwt.decode` returns them; PyJWT's exceptions as it raises them."""
    claims = _decode_plain(token, secret, audience, leeway, require)
    if claims is not None:
        return claims
    return jwt.decode(token, secret, algorithms=["HS256"], audience=audience, leeway=leeway,
                      options={"require": require})


def _decode_plain(token, secret: str, audience: list[str], leeway: float, require: list[str]) -> Optional[dict]:
    """The claims of a token in amoCRM's form; None for any other form (PyJWT decides)."""
    if not isinstance(token, str) or not token.isascii():
        return None
    parts = token.encode().split(b".")
    if len(parts) != 3 or not _vetted(parts[0]):
        return None
    payload, signature = _segment(parts[1]), _segment(parts[2])
    if payload is None or signature is None:
        return None
    expected = hmac.new(_key(secret), parts[0] + b"." + parts[1], hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise errors.InvalidSignatureError("Signature verification failed")
    if len(VETTED) < MAX_VETTED:  # remembered once signed with our secret: forged headers cannot fill the table
        VETTED[parts[0]] = True
    claims = _claims(payload)
    validate(claims, audience, leeway, require)
    return claims


def _segment(segment: bytes) -> Optional[bytes]:
    """The bytes of an unpadded, canonical base64url segment (as PyJWT would decode it); None otherwise."""
    if not SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        return None
    try:
        decoded = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment:
        return None  # bits set past the last byte: PyJWT refuses it, with its own words
    return decoded


def _vetted(segment: bytes) -> bool:
    """True for a header PyJWT passes with algorithms=["HS256"]: alg HS256, no crit or b64, kid (if any) a string."""
    if segment in VETTED:
        return True
    raw = _segment(segment)
    try:
        header = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):
        return False
    return isinstance(header, dict) and header.get("alg") == "HS256" and "crit" not in header \
        and "b64" not in header and isinstance(header.get("kid", ""), str)


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    """The secret as PyJWT prepares an HMAC key (refusing a PEM or SSH key), once per secret."""
    return HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(secret)


def _claims(payload: bytes) -> dict:
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise errors.DecodeError(f"Invalid payload string: {exc}") from exc
    if not isinstance(claims, dict):
        raise errors.DecodeError("Invalid payload string: must be a json object")
    return claims


def validate(claims: dict, audience: Iterable[str], leeway: float, require: list[str]) -> None:
    """PyJWT's claim checks with its default options: required present, iat and nbf not ahead, exp not passed (each
    with the leeway, each read through int() as PyJWT reads it), aud among ours, sub and jti strings."""
    for claim in require:
        if claims.get(claim) is None:
            raise errors.MissingRequiredClaimError(claim)
    now = datetime.now(tz=timezone.utc).timestamp()
    if "iat" in claims and _time(claims["iat"], errors.InvalidIssuedAtError, "Issued At claim (iat)") > now + leeway:
        raise errors.ImmatureSignatureError("The token is not yet valid (iat)")
    if "nbf" in claims and _time(claims["nbf"], errors.DecodeError, "Not Before claim (nbf)") > now + leeway:
        raise errors.ImmatureSignatureError("The token is not yet valid (nbf)")
    if "exp" in claims and _time(claims["exp"], errors.DecodeError, "Expiration Time claim (exp)") <= now - leeway:
        raise errors.ExpiredSignatureError("Signature has expired")
    _audience(claims, list(audience))
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise errors.InvalidSubjectError("Subject must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise errors.InvalidJTIError("JWT ID must be a string")


def _time(value, error: type, name: str) -> int:
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        raise error(f"{name} must be an integer.") from None


def _audience(claims: dict, audience: list[str]) -> None:
    """PyJWT's non-strict audience check."""
    if not claims.get("aud"):
        raise errors.MissingRequiredClaimError("aud")
    found = claims["aud"]
    found = [found] if isinstance(found, str) else found
    if not isinstance(found, list) or any(not isinstance(c, str) for c in found):
        raise errors.InvalidAudienceError("Invalid claim format in token")
    if all(aud not in found for aud in audience):
        raise errors.InvalidAudienceError("Audience doesn't match")
