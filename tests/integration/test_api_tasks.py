"""POST /api/v1/leads/<id>/tasks: a one-click follow-up created in amoCRM (mocked at the wire), mirrored at once."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
import responses

from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.store.keys import account_key
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.api import ADMIN, DENIED, MASHA_BIG, MASHA_DEAL, MINE, NOW, OTHER, call, install_world

TASKS_URL = f"{ACCOUNT.origin}/api/v4/tasks"
CREATED = {"_links": {"self": {"href": TASKS_URL}},
           "_embedded": {"tasks": [{"id": 4711, "request_id": "0", "_links": {"self": {"href": f"{TASKS_URL}/4711"}}}]}}


@pytest.fixture
def world(deps, settings):
    install_world(deps)
    TokenKeeper(deps.store, settings, None, deps.clock).save(ACCOUNT.id, TokenPair("access-1", "refresh-1",
                                                                                   NOW + 3600))


@pytest.fixture
def amocrm():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def click(client, settings, user=MINE, lead_id=MASHA_DEAL.id, account=ACCOUNT, **body):
    return call(client, settings, "POST", f"/leads/{lead_id}/tasks", user, account=account, json=body)


def test_click_creates_the_task_for_the_responsible_and_the_hint_disappears(client, settings, world, deps, amocrm):
    amocrm.post(TASKS_URL, json=CREATED)
    reply = click(client, settings, user=ADMIN)  # a supervisor clicks on Masha's deal
    assert reply.status_code == 201, reply.json
    [sent] = json.loads(amocrm.calls[0].request.body)
    noon = int(datetime(2025, 10, 10, 12, tzinfo=ZoneInfo("Europe/Moscow")).timestamp())
    assert sent == {"entity_id": MASHA_DEAL.id, "entity_type": "leads", "responsible_user_id": MINE.id,
                    "complete_till": noon, "text": "Сделайте no_open_task", "task_type_id": 1}
    assert amocrm.calls[0].request.headers["Authorization"] == "Bearer access-1"
    assert reply.json["task"] == {"id": 4711, "lead_id": MASHA_DEAL.id, "responsible_user_id": MINE.id,
                                  "complete_till": noon, "text": "Сделайте no_open_task", "task_type_id": 1}
    assert "no_open_task" not in [h["code"] for h in reply.json["card"]["hints"]]
    assert deps.store.tasks_of(ACCOUNT.id, [MASHA_DEAL.id])[MASHA_DEAL.id][0].id == 4711
    again = call(client, settings, "GET", f"/leads/{MASHA_DEAL.id}/hints", MINE).json
    assert "no_open_task" not in [h["code"] for h in again["hints"]]


def test_default_text_follows_the_users_language(client, settings, world, amocrm):
    amocrm.post(TASKS_URL, json=CREATED)
    assert click(client, settings, lang="en").status_code == 201
    assert json.loads(amocrm.calls[0].request.body)[0]["text"] == "Do no_open_task"


def test_own_text_and_due(client, settings, world, amocrm):
    amocrm.post(TASKS_URL, json=CREATED)
    assert click(client, settings, text="Call about the windows", due=NOW + 7200).status_code == 201
    sent = json.loads(amocrm.calls[0].request.body)[0]
    assert (sent["text"], sent["complete_till"]) == ("Call about the windows", NOW + 7200)


def test_a_deal_without_a_task_hint_is_409_and_amocrm_is_not_called(client, settings, world, amocrm):
    reply = click(client, settings, lead_id=MASHA_BIG.id)
    assert reply.status_code == 409 and len(amocrm.calls) == 0


def test_due_in_the_past_is_400(client, settings, world, amocrm):
    reply = click(client, settings, due=NOW - 60)
    assert reply.status_code == 400 and len(amocrm.calls) == 0


@pytest.mark.parametrize("user", [OTHER, DENIED])
def test_no_task_on_a_deal_one_may_not_view(client, settings, world, amocrm, user):
    assert click(client, settings, user=user).status_code == 403
    assert len(amocrm.calls) == 0


def test_another_accounts_token_creates_nothing_on_our_deal(client, settings, world, amocrm):
    assert click(client, settings, user=1, account=OTHER_ACCOUNT).status_code == 409  # their 101 has no such hint
    assert click(client, settings, user=1, lead_id=103, account=OTHER_ACCOUNT).status_code == 404  # ours only
    assert len(amocrm.calls) == 0


def test_a_double_click_creates_one_task(client, settings, world, deps, amocrm):
    assert deps.store.widget.claim_task_creation(ACCOUNT.id, MASHA_DEAL.id)
    reply = click(client, settings)
    assert reply.status_code == 409 and "already being created" in reply.json["message"]
    assert len(amocrm.calls) == 0


@pytest.mark.parametrize("answer, status, code", [
    (dict(status=400, json={"title": "Bad Request", "detail": "complete_till is invalid"}), 422, "amocrm_rejected"),
    (dict(status=402, json={"title": "Payment Required"}), 402, "amocrm_payment_required"),
    (dict(status=500, body="oops"), 502, "amocrm_unavailable"),
    (dict(body=requests.exceptions.ReadTimeout("slow")), 502, "amocrm_unavailable"),
    (dict(status=429, headers={"Retry-After": "30"}), 503, "amocrm_rate_limited"),
])
def test_amocrm_failures_become_clear_errors_and_the_next_click_may_retry(client, settings, world, deps, amocrm,
                                                                         answer, status, code):
    amocrm.post(TASKS_URL, **answer)
    reply = click(client, settings)
    assert (reply.status_code, reply.json["error"]) == (status, code), reply.json
    assert reply.json["message"]
    assert deps.store.widget.claim_task_creation(ACCOUNT.id, MASHA_DEAL.id)  # the lock was released
    assert deps.store.tasks_of(ACCOUNT.id, [MASHA_DEAL.id])[MASHA_DEAL.id] == []


def test_a_blocked_account_is_503_without_calling_amocrm(client, settings, world, deps, amocrm):
    deps.store.set_account_state(ACCOUNT.id, "blocked", "403 from amoCRM", NOW)
    reply = click(client, settings)
    assert (reply.status_code, reply.json["error"]) == (503, "amocrm_blocked") and len(amocrm.calls) == 0


def test_an_account_without_tokens_needs_a_reinstall(client, settings, world, deps, amocrm):
    deps.redis.delete(account_key(ACCOUNT.id, "tokens"))
    reply = click(client, settings)
    assert (reply.status_code, reply.json["error"]) == (503, "amocrm_needs_reinstall")
