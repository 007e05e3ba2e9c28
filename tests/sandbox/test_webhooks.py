"""Webhook delivery: amoCRM headers and format, retry schedule (compressed), drop/duplicate shares."""
from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs

from service.sandbox.webhooks import RETRIES, retryable


def subscribe(world, receiver, events):
    world.subscribe(receiver.url + "/hooks/secret", events)


def open_lead(world):
    return next(x for x in world.leads.values() if not x.is_deleted and x.status_id not in (142, 143))


def test_status_change_posts_a_form_body_with_amocrm_headers(world, state, receiver):
    subscribe(world, receiver, ["status_lead"])
    lead = open_lead(world)
    old = lead.status_id
    target = next(s.id for s in world.pipelines[lead.pipeline_id].statuses if s.id not in (old, 142, 143) and s.type == 0)
    world.move_lead(lead.id, target, by=0)
    assert state.sender.wait_idle(5)
    request = receiver.requests[0]
    assert request["headers"]["User-Agent"] == "amoCRM-Webhooks/3.0"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    uuid.UUID(request["headers"]["X-Amocrm-Requestid"])
    form = {k: v[0] for k, v in parse_qs(request["body"]).items()}
    assert form["leads[status][0][old_status_id]"] == str(old)
    assert form["leads[status][0][status_id]"] == str(target)
    assert form["account[id]"] == str(world.account["id"])


def test_every_mutation_kind_reaches_its_subscriber(world, state, receiver):
    subscribe(world, receiver, ["add_lead", "update_lead", "status_lead", "responsible_lead", "delete_lead",
                                "add_task", "update_task", "note_lead", "add_contact"])
    lead = open_lead(world)
    user = next(u for u in world.profiles if u != lead.responsible_user_id)
    world.set_responsible(lead.id, user)
    task = world.add_task(lead.id, "Позвонить", world.now() + 3600)
    world.complete_task(task.id, "Готово")
    world.log_call(lead.id, "out", 95)
    world.add_incoming("forms", "Форма на сайте")
    world.delete_lead(lead.id)
    assert state.sender.wait_idle(5)
    roots = {next(k for k in parse_qs(r["body"]) if not k.startswith("account")).split("[0]")[0]
             for r in receiver.requests}
    assert roots == {"leads[responsible]", "leads[update]", "task[add]", "task[update]", "leads[note]",
                     "contacts[add]", "leads[add]", "leads[delete]"}


def test_a_5xx_answer_is_retried_on_the_compressed_schedule(world, state, receiver):
    world.settings["webhooks"]["time_scale"] = 0.0005  # 5 min -> 0.15 s
    receiver.statuses = [503, 500]
    subscribe(world, receiver, ["add_task"])
    world.add_task(open_lead(world).id, "Позвонить", world.now() + 3600)
    deadline = time.time() + 5
    while len(receiver.requests) < 3 and time.time() < deadline:
        time.sleep(0.02)
    assert state.sender.wait_idle(5)
    assert [e["status"] for e in state.sender.log] == [503, 500, 200]
    assert [e["attempt"] for e in state.sender.log] == [1, 2, 3]
    assert len({r["body"] for r in receiver.requests}) == 1


def test_retry_table_follows_amocrm():
    assert RETRIES[1][0] == 300 and RETRIES[2][0] == 900 and RETRIES[3][0] == 900 and RETRIES[4][0] == 3600
    assert retryable(404, 1) and retryable(404, 2) and not retryable(404, 3)
    assert retryable(503, 3) and retryable(499, 4) and not retryable(503, 5) and not retryable(200, 1)


def test_drop_and_duplicate_shares_apply(world, state, receiver):
    subscribe(world, receiver, ["add_task"])
    world.settings["webhooks"]["drop_rate"] = 1.0
    lead = open_lead(world)
    world.add_task(lead.id, "A", world.now() + 60)
    assert state.sender.wait_idle(5) and receiver.requests == []
    world.settings["webhooks"].update(drop_rate=0.0, duplicate_rate=1.0)
    world.add_task(lead.id, "B", world.now() + 60)
    assert state.sender.wait_idle(5) and len(receiver.requests) == 2


def test_unsubscribed_destinations_get_nothing(world, state, receiver, client, auth):
    subscribe(world, receiver, ["add_task"])
    assert client.delete("/api/v4/webhooks", json={"destination": receiver.url + "/hooks/secret"},
                         headers=auth).status_code == 204
    world.add_task(open_lead(world).id, "A", world.now() + 60)
    assert state.sender.wait_idle(5) and receiver.requests == []
