"""OAuth as amoCRM runs it: single-use codes and refresh tokens, expiry, install redirect, disable hook."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit


def creds(state) -> dict:
    conf = state.world.settings["oauth"]
    return {"client_id": conf["client_id"], "client_secret": conf["client_secret"], "redirect_uri": conf["redirect_uri"]}


def exchange(client, state, code):
    return client.post("/oauth2/access_token", json={**creds(state), "grant_type": "authorization_code", "code": code})


def refresh(client, state, token):
    return client.post("/oauth2/access_token", json={**creds(state), "grant_type": "refresh_token", "refresh_token": token})


def test_authorization_code_works_once(client, state):
    code = state.tokens.issue_code()
    assert exchange(client, state, code).status_code == 200
    again = exchange(client, state, code)
    assert again.status_code == 400
    assert again.get_json()["hint"] == "Authorization code has been revoked"


def test_authorization_code_expires_after_20_minutes(client, state):
    clock = [1_000_000.0]
    state.world.clock = lambda: clock[0]
    code = state.tokens.issue_code()
    clock[0] += 20 * 60 + 1
    response = exchange(client, state, code)
    assert response.status_code == 400 and response.get_json()["hint"] == "Authorization code has expired"


def test_refresh_token_is_single_use_and_the_new_pair_works(client, state):
    first = exchange(client, state, state.tokens.issue_code()).get_json()
    second = refresh(client, state, first["refresh_token"])
    assert second.status_code == 200
    reused = refresh(client, state, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.get_json()["type"].endswith("OAuthProblemJson")
    assert refresh(client, state, second.get_json()["refresh_token"]).status_code == 200


def test_wrong_client_secret_is_401_and_wrong_redirect_uri_is_400(client, state):
    body = {**creds(state), "grant_type": "authorization_code", "code": state.tokens.issue_code()}
    assert client.post("/oauth2/access_token", json={**body, "client_secret": "nope"}).status_code == 401
    assert client.post("/oauth2/access_token", json={**body, "redirect_uri": "http://other"}).status_code == 400


def test_api_answers_401_without_token_and_after_the_token_expires(client, state):
    clock = [2_000_000.0]
    state.world.clock = lambda: clock[0]
    state.world.settings["oauth"]["access_token_ttl"] = 60
    pair = exchange(client, state, state.tokens.issue_code()).get_json()
    assert pair["expires_in"] == 60
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.get("/api/v4/account").status_code == 401
    assert client.get("/api/v4/account", headers=headers).status_code == 200
    clock[0] += 61
    assert client.get("/api/v4/account", headers=headers).status_code == 401


def test_install_calls_the_redirect_uri_like_amocrm(client, state, receiver):
    state.world.settings["oauth"]["redirect_uri"] = receiver.url + "/oauth/callback"
    result = client.post("/_sandbox/install", json={}).get_json()
    assert result["status"] == 200
    query = parse_qs(urlsplit(receiver.requests[0]["path"]).query)
    assert set(query) == {"code", "referer", "platform", "client_id", "from_widget"}
    assert query["from_widget"] == ["1"] and query["client_id"] == [creds(state)["client_id"]]
    assert exchange(client, state, query["code"][0]).status_code == 200


def test_disable_hook_is_signed_and_revokes_tokens(client, state, auth, receiver):
    state.world.settings["oauth"]["disable_hook_url"] = receiver.url + "/oauth/disable"
    client.post("/_sandbox/disable", json={})
    query = {k: v[0] for k, v in parse_qs(urlsplit(receiver.requests[0]["path"]).query).items()}
    conf, account_id = state.world.settings["oauth"], state.world.account["id"]
    expected = hmac.new(conf["client_secret"].encode(), f"{conf['client_id']}|{account_id}".encode(),
                        hashlib.sha256).hexdigest()
    assert query == {"account_id": str(account_id), "client_uuid": conf["client_id"], "signature": expected}
    assert client.get("/api/v4/account", headers=auth).status_code == 401
