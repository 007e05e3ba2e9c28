"""The planned close date, end to end inside our service: a lead hook carrying a date field, stored durably, applied
by a real RQ worker, and the card hints of the field the supervisor chose."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from service.services import recompute
from service.model import CloseDateChange, DateField
from tests.integration.test_webhook_to_hint import LEAD_ID, get_hints, post_hook
from tests.support.samples import webhook_bodies
from tests.support.tokens import mint_token

DAY = 86400
FIELD = 957903  # "Планируемая дата закрытия" in the sample
SET, MOVED = webhook_bodies("update_lead_date_field_modern.txt")  # 2025-05-12, then a week later: 2025-05-19
MAY_12, MAY_19 = 1747008000, 1747612800


def choose_field(deps, account_id: int, field_id) -> None:
    """What PUT /settings stores when a supervisor picks the planned-close-date field."""
    deps.store.save_insight(account_id, "settings", {"close_date_field_id": field_id})


def card_codes(client, settings, account) -> dict:
    reply = get_hints(client, mint_token(settings, account))
    assert reply.status_code == 200, reply.json
    return {hint["code"]: hint for hint in reply.json["hints"]}


def with_dates(body: bytes, first: int, then: int) -> bytes:
    """A sample body whose date values are moved to `first` and `then`."""
    return body.replace(str(MAY_12).encode(), str(first).encode()).replace(str(MAY_19).encode(), str(then).encode())


def test_a_hook_that_moves_the_date_later_shows_close_date_pushed(client, settings, account, deps, run_worker):
    soon = (int(time.time()) // DAY + 10) * DAY  # in the future: the date has not passed
    choose_field(deps, account.id, FIELD)
    post_hook(client, settings, with_dates(SET, soon, soon + 7 * DAY))
    run_worker()
    recompute.recompute_account(deps, account.id)  # what the first sync ends with: models for single cards
    assert not {"close_date_pushed", "close_date_passed"} & set(card_codes(client, settings, account))
    post_hook(client, settings, with_dates(MOVED, soon, soon + 7 * DAY))
    run_worker()
    hint = card_codes(client, settings, account)["close_date_pushed"]
    assert (hint["severity"], hint["value"], hint["evidence"]["days_pushed"]) == ("info", 1, 7)
    assert (hint["evidence"]["first_close_date"], hint["evidence"]["close_date"]) == (soon, soon + 7 * DAY)
    assert "close_date_passed" not in card_codes(client, settings, account)
    assert deps.store.timelines(account.id, "close_dates", [LEAD_ID])[LEAD_ID] == [
        CloseDateChange(lead_id=LEAD_ID, at=1744619276, old=soon, new=soon + 7 * DAY, field_id=FIELD)]


def test_a_date_in_the_past_shows_close_date_passed_for_the_chosen_field_only(client, settings, account, deps,
                                                                             run_worker):
    post_hook(client, settings, SET)  # 2025-05-12: long past
    run_worker()
    recompute.recompute_account(deps, account.id)
    assert "close_date_passed" not in card_codes(client, settings, account)  # no field chosen yet
    choose_field(deps, account.id, FIELD)  # no re-sync: the mirror kept every date field of the lead
    recompute.recompute_account(deps, account.id)
    hint = card_codes(client, settings, account)["close_date_passed"]
    assert (hint["severity"], hint["evidence"]["close_date"]) == ("critical", MAY_12)
    assert hint["value"] > 500 and hint["unit"] == "days"
    choose_field(deps, account.id, FIELD + 1)  # another field, which this lead has not filled
    recompute.recompute_account(deps, account.id)
    assert "close_date_passed" not in card_codes(client, settings, account)


def test_a_late_hook_never_moves_the_date_back_nor_records_a_move(client, settings, account, deps, run_worker):
    choose_field(deps, account.id, FIELD)
    post_hook(client, settings, SET)
    run_worker()
    post_hook(client, settings, MOVED)
    post_hook(client, settings, SET)  # a retry of the first delivery arrives after the second
    run_worker()
    lead = deps.store.get_leads(account.id, [LEAD_ID])[LEAD_ID]
    assert lead.date_fields == ((FIELD, MAY_19),)
    changes = deps.store.timelines(account.id, "close_dates", [LEAD_ID])[LEAD_ID]
    assert [(c.old, c.new) for c in changes] == [(MAY_12, MAY_19)]


def test_a_chosen_date_time_field_has_passed_at_its_moment_a_date_field_at_the_end_of_its_day(client, settings,
                                                                                             account, deps, run_worker):
    today = datetime.now(ZoneInfo(account.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    midnight = int(today.timestamp())  # as a date: today, not over yet; as a date_time: a moment behind us
    choose_field(deps, account.id, FIELD)
    post_hook(client, settings, with_dates(SET, midnight, midnight))
    run_worker()
    recompute.recompute_account(deps, account.id)
    assert "close_date_passed" not in card_codes(client, settings, account)  # a day (the default type) lasts
    deps.store.save_records(account.id, "date_fields", {FIELD: DateField(FIELD, "Дата и время", "date_time")})
    recompute.recompute_account(deps, account.id)
    assert card_codes(client, settings, account)["close_date_passed"]["evidence"]["close_date"] == midnight
