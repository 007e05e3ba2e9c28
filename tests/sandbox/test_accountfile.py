"""Account files: API-shaped dump, exact round trip, errors that name the field, the shipped scenario."""
from __future__ import annotations

import json
import pathlib

import orjson
import pytest

from service.sandbox import accountfile
from service.sandbox.app import create_sandbox_app, sandbox_state
from service.sandbox.fields import ShapeError

SCENARIO = pathlib.Path(__file__).resolve().parents[1] / "data" / "scenario_small.json"


@pytest.fixture(scope="module")
def dumped(small_world_template) -> str:
    """The small account's dump as JSON text, made once: each test parses its own document from it (rendering
    the 6 MB dump again for every test took two seconds each)."""
    return json.dumps(accountfile.dump(small_world_template))


def test_dump_then_load_gives_the_same_account(dumped):
    document = orjson.loads(dumped)
    assert accountfile.dump(accountfile.load(document)) == document


def test_dump_keeps_api_objects_and_a_separate_sandbox_section(small_world_template):
    document = accountfile.dump(small_world_template)
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
def test_a_wrong_shape_names_the_object_and_field(dumped, mutate, message):
    document = orjson.loads(dumped)
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


def test_the_written_file_is_the_dump_byte_for_byte(world):
    """write() renders events from their rows as text (eventjson); it must say exactly what the dicts say."""
    lead = next(x for x in world.leads.values() if not x.is_deleted and x.status_id not in (142, 143))
    world.set_close_date(lead.id, 0, at=lead.updated_at + 1)  # a cleared date: value_after is []
    world.set_close_date(lead.id, 1767312000, at=lead.updated_at + 2)  # from none: value_before is []
    world.record_event(lead.updated_at + 3, "sale_field_changed", "lead", lead.id, 0, 100, 200)
    world.account["subdomain"] = 'q"uo%te{}'  # escaped in hrefs, never read as format fields
    task = world.add_task(lead.id, 'Позвонить "завтра" 100%', lead.updated_at + 86400, at=lead.updated_at + 4)
    world.complete_task(task.id, result_text="Готово: {ok} %d", at=lead.updated_at + 5)
    world.log_call(lead.id, "in", 30, by=world.account["current_user_id"], at=lead.updated_at + 6)
    world.log_call(lead.id, "in", 0, by=999, at=lead.updated_at + 7)  # no such user: call_responsible is ""
    world.add_contact('Иван "Q" 100%', lead_ids=[lead.id], at=lead.updated_at + 8)  # no phone, two leads
    world.add_incoming("sip", 'Телефония "1" %d', phone="+7 (999) 000-00-01", at=lead.updated_at + 9)
    world.add_incoming("vk", "ВКонтакте", phone='+7 "999"', at=lead.updated_at + 10)  # no such category: chats' shape
    assert {u.category for u in world.unsorted.values()} >= {"sip", "forms", "mail", "chats", "vk"}
    rendered = {row[2] for row in world.events}
    assert len(rendered) == 11 and not world.loose_events
    assert accountfile.dumps(world) == orjson.dumps(accountfile.dump(world), option=orjson.OPT_NON_STR_KEYS).decode()


def test_events_holding_other_values_than_ints_are_written_through_dicts(world):
    lead = next(x for x in world.leads.values() if not x.is_deleted)
    world.set_close_date(lead.id, 1767312000.5, at=lead.updated_at + 1)  # the control API passes JSON values as is
    world.record_event(lead.updated_at + 2, "sale_field_changed", "lead", lead.id, 0, True, "200")
    world.add_task(lead.id, "Перезвонить", 1767312000.5, task_type_id=True, at=lead.updated_at + 3)
    world.log_call(lead.id, "out", 12.5, at=lead.updated_at + 4)
    world.add_contact("Без телефона", lead_ids=[lead.id], responsible_user_id=7_000_002.0, at=lead.updated_at + 5)
    world.add_lead("Дробная цена", lead.pipeline_id, price=10.5, at=lead.updated_at + 6)
    lead.tags = ((1, "VIP"),)
    call = next(u for u in world.unsorted.values() if u.category == "sip")
    call.duration = 2.5
    assert world.loose_events
    document = json.loads(accountfile.dumps(world))
    assert document == json.loads(json.dumps(accountfile.dump(world)))
    kinds = {f"custom_field_{world.close_date_field['id']}_value_changed", "sale_field_changed"}
    values = [e["value_after"] for e in document["events"] if e["entity_id"] == lead.id and e["type"] in kinds][-2:]
    assert values == [[{"custom_field_value": {"field_id": world.close_date_field["id"], "field_type": 6,
                                               "enum_id": None, "text": "1767312000.5"}}],
                      [{"sale_field_value": {"sale": "200"}}]]
    assert document["tasks"][-1]["complete_till"] == 1767312000.5 and document["tasks"][-1]["task_type_id"] is True
    assert document["notes"][-1]["params"]["duration"] == 12.5
    assert document["contacts"][-1]["responsible_user_id"] == 7_000_002.0
    assert document["leads"][-1]["price"] == 10.5
    assert [u["metadata"]["duration"] for u in document["unsorted"] if u["uid"] == call.uid] == ["2.5"]
    assert [x["_embedded"]["tags"] for x in document["leads"] if x["id"] == lead.id] == [[{"id": 1, "name": "VIP",
                                                                                           "color": None}]]
