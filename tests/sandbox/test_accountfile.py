"""Account files: API-shaped dump, exact round trip, errors that name the field, the shipped scenario."""
from __future__ import annotations

import json
import pathlib

import pytest

from service.sandbox import accountfile
from service.sandbox.app import create_sandbox_app, sandbox_state
from service.sandbox.fields import ShapeError

SCENARIO = pathlib.Path(__file__).resolve().parents[1] / "data" / "scenario_small.json"


def test_dump_then_load_gives_the_same_account(world):
    document = json.loads(json.dumps(accountfile.dump(world)))
    assert accountfile.dump(accountfile.load(document)) == document


def test_dump_keeps_api_objects_and_a_separate_sandbox_section(world):
    document = accountfile.dump(world)
    assert document["leads"][0]["_links"]["self"]["href"].startswith("https://sandbox.amocrm.ru/api/v4/leads/")
    assert set(document["sandbox"]) >= {"oauth", "rate_limit", "faults", "webhooks", "simulator"}
    assert "sandbox" not in document["leads"][0]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["leads"][3].update(status_id="142"), "leads[3].status_id: expected int, got string"),
    (lambda d: d["users"][0]["rights"].pop("is_admin"), "users[0].rights.is_admin: missing"),
    (lambda d: d["pipelines"][1]["_embedded"]["statuses"][2].update(sort=None),
     "pipelines[1]._embedded.statuses[2].sort: expected int, got null"),
    (lambda d: d["tasks"][0].update(is_completed=1), "tasks[0].is_completed: expected bool, got int"),
    (lambda d: d.update(leads={}), "leads: expected list, got object"),
])
def test_a_wrong_shape_names_the_object_and_field(world, mutate, message):
    document = json.loads(json.dumps(accountfile.dump(world)))
    mutate(document)
    with pytest.raises(ShapeError) as err:
        accountfile.load(document)
    assert str(err.value) == message


def test_the_hand_written_scenario_loads_and_serves(tmp_path):
    world = accountfile.load_path(str(SCENARIO))
    assert world.account["subdomain"] == "scenario"
    assert {142, 143} <= {s.id for p in world.pipelines.values() for s in p.statuses}
    app = create_sandbox_app(world, start_webhooks=False)
    state = sandbox_state(app)
    token = state.tokens.new_pair()["access_token"]
    body = app.test_client().get("/api/v4/leads?with=contacts", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert len(body["_embedded"]["leads"]) == len([x for x in world.leads.values() if not x.is_deleted])
