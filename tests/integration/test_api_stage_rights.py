"""amoCRM's per-stage view rights (`rights.status_rights`, real/api11) hide deals from cards, lists and counts."""
from __future__ import annotations

from dataclasses import replace

import pytest

from service.amocrm.schemas import UserSchema
from tests.conftest import ACCOUNT
from tests.support.api import ADMIN, ALL, CHOSEN, MASHA_DEAL, MIKHAIL_DEAL, MINE, call, install_world
from tests.support.real import api_items

HIDE_11 = ((1, 11, "D"),)  # MASHA_DEAL, MASHA_BIG and GLEB_NO_GROUP stand in stage 11 of pipeline 1
HIDE_12 = ((1, 12, "D"),)  # MIKHAIL_DEAL


@pytest.fixture
def world(deps):
    install_world(deps)
    users = [replace(ALL, stage_views=HIDE_11), replace(MINE, stage_views=HIDE_11),
             replace(CHOSEN, stage_views=HIDE_12), replace(ADMIN, stage_views=HIDE_12)]
    deps.store.save_users(ACCOUNT.id, users)


def attention(client, settings, user, scope="visible"):
    reply = call(client, settings, "GET", f"/attention?scope={scope}&limit=100", user)
    assert reply.status_code == 200, reply.json
    return reply.json


def test_the_users_mirror_keeps_status_rights_from_the_api(deps):
    [user] = [UserSchema().load(u) for u in api_items("api11_swissmedica_user_status_rights_2023.json", "users")]
    deps.store.save_users(ACCOUNT.id, [user])
    assert deps.store.get_users(ACCOUNT.id)[user.id].stage_views == user.stage_views


def test_a_card_in_a_hidden_stage_is_refused_even_with_all_rights(client, settings, world):
    assert call(client, settings, "GET", f"/leads/{MASHA_DEAL.id}/hints", ALL).status_code == 403
    assert call(client, settings, "GET", f"/leads/{MIKHAIL_DEAL.id}/hints", ALL).status_code == 200


def test_lists_and_their_counts_leave_hidden_stages_out(client, settings, world):
    seen = attention(client, settings, ALL)
    assert {i["lead_id"] for i in seen["items"]} == {MIKHAIL_DEAL.id} and seen["total"] == 1


def test_even_ones_own_deals_in_a_hidden_stage_are_left_out(client, settings, world):
    mine = attention(client, settings, MINE, scope="mine")
    assert (mine["total"], mine["items"]) == (0, [])


def test_a_chosen_supervisor_is_bound_by_stage_rights_and_an_admin_is_not(client, settings, world):
    assert MIKHAIL_DEAL.id not in {i["lead_id"] for i in attention(client, settings, CHOSEN)["items"]}
    assert call(client, settings, "GET", f"/leads/{MIKHAIL_DEAL.id}/hints", CHOSEN).status_code == 403
    assert MIKHAIL_DEAL.id in {i["lead_id"] for i in attention(client, settings, ADMIN)["items"]}


def test_a_managers_drill_down_lists_no_deal_of_a_hidden_stage(client, settings, world, deps):
    rows = [{"lead_id": MIKHAIL_DEAL.id, "name": "x", "price": 1, "p_win_month": 0.5, "expected": 1},
            {"lead_id": MASHA_DEAL.id, "name": "y", "price": 1, "p_win_month": 0.5, "expected": 1}]
    deps.store.save_managers(ACCOUNT.id, {MINE.id: {"as_of": 1, "gap_deals": rows}})
    reply = call(client, settings, "GET", f"/managers/{MINE.id}", CHOSEN).json  # stage 12 hidden from CHOSEN
    assert reply["summary"] is None and reply["hidden_by_rights"] is True  # no list, no figures (dda17d4)
    shown = call(client, settings, "GET", f"/managers/{MINE.id}", ADMIN).json["summary"]["gap_deals"]
    assert len(shown) == 2
