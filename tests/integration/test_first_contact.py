"""A new deal nobody answers: the hint appears when its limit passes with no further webhook, and a touch clears it."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from rq.registry import ScheduledJobRegistry

from service.services import first_contacts, recompute
from service.services.first_contacts import RECHECK_SLOT
from service.services.hook_urls import hook_secret
from tests.support.tokens import mint_token

FORM = "application/x-www-form-urlencoded"
ACCOUNT_PAIRS = [("account[subdomain]", "unirock"), ("account[id]", "16700680")]


def post(client, settings, pairs):
    answer = client.post(f"/hooks/16700680/{hook_secret(settings.secret_key, 16700680)}",
                         data=urlencode(ACCOUNT_PAIRS + pairs), content_type=FORM)
    assert answer.status_code == 204, answer.data


def new_lead(lead_id, at, price=0):
    fields = {"id": lead_id, "status_id": 100, "pipeline_id": 10, "updated_at": at, "created_at": at,
              "responsible_user_id": 5, "price": price, "modified_user_id": 5}
    return [(f"leads[add][0][{k}]", str(v)) for k, v in fields.items()]


def call_note(lead_id, at, user=5, note_type=11):
    fields = {"id": 900 + lead_id, "element_id": lead_id, "element_type": 2, "note_type": note_type,
              "created_at": at, "main_user_id": user}
    return [(f"leads[note][0][note][{k}]", str(v)) for k, v in fields.items()]


def codes(deps, account, lead_id):
    return [h["code"] for h in (deps.store.read_card(account.id, lead_id) or {}).get("hints", [])]


def around_the_clock(deps, account, minutes=15):
    deps.store.save_insight(account.id, "settings", {"working_hours": None, "first_contact_minutes": minutes})


def test_a_new_deal_is_scheduled_for_its_limit_and_the_hint_appears_then(client, settings, account, deps,
                                                                        run_worker):
    around_the_clock(deps, account)
    now = int(deps.clock())
    post(client, settings, new_lead(1, now, price=50_000))
    run_worker()
    assert codes(deps, account, 1) == []
    due = now + 15 * 60
    assert first_contacts.store(deps).scheduled(account.id) == {1: due}
    slot = -(-due // RECHECK_SLOT) * RECHECK_SLOT
    registry = ScheduledJobRegistry(queue=deps.queues["insights"])
    assert f"fc-{account.id}-{slot}" in registry.get_job_ids()
    assert registry.get_scheduled_time(f"fc-{account.id}-{slot}") == datetime.fromtimestamp(slot, timezone.utc)

    deps.clock = lambda: slot  # the scheduled job runs at its slot: no webhook in between
    assert recompute.recheck_due(deps, account.id) == [1]
    [hint] = deps.store.read_card(account.id, 1)["hints"]
    assert (hint["code"], hint["severity"]) == ("first_contact_overdue", "warning")
    assert "50\u00a0000 — сумма сделки" in hint["text"]["ru"]
    critical = now + 60 * 60
    assert first_contacts.store(deps).scheduled(account.id) == {1: critical}  # then at 4 x the limit


def test_the_hint_clears_on_a_call_and_the_schedule_is_dropped(client, settings, account, deps, run_worker):
    around_the_clock(deps, account)
    now = int(deps.clock())
    post(client, settings, new_lead(2, now - 20 * 60))
    run_worker()
    assert codes(deps, account, 2)[0] == "first_contact_overdue"
    post(client, settings, call_note(2, now, note_type=10))  # an incoming call is the client, not us
    run_worker()
    assert codes(deps, account, 2)[0] == "first_contact_overdue"
    post(client, settings, call_note(2, now))
    run_worker()
    assert "first_contact_overdue" not in codes(deps, account, 2)
    assert first_contacts.store(deps).scheduled(account.id) == {}


def test_a_robots_stage_move_does_not_clear_it_a_persons_does(client, settings, account, deps, run_worker):
    around_the_clock(deps, account)
    now = int(deps.clock())
    post(client, settings, new_lead(3, now - 20 * 60))
    move = {"id": 3, "status_id": 101, "old_status_id": 100, "pipeline_id": 10, "updated_at": now - 60,
            "modified_user_id": 0}
    post(client, settings, [(f"leads[status][0][{k}]", str(v)) for k, v in move.items()])
    run_worker()
    assert codes(deps, account, 3)[0] == "first_contact_overdue"
    move.update(status_id=102, old_status_id=101, updated_at=now, modified_user_id=5)
    post(client, settings, [(f"leads[status][0][{k}]", str(v)) for k, v in move.items()])
    run_worker()
    assert "first_contact_overdue" not in codes(deps, account, 3)


def test_an_outgoing_chat_message_clears_it(client, settings, account, deps, run_worker):
    around_the_clock(deps, account)
    now = int(deps.clock())
    post(client, settings, new_lead(4, now - 20 * 60))
    fields = {"id": "m-1", "entity_type": "lead", "entity_id": 4, "type": "outgoing", "created_at": now,
              "author[type]": "user", "talk_id": 1}
    pairs = [(f"message[add][0][{k.split('[')[0]}]" + (f"[{k.split('[')[1]}" if "[" in k else ""), str(v))
             for k, v in fields.items()]
    post(client, settings, pairs)
    run_worker()
    assert "first_contact_overdue" not in codes(deps, account, 4)


def test_the_hint_tops_the_managers_attention_list(client, settings, account, deps, run_worker):
    from service.model import User

    around_the_clock(deps, account)
    deps.store.save_users(account.id, [User(id=5, name="Анна")])
    now = int(deps.clock())
    pricey = {"id": 6, "status_id": 100, "pipeline_id": 10, "updated_at": now - 400 * 86400, "created_at": now - 400 * 86400,
              "responsible_user_id": 5, "price": 9_000_000}  # stuck for a year, far pricier
    post(client, settings, [(f"leads[add][0][{k}]", str(v)) for k, v in pricey.items()])
    post(client, settings, new_lead(5, now - 20 * 60))
    run_worker()
    reply = client.get("/api/v1/attention", headers={"X-Auth-Token": mint_token(settings, account, user_id=5)})
    assert reply.status_code == 200, reply.json
    assert [i["lead_id"] for i in reply.json["items"]][:2] == [5, 6]
    assert reply.json["items"][0]["top_hint"]["code"] == "first_contact_overdue"


def test_the_panel_carries_speed_to_lead_after_a_full_recompute(client, settings, account, deps, run_worker):
    from service.services import recompute
    from service.model import User

    around_the_clock(deps, account)
    deps.store.save_users(account.id, [User(id=5, name="Анна", is_admin=True)])
    now = int(deps.clock())
    post(client, settings, new_lead(7, now - 40 * 60) + call_note(7, now - 30 * 60))  # answered in 10 minutes
    post(client, settings, new_lead(8, now - 25 * 60))  # still waiting
    run_worker()
    recompute.recompute_account(deps, account.id)
    reply = client.get("/api/v1/panel", headers={"X-Auth-Token": mint_token(settings, account, user_id=5)})
    assert reply.status_code == 200, reply.json
    speed = reply.json["speed_to_lead"]
    [anna] = speed["managers"]
    assert (anna["name"], anna["deals"], anna["touched"], anna["median_minutes"]) == ("Анна", 2, 1, 10)
    assert (anna["untouched_now"], anna["within_limit"], anna["decided"]) == (1, 1, 2)
    assert speed["limit_minutes"] == 15 and speed["working_hours"] is False
    assert [b["bucket"] for b in speed["by_delay"]] == ["5m", "1h", "1d", "later", "never"]
    assert codes(deps, account, 8)[0] == "first_contact_overdue"  # the full recompute keeps the card's hint
