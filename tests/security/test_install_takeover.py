"""Issue 16, point 1: the OAuth callback as an outsider uses it. Each test replays an attack that got through
before: a referer that is not an account host, a redirect carrying our client secret away, an account answer that
takes over another tenant, install state stored per anonymous page view, code exchanges on the webhook queue."""
from __future__ import annotations

import pytest
import responses

from service.services import accounts, queueing
from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from tests.conftest import ACCOUNT

PAIR = {"token_type": "Bearer", "expires_in": 86400, "server_time": 1, "access_token": "attacker-acc",
        "refresh_token": "attacker-ref"}


def body(account_id=ACCOUNT.id, subdomain="unirock"):
    return {"id": account_id, "subdomain": subdomain, "is_api_filter_enabled": False,
            "_embedded": {"datetime_settings": {"timezone": "UTC"}}}


def callback(client, referer, **query):
    return client.get("/oauth/callback", query_string={"code": "def50200code", "referer": referer, **query})


@pytest.fixture
def victim(deps, settings, account):
    """An installed tenant with its own tokens."""
    pair = TokenPair("victim-acc", "victim-ref", 9_000_000_000)
    TokenKeeper(deps.store, settings, None, deps.clock).save(account.id, pair)
    deps.store.set_install_id(account.id, "first")
    return account


def victim_untouched(deps, settings):
    stored = deps.store.get_account(ACCOUNT.id)
    pair = TokenKeeper(deps.store, settings, None, deps.clock).current(ACCOUNT.id)
    return stored == ACCOUNT and pair.access_token == "victim-acc" and deps.store.install_id(ACCOUNT.id) == "first"


@pytest.mark.parametrize("referer", ["www.amocrm.ru", "status.amocrm.ru", "www.kommo.com", "evil.unirock.amocrm.ru",
                                     "x.y.kommo.com"])
def test_a_referer_that_is_no_account_host_queues_nothing(client, deps, referer):
    answer = callback(client, referer)
    assert answer.status_code == 400 and all(q.count == 0 for q in deps.queues.values())


@responses.activate
def test_a_redirect_never_carries_the_client_secret_away(client, deps, settings, run_worker):
    responses.post("https://attacker.amocrm.ru/oauth2/access_token", status=307,
                   headers={"Location": "http://collector.example/grab"})
    grab = responses.post("http://collector.example/grab", json=PAIR)
    assert callback(client, "attacker.amocrm.ru").status_code == 200
    run_worker()
    assert grab.call_count == 0
    assert all(settings.client_secret.encode() not in (c.request.body or b"") for c in responses.calls
               if "collector" in c.request.url)
    [failed] = deps.queues["install"].failed_job_registry.get_job_ids()
    assert deps.redis.ttl(f"rq:job:{failed}") <= queueing.INSTALL_FAILURE_TTL  # kept minutes, not a year


@responses.activate
@pytest.mark.parametrize("referer,answer,why", [
    ("attacker.amocrm.ru", body(), "not the referer"),  # a host whose answer claims the victim's id
    ("renamed.amocrm.ru", body(subdomain="renamed"), "is installed as"),  # the victim's id under another name
    ("unirock.amocrm.ru", body(account_id=999), "belongs to installed account"),  # the victim's host, another id
])
def test_an_install_never_takes_over_an_installed_tenant(client, deps, settings, run_worker, victim, referer, answer,
                                                         why, caplog):
    host = f"https://{referer}"
    responses.post(f"{host}/oauth2/access_token", json=PAIR)
    responses.get(f"{host}/api/v4/account", json=answer)
    hooks = responses.post(responses.matchers.re.compile(r"https://.*/api/v4/webhooks"), status=201, json={})
    assert callback(client, referer).status_code == 200
    run_worker()
    assert victim_untouched(deps, settings)
    assert hooks.call_count == 0  # the victim's secret hook URL went nowhere
    assert why in caplog.text


@responses.activate
def test_the_same_tenant_reinstalling_replaces_its_tokens(client, deps, settings, run_worker, victim):
    responses.post(f"{victim.base_url}/oauth2/access_token", json=PAIR)
    responses.get(f"{victim.base_url}/api/v4/account", json=body())
    responses.post(f"{victim.base_url}/api/v4/webhooks", status=201, json={})
    responses.get(responses.matchers.re.compile(rf"{victim.base_url}/api/v4/.*"), status=204)
    assert callback(client, "unirock.amocrm.ru").status_code == 200
    run_worker()
    assert TokenKeeper(deps.store, settings, None, deps.clock).current(victim.id).access_token == "attacker-acc"
    assert deps.store.install_id(victim.id) not in ("", "first")  # a new install generation


def test_install_pages_store_nothing_and_their_state_is_signed(client, deps):
    pages = [client.get("/install") for _ in range(20)]
    assert all(p.status_code == 200 for p in pages)
    assert [k for k in deps.redis.keys("*") if not k.startswith(b"dp:rl:anon:")] == []  # only the window counters
    state = pages[0].text.split("state=")[1].split('"')[0]
    expiry, nonce, mac = state.split(".")
    for forged in (f"{int(expiry) + 60}.{nonce}.{mac}", f"{expiry}.other.{mac}", f"{expiry}.{nonce}.{'0' * 32}"):
        assert callback(client, "unirock.amocrm.ru", state=forged).status_code == 403
    assert callback(client, "unirock.amocrm.ru", state=state).status_code == 200


@pytest.mark.parametrize("state", ["", "²³.nonce.mac", "1.2.3.4", "x" * 5000, "9" * 150 + ".n.m", "ü.ü.ü"])
def test_a_malformed_state_is_403_never_500(client, deps, state):
    assert callback(client, "unirock.amocrm.ru", state=state).status_code == 403


def test_an_expired_state_is_refused(client, deps, settings):
    old = accounts.sign_state(settings.secret_key, deps.clock() - accounts.STATE_TTL - 1)
    assert callback(client, "unirock.amocrm.ru", state=old).status_code == 403
    other_key = accounts.sign_state("another-deployment-secret-key-000000", deps.clock())
    assert callback(client, "unirock.amocrm.ru", state=other_key).status_code == 403
    assert deps.queues["install"].count == 0


def test_an_install_without_state_is_amocrms_widget_install(client, deps):
    """amoCRM's own install sends code, referer and from_widget only: accepted, on the install queue."""
    assert callback(client, "unirock.amocrm.ru", from_widget="1").status_code == 200
    assert deps.queues["install"].count == 1 and deps.queues["webhooks"].count == 0


def test_the_install_queue_ranks_below_webhooks():
    from service.bootstrap import QUEUE_NAMES
    assert QUEUE_NAMES.index("webhooks") < QUEUE_NAMES.index("install")
