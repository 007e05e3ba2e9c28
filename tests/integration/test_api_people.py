"""/me, /attention, /managers/<id>, /panel, /sync, /dead-letters: who may read what, across users and accounts."""
from __future__ import annotations

import pytest

from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.api import (ADMIN, ALL, CHOSEN, DENIED, GROUP, MASHA_BIG, MASHA_DEAL, MINE, NOW,
                               OTHER, call, install_world)

SUMMARY = {"user_id": MINE.id, "as_of": NOW - 60, "plan": {"plan_amount": 1000.0, "fact_amount": 400.0},
           "projected_amount": 800.0, "p_plan_met": 0.4, "gap_deals": [], "hygiene": {"stuck": {"mine": 1}},
           "workload": {"open_deals": 2}, "conversion": [], "losses": {}, "calls": {}, "contacts": {}, "texts": []}


@pytest.fixture
def world(deps):
    install_world(deps)
    deps.store.save_managers(ACCOUNT.id, {MINE.id: SUMMARY, OTHER.id: {**SUMMARY, "user_id": OTHER.id}})
    deps.store.save_managers(OTHER_ACCOUNT.id, {5: {**SUMMARY, "projected_amount": 1.0}})
    deps.store.save_insight(ACCOUNT.id, "team", {"funnel": [{"status_id": 11, "count": 2}]})
    deps.store.save_insight(ACCOUNT.id, "forecast", {"months": [{"p10": 1, "p50": 2, "p90": 3}]})
    deps.store.save_insight(ACCOUNT.id, "backtest", {"as_of": NOW, "wape": 0.2, "coverage": 0.8, "months": []})
    deps.store.save_insight(ACCOUNT.id, "recompute", {"as_of": NOW - 60, "leads": 5})
    deps.store.save_plan(ACCOUNT.id, {"month": "2025-10", "user_id": MINE.id, "amount": 1000.0, "count": None})


def get(client, settings, user, path, **kw):
    return call(client, settings, "GET", path, user, **kw)


# --- /me
def test_me_names_the_caller_role_and_sync_state(client, settings, world):
    me = get(client, settings, MINE, "/me").json
    assert (me["user_id"], me["name"], me["is_supervisor"], me["leads_view"]) == (5, "Masha Mine", False, "M")
    assert me["language"] == "ru" and me["account"]["id"] == ACCOUNT.id
    assert me["sync"] == {"state": "never", "percent": 0.0, "account_state": "active"}


@pytest.mark.parametrize("user, supervisor", [(ADMIN, True), (CHOSEN, True), (ALL, False), (DENIED, False)])
def test_supervisors_are_admins_and_the_chosen(client, settings, world, user, supervisor):
    assert get(client, settings, user, "/me").json["is_supervisor"] is supervisor


def test_me_in_another_account_is_that_accounts_user(client, settings, world):
    me = get(client, settings, 5, "/me", account=OTHER_ACCOUNT).json
    assert (me["name"], me["account"]["id"]) == ("Other Masha", OTHER_ACCOUNT.id)


# --- /attention
def test_my_deals_that_need_attention_most_severe_first(client, settings, world):
    reply = get(client, settings, MINE, "/attention")
    assert reply.status_code == 200, reply.json
    items = reply.json["items"]
    assert [i["lead_id"] for i in items] == [MASHA_DEAL.id, MASHA_BIG.id]  # critical before a pricier warning
    first = items[0]
    assert first["link"] == f"/leads/detail/{MASHA_DEAL.id}" and first["name"] == MASHA_DEAL.name
    assert first["top_hint"]["code"] == "stuck_in_stage" and set(first["top_hint"]["text"]) == {"ru", "en"}
    assert (first["hints_count"], first["price"]) == (2, MASHA_DEAL.price)


def test_attention_limit_and_snoozed_hints(client, settings, world):
    assert len(get(client, settings, MINE, "/attention?limit=1").json["items"]) == 1
    call(client, settings, "POST", f"/leads/{MASHA_BIG.id}/hints/no_activity/feedback", MINE,
         json={"action": "dismiss"})
    assert [i["lead_id"] for i in get(client, settings, MINE, "/attention").json["items"]] == [MASHA_DEAL.id]


@pytest.mark.parametrize("user, visible", [
    (MINE, {101, 102}), (OTHER, {103}), (GROUP, {101, 102, 104}), (ALL, {101, 102, 103, 104}),
    (ADMIN, {101, 102, 103, 104})])
def test_visible_scope_follows_rights(client, settings, world, user, visible):
    reply = get(client, settings, user, "/attention?scope=visible&limit=100")
    assert {i["lead_id"] for i in reply.json["items"]} == visible


def test_denied_user_has_no_attention_list(client, settings, world):
    assert get(client, settings, DENIED, "/attention").status_code == 403


def test_attention_of_another_account_lists_only_its_deals(client, settings, world):
    items = get(client, settings, 1, "/attention?scope=visible", account=OTHER_ACCOUNT).json["items"]
    assert [(i["lead_id"], i["name"]) for i in items] == [(101, "Other account's deal")]


def test_bad_attention_query_is_400(client, settings, world):
    reply = get(client, settings, MINE, "/attention?limit=1000&scope=everyone")
    assert reply.status_code == 400 and set(reply.json["fields"]) == {"limit", "scope"}


# --- /managers/<id>
def test_a_manager_reads_their_own_summary_by_id_or_me(client, settings, world):
    for path in ("/managers/me", f"/managers/{MINE.id}"):
        reply = get(client, settings, MINE, path)
        assert reply.status_code == 200 and reply.json["summary"]["p_plan_met"] == 0.4
        assert reply.json["name"] == "Masha Mine"


@pytest.mark.parametrize("user", [OTHER, ALL, GROUP, DENIED])
def test_a_manager_cannot_read_another_managers_summary(client, settings, world, user):
    reply = get(client, settings, user, f"/managers/{MINE.id}")
    assert reply.status_code == 403 and "summary" not in reply.json


def test_admins_read_anyones_summary_and_a_chosen_supervisor_only_within_their_amocrm_rights(client, settings,
                                                                                              world):
    assert get(client, settings, ADMIN, f"/managers/{MINE.id}").json["summary"]["projected_amount"] == 800.0
    reply = get(client, settings, CHOSEN, f"/managers/{MINE.id}").json  # CHOSEN's amoCRM right: own deals (M)
    assert reply["summary"] is None and reply["hidden_by_rights"] is True


def test_a_supervisor_whose_stage_rights_hide_a_managers_deals_gets_no_summary_of_theirs(client, settings, world,
                                                                                         deps):
    from dataclasses import replace

    # «Первичный контакт» (11): amoCRM shows Sergey only his group's (10) deals there; Masha is in group 20
    deps.store.save_users(ACCOUNT.id, [replace(CHOSEN, stage_views=((1, 11, "G"),))])
    reply = get(client, settings, CHOSEN, f"/managers/{MINE.id}").json
    assert reply["summary"] is None and reply["hidden_by_rights"] is True and reply["name"] == "Masha Mine"
    assert get(client, settings, ADMIN, f"/managers/{MINE.id}").json["summary"]["projected_amount"] == 800.0


def test_own_summary_before_the_first_recompute_is_null(client, settings, world):
    assert get(client, settings, DENIED, "/managers/me").json["summary"] is None


def test_summary_of_a_stranger_is_404_and_of_nonsense_400(client, settings, world):
    assert get(client, settings, ADMIN, "/managers/999").status_code == 404
    assert get(client, settings, ADMIN, "/managers/abc").status_code == 400


def test_another_accounts_supervisor_reads_only_their_own_managers(client, settings, world):
    reply = get(client, settings, 1, f"/managers/{MINE.id}", account=OTHER_ACCOUNT)
    assert reply.json["summary"]["projected_amount"] == 1.0  # their user 5, not our Masha


# --- /panel
@pytest.mark.parametrize("user", [MINE, ALL, GROUP, DENIED])
def test_panel_is_for_supervisors_only(client, settings, world, user):
    reply = get(client, settings, user, "/panel")
    assert reply.status_code == 403 and "team" not in reply.json


def test_panel_gathers_team_forecast_managers_sync_and_freshness(client, settings, world):
    panel = get(client, settings, ADMIN, "/panel").json
    assert panel["as_of"] == NOW - 60
    assert panel["team"]["funnel"][0]["count"] == 2 and panel["forecast"]["months"][0]["p50"] == 2
    assert panel["backtest"]["wape"] == 0.2
    assert [(m["user_id"], m["name"]) for m in panel["managers"]] == [(MINE.id, "Masha Mine"),
                                                                     (OTHER.id, "Mikhail Mine")]
    assert panel["managers"][0]["p_plan_met"] == 0.4
    assert panel["sync"]["state"] == "never" and panel["sync"]["account"]["state"] == "active"
    assert panel["plans"] == {"month": "2025-10", "items": [
        {"month": "2025-10", "user_id": MINE.id, "user_name": "Masha Mine", "amount": 1000.0, "count": None}]}
    assert {row["code"] for row in panel["usefulness"]} >= {"stuck_in_stage", "no_open_task"}


def test_another_accounts_admin_gets_their_own_empty_panel(client, settings, world):
    panel = get(client, settings, 1, "/panel", account=OTHER_ACCOUNT).json
    assert panel["team"] is None and [m["user_id"] for m in panel["managers"]] == [5]


# --- /sync and /dead-letters
def test_sync_status_for_everyone_with_blocked_state(client, settings, world, deps):
    deps.store.set_account_state(ACCOUNT.id, "blocked", "403 from amoCRM", NOW)
    reply = get(client, settings, MINE, "/sync")
    assert reply.json["account"] == {"state": "blocked", "reason": "403 from amoCRM", "at": NOW}
    assert get(client, settings, 1, "/sync", account=OTHER_ACCOUNT).json["account"]["state"] == "active"


BODY = ("leads%5Bstatus%5D%5B0%5D%5Bid%5D=101&leads%5Bstatus%5D%5B0%5D%5Bname%5D=Secret+client"
        "&task%5Badd%5D%5B0%5D%5Btext%5D=Call+Ivan+%2B79990001122&account%5Bid%5D=16700680")


def test_dead_letters_show_error_time_and_kinds_but_no_contents(client, settings, world, deps):
    deps.store.dead_letter(ACCOUNT.id, {"body": BODY.encode(), "received_at": "1760000000.125",
                                        "headers": '{"X-Amocrm-Requestid": "abc"}'}, "ValueError: bad status")
    reply = get(client, settings, ADMIN, "/dead-letters")
    assert reply.json == {"total": 1, "items": [{
        "index": 0, "error": "ValueError: bad status", "received_at": 1760000000, "kinds": ["leads[status]",
                                                                                           "task[add]"],
        "items": 2, "request_id": "abc"}]}
    assert "Ivan" not in reply.get_data(as_text=True) and "Secret" not in reply.get_data(as_text=True)


def test_dead_letters_are_for_supervisors_of_the_account(client, settings, world, deps):
    deps.store.dead_letter(ACCOUNT.id, {"body": BODY.encode(), "received_at": "1"}, "boom")
    assert get(client, settings, MINE, "/dead-letters").status_code == 403
    assert get(client, settings, 1, "/dead-letters", account=OTHER_ACCOUNT).json == {"total": 0, "items": []}
