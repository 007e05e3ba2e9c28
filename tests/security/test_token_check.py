"""web/auth_hs256.py reaches PyJWT's verdict on every token: the same claims for a good one, the same exception class
for each forged, stale, misdirected or malformed one; and tokens in amoCRM's form are checked without PyJWT."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from service.web import auth_hs256
from service.web.auth import REQUIRED_CLAIMS

SECRET = "s" * 64
AUDIENCE = ["https://dealpulse.example", "https://dealpulse.example:8443"]
LEEWAY = 30
HEADER = {"alg": "HS256", "typ": "JWT"}


def b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def token(claims=None, header=None, secret=SECRET, raw_payload=None) -> str:
    """A token signed by hand: any header, any payload bytes."""
    head = b64(json.dumps(HEADER if header is None else header).encode())
    body = b64(raw_payload if raw_payload is not None else json.dumps(claims).encode())
    signature = b64(hmac.new(secret.encode(), head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + signature).decode()


def good(**overrides) -> dict:
    now = int(time.time())
    claims = {"iss": "https://acme.amocrm.ru", "aud": AUDIENCE[0], "jti": "j-1", "iat": now, "nbf": now,
              "exp": now + 1800, "account_id": 42, "user_id": 7, "client_uuid": "c", "subdomain": "acme"}
    return {k: v for k, v in {**claims, **overrides}.items() if v is not ...}


def verdict(decode, tok):
    try:
        return "ok", decode(tok)
    except Exception as exc:  # noqa: BLE001 — the class is what is compared
        return "raises", type(exc)


def pyjwt(tok):
    return jwt.decode(tok, SECRET, algorithms=["HS256"], audience=AUDIENCE, leeway=LEEWAY,
                      options={"require": REQUIRED_CLAIMS})


def ours(tok):
    return auth_hs256.decode(tok, SECRET, AUDIENCE, LEEWAY, REQUIRED_CLAIMS)


def corpus() -> list[str]:
    now = int(time.time())
    claims = [good()]
    for name in REQUIRED_CLAIMS:
        claims += [good(**{name: ...}), good(**{name: None})]
    for name in ("iat", "nbf", "exp"):
        claims += [good(**{name: value}) for value in (str(now), " 17 ", "x", "1_0", 1.5, True, [], {}, 10 ** 30,
                                                        -(10 ** 30), now + 0.9)]
    claims += [good(iat=now + 600), good(nbf=now + 600), good(iat=now + LEEWAY - 5), good(nbf=now + LEEWAY - 5),
               good(exp=now - 600), good(exp=now - LEEWAY + 5), good(exp=now + 10 ** 9)]
    claims += [good(aud=value) for value in (AUDIENCE[1], [AUDIENCE[0]], ["x", AUDIENCE[1]], "https://evil", [],
                                             "", ["x"], [1], 5, {"a": 1}, [AUDIENCE[0], 2], 0, False)]
    claims += [good(sub=value) for value in ("u", 5, None, [])]
    claims += [good(jti=value) for value in (5, [], "", {"a": 1}, True)]
    tokens = [token(c) for c in claims]
    tokens += [token(good(), header=h) for h in (
        {"alg": "HS256"}, {"alg": "HS256", "typ": "JWT", "kid": "k1"}, {"alg": "HS256", "kid": 5},
        {"alg": "none"}, {"alg": "HS512"}, {"alg": "RS256"}, {"typ": "JWT"}, {"alg": None}, {"alg": ["HS256"]},
        {"alg": "HS256", "crit": ["b64"]}, {"alg": "HS256", "crit": ["exp"]}, {"alg": "HS256", "crit": []},
        {"alg": "HS256", "b64": False}, {"alg": "HS256", "b64": False, "crit": ["b64"]}, {"alg": "HS256", "b64": True},
        ["HS256"], "HS256")]
    tokens += [token(raw_payload=raw) for raw in (b"[]", b"null", b"not json", b'"s"', b"{" * 5000,
                                                  json.dumps(good()).encode("utf-16"), b"\xff\xfe")]
    fine = token(good())
    head, body, signature = fine.split(".")
    tokens += [
        token(good(), secret="another secret"),
        f"{head}.{body}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{head}.{body}.{signature[:-2]}",  # a truncated signature
        f"{head}.{body}.",  # no signature
        f"{head}.{body}",
        f"{head}.{body}.{signature}.x",
        f"{head}.{body}.{signature}=",
        f"{head}=.{body}.{signature}",
        f"{head}.{body}==.{signature}",
        f"{head}.{body}.{signature}\n",
        f" {fine}",
        f"{head}.{body}!.{signature}",
        f"{head}.{body[:-1]}.{signature}",
        f"{head}.{body}.{signature[:-1]}" + chr(ord(signature[-1]) + 1),  # maybe not canonical
        fine.replace(".", ".é", 1),
        "", ".", "..", "a.b.c", "abc", fine + fine,
    ]
    for end in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":  # non-canonical last characters
        tokens.append(f"{head}.{body}.{signature[:-1]}{end}")
    return tokens


def test_every_token_gets_pyjwts_verdict():
    differing = []
    for tok in corpus():
        if verdict(ours, tok) != verdict(pyjwt, tok):
            differing.append((tok, verdict(ours, tok), verdict(pyjwt, tok)))
    assert not differing


def test_a_token_in_amocrms_form_is_checked_without_pyjwt(monkeypatch):
    tok = token(good())
    monkeypatch.setattr(auth_hs256.jwt, "decode", lambda *a, **k: pytest.fail("PyJWT's generic path was taken"))
    assert ours(tok)["user_id"] == 7
    with pytest.raises(jwt.InvalidSignatureError):
        ours(token(good(), secret="another secret"))
    with pytest.raises(jwt.ExpiredSignatureError):
        ours(token(good(exp=int(time.time()) - 600)))


def test_a_pem_key_as_the_secret_is_refused_as_pyjwt_refuses_it():
    pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
    with pytest.raises(jwt.InvalidKeyError):
        auth_hs256.decode(token(good()), pem, AUDIENCE, LEEWAY, REQUIRED_CLAIMS)


def test_forged_headers_cannot_fill_the_vetted_table(monkeypatch):
    """Headers are remembered only from tokens signed with our secret: a flood of made-up ones with any signature
    must not push amoCRM's own header onto PyJWT's slow path for the life of the process."""
    monkeypatch.setattr(auth_hs256, "VETTED", {})
    for n in range(auth_hs256.MAX_VETTED):
        with pytest.raises(jwt.InvalidSignatureError):
            ours(token(good(), header={**HEADER, "kid": str(n)}, secret="not ours"))
    assert ours(token(good()))["user_id"] == 7
    assert list(auth_hs256.VETTED) == [token(good()).split(".")[0].encode()]
