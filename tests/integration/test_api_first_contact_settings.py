"""first_contact_minutes and working_hours in /settings: defaults, validated writes, and the clock the core reads."""
from __future__ import annotations

import pytest

from service.services import first_contacts
from tests.conftest import ACCOUNT
from tests.support.api import ADMIN, MINE, call, install_world

DEFAULT_HOURS = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}


@pytest.fixture
def world(deps):
    install_world(deps)


def test_defaults_are_fifteen_minutes_monday_to_friday_nine_to_six(client, settings, world):
    view = call(client, settings, "GET", "/settings", MINE).json
    assert view["first_contact_minutes"] == 15 and view["working_hours"] == DEFAULT_HOURS
    assert view["defaults"]["first_contact_minutes"] == 15 and view["defaults"]["working_hours"] == DEFAULT_HOURS


def test_a_supervisor_sets_the_limit_and_the_hours_and_the_core_reads_them(client, settings, world, deps):
    hours = {"days": [1, 2, 3, 4, 5, 6], "start": "08:30", "end": "20:00"}
    reply = call(client, settings, "PUT", "/settings", ADMIN, json={"first_contact_minutes": 10, "working_hours": hours})
    assert reply.status_code == 200, reply.json
    assert reply.json["first_contact_minutes"] == 10 and reply.json["working_hours"] == hours
    limit, clock = first_contacts.limits(deps.store.read_insight(ACCOUNT.id, "settings"), "Europe/Moscow")
    assert limit == 10 and (clock.start, clock.end, sorted(clock.days)) == (510, 1200, [1, 2, 3, 4, 5, 6])


def test_null_working_hours_count_around_the_clock(client, settings, world, deps):
    reply = call(client, settings, "PUT", "/settings", ADMIN, json={"working_hours": None})
    assert reply.status_code == 200 and reply.json["working_hours"] is None
    assert call(client, settings, "GET", "/settings", MINE).json["working_hours"] is None
    assert first_contacts.limits(deps.store.read_insight(ACCOUNT.id, "settings"), "UTC")[1] is None


@pytest.mark.parametrize("body", [
    {"first_contact_minutes": 0},
    {"first_contact_minutes": "soon"},
    {"first_contact_minutes": 100000},
    {"working_hours": {"days": [], "start": "09:00", "end": "18:00"}},
    {"working_hours": {"days": [8], "start": "09:00", "end": "18:00"}},
    {"working_hours": {"days": [1], "start": "9am", "end": "18:00"}},
    {"working_hours": {"days": [1], "start": "18:00", "end": "09:00"}},
    {"working_hours": {"days": [1], "start": "09:00"}},
    {"working_hours": "9-18"},
])
def test_invalid_values_are_400_naming_the_field(client, settings, world, deps, body):
    reply = call(client, settings, "PUT", "/settings", ADMIN, json=body)
    assert reply.status_code == 400, reply.json
    assert reply.json["error"] and set(body) <= set(reply.json["fields"]), reply.json
    assert set(body).isdisjoint(deps.store.read_insight(ACCOUNT.id, "settings") or {})
