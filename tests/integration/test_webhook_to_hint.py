"""The spine: a real status_lead webhook, stored durably, applied by a real RQ worker, read by the widget API."""
from __future__ import annotations

import json

import pytest

from service.services.hook_urls import hook_secret
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.samples import webhook_bodies
from tests.support.tokens import mint_token

FORM = "application/x-www-form-urlencoded"
STATUS_LEAD = webhook_bodies("status_lead_modern.txt")[0]
LEAD_ID = 30052055


def post_hook(client, settings, body=STATUS_LEAD, account_id=ACCOUNT.id, secret=None, **kw):
    secret = secret or hook_secret(settings.secret_key, account_id)
    kw.setdefault("content_type", FORM)
    return client.post(f"/hooks/{account_id}/{secret}", data=body, **kw)


def get_hints(client, token, lead_id=LEAD_ID, **headers):
    return client.get(f"/api/v1/leads/{lead_id}/hints", headers={"X-Auth-Token": token, **headers})


def test_status_lead_webhook_becomes_a_stuck_hint(client, settings, account, run_worker, deps):
    answer = post_hook(client, settings)
    assert answer.status_code == 204 and answer.data == b"", answer.data
    assert deps.store.inbox_length(account.id) == 1
    run_worker()
    assert deps.store.inbox_length(account.id) == 0
    reply = get_hints(client, mint_token(settings, account))
    assert reply.status_code == 200
    [hint] = reply.json["hints"]
    assert hint["code"] == "stuck_in_stage"
    assert hint["severity"] == "critical"  # entered the stage in April 2025
    assert hint["threshold"]["source_code"] == "default"
    assert hint["value"] > 500 and hint["unit"] == "days"
    assert set(hint["text"]) == {"ru", "en"} and set(hint["action"]) == {"ru", "en"}
    assert hint["as_of"] == reply.json["as_of"]
    lead = deps.store.get_leads(account.id, [LEAD_ID])[LEAD_ID]
    assert (lead.status_id, lead.pipeline_id, lead.price, lead.responsible_user_id) == (17944876, 936736, 45000,
                                                                                         2852878)
    assert lead.stage_entered_at == 1744532990


def test_old_layout_without_account_id_is_matched_by_subdomain(client, settings, deps, run_worker):
    old = webhook_bodies("status_lead_2016_raw.txt")[0]
    from service.model import Account
    deps.store.save_account(Account(id=10216991, subdomain="test000002"))
    assert post_hook(client, settings, old, account_id=10216991).status_code == 204
    run_worker()
    lead = deps.store.get_leads(10216991, [31926520])[31926520]
    assert (lead.status_id, lead.stage_entered_at) == (10216994, 1456820780)


def test_every_shared_lead_sample_is_accepted(client, settings, deps, account, run_worker):
    for body in webhook_bodies("leads_add_update_delete_2025_raw.txt"):
        assert post_hook(client, settings, body).status_code == 204
    run_worker()
    assert deps.store.get_leads(account.id, [LEAD_ID])[LEAD_ID].is_deleted


def test_wrong_secret_is_forbidden_and_nothing_is_stored(client, settings, account, deps):
    answer = post_hook(client, settings, secret="0" * 64)
    assert answer.status_code == 403 and answer.json["error"] == "forbidden"
    assert deps.store.inbox_length(account.id) == 0


def test_unknown_account_is_not_found(client, settings, deps):
    answer = post_hook(client, settings)
    assert answer.status_code == 404 and "16700680" in answer.json["message"]


def test_body_from_another_account_is_refused(client, settings, account, deps):
    body = STATUS_LEAD.replace(b"account%5Bid%5D=16700680", b"account%5Bid%5D=777")
    answer = post_hook(client, settings, body)
    assert answer.status_code == 403 and "777" in answer.json["message"]


@pytest.mark.parametrize("body, named", [
    (b"leads%5Bstatus%5D%5B0%5D%5Bid=1&account%5Bid%5D=16700680", "malformed key"),
    (b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=abc&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=1"
     b"&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=2&account%5Bid%5D=16700680", "[id]='abc'"),
    (b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1", "account[id] or account[subdomain]"),
    (b"account%5Bid%5D=x1", "account[id]='x1'"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_malformed_body_is_400_naming_the_problem_and_nothing_is_queued(client, settings, account, deps,
                                                                        body, named):
    answer = post_hook(client, settings, body)
    assert answer.status_code == 400, answer.json
    assert named in answer.json["message"]
    assert deps.store.inbox_length(account.id) == 0
    assert deps.queues["webhooks"].count == 0


def test_good_items_are_kept_and_bad_ones_reported(client, settings, account, deps, run_worker):
    bad = (b"&leads%5Bstatus%5D%5B1%5D%5Bid%5D=9&leads%5Bstatus%5D%5B1%5D%5Bstatus_id%5D=oops"
           b"&leads%5Bstatus%5D%5B1%5D%5Bpipeline_id%5D=1")
    answer = post_hook(client, settings, STATUS_LEAD + bad)
    assert answer.status_code == 202
    assert answer.json["accepted"] == 1
    assert answer.json["rejected"] == ["leads[status][1]: [status_id]='oops': Not a valid integer."]
    run_worker()
    assert set(deps.store.get_leads(account.id, [LEAD_ID, 9])) == {LEAD_ID}


def test_wrong_content_type_is_415(client, settings, account):
    answer = post_hook(client, settings, json.dumps({"a": 1}), content_type="application/json")
    assert answer.status_code == 415 and "application/x-www-form-urlencoded" in answer.json["message"]


def test_oversized_body_is_413(client, settings, account, deps):
    answer = post_hook(client, settings, STATUS_LEAD + b"&x=" + b"a" * settings.max_webhook_bytes)
    assert answer.status_code == 413 and "limit" in answer.json["message"]
    assert deps.store.inbox_length(account.id) == 0


def test_many_webhooks_queue_one_drain(client, settings, account, deps):
    for _ in range(5):
        post_hook(client, settings)
    assert deps.store.inbox_length(account.id) == 5
    assert deps.queues["webhooks"].count == 1


def test_older_event_never_overwrites_newer_state(client, settings, account, deps, run_worker):
    newer = STATUS_LEAD.replace(b"1744532990", b"1744540000").replace(b"17944876", b"17944880")
    post_hook(client, settings, newer)
    post_hook(client, settings, STATUS_LEAD)
    run_worker()
    lead = deps.store.get_leads(account.id, [LEAD_ID])[LEAD_ID]
    assert (lead.status_id, lead.stage_entered_at) == (17944880, 1744540000)


def test_token_signed_with_another_secret_is_401(client, settings, account):
    reply = get_hints(client, mint_token(settings, account, secret="not-our-secret-but-just-as-long-as-ours"))
    assert reply.status_code == 401 and "signature" in reply.json["message"]


def test_valid_token_for_another_account_is_403(client, settings, account):
    reply = get_hints(client, mint_token(settings, OTHER_ACCOUNT))
    assert reply.status_code == 403 and "777" in reply.json["message"]


def test_reused_token_is_401(client, settings, account):
    token = mint_token(settings, account)
    assert get_hints(client, token).status_code == 200
    again = get_hints(client, token)
    assert again.status_code == 401 and "already used" in again.json["message"]


@pytest.mark.parametrize("claims, named", [
    ({"aud": "https://evil.example"}, "audience"),
    ({"exp": 1000, "iat": 900, "nbf": 900}, "expired"),
    ({"nbf": 4_000_000_000}, "not valid yet"),
    ({"client_uuid": "someone-else"}, "another integration"),
    ({"iss": "https://other.amocrm.ru"}, "issuer"),
    ({"jti": None}, "'jti' claim is missing"),
    ({"account_id": "abc"}, "must be a positive integer"),
])
def test_token_checks(client, settings, account, claims, named):
    reply = get_hints(client, mint_token(settings, account, **claims))
    assert reply.status_code == 401 and named in reply.json["message"]


def test_missing_token_is_401(client, account):
    reply = client.get(f"/api/v1/leads/{LEAD_ID}/hints")
    assert reply.status_code == 401 and "X-Auth-Token" in reply.json["message"]


def test_unknown_lead_has_an_empty_card(client, settings, account):
    reply = get_hints(client, mint_token(settings, account), lead_id=1)
    assert reply.json == {"lead_id": 1, "as_of": None, "hints": [], "hidden": 0}


def test_cors_preflight_allows_only_the_accounts_origin(client, account):
    ok = client.options(f"/api/v1/leads/{LEAD_ID}/hints", headers={
        "Origin": account.origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "X-Auth-Token"})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == account.origin
    assert "X-Auth-Token" in ok.headers["Access-Control-Allow-Headers"]
    evil = client.options(f"/api/v1/leads/{LEAD_ID}/hints", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil.headers


def test_answer_is_readable_only_from_the_tokens_own_origin(client, settings, account):
    mine = get_hints(client, mint_token(settings, account), Origin=account.origin)
    assert mine.headers["Access-Control-Allow-Origin"] == account.origin
    other = get_hints(client, mint_token(settings, account), Origin="https://other.amocrm.ru")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_full_recompute_keeps_a_card_that_a_webhook_refreshed_while_it_ran(client, settings, account, run_worker,
                                                                            deps, monkeypatch):
    from service.services import intake, recompute
    assert post_hook(client, settings).status_code == 204
    run_worker()
    assert deps.store.read_card(account.id, LEAD_ID)["hints"]  # stuck in its stage
    real_core = recompute.recompute_core
    won = (f"account[id]={account.id}&leads[status][0][id]={LEAD_ID}&leads[status][0][status_id]=142"
           f"&leads[status][0][pipeline_id]=936736&leads[status][0][old_status_id]=17944876"
           f"&leads[status][0][updated_at]=1900000000")

    def core_while_the_deal_is_won(*args, **kwargs):  # the snapshot is taken; the deal is won meanwhile
        assert post_hook(client, settings, won).status_code == 204
        intake.drain_inbox(deps, account.id)
        assert deps.store.read_card(account.id, LEAD_ID)["hints"] == []
        return real_core(*args, **kwargs)
    monkeypatch.setattr(recompute, "recompute_core", core_while_the_deal_is_won)
    recompute.recompute_account(deps, account.id)
    assert deps.store.read_card(account.id, LEAD_ID)["hints"] == []  # not the snapshot's stale stuck hint
