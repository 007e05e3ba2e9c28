"""First contact: every kind of touch, robots excluded, the overdue hint, its re-check times, and its stake."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service.amocrm import events as ev
from service.amocrm.webhooks import parse_webhook
from service.insights import first_contact as fc
from service.insights.workhours import DEFAULT, working_hours
from service.model import Call, Lead, LeadEvent, MessageEvent, NoteEvent, Task
from service.services.first_contacts import api_touches, webhook_touches

T0 = int(datetime(2026, 12, 8, 10, 0, tzinfo=ZoneInfo("Europe/Moscow")).timestamp())  # a Tuesday, 10:00
HOURS = working_hours(DEFAULT, "Europe/Moscow")
# real/wh07 (shared captures): an incoming Telegram message on a lead, verbatim body
WH07 = (
    "account%5Bsubdomain%5D=appgpt&account%5Bid%5D=31257294&account%5B_links%5D%5Bself%5D=https%3A%2F%2Fa"
    "ppgpt.amocrm.ru&message%5Badd%5D%5B0%5D%5Bid%5D=a0ce13c7-4825-4ecc-9dc0-b35c49b86db4&message%5Badd%5"
    "D%5B0%5D%5Bchat_id%5D=54caee02-e383-46d8-a9b7-1fb43f07cffe&message%5Badd%5D%5B0%5D%5Btalk_id%5D=100&"
    "message%5Badd%5D%5B0%5D%5Bcontact_id%5D=93589657&message%5Badd%5D%5B0%5D%5Btext%5D=f&message%5Badd%5"
    "D%5B0%5D%5Bcreated_at%5D=1695482791&message%5Badd%5D%5B0%5D%5Belement_type%5D=2&message%5Badd%5D%5B0"
    "%5D%5Bentity_type%5D=lead&message%5Badd%5D%5B0%5D%5Belement_id%5D=27754599&message%5Badd%5D%5B0%5D%5"
    "Bentity_id%5D=27754599&message%5Badd%5D%5B0%5D%5Btype%5D=incoming&message%5Badd%5D%5B0%5D%5Bauthor%5"
    "D%5Bid%5D=1db2f5cc-aea4-4f96-8d4f-a256ead5b7b0&message%5Badd%5D%5B0%5D%5Bauthor%5D%5Btype%5D=externa"
    "l&message%5Badd%5D%5B0%5D%5Bauthor%5D%5Bname%5D=Oleg&message%5Badd%5D%5B0%5D%5Bauthor%5D%5Bavatar_ur"
    "l%5D=https%3A%2F%2Famojo.amocrm.ru%2Fattachments%2Fprofiles%2F1db2f5cc-aea4-4f96-8d4f-a256ead5b7b0%2"
    "FRKCPe-file-1_128x128.jpg&message%5Badd%5D%5B0%5D%5Borigin%5D=telegram"
).encode()
LEAD = Lead(id=7, pipeline_id=1, status_id=10, responsible_user_id=5, price=0, created_at=T0, updated_at=T0)


def waiting(touch=None, started=T0, hours=HOURS, limit=15.0):
    return fc.Waiting(started, touch, hours, limit)


# --- kinds of touch
@pytest.mark.parametrize("kind", ["call", "message", "email", "move"])
def test_a_persons_touch_of_each_kind_counts(kind):
    touch = fc.first_touch(LEAD, {f"{kind}:9": T0 + 120})
    assert touch == fc.FirstTouch(T0 + 120, kind, 9)


def test_a_note_counts_only_from_the_responsible_user():
    assert fc.first_touch(LEAD, {"note:9": T0 + 60}) is None
    assert fc.first_touch(LEAD, {"note:5": T0 + 60}) == fc.FirstTouch(T0 + 60, "note", 5)


def test_a_completed_task_and_an_outgoing_call_from_the_mirror_count():
    task = Task(id=1, lead_id=7, responsible_user_id=5, complete_till=T0, is_completed=True, completed_at=T0 + 300)
    call = Call(lead_id=7, at=T0 + 200, duration=30, direction="out", user_id=5)
    incoming = Call(lead_id=7, at=T0 + 100, duration=30, direction="in", user_id=5)
    assert fc.first_touch(LEAD, {}, [task], [incoming]) == fc.FirstTouch(T0 + 300, "task", 5)
    assert fc.first_touch(LEAD, {}, [task], [call, incoming]) == fc.FirstTouch(T0 + 200, "call", 5)


def test_whichever_comes_first_wins():
    touch = fc.first_touch(LEAD, {"move:9": T0 + 900, "message:p": T0 + 400, "call:5": T0 + 600})
    assert (touch.at, touch.kind) == (T0 + 400, "message")


def test_robots_never_touch():
    assert fc.first_touch(LEAD, {"move:0": T0 + 1, "message:0": T0 + 2, "call:0": T0 + 3, "note:0": T0 + 4}) is None
    calls = [Call(lead_id=7, at=T0 + 5, duration=0, direction="out", user_id=0)]
    assert fc.first_touch(LEAD, {}, (), calls) is None


def test_a_robots_stage_move_from_a_webhook_is_recorded_as_a_robot():
    robot = LeadEvent("status", 7, 11, 1, updated_at=T0 + 60, old_status_id=10, modified_user_id=0)
    person = LeadEvent("status", 8, 11, 1, updated_at=T0 + 60, old_status_id=10, modified_user_id=5)
    unknown = LeadEvent("status", 9, 11, 1, updated_at=T0 + 60, old_status_id=10)  # a short body
    accepted = LeadEvent("status", 6, 10, 1, updated_at=T0 + 60, old_status_id=99, modified_user_id=5)
    touches = webhook_touches([robot, person, unknown, accepted], unsorted_stages={99})
    assert touches == {7: {"move:0": T0 + 60}, 8: {"move:5": T0 + 60}}
    assert fc.first_touch(LEAD, touches[7]) is None


def test_notes_from_webhooks_become_touches_of_their_kind():
    notes = [NoteEvent("note", "leads", 1, 7, "call_out", T0 + 10, user_id=5),
             NoteEvent("note", "leads", 2, 7, "call_in", T0 + 5, user_id=5),
             NoteEvent("note", "leads", 3, 7, "common", T0 + 20, user_id=5),
             NoteEvent("note", "leads", 4, 7, "sms_out", T0 + 30, user_id=5)]
    assert webhook_touches(notes, set()) == {7: {"call:5": T0 + 10, "note:5": T0 + 20, "message:5": T0 + 30}}


def test_the_real_message_capture_is_an_incoming_message_and_no_touch():
    hook = parse_webhook(WH07)
    [message] = [e for e in hook.events if isinstance(e, MessageEvent)]
    assert (message.entity_type, message.entity_id, message.outgoing, message.author_type) == (
        "lead", 27754599, False, "external")
    assert webhook_touches(hook.events, set()) == {}


def test_an_outgoing_message_by_a_person_touches_and_by_a_bot_does_not():
    person = MessageEvent("add", "m1", "lead", 7, T0 + 50, True, "user")
    bot = MessageEvent("add", "m2", "lead", 8, T0 + 50, True, "bot")
    touches = webhook_touches([person, bot], set())
    assert fc.first_touch(LEAD, touches[7]).kind == "message"
    assert fc.first_touch(LEAD, touches[8]) is None


def test_api_events_become_touches_with_their_author():
    events = [{"type": "outgoing_call", "entity_id": 7, "created_by": 5, "created_at": T0 + 10},
              {"type": "outgoing_chat_message", "entity_id": 7, "created_by": 0, "created_at": T0 + 5},
              {"type": "lead_status_changed", "entity_id": 8, "created_by": 5, "created_at": T0 + 7,
               "value_before": [{"lead_status": {"id": 99}}]},
              {"type": "entity_responsible_changed", "entity_id": 7, "created_by": 5, "created_at": T0 + 1}]
    assert api_touches(events, unsorted_stages={99}) == {7: {"call:5": T0 + 10, "message:0": T0 + 5}}


# --- the hint
def test_no_hint_before_the_limit_a_warning_at_it_critical_at_four_times():
    assert fc.first_contact_overdue(LEAD, waiting(), None, T0 + 14 * 60) is None
    hint = fc.first_contact_overdue(LEAD, waiting(), None, T0 + 15 * 60)
    assert (hint.code, hint.severity, hint.value) == ("first_contact_overdue", "warning", 15)
    assert fc.first_contact_overdue(LEAD, waiting(), None, T0 + 60 * 60).severity == "critical"


def test_a_touched_deal_has_no_hint():
    assert fc.first_contact_overdue(LEAD, waiting(fc.FirstTouch(T0 + 3600, "call", 5)), None, T0 + 7200) is None


def test_evenings_do_not_count_toward_the_limit():
    friday = int(datetime(2026, 12, 11, 17, 55, tzinfo=ZoneInfo("Europe/Moscow")).timestamp())
    saturday = friday + 86400
    assert fc.first_contact_overdue(LEAD, waiting(started=friday), None, saturday) is None
    monday = int(datetime(2026, 12, 14, 9, 10, tzinfo=ZoneInfo("Europe/Moscow")).timestamp())
    assert fc.next_check(waiting(started=friday), saturday) == monday


def test_next_check_is_the_limit_then_the_critical_limit_then_nothing():
    w = waiting()
    assert fc.next_check(w, T0) == T0 + 15 * 60
    assert fc.next_check(w, T0 + 15 * 60) == T0 + 60 * 60
    assert fc.next_check(w, T0 + 60 * 60) is None
    assert fc.next_check(waiting(fc.FirstTouch(T0 + 60, "call", 5)), T0) is None


def test_old_deals_are_not_new_requests():
    old = waiting(started=T0 - 8 * 86400)
    assert fc.first_contact_overdue(LEAD, old, None, T0) is None and fc.next_check(old, T0) is None


def test_the_reason_says_how_long_and_the_price_at_stake():
    lead = Lead(id=7, pipeline_id=1, status_id=10, responsible_user_id=5, price=120000, created_at=T0)
    hint = fc.first_contact_overdue(lead, waiting(), fc.stake_of(lead, "", None), T0 + 47 * 60)
    assert hint.text["ru"].startswith("Клиент ждёт первого ответа уже 47 минут рабочего времени")
    assert "120\u00a0000 — сумма сделки" in hint.text["ru"] and "порог" not in hint.text["ru"]
    assert "47 minutes of working time" in hint.text["en"] and "120,000, the deal's price" in hint.text["en"]


def test_plurals_follow_the_displayed_number():
    one = fc.first_contact_overdue(LEAD, waiting(limit=1), None, T0 + 61)
    assert "уже 1 минуту" in one.text["ru"] and "1 minute of" in one.text["en"]
    twenty_one = fc.first_contact_overdue(LEAD, waiting(limit=1), None, T0 + 21 * 60)
    assert "уже 21 минуту" in twenty_one.text["ru"] and "21 minutes" in twenty_one.text["en"]
    long = fc.first_contact_overdue(LEAD, waiting(limit=15), None, T0 + 90 * 60)
    assert "уже 1,5 часа" in long.text["ru"] and "1.5 hours" in long.text["en"]


def test_without_a_price_the_stake_is_the_average_win_times_the_sources_conversion():
    model = fc.StakeModel(avg_won=100_000, won_deals=40, account=(40, 200), sources={"Telegram": (12, 60)})
    stake = fc.stake_of(LEAD, "Telegram", model)
    assert stake.basis == "expected" and (stake.wins, stake.trials) == (12, 60)
    assert stake.amount == pytest.approx(100_000 * (12 + 0.2 * 20) / 80)  # 20 000: shrunk toward the account's 20 %
    hint = fc.first_contact_overdue(LEAD, waiting(), stake, T0 + 20 * 60)
    assert "На кону около 20\u00a0000" in hint.text["ru"]
    assert "средняя выигранная сделка 100\u00a0000 (по 40 сделкам)" in hint.text["ru"]
    assert "заявок из «Telegram» (12 из 60)" in hint.text["ru"]
    assert "(12 of 60)" in hint.text["en"]


def test_an_unknown_source_falls_back_to_every_new_deal_and_no_data_says_nothing():
    model = fc.StakeModel(avg_won=50_000, won_deals=10, account=(10, 100), sources={})
    assert fc.stake_of(LEAD, "Avito", model).trials == 100
    hint = fc.first_contact_overdue(LEAD, waiting(), None, T0 + 20 * 60)
    assert "На кону" not in hint.text["ru"] and "stake" not in hint.text["en"]


def test_the_stake_model_counts_closed_new_deals_by_source():
    leads = [Lead(id=i, pipeline_id=1, status_id=142 if i < 3 else 143, responsible_user_id=5, price=1000 * i,
                  created_at=T0) for i in range(1, 6)]
    model = fc.stake_model(leads, {1: "Telegram", 4: "Telegram"}, since=T0 - 1)
    assert (model.avg_won, model.won_deals, model.account) == (1500, 2, (2, 5))
    assert model.sources == {"Telegram": (1, 2)}


def test_long_waits_read_in_days():
    hint = fc.first_contact_overdue(LEAD, waiting(hours=None), None, T0 + 5 * 86400)
    assert "уже 5 дней" in hint.text["ru"] and "5 days" in hint.text["en"]


def test_an_estimate_is_shown_to_two_significant_figures():
    from service.insights.first_contact_texts import rough

    assert (rough(7358), rough(123_456), rough(42), rough(995)) == (7400, 120_000, 42, 1000)


def test_the_threshold_says_whether_the_limit_is_the_default_or_the_supervisors():
    default = fc.first_contact_overdue(LEAD, waiting(), None, T0 + 20 * 60).threshold
    assert (default.source_code, default.source) == ("default", "default of 15 working minutes to the first contact")
    own = fc.first_contact_overdue(LEAD, fc.Waiting(T0, None, None, 10, limit_is_default=False), None, T0 + 20 * 60)
    assert (own.threshold.source_code, own.threshold.value) == ("manual", 10)
    assert own.threshold.source == "10 minutes to the first contact (your setting)"
