"""/plans and /settings: read by everyone, written by supervisors; writes are validated and queue a recompute."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from service.services import recompute
from service.model import Pipeline, Stage
from service.services.sync_apply import apply_date_fields
from tests.support.samples import DATA
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.api import ADMIN, ALL, CHOSEN, DENIED, MINE, OTHER, call, install_world


@pytest.fixture
def world(deps):
    install_world(deps)
    deps.store.save_pipelines(ACCOUNT.id, [Pipeline(1, "Продажи", (Stage(11, 1, "Переговоры", 1),
                                                                   Stage(12, 1, "Договор", 2),
                                                                   Stage(142, 1, "Успешно", 3)))])


def put(client, settings, user, path, account=ACCOUNT, **body):
    return call(client, settings, "PUT", path, user, account=account, json=body)


def recompute_jobs(deps):
    return [j for j in deps.queues["insights"].jobs if j.func_name == "service.jobs.recompute_account"]


# --- plans
def test_supervisor_sets_a_plan_everyone_reads_it_and_a_recompute_is_queued(client, settings, world, deps):
    reply = put(client, settings, CHOSEN, "/plans", month="2025-10", user_id=MINE.id, amount=500000, count=5)
    assert reply.status_code == 200, reply.json
    assert reply.json["recompute"] == "queued" and reply.json["plan"]["user_name"] == "Masha Mine"
    [job] = recompute_jobs(deps)
    assert job.args == [ACCOUNT.id] and job.id == f"recompute_account-{ACCOUNT.id}"
    for user in (MINE, OTHER, DENIED):
        listed = call(client, settings, "GET", "/plans?month=2025-10", user).json
        assert listed["items"] == [{"month": "2025-10", "user_id": MINE.id, "user_name": "Masha Mine",
                                    "amount": 500000.0, "count": 5}]
    assert recompute.plans_of(deps, ACCOUNT.id)[0].amount == 500000  # the insight core reads it as a Plan


def test_plans_default_to_the_current_month_and_the_account_plan_comes_first(client, settings, world):
    put(client, settings, ADMIN, "/plans", month="2025-10", user_id=MINE.id, amount=1)
    put(client, settings, ADMIN, "/plans", month="2025-10", user_id=None, amount=10)
    listed = call(client, settings, "GET", "/plans", MINE).json
    assert listed["month"] == "2025-10" and [p["user_id"] for p in listed["items"]] == [None, MINE.id]


def test_a_plan_without_amount_and_count_is_removed(client, settings, world, deps):
    put(client, settings, ADMIN, "/plans", month="2025-10", user_id=MINE.id, amount=1)
    reply = put(client, settings, ADMIN, "/plans", month="2025-10", user_id=MINE.id)
    assert reply.json["deleted"] is True and deps.store.read_plans(ACCOUNT.id) == []


@pytest.mark.parametrize("user", [MINE, ALL, DENIED])
def test_managers_cannot_write_plans(client, settings, world, deps, user):
    reply = put(client, settings, user, "/plans", month="2025-10", user_id=user.id, amount=1)
    assert reply.status_code == 403 and deps.store.read_plans(ACCOUNT.id) == []


@pytest.mark.parametrize("body, field", [
    ({"month": "2025-13", "amount": 1}, "month"),
    ({"month": "Oct 2025", "amount": 1}, "month"),
    ({"month": "2025-10", "amount": -1}, "amount"),
    ({"month": "2025-10", "count": -2}, "count"),
    ({"month": "2025-10", "user_id": 999, "amount": 1}, "user_id"),
    ({"amount": 1}, "month"),
])
def test_invalid_plans_are_400_naming_the_field(client, settings, world, body, field):
    reply = call(client, settings, "PUT", "/plans", ADMIN, json=body)
    assert reply.status_code == 400 and field in reply.json["fields"], reply.json


def test_another_accounts_supervisor_writes_only_their_plans(client, settings, world, deps):
    put(client, settings, 1, "/plans", account=OTHER_ACCOUNT, month="2025-10", user_id=None, amount=7)
    assert deps.store.read_plans(ACCOUNT.id) == []
    assert call(client, settings, "GET", "/plans", MINE).json["items"] == []
    assert put(client, settings, 1, "/plans", account=OTHER_ACCOUNT, month="2025-10", user_id=MINE.id,
               amount=7).status_code == 200  # their user 5 exists there


def test_bad_json_body_is_400(client, settings, world):
    reply = call(client, settings, "PUT", "/plans", ADMIN, data="{", content_type="application/json")
    assert reply.status_code == 400 and "JSON" in reply.json["message"]


# --- settings
def test_settings_with_defaults_stages_and_users_for_everyone(client, settings, world):
    view = call(client, settings, "GET", "/settings", DENIED).json
    assert view["no_activity_days"] == 7.0 and view["supervisor_ids"] == [CHOSEN.id]
    assert view["defaults"] == {"warn_days": 14.0, "crit_days": 21.0, "no_activity_days": 7.0,
                                "first_contact_minutes": 15.0,  # issue 21: first contact
                                "working_hours": {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}}
    assert [s["status_id"] for s in view["stages"]] == [11, 12]  # closed stages cannot be overridden
    assert {u["id"] for u in view["users"]} == {1, 2, 3, 4, 5, 6, 7}
    assert view["date_fields"] == []  # none synced yet: the widget asks for a field id instead


def test_settings_offer_the_synced_lead_date_fields_of_the_account_by_name(client, settings, world, deps):
    page_1 = json.loads((DATA / "samples" / "api" / "custom_fields_list.json").read_text())["_embedded"]
    page_2 = [{"id": 7, "name": "Созвон", "type": "date_time"}, {"id": 4440043, "name": "Закрытие", "type": "date"}]
    for page in (page_1["custom_fields"], page_2):  # a later page (or sync) renames a field: the latest name wins
        apply_date_fields(SimpleNamespace(store=deps.store, account_id=ACCOUNT.id), page)
    apply_date_fields(SimpleNamespace(store=deps.store, account_id=OTHER_ACCOUNT.id), [{"id": 9, "type": "date"}])
    view = call(client, settings, "GET", "/settings", MINE).json
    assert view["date_fields"] == [{"id": 4440043, "name": "Закрытие", "type": "date"},
                                   {"id": 7, "name": "Созвон", "type": "date_time"}]


def test_supervisor_changes_settings_the_insight_core_reads_them_and_a_recompute_is_queued(client, settings,
                                                                                          world, deps):
    reply = put(client, settings, ADMIN, "/settings", stage_overrides={"11": {"warn_days": 3, "crit_days": 5}},
                no_activity_days=4, close_date_field_id=555, unknown="ignored")
    assert reply.status_code == 200, reply.json
    assert reply.json["supervisor_ids"] == [CHOSEN.id]  # omitted: kept
    assert reply.json["recompute"] == "queued" and len(recompute_jobs(deps)) == 1
    core = recompute.insight_settings(deps, ACCOUNT.id)
    assert core.no_activity_days == 4 and core.stage_overrides[11].warn_days == 3
    assert core.stage_overrides[11].critical_days == 5 and core.close_date_field_id == 555
    assert call(client, settings, "GET", "/settings", MINE).json["close_date_field_id"] == 555


def test_chosen_supervisors_take_effect_at_once(client, settings, world):
    assert call(client, settings, "GET", "/panel", ALL).status_code == 403
    put(client, settings, ADMIN, "/settings", supervisor_ids=[ALL.id])
    assert call(client, settings, "GET", "/panel", ALL).status_code == 200
    assert call(client, settings, "GET", "/panel", CHOSEN).status_code == 403  # replaced


def test_a_chosen_supervisor_cannot_choose_supervisors(client, settings, world, deps):
    reply = put(client, settings, CHOSEN, "/settings", supervisor_ids=[CHOSEN.id, ALL.id, DENIED.id])
    assert reply.status_code == 403 and "admin" in reply.json["message"], reply.json
    assert put(client, settings, CHOSEN, "/settings", supervisor_ids=[]).status_code == 403  # nor drop them
    assert deps.store.read_insight(ACCOUNT.id, "settings")["supervisor_ids"] == [CHOSEN.id]
    assert recompute_jobs(deps) == [] and call(client, settings, "GET", "/panel", ALL).status_code == 403


def test_a_chosen_supervisor_still_tunes_thresholds_and_resends_the_same_supervisors(client, settings, world):
    reply = put(client, settings, CHOSEN, "/settings", no_activity_days=3, supervisor_ids=[CHOSEN.id])
    assert reply.status_code == 200, reply.json
    assert reply.json["no_activity_days"] == 3 and reply.json["supervisor_ids"] == [CHOSEN.id]
    assert reply.json["may_choose_supervisors"] is False
    assert call(client, settings, "GET", "/settings", ADMIN).json["may_choose_supervisors"] is True


@pytest.mark.parametrize("user", [MINE, ALL, DENIED])
def test_managers_cannot_change_settings(client, settings, world, user):
    reply = put(client, settings, user, "/settings", supervisor_ids=[user.id])
    assert reply.status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"stage_overrides": {"11": {"warn_days": 5, "crit_days": 2}}}, "stage_overrides"),
    ({"stage_overrides": {"eleven": {"warn_days": 5}}}, "stage_overrides"),
    ({"stage_overrides": {"142": {"warn_days": 5}}}, "stage_overrides"),
    ({"stage_overrides": {"99": {"warn_days": 5}}}, "stage_overrides"),
    ({"no_activity_days": 0}, "no_activity_days"),
    ({"supervisor_ids": [999]}, "supervisor_ids"),
    ({"close_date_field_id": -1}, "close_date_field_id"),
])
def test_invalid_settings_are_400_naming_the_field(client, settings, world, deps, body, field):
    reply = call(client, settings, "PUT", "/settings", ADMIN, json=body)
    assert reply.status_code == 400 and field in reply.json["fields"], reply.json
    assert recompute_jobs(deps) == []


def test_another_accounts_admin_cannot_change_ours(client, settings, world, deps):
    put(client, settings, 1, "/settings", account=OTHER_ACCOUNT, no_activity_days=2)
    assert recompute.insight_settings(deps, ACCOUNT.id).no_activity_days == 7.0
