"""Issue 16: the intake stores nothing for a deleted account, caps each inbox, and limits each account's rate."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import pytest

from service import create_app
from service.services.hook_urls import hook_secret
from service.store.keys import account_key

FORM = "application/x-www-form-urlencoded"


def body(lead_id: int) -> str:
    return urlencode([("leads[update][0][id]", lead_id), ("leads[update][0][status_id]", 100),
                      ("leads[update][0][pipeline_id]", 10), ("leads[update][0][updated_at]", 1500),
                      ("account[subdomain]", "unirock"), ("account[id]", "16700680")])


def post(client, settings, lead_id: int = 1):
    return client.post(f"/hooks/16700680/{hook_secret(settings.secret_key, 16700680)}", data=body(lead_id),
                       content_type=FORM)


@pytest.fixture
def limited(deps):
    """An app whose intake allows 3 deliveries a second and 5 waiting entries, on a frozen clock."""
    deps.settings = replace(deps.settings, intake_account_rps=3, inbox_max_entries=5)
    deps.clock = lambda: 1_900_000_000.0
    return create_app(deps=deps).test_client()


def test_webhooks_after_a_disable_are_refused_and_store_nothing(client, settings, account, deps):
    """The web process trusts its cached account for 5 s: deliveries then were stored with no TTL, forever."""
    assert post(client, settings).status_code == 204  # the account is now cached as installed
    deps.store.delete_account(account.id)
    answer = post(client, settings)
    assert answer.status_code == 404 and answer.json["error"] == "not_found"
    assert not deps.redis.exists(account_key(account.id, "inbox"), account_key(account.id, "drain_pending"),
                                 account_key(account.id, "metrics", "webhooks_received"))


def test_deliveries_beyond_the_per_account_rate_get_503_with_retry_after(limited, settings, account, deps):
    answers = [post(limited, settings, lead) for lead in range(5)]
    assert [a.status_code for a in answers] == [204, 204, 204, 503, 503]
    assert answers[3].json["error"] == "overloaded" and answers[3].headers["Retry-After"] == "1"
    assert deps.store.inbox_length(account.id) == 3  # what was acknowledged is kept, nothing else
    deps.clock = lambda: 1_900_000_001.0  # the next second
    assert post(limited, settings).status_code == 204


def test_a_full_inbox_answers_503_and_keeps_every_acknowledged_delivery(limited, settings, account, deps):
    assert [post(limited, settings, lead).status_code for lead in range(3)] == [204] * 3
    deps.clock = lambda: 1_900_000_001.0
    assert [post(limited, settings, lead).status_code for lead in range(2)] == [204] * 2
    answer = post(limited, settings)  # third of this second: within the rate, but the inbox holds 5
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60" and "waiting" in answer.json["message"]
    assert deps.store.inbox_length(account.id) == 5
