"""GET /api/v1/leads/<id>/hints: amoCRM's view rights decide who sees a deal's hints; accounts never mix."""
from __future__ import annotations

import pytest

from service.model import User
from service.store.keys import account_key
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.api import (ADMIN, ALL, CHOSEN, DENIED, GLEB_NO_GROUP, GROUP, MASHA_DEAL, MIKHAIL_DEAL, MINE,
                               OTHER, call, install_world)


@pytest.fixture
def world(deps):
    install_world(deps)


def hints_of(client, settings, user, lead_id, **kw):
    return call(client, settings, "GET", f"/leads/{lead_id}/hints", user, **kw)


@pytest.mark.parametrize("user", [MINE, ADMIN, ALL, GROUP])
def test_owner_supervisors_all_and_group_see_a_group_deal(client, settings, world, user):
    reply = hints_of(client, settings, user, MASHA_DEAL.id)
    assert reply.status_code == 200, reply.json
    assert [h["code"] for h in reply.json["hints"]] == ["stuck_in_stage", "no_open_task"]  # most severe first


@pytest.mark.parametrize("user", [OTHER, DENIED, CHOSEN])  # CHOSEN: a supervisor by our settings, amoCRM M
def test_manager_with_own_rights_and_denied_user_cannot_read_someone_elses_deal(client, settings, world, user):
    reply = hints_of(client, settings, user, MASHA_DEAL.id)
    assert reply.status_code == 403 and reply.json["error"] == "forbidden"
    assert "rights" in reply.json["message"] and "hints" not in reply.json


def test_denied_user_sees_not_even_an_unknown_deal(client, settings, world):
    assert hints_of(client, settings, DENIED, 999).status_code == 403


def test_group_rights_stop_at_the_group(client, settings, world):
    assert hints_of(client, settings, GROUP, MIKHAIL_DEAL.id).status_code == 403


def test_group_of_a_deal_without_one_is_its_responsibles_group(client, settings, world, deps):
    assert hints_of(client, settings, MINE, GLEB_NO_GROUP.id).status_code == 403  # M: not hers
    deps.store.save_users(ACCOUNT.id, [User(8, "Grisha Group", leads_view="G", group_id=20)])
    assert hints_of(client, settings, 8, GLEB_NO_GROUP.id).status_code == 200  # Gleb is in group 20


def test_own_deal_is_visible_with_own_rights(client, settings, world):
    reply = hints_of(client, settings, OTHER, MIKHAIL_DEAL.id)
    assert reply.status_code == 200 and reply.json["hints"][0]["code"] == "overdue_task"


def test_admin_claim_makes_a_supervisor_of_a_user_the_mirror_does_not_hold_yet(client, settings, world):
    assert hints_of(client, settings, 4242, MASHA_DEAL.id, claims={"is_admin": True}).status_code == 200


def test_admin_claim_does_not_raise_a_mirrored_manager(client, settings, world):
    """The mirror decides for the users it holds (widget_api/access.py); the claim was OR-ed with it (issue 16)."""
    assert hints_of(client, settings, OTHER, MASHA_DEAL.id, claims={"is_admin": True}).status_code == 403
    assert hints_of(client, settings, ADMIN, MASHA_DEAL.id, claims={"is_admin": False}).status_code == 200


def test_user_unknown_to_a_mirrored_account_sees_nothing(client, settings, world):
    reply = hints_of(client, settings, 4242, MASHA_DEAL.id)
    assert reply.status_code == 403


def test_before_users_are_mirrored_cards_show_as_amocrm_shows_them(client, settings, deps):
    install_world(deps)
    deps.redis.delete(account_key(ACCOUNT.id, "users"))
    assert hints_of(client, settings, 4242, MASHA_DEAL.id).status_code == 200


def test_another_accounts_token_reads_only_its_own_deal_of_the_same_id(client, settings, world):
    mine = hints_of(client, settings, ADMIN, 101)
    theirs = hints_of(client, settings, ADMIN, 101, account=OTHER_ACCOUNT)
    assert theirs.status_code == 200
    assert [h["code"] for h in theirs.json["hints"]] == ["no_activity"]
    assert [h["code"] for h in mine.json["hints"]] == ["stuck_in_stage", "no_open_task"]


def test_other_accounts_token_finds_nothing_of_our_deals(client, settings, world):
    reply = hints_of(client, settings, 1, MIKHAIL_DEAL.id, account=OTHER_ACCOUNT)  # their admin
    assert reply.json == {"lead_id": MIKHAIL_DEAL.id, "as_of": None, "hints": [], "hidden": 0}


def test_token_of_an_account_that_is_not_installed_is_403(client, settings, world, deps):
    from service.model import Account

    stranger = Account(id=555, subdomain="stranger", base_url="https://stranger.amocrm.ru")
    reply = hints_of(client, settings, ADMIN, MASHA_DEAL.id, account=stranger)
    assert reply.status_code == 403 and "555" in reply.json["message"]


def test_hints_carry_their_problem_and_situation_keys(client, settings, world):
    [first, *_] = hints_of(client, settings, MINE, MASHA_DEAL.id).json["hints"]
    assert first["problem"].startswith("stuck_in_stage-") and len(first["situation"]) == 16


def test_more_than_the_per_user_rate_is_429_with_retry_after(client, settings, deps):
    install_world(deps, rate=3)
    codes = [hints_of(client, settings, MINE, MASHA_DEAL.id).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    reply = hints_of(client, settings, MINE, MASHA_DEAL.id, headers={"Origin": ACCOUNT.origin})
    assert reply.status_code == 429 and reply.headers["Retry-After"] == "1"
    assert "requests per second" in reply.json["message"]
    assert reply.headers["Access-Control-Allow-Origin"] == ACCOUNT.origin  # the widget can read why
    assert hints_of(client, settings, ADMIN, MASHA_DEAL.id).status_code == 200  # per user


def test_an_error_is_readable_by_the_widget_on_its_own_origin_only(client, settings, world):
    own = hints_of(client, settings, OTHER, MASHA_DEAL.id, headers={"Origin": ACCOUNT.origin})
    assert own.status_code == 403 and own.headers["Access-Control-Allow-Origin"] == ACCOUNT.origin
    evil = hints_of(client, settings, OTHER, MASHA_DEAL.id, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_preflight_allows_every_method_of_the_api(client, world):
    reply = client.options("/api/v1/plans", headers={"Origin": ACCOUNT.origin,
                                                     "Access-Control-Request-Method": "PUT"})
    assert reply.status_code == 204
    assert set(reply.headers["Access-Control-Allow-Methods"].split(", ")) >= {"GET", "POST", "PUT", "DELETE"}
    assert "Content-Type" in reply.headers["Access-Control-Allow-Headers"]
