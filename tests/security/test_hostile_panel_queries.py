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
