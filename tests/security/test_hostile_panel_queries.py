"""Hostile numbers in the widget API's queries and bodies: the panel's period ends past any calendar, fractions
where a whole id or count is meant. Each is a 400 `{"error", "message", "fields"}` naming the field, never a 500
and never a silently different value stored."""
from __future__ import annotations

import pytest

from service.model import Pipeline, Stage
from service.services.recompute import recompute_account
from tests.conftest import ACCOUNT
from tests.support.api import ADMIN, CHOSEN, NOW, call, install_world

MAIN = Pipeline(1, "Продажи", (Stage(11, 1, "Первичный контакт", 1), Stage(12, 1, "Переговоры", 2)))
LAST_SECOND = 2 ** 32 - 1  # 2106-02-07: the latest time the service reads anywhere (amocrm/events.MAX_TIMESTAMP)


@pytest.fixture
def world(deps):
    """An installed account with a computed cube, so that the panel's filters are really applied."""
    install_world(deps)
    deps.store.save_pipelines(ACCOUNT.id, [MAIN])
    recompute_account(deps, ACCOUNT.id)


def refused(reply, field: str) -> dict:
    assert reply.status_code == 400, (reply.status_code, reply.get_data(as_text=True)[:300])
    assert reply.json["error"] and reply.json["message"] and field in reply.json["fields"], reply.json
    return reply.json


@pytest.mark.parametrize("query, field", [
    (f"?to={2 ** 40}", "to"), (f"?from=0&to={2 ** 40}", "to"), (f"?from={2 ** 40 - 1}", "from"),
    (f"?from={LAST_SECOND + 1}", "from"), (f"?to={LAST_SECOND + 1}", "to"), (f"?to={10 ** 12}", "to")])
def test_a_period_past_any_calendar_is_400(client, settings, world, query, field):
    """2**40 seconds is the year 36812: the local day of such a moment cannot be computed (it used to be a 500)."""
    refused(call(client, settings, "GET", f"/panel{query}", CHOSEN), field)


def test_the_latest_time_read_anywhere_is_still_a_period_end(client, settings, world):
    reply = call(client, settings, "GET", f"/panel?from={NOW}&to={LAST_SECOND}", CHOSEN)
    assert reply.status_code == 200, reply.json
    assert reply.json["filters"]["to"] == LAST_SECOND


@pytest.mark.parametrize("method, path, body, field", [
    ("PUT", "/settings", {"supervisor_ids": [4.9]}, "supervisor_ids"),
    ("PUT", "/settings", {"close_date_field_id": 7.5}, "close_date_field_id"),
    ("PUT", "/settings", {"working_hours": {"days": [1.5], "start": "09:00", "end": "18:00"}}, "working_hours"),
    ("PUT", "/plans", {"month": "2025-10", "count": 1.5}, "count"),
    ("PUT", "/plans", {"month": "2025-10", "user_id": 5.5, "amount": 10}, "user_id"),
    ("POST", "/leads/101/hints/no_open_task/feedback", {"action": "snooze", "until": NOW + 3600.5}, "until"),
])
def test_a_fraction_where_a_whole_number_is_meant_is_400(client, settings, world, deps, method, path, body, field):
    """marshmallow's Integer truncates 4.9 to 4: a supervisor chosen by mistake, a plan of 1 deal for 1.5."""
    before = (deps.store.read_insight(ACCOUNT.id, "settings"), deps.store.read_plans(ACCOUNT.id))
    refused(call(client, settings, method, path, ADMIN, json=body), field)
    assert (deps.store.read_insight(ACCOUNT.id, "settings"), deps.store.read_plans(ACCOUNT.id)) == before


def test_whole_numbers_written_with_a_fraction_of_zero_are_still_whole(client, settings, world, deps):
    reply = call(client, settings, "PUT", "/plans", ADMIN, json={"month": "2025-10", "user_id": 5.0, "count": 3.0})
    assert reply.status_code == 200, reply.json
    assert reply.json["plan"]["user_id"] == 5 and reply.json["plan"]["count"] == 3
