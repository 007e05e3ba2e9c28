"""The token endpoint and where an account's API lives."""
import pytest
import responses

from service.amocrm import oauth
from service.config import Settings

SETTINGS = Settings(public_url="https://dp.example")


@pytest.mark.parametrize("referer", ["example.amocrm.ru", "example.amocrm.com", "example.kommo.com",
                                     "https://Example.amocrm.ru/", "a-b.kommo.com"])
def test_amocrm_hosts_are_accepted(referer):
    assert oauth.account_host_base(SETTINGS, referer) == f"https://{oauth.referer_host(referer)}"


@pytest.mark.parametrize("referer", ["evil.example", "amocrm.ru.evil.example", "example.amocrm.ru:8443",
                                     "user@example.amocrm.ru", "amocrm.ru", "", "evilamocrm.ru"])
def test_other_hosts_are_refused(referer):
    with pytest.raises(ValueError):
        oauth.account_host_base(SETTINGS, referer)


def test_api_base_override_accepts_any_referer_and_replaces_the_host():
    sandbox = Settings(amocrm_api_base="http://127.0.0.1:8100/")
    base = oauth.account_host_base(sandbox, "127.0.0.1:8100")
    assert oauth.api_base(sandbox, base) == "http://127.0.0.1:8100"
    assert oauth.api_base(SETTINGS, "https://x.amocrm.ru") == "https://x.amocrm.ru"


@responses.activate
def test_code_exchange_sends_the_documented_json_body():
    responses.post("https://x.amocrm.ru/oauth2/access_token",
                   json={"token_type": "Bearer", "expires_in": 86400, "server_time": 1,
                         "access_token": "a", "refresh_token": "r"})
    pair = oauth.exchange_code(oauth.requests.Session(), SETTINGS, "https://x.amocrm.ru", "the-code", now=1000)
    assert (pair.access_token, pair.refresh_token, pair.expires_at) == ("a", "r", 1000 + 86400 - 60)
    body = responses.calls[0].request.body
    assert b'"grant_type": "authorization_code"' in body and b'"code": "the-code"' in body
    assert b'"redirect_uri": "https://dp.example/oauth/callback"' in body
    assert "a" not in repr(pair).replace("access", "").replace("TokenPair", "").replace("expires_at", "")


@responses.activate
def test_a_refused_grant_is_distinguished_from_an_outage():
    responses.post("https://x.amocrm.ru/oauth2/access_token", status=400, json={"hint": "Code has expired"})
    with pytest.raises(oauth.GrantRejected, match="expired"):
        oauth.exchange_code(oauth.requests.Session(), SETTINGS, "https://x.amocrm.ru", "c", now=0)
    responses.replace(responses.POST, "https://x.amocrm.ru/oauth2/access_token", status=502)
    with pytest.raises(oauth.OAuthError) as info:
        oauth.exchange_code(oauth.requests.Session(), SETTINGS, "https://x.amocrm.ru", "c", now=0)
    assert not isinstance(info.value, oauth.GrantRejected)


# --- issue 16: only account hosts, and the client secret never follows a redirect
@pytest.mark.parametrize("referer", ["www.amocrm.ru", "status.amocrm.ru", "www.kommo.com", "x.y.amocrm.ru",
                                     "unirock.status.amocrm.ru", "-x.amocrm.ru", "x-.kommo.com",
                                     "unirock.amocrm.ru."])
def test_non_account_hosts_of_amocrm_are_refused(referer):
    with pytest.raises(ValueError):
        oauth.account_host_base(SETTINGS, referer)


def test_the_account_label_is_the_subdomain():
    assert oauth.account_label("unirock.kommo.com") == "unirock"
    assert oauth.account_label("www.amocrm.ru") is None and oauth.account_label("a.b.amocrm.ru") is None


@responses.activate
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_from_the_token_endpoint_is_not_followed(status):
    responses.post("https://x.amocrm.ru/oauth2/access_token", status=status,
                   headers={"Location": "http://collector.example/steal"})
    stolen = responses.post("http://collector.example/steal", json={"access_token": "a", "refresh_token": "r"})
    with pytest.raises(oauth.OAuthError, match="redirect"):
        oauth.exchange_code(oauth.requests.Session(), SETTINGS, "https://x.amocrm.ru", "c", now=0)
    with pytest.raises(oauth.OAuthError, match="redirect"):
        oauth.refresh(oauth.requests.Session(), SETTINGS, "https://x.amocrm.ru", "r", now=0)
    assert stolen.call_count == 0
