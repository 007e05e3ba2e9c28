"""Widget-token attacks (FACTS §2): every forged, stale, replayed or misdirected token is refused."""
import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.model import Account
from tests.support.tokens import mint_token

URL = "/api/v1/leads/30052055/hints"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(settings, account, **overrides):
    now = int(time.time())
    base = {"iss": account.origin, "aud": settings.token_audience, "jti": f"j-{time.time_ns()}", "iat": now,
            "nbf": now, "exp": now + 1800, "account_id": account.id, "user_id": 1, "client_uuid": settings.client_id}
    return {**base, **overrides}


def call(client, token):
    return client.get(URL, headers={"X-Auth-Token": token})


def test_alg_none_is_refused(client, settings, account):
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(settings, account))}."
    answer = call(client, token)
    assert answer.status_code == 401 and "algorithm" in answer.json["message"]


def test_rs256_token_is_refused_even_with_our_secret_as_its_key(client, settings, account):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(settings, account), key, algorithm="RS256")
    assert call(client, token).status_code == 401


def test_hs_rs_confusion_signing_with_a_public_key_is_refused(client, settings, account):
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header, payload = b64({"alg": "HS256", "typ": "JWT"}), b64(claims(settings, account))
    import hashlib
    import hmac
    signature = base64.urlsafe_b64encode(hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert call(client, f"{header}.{payload}.{signature.rstrip(b'=').decode()}").status_code == 401


@pytest.mark.parametrize("overrides, reason", [  # times made when the test runs: a long suite must not age them
    (lambda now: {"exp": now - 300, "iat": now - 2000, "nbf": now - 2000}, "expired"),
    (lambda now: {"nbf": now + 600}, "not valid yet"),
    (lambda now: {"iat": now + 600}, "not valid yet"),
    (lambda now: {"aud": "https://evil.example"}, "audience"),
    (lambda now: {"client_uuid": "another-integration"}, "another integration"),
    (lambda now: {"iss": "https://evil.amocrm.ru"}, "issuer"),
])
def test_stale_or_misdirected_tokens_are_refused(client, settings, account, overrides, reason):
    token = claims(settings, account, **overrides(int(time.time())))
    answer = call(client, jwt.encode(token, settings.client_secret, "HS256"))
    assert answer.status_code == 401 and reason in answer.json["message"]


@pytest.mark.parametrize("skew", [-110, 110])
def test_two_minutes_of_clock_skew_is_tolerated(client, settings, account, skew):
    now = int(time.time()) + skew
    token = jwt.encode(claims(settings, account, iat=now, nbf=now, exp=now + 1800), settings.client_secret, "HS256")
    assert call(client, token).status_code == 200


def test_replayed_token_is_refused_with_its_own_code_and_counted(client, settings, account):
    token = mint_token(settings, account)
    assert call(client, token).status_code == 200
    for _ in range(2):
        answer = call(client, token)
        assert answer.status_code == 401 and answer.json["error"] == "token_replayed"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'deal_pulse_widget_token_replays_total{{account="{account.id}"}} 2' in metrics


@pytest.mark.parametrize("redirect, good, bad", [
    ("https://auth.example.com/oauth/callback", ["https://auth.example.com"],
     ["https://api.example.com", "http://auth.example.com", "https://auth.example.com:8443"]),
    ("https://auth.example.com:8443/cb", ["https://auth.example.com:8443", "https://auth.example.com"],
     ["https://auth.example.com:9443", "http://auth.example.com:8443"]),
])
def test_audience_is_the_redirect_uris_scheme_and_host_not_public_url(deps, account, redirect, good, bad):
    from dataclasses import replace

    from service import create_app
    deps.settings = replace(deps.settings, public_url="https://api.example.com", amocrm_redirect_uri=redirect)
    client = create_app(deps=deps).test_client()
    for aud in good:
        token = jwt.encode(claims(deps.settings, account, aud=aud), deps.settings.client_secret, "HS256")
        assert call(client, token).status_code == 200, aud
    for aud in bad:
        token = jwt.encode(claims(deps.settings, account, aud=aud), deps.settings.client_secret, "HS256")
        answer = call(client, token)
        assert answer.status_code == 401 and "audience" in answer.json["message"], aud


def test_token_of_an_account_that_is_not_installed_is_forbidden(client, settings, account):
    stranger = Account(id=4242, subdomain="stranger")
    assert call(client, mint_token(settings, stranger)).status_code == 403


def test_token_of_a_deleted_account_is_forbidden(client, settings, account, deps):
    deps.store.delete_account(account.id)
    assert call(client, mint_token(settings, account)).status_code == 403


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a" * 10_000, "ey.ey.ey", "\u0000.\u0000.\u0000"])
def test_garbage_tokens_get_401_not_500(client, account, token):
    answer = client.get(URL, headers={"X-Auth-Token": token})
    assert answer.status_code == 401 and answer.json["error"] == "unauthorized"


@pytest.mark.parametrize("path", ["/api/v1/leads/abc/hints", "/api/v1/leads/-1/hints", "/api/v1/leads/1.5/hints",
                                  "/hooks/abc/secret", "/hooks/1.5/secret"])
def test_ids_that_are_not_numbers_are_404(client, settings, account, path):
    method = client.post if path.startswith("/hooks") else client.get
    answer = method(path, headers={"X-Auth-Token": mint_token(settings, account)})
    assert answer.status_code == 404 and answer.json["error"] == "not_found"


# --- issue 16: claim types, bounded numbers, the one-use key outliving the token
@pytest.mark.parametrize("overrides, named", [
    ({"exp": 2 ** 62}, "exp must be a time"),
    ({"exp": int(time.time()) + 86400 * 365}, "exp must be a time"),
    ({"account_id": 2 ** 62}, "account_id must be a positive integer"),
    ({"account_id": 16700680.5}, "account_id must be a positive integer"),
    ({"account_id": True}, "account_id must be a positive integer"),
    ({"account_id": -16700680}, "account_id must be a positive integer"),
    ({"user_id": "1" * 40}, "user_id must be a positive integer"),
    ({"user_id": [1]}, "user_id must be a positive integer"),
    ({"jti": "j" * 10_000}, "jti must be a string"),
    ({"jti": {"a": 1}}, "must be a string"),
    ({"is_admin": "yes"}, "is_admin must be true or false"),
    ({"is_admin": [True]}, "is_admin must be true or false"),
    ({"is_admin": 2}, "is_admin must be true or false"),
])
def test_claims_of_the_wrong_type_or_out_of_range_are_401_not_503(client, settings, account, overrides, named):
    answer = call(client, jwt.encode(claims(settings, account, **overrides), settings.client_secret, "HS256"))
    assert answer.status_code == 401 and named in answer.json["message"]


@pytest.mark.parametrize("value, admin", [(True, True), (False, False), ("true", True), ("false", False),
                                          ("FALSE", False), (1, True), (0, False), ("0", False)])
def test_is_admin_is_parsed_strictly(settings, account, value, admin):
    from service.web.auth import verify_token
    token = jwt.encode(claims(settings, account, is_admin=value), settings.client_secret, "HS256")
    assert verify_token(token, settings).is_admin is admin


def test_string_false_admin_claim_makes_no_supervisor(client, settings, account):
    """`"false"` was truthy: a user the mirror does not hold yet, with is_admin "false", got every deal."""
    from tests.support.api import MASHA_DEAL, install_world
    install_world(client.application.extensions["deps"])
    token = jwt.encode(claims(settings, account, user_id=4343, is_admin="false"), settings.client_secret, "HS256")
    answer = client.get(f"/api/v1/leads/{MASHA_DEAL.id}/hints", headers={"X-Auth-Token": token})
    assert answer.status_code == 403


def test_the_one_use_key_outlives_the_token_in_its_last_second(deps, account):
    """The key lived int(exp - now) + leeway seconds: a token with 0.7 s left was replayable in its last 0.7 s."""
    from dataclasses import replace

    from service.web.auth import Claims
    from service.store.keys import account_key
    from service.services.widget.access import authorize
    now = 1_900_000_000.3
    leeway = deps.settings.token_leeway_seconds
    frozen = replace(deps, clock=lambda: now)
    authorize(frozen, Claims(account.id, 1, "last-second", int(now) + 1, account.origin))
    accepted_until_ms = (int(now) + 1 + leeway - now) * 1000
    assert deps.redis.pttl(account_key(account.id, "jti", "last-second")) > accepted_until_ms
