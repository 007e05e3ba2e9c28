"""The sandbox sends and serves the shapes real accounts do (tests/data/real): a Digital Pipeline robot's short
body, `message[add]`, a call logged by someone other than the deal's owner, users with per-stage rights."""
from __future__ import annotations

import time

from service.amocrm.schemas import UnsortedSchema, UserSchema
from service.sandbox import render_account
from service.sandbox.records import LOST, WON
from tests.e2e.delivery_support import delivery  # noqa: F401  (fixture)


def open_lead(world):
    """An open lead with at least two working stages ahead of it."""
    for lead in sorted(world.leads.values(), key=lambda x: x.id):
        stages = [s.id for s in world.pipelines[lead.pipeline_id].statuses if s.type == 0 and s.id not in (WON, LOST)]
        if not lead.is_deleted and lead.status_id in stages[:-2]:
            return lead, stages
    raise AssertionError("the generated account has no open lead")


def test_a_robots_short_body_moves_the_deal_at_its_arrival_and_keeps_the_rest(delivery):
    world, deps, account = delivery.world, delivery.deps, delivery.account
    lead, stages = open_lead(world)
    world.move_lead(lead.id, stages[stages.index(lead.status_id) + 1], by=lead.responsible_user_id)
    delivery.settle()
    held = deps.store.get_leads(account.id, {lead.id})[lead.id]
    assert held.price == lead.price and held.created_at == lead.created_at
    before = int(time.time())
    world.robot_move(lead.id, stages[stages.index(lead.status_id) + 1])
    delivery.settle()
    [body] = [e["body"] for e in delivery.sender.sent()[-1:]]
    assert "updated_at" not in body and "price" not in body and "last_modified" not in body  # the short shape
    after = deps.store.get_leads(account.id, {lead.id})[lead.id]
    assert after.status_id == lead.status_id and before <= after.stage_entered_at <= int(time.time()) + 1
    assert (after.price, after.created_at, after.updated_at, after.responsible_user_id, after.date_fields) == \
        (held.price, held.created_at, held.updated_at, held.responsible_user_id, held.date_fields)
    assert deps.store.dead_letters(account.id) == []


def test_message_add_is_answered_2xx_and_applied_never_a_failed_delivery(delivery):
    world, deps, account = delivery.world, delivery.deps, delivery.account
    hook = next(h for h in world.hooks.values() if h.destination == delivery.hook)
    if "add_message" not in hook.settings:
        hook.settings.append("add_message")  # as an admin ticks "message" on a hook in the account UI
    lead, _ = open_lead(world)
    world.add_message(lead.id, "Здравствуйте")
    delivery.settle()
    [attempt] = [e for e in delivery.sender.log if "message%5Badd%5D" in e["body"]]
    assert attempt["status"] == 204 and attempt["attempt"] == 1
    assert deps.store.dead_letters(account.id) == []


def test_a_call_on_a_colleagues_deal_counts_for_the_caller(delivery):
    world, deps, account = delivery.world, delivery.deps, delivery.account
    lead, _ = open_lead(world)
    caller = next(u for u in sorted(world.profiles) if u != lead.responsible_user_id)
    note = world.log_call(lead.id, "out", 95, by=caller)
    assert (note.created_by, note.responsible_user_id) == (caller, lead.responsible_user_id)
    delivery.settle()
    calls = deps.store.timelines(account.id, "calls", [lead.id])[lead.id]
    assert [(c.user_id, c.duration) for c in calls if c.at == note.created_at] == [(caller, 95)]


def test_the_users_api_serves_stage_rights_that_hide_a_stage(delivery):
    world = delivery.world
    lead, stages = open_lead(world)
    manager = world.users[lead.responsible_user_id]
    manager.hidden_stages = ((lead.pipeline_id, stages[0]),)
    user = UserSchema().load(render_account.user(world, manager, "https://sandbox.amocrm.ru"))
    assert (lead.pipeline_id, stages[0], "D") in user.stage_views and user.leads_view == manager.leads_view


def test_a_declined_request_names_no_lead():
    declined = {"uid": "abc", "category": "forms", "source_name": "Сайт", "created_at": 1,
                "_embedded": {"leads": [{"id": 0}], "contacts": []}}
    assert UnsortedSchema().load(declined).lead_id is None
