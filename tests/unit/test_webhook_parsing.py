"""Every shared webhook sample parses to the values amoCRM sent; every kind of FACTS §4 is read."""
from urllib.parse import urlencode

import pytest

from service.model import ContactEvent, LeadEvent, NoteEvent, TaskEvent, UnsortedEvent
from service.amocrm.webhooks import WebhookError, parse_webhook
from tests.support.samples import webhook_bodies


def body(pairs) -> bytes:
    return urlencode(pairs).encode()


def test_old_status_lead_sample():
    hook = parse_webhook(webhook_bodies("status_lead_2016_raw.txt")[0])
    assert (hook.account_id, hook.subdomain) == (None, "test000002")
    [lead] = hook.events
    assert lead == LeadEvent(action="status", id=31926520, status_id=10216994, pipeline_id=2116,
                             updated_at=1456820780, created_at=1456808154, price=1000, responsible_user_id=938348,
                             old_status_id=10216995, modified_user_id=102525, name="Some test lead",
                             date_fields=())
    assert lead.date_fields == ()  # its one custom field is text ([values][0][value]), not a date


def test_old_add_update_responsible_samples():
    [added] = parse_webhook(webhook_bodies("add_lead_2016_raw.txt")[0]).events
    [updated] = parse_webhook(webhook_bodies("update_lead_2016_raw.txt")[0]).events
    [moved] = parse_webhook(webhook_bodies("responsible_lead_2016_raw.txt")[0]).events
    assert (added.action, added.id) == ("add", 31926529)
    assert updated.action == "update" and updated.updated_at > 0
    assert moved.action == "responsible" and moved.old_responsible_user_id is not None


def test_modern_add_update_delete_samples():
    add, update, delete = (parse_webhook(b) for b in webhook_bodies("leads_add_update_delete_2025_raw.txt"))
    assert add.account_id == 16700680 and add.subdomain == "unirock"
    assert add.events[0].created_at == 1744532875 and add.events[0].price == 0
    assert update.events[0].modified_user_id == 0  # a robot or the API made the change
    assert update.events[0].date_fields == ()  # test_id=30052055 looks like a time but is sent as a text value
    assert delete.events == [LeadEvent(action="delete", id=30052055, status_id=17944873, pipeline_id=936736)]


def test_date_fields_are_read_from_the_bare_value_shape_and_nothing_else():
    first, moved = (parse_webhook(b).events[0] for b in webhook_bodies("update_lead_date_field_modern.txt"))
    assert first.date_fields == ((957903, 1747008000),)  # beside test_id, a text field in the same body
    assert (moved.updated_at, moved.date_fields) == (1744619276, ((957903, 1747612800),))


@pytest.mark.parametrize("value", ["", "soon", "-86400", "12.5", str(2 ** 32)])
def test_a_date_field_that_is_no_unix_time_is_left_out_and_the_lead_kept(value):
    lead, fields = "leads[update][0]", "leads[update][0][custom_fields]"
    hook = parse_webhook(body([(f"{lead}[id]", "1"), (f"{lead}[status_id]", "2"), (f"{lead}[pipeline_id]", "3"),
                               (f"{fields}[0][id]", "7"), (f"{fields}[0][values][0]", value),
                               (f"{fields}[1][id]", "8"), (f"{fields}[1][values][0]", "86400"), ("account[id]", "1")]))
    assert [e.date_fields for e in hook.events] == [((8, 86400),)] and hook.errors == []


def test_task_with_local_dates_from_the_docs_example():
    hook = parse_webhook(body([
        ("task[update][0][id]", "11122233"), ("task[update][0][element_id]", "33322211"),
        ("task[update][0][element_type]", "2"), ("task[update][0][task_type]", "1"),
        ("task[update][0][date_create]", "2017-07-20 15:00:00"), ("task[update][0][text]", "Follow-up"),
        ("task[update][0][status]", "1"), ("task[update][0][last_modified]", "2017-07-21 19:00:00"),
        ("task[update][0][responsible_user_id]", "123123"),
        ("task[update][0][complete_till]", "2017-07-22 23:59:00"), ("account[subdomain]", "test")]),
        timezone="Europe/Moscow")
    [task] = hook.events
    assert task == TaskEvent(action="update", id=11122233, lead_id=33322211, responsible_user_id=123123,
                             complete_till=1500757140, is_completed=True, updated_at=1500652800,
                             created_at=1500552000, task_type_id=1, text="Follow-up")


def test_task_on_a_contact_has_no_lead():
    hook = parse_webhook(body([("task[add][0][id]", "1"), ("task[add][0][element_id]", "5"),
                               ("task[add][0][element_type]", "1"), ("task[add][0][complete_till]", "1700000000"),
                               ("account[id]", "1")]))
    assert hook.events[0].lead_id is None and hook.events[0].complete_till == 1700000000


def test_call_note_reads_its_duration_from_the_json_text():
    hook = parse_webhook(body([
        ("leads[note][0][note][id]", "77"), ("leads[note][0][note][element_id]", "31926520"),
        ("leads[note][0][note][element_type]", "2"), ("leads[note][0][note][note_type]", "10"),
        ("leads[note][0][note][text]", '{"UNIQ":"x","DURATION":134,"SRC":"sip"}'),
        ("leads[note][0][note][date_create]", "2024-03-01 10:00:00"), ("leads[note][0][note][main_user_id]", "5"),
        ("account[id]", "1")]), timezone="UTC")
    assert hook.events == [NoteEvent(action="note", entity="leads", id=77, element_id=31926520, note_type="call_in",
                                     created_at=1709287200, user_id=5, duration=134)]


def test_contacts_and_unsorted_from_the_docs_examples():
    hook = parse_webhook(body([
        ("contacts[add][0][id]", "10952709"), ("contacts[add][0][responsible_user_id]", "123123"),
        ("contacts[add][0][date_create]", "1684402722"), ("contacts[add][0][type]", "contact"),
        ("unsorted[delete][0][action]", "accept"), ("unsorted[delete][0][uid]", "40789acb"),
        ("unsorted[delete][0][category]", "forms"), ("unsorted[delete][0][created_at]", "124242341"),
        ("unsorted[delete][0][accept_result][leads][0]", "2132111"),
        ("account[subdomain]", "test"), ("account[id]", "1312313")]))
    contact, unsorted = hook.events
    assert contact == ContactEvent(action="add", entity="contacts", id=10952709, type="contact",
                                   responsible_user_id=123123, created_at=1684402722)
    assert unsorted == UnsortedEvent(action="delete", uid="40789acb", category="forms", created_at=124242341,
                                     lead_ids=(2132111,), outcome="accept")


def test_several_kinds_in_one_body_are_all_read():
    pairs = [("leads[add][0][id]", "1"), ("leads[add][0][status_id]", "2"), ("leads[add][0][pipeline_id]", "3"),
             ("leads[status][0][id]", "4"), ("leads[status][0][status_id]", "5"),
             ("leads[status][0][pipeline_id]", "3"), ("task[add][0][id]", "6"), ("account[id]", "9")]
    assert [type(e).__name__ for e in parse_webhook(body(pairs)).events] == ["LeadEvent", "LeadEvent", "TaskEvent"]


@pytest.mark.parametrize("pairs, message", [
    ([("account[id]", "1")], "no event"),
    ([("leads[add][0][id]", "1")], "account[id] or account[subdomain]"),
    ([("account[id]", "-1"), ("task[add][0][id]", "1")], "account[id]='-1'"),
])
def test_unusable_bodies_are_refused_with_the_reason(pairs, message):
    with pytest.raises(WebhookError, match=message.replace("[", r"\[")):
        parse_webhook(body(pairs))


def test_bad_date_names_the_field_and_value():
    hook = parse_webhook(body([("task[add][0][id]", "1"), ("task[add][0][complete_till]", "tomorrow"),
                               ("account[id]", "1")]))
    assert [str(e) for e in hook.errors] == [
        "task[add][0]: [complete_till]='tomorrow': not a unix time or 'YYYY-MM-DD HH:MM:SS'"]
