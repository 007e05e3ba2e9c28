"""Against the sandbox: the planned close date comes in by sync and by webhooks; once a supervisor picks the field
from the account's date fields the sync listed in the widget settings, cards show the dates whose day is over and,
after the sandbox's manager moves a date later twice, that it was pushed."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.model import CLOSED_STATUSES
from tests.e2e.test_insights_fresh import card_of, install_and_sync
from tests.support.api import call

DAY = 86400


def open_leads(world):
    return [lead for lead in world.leads.values() if lead.status_id not in CLOSED_STATUSES and not lead.is_deleted]


def codes(deps, account_id, lead_id) -> dict:
    return {hint["code"]: hint for hint in card_of(deps, account_id, lead_id)["hints"]}


def day_is_over(value: int, now: int, timezone: str) -> bool:
    """The calendar day `value` falls on in `timezone` has ended by `now`."""
    zone = ZoneInfo(timezone)
    next_day = datetime.fromtimestamp(value, zone).date() + timedelta(days=1)
    return datetime.combine(next_day, time(), zone).timestamp() <= now


def test_sync_and_webhooks_bring_the_chosen_date_field_to_the_cards(app, client, settings, deps, sandbox, world,
                                                                    run_worker):
    account = install_and_sync(sandbox, run_worker, deps, world)
    head = world.account["current_user_id"]  # the account's admin: a supervisor
    offered = call(client, settings, "GET", "/settings", head, account=account).json["date_fields"]
    assert offered == [{"id": world.close_date_field["id"], "name": world.close_date_field["name"], "type": "date"}]
    field = offered[0]["id"]
    mirrored = {lead.id: dict(lead.date_fields) for lead in deps.store.all_leads(account.id)}
    assert {lead.id: lead.close_date for lead in open_leads(world)} == \
        {lead.id: mirrored[lead.id].get(field) for lead in open_leads(world)}
    assert not any(codes(deps, account.id, lead.id).keys() & {"close_date_passed", "close_date_pushed"}
                   for lead in open_leads(world))  # no field chosen yet

    reply = call(client, settings, "PUT", "/settings", head, account=account, json={"close_date_field_id": field})
    assert reply.status_code == 200 and reply.json["recompute"] == "queued", reply.json
    run_worker()  # the recompute the settings change queued; nothing was synced again
    now = world.now()
    passed = {lead.id: lead.close_date for lead in open_leads(world)
              if lead.close_date and day_is_over(lead.close_date, now, account.timezone)}
    assert passed, "the generated account must hold open deals whose planned date has gone by"
    shown = {lead.id: codes(deps, account.id, lead.id).get("close_date_passed") for lead in open_leads(world)}
    assert {lead_id: hint["evidence"]["close_date"] for lead_id, hint in shown.items() if hint} == passed

    lead = next(x for x in open_leads(world) if x.close_date and x.close_date > now + DAY)
    first = lead.close_date
    other = next(x for x in open_leads(world) if x.id != lead.id)
    zone = ZoneInfo(account.timezone)
    today = int(datetime.combine(datetime.fromtimestamp(now, zone).date(), time(), zone).timestamp())
    sender = sandbox.state.sender.start()  # amoCRM's webhooks, posted to the hook the install subscribed
    try:
        world.set_close_date(lead.id, first + 7 * DAY, by=lead.responsible_user_id, at=now + 1)
        world.set_close_date(lead.id, first + 21 * DAY, by=lead.responsible_user_id, at=now + 2)
        world.set_close_date(other.id, today, by=other.responsible_user_id, at=now + 3)  # as amoCRM keeps a date
        assert sender.wait_idle(20) and [e["status"] for e in sender.log] == [204, 204, 204]
    finally:
        sender.stop()
    run_worker()
    card = card_of(deps, account.id, other.id)  # planned for today: not passed until the day ends (its as_of)
    assert ("close_date_passed" in {h["code"] for h in card["hints"]}) == day_is_over(today, card["as_of"],
                                                                                      account.timezone)
    hint = codes(deps, account.id, lead.id)["close_date_pushed"]
    assert (hint["severity"], hint["value"], hint["evidence"]["days_pushed"]) == ("warning", 2, 21)
    assert (hint["evidence"]["first_close_date"], hint["evidence"]["close_date"]) == (first, first + 21 * DAY)
    assert "close_date_passed" not in codes(deps, account.id, lead.id)
