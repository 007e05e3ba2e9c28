"""amoCRM's own report screenshots as a real account: the sandbox serves it, we install, sync and recompute."""
import time

import pytest
import requests

from service.insights.recompute import recompute_account as recompute_core
from service.services.recompute import insight_settings, jsonable
from service.sandbox import accountfile
from tests.support.report_screenshots import report_account, synced_snapshot

NEGOTIATION, DECISION = "102", "103"


@pytest.fixture
def document():
    """The screenshot account as it stands now."""
    return report_account(int(time.time()))


@pytest.fixture
def world(document):
    return accountfile.load(document)


def test_synced_screenshot_account_shows_the_screenshots_figures(app, deps, sandbox, world, document, run_worker):
    assert requests.post(f"{sandbox.url}/_sandbox/install", json={}, timeout=10).json()["status"] == 200
    run_worker()  # exchange → account → webhooks → full sync → recompute
    account_id = world.account["id"]
    team = deps.store.read_insight(account_id, "team")
    losses = team["losses"]
    assert (losses[NEGOTIATION]["count"], losses[NEGOTIATION]["amount"]) == (19, 94_000)
    assert all(x["count"] < 19 for status, x in losses.items() if status != NEGOTIATION)
    incoming = team["incoming"]
    assert (incoming["total"], incoming["became_deals"], round(incoming["rate"] * 100)) == (286, 45, 16)
    assert [s["source"] for s in incoming["by_source"]] == ["forms", "mail", "chats"]
    days = {row["name"]: row["median_days"] for row in team["time_in_stage"]}
    assert 1 <= days["Первичный контакт"] <= 2 and 1 <= days["Переговоры"] <= 2 and days["Принимают решение"] > 30
    places = {p["code"]: p for p in team["places"]}
    assert str(places["most_losses"]["status_id"]) == NEGOTIATION
    assert str(places["longest_stage"]["status_id"]) == DECISION
    assert "«Принимают решение»: медиана 45 дней" in places["longest_stage"]["text"]["ru"]
    assert "Из 286 входящих заявок сделками стали 45 (16%)" in places["incoming"]["text"]["ru"]


def test_synced_panel_equals_the_panel_of_the_account_read_directly(app, deps, sandbox, world, document, run_worker):
    assert requests.post(f"{sandbox.url}/_sandbox/install", json={}, timeout=10).json()["status"] == 200
    run_worker()
    account_id = world.account["id"]
    team = deps.store.read_insight(account_id, "team")
    direct = recompute_core(synced_snapshot(document), [], team["as_of"], insight_settings(deps, account_id))
    assert team == jsonable(direct.team)
    stored = deps.store.read_insight(account_id, "forecast")
    assert (stored["months"], stored["cumulative"]) == (jsonable(direct.forecast.months),
                                                        jsonable(direct.forecast.cumulative))
    assert {u: deps.store.read_manager(account_id, u) for u in direct.managers} == \
        {u: jsonable(summary) for u, summary in direct.managers.items()}
