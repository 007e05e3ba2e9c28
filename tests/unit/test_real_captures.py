"""Every capture from real amoCRM accounts (tests/data/real, README there) reads as its README says it must."""
from service.amocrm import schemas
from service.model import ContactEvent, LeadEvent, MessageEvent, NoteEvent, UnsortedEvent
from service.amocrm.webhooks import parse_webhook
from service.mirror import apply_lead_event, call_of, stage_change
from service.model import Lead, User
from service.services.widget.access import Caller
from tests.conftest import ACCOUNT
from tests.support.real import REAL, api_items, webhook_body

RECEIVED = 1_700_000_000


def hook(name: str):
    return parse_webhook(webhook_body(name))


def test_every_capture_in_the_folder_is_read_by_a_test_here():
    source = open(__file__, encoding="utf-8").read()
    names = sorted(p.name for p in REAL.iterdir() if p.name != "README.md")
    assert len(names) >= 23 and [n for n in names if n not in source] == []


# --- webhooks
def test_wh01_modern_contact_add():
    [contact] = hook("wh01_etesttask_contacts_add_2025.txt").events
    assert contact == ContactEvent(action="add", entity="contacts", id=37054081, type="contact",
                                   responsible_user_id=10000698, created_at=1748289231, updated_at=1748289231)


def test_wh03_new_lead_with_its_price_owner_and_creation():
    webhook = hook("wh03_etesttask_leads_add_2025.txt")
    [lead] = webhook.events
    assert (webhook.account_id, webhook.subdomain) == (32427762, "etesttask")
    assert (lead.id, lead.status_id, lead.pipeline_id, lead.price, lead.responsible_user_id, lead.created_at) == \
        (32966269, 76789230, 9621010, 999, 10000698, 1748268669)
    assert not lead.is_short and lead.date_fields == ()


def test_wh04_price_change_keeps_the_stage_and_its_entry_time():
    [added] = hook("wh03_etesttask_leads_add_2025.txt").events
    [updated] = hook("wh04_etesttask_leads_update_2025.txt").events
    lead = apply_lead_event(apply_lead_event(None, added), updated)
    assert (lead.price, lead.status_id, lead.stage_entered_at, lead.updated_at) == \
        (9919, 76789230, 1748268669, 1748268812)
    assert lead.date_fields == ()  # Поле1 and Поле2 are value-shaped: not dates


def test_wh05_a_chat_lead_no_one_owns_yet_is_no_error():
    webhook = hook("wh05_appgpt_leads_update_chatlead_2023.txt")
    [lead] = webhook.events
    assert webhook.errors == [] and lead.responsible_user_id == 0 and lead.name is None
    assert apply_lead_event(None, lead).responsible_user_id == 0


def test_wh07_message_add_is_read_as_a_chat_message_from_the_client():
    webhook = hook("wh07_appgpt_message_add_2023.txt")
    assert (webhook.errors, webhook.skipped) == ([], {})
    assert webhook.events == [MessageEvent(action="add", id="a0ce13c7-4825-4ecc-9dc0-b35c49b86db4", entity_type="lead",
                                           entity_id=27754599, created_at=1695482791, outgoing=False,
                                           author_type="external")]


def test_a_valid_delivery_of_a_kind_we_do_not_read_is_skipped_and_counted():
    unread = webhook_body("wh07_appgpt_message_add_2023.txt").replace(b"message%5Badd%5D", b"talk%5Bdelete%5D")
    webhook = parse_webhook(unread)
    assert (webhook.events, webhook.errors, webhook.skipped) == ([], [], {"talk[delete]": 1})


def test_wh08_incoming_chat_request_names_its_lead_and_readable_source():
    [request] = hook("wh08_appgpt_unsorted_add_chats_2023.txt").events
    assert request == UnsortedEvent(action="add", uid="00b625866db8641999f48766d61d4d0663c12aa38b9bcb4d2866b0c49605",
                                    category="chats", source="AICHATTESTBOT", pipeline_id=7173574,
                                    created_at=1695484695, lead_ids=(28455371,))


def test_wh09_common_note_with_its_author_and_time():
    [note] = hook("wh09_makeprofit_leads_note_common_2020.txt").events
    assert note == NoteEvent(action="note", entity="leads", id=213313359, element_id=22060555, note_type="common",
                             created_at=1601242011, user_id=1608151)
    assert call_of(note) is None


def test_wh10_short_status_move_is_placed_at_its_arrival_and_wipes_nothing():
    [move] = hook("wh10_impactcapital_status_short.txt").events
    assert move.is_short and (move.updated_at, move.created_at, move.price, move.date_fields) == (None,) * 4
    held = Lead(id=25431551, pipeline_id=3273697, status_id=35108005, responsible_user_id=7, price=5000,
                name="Deal", created_at=1600000000, updated_at=1690000000, stage_entered_at=1680000000,
                date_fields=((957903, 1747008000),))
    arrived = LeadEvent(**{**move.__dict__, "received_at": RECEIVED})
    after = apply_lead_event(held, arrived)
    assert (after.status_id, after.stage_entered_at) == (34354531, RECEIVED)
    assert (after.price, after.name, after.responsible_user_id, after.created_at, after.updated_at,
            after.date_fields) == (5000, "Deal", 7, 1600000000, 1690000000, ((957903, 1747008000),))
    change = stage_change(held, after, arrived)
    assert (change.at, change.old_status_id, change.status_id) == (RECEIVED, 35108005, 34354531)


def test_wh11_short_add_makes_a_lead_created_at_its_arrival_not_in_1970():
    [added] = hook("wh11_messengermarketing_add_short.txt").events
    lead = apply_lead_event(None, LeadEvent(**{**added.__dict__, "received_at": RECEIVED}))
    assert (lead.id, lead.status_id, lead.pipeline_id) == (5141671, 43283812, 4736017)
    assert (lead.created_at, lead.stage_entered_at) == (RECEIVED, RECEIVED)
    assert lead.updated_at == 0  # no amoCRM time known: any full hook about the lead is newer


def test_wh12_short_move_of_a_lead_we_do_not_hold_waits_for_the_reconcile():
    [move] = hook("wh12_messg_status_short.txt").events
    arrived = LeadEvent(**{**move.__dict__, "received_at": RECEIVED})
    assert apply_lead_event(None, arrived) is None  # no owner, price or creation time: no card invented
    change = stage_change(None, None, arrived)
    assert (change.lead_id, change.at, change.old_status_id, change.status_id) == (916659, RECEIVED, 45648901,
                                                                                   45648904)


def test_wh16_wh17_oldest_sender_company_and_contact():
    company, contact = (hook(n) for n in ("wh16_test000002_add_company_2016.txt",
                                          "wh17_test000002_add_contact_2016.txt"))
    assert (company.account_id, company.subdomain) == (None, "test000002")
    assert [(e.type, e.id, e.created_at, e.updated_at) for e in company.events + contact.events] == \
        [("company", 1110, 1456824655, 1456824655), ("contact", 1112, 1456824964, 1456824964)]


def test_wh20_tags_empty_fields_and_multiline_text():
    webhook = hook("wh20_unirock_update_tags_emptycf_2021.txt")
    [lead] = webhook.events
    assert webhook.errors == [] and (lead.old_status_id, lead.status_id, lead.price) == (21632815, 17965459, 0)
    assert (lead.updated_at, lead.created_at, lead.date_fields) == (1627306719, 1621622403, ())


# --- API answers
def test_api01_kommo_lead_date_time_and_birthday_fields():
    [lead] = [schemas.LeadSchema().load(i) for i in api_items("api01_kommo_dental_lead_datetime_birthday_2025.json",
                                                              "leads")]
    assert lead.date_fields == ((1251460, 1047265200), (1251802, 1734012000), (1276872, 1733751000))


def test_api02_won_and_lost_with_closed_at_and_prices():
    leads = [schemas.LeadSchema().load(i) for i in api_items("api02_mipinstitute_leads_won_lost_date_2022.json",
                                                             "leads")]
    assert [(lead.status_id, lead.price, lead.closed_at) for lead in leads] == \
        [(143, 95000, 1640681520), (142, 52500, 1641994680)]


def test_api03_pipelines_with_their_unsorted_stage_and_142_143():
    pipelines = [schemas.PipelineSchema().load(p) for p in api_items("api03_crm1airpods_pipelines_2020.json",
                                                                     "pipelines")]
    for pipeline in pipelines:
        assert pipeline.stages[0].is_unsorted and {142, 143} <= {s.id for s in pipeline.stages}


def test_api04_api05_leads_without_custom_fields_and_their_statuses():
    leads = [schemas.LeadSchema().load(i) for i in api_items("api04_tulevand_leads_2021.json", "leads")]
    stages = [schemas.StageSchema().load(s) for s in api_items("api05_tulevand_pipeline_statuses_2021.json",
                                                               "statuses")]
    assert len(leads) == 7 and all(lead.date_fields == () for lead in leads)
    assert {lead.status_id for lead in leads} <= {s.id for s in stages}


def test_api07_tasks_with_custom_type_and_either_result_shape():
    tasks, problems = schemas.load_each(schemas.TaskSchema(), api_items("api07_swissmedica_tasks_2023.json",
                                                                        "tasks"))
    assert problems == [] and [t.task_type_id for t in tasks] == [284845, 1, 1, 1]
    assert all(t.is_completed and t.completed_at == t.updated_at for t in tasks)


def test_api08_api09_calls_count_for_who_made_them():
    calls, _ = schemas.load_each(schemas.CallNoteSchema(), api_items("api08_swissmedica_lead_notes_calls_2023.json",
                                                                     "notes"))
    assert [(c.direction, c.user_id, c.duration) for c in calls] == [
        ("out", 3821476, 15), ("out", 3821476, 9), ("out", 3821476, 12), ("in", 658302, 4),
        ("out", 3821476, 57), ("out", 3821476, 10)]
    events, _ = schemas.load_each(schemas.EventSchema(), api_items("api09_swissmedica_events_2023.json", "events"))
    made = {e["created_at"] for e in events if e["type"] == "outgoing_call"}
    assert made <= {c.at for c in calls if c.user_id == 3821476}


def test_api09_stage_and_responsible_events():
    events, _ = schemas.load_each(schemas.EventSchema(), api_items("api09_swissmedica_events_2023.json", "events"))
    moves = [m for m in map(schemas.stage_change, events) if m]
    owners = [o for o in map(schemas.responsible_change, events) if o]
    assert (moves[0].old_status_id, moves[0].status_id, moves[0].at) == (19045762, 21544411, 1685602284)
    assert (owners[0].old_user_id, owners[0].user_id) == (1737526, 3821476)


def test_api11_stage_rights_hide_deals_a_manager_with_all_rights_cannot_see():
    [user] = [schemas.UserSchema().load(u) for u in api_items("api11_swissmedica_user_status_rights_2023.json",
                                                              "users")]
    assert (user.leads_view, user.is_admin) == ("A", False) and (47721, 25961197, "D") in user.stage_views
    caller = Caller(ACCOUNT, user.id, user, False, False, "A", user.group_id, {}, RECEIVED)
    hidden = Lead(id=1, pipeline_id=47721, status_id=25961197, responsible_user_id=user.id)
    shown = Lead(id=2, pipeline_id=772717, status_id=25961194, responsible_user_id=99)
    elsewhere = Lead(id=3, pipeline_id=772717, status_id=1, responsible_user_id=99)
    assert [caller.may_view(x) for x in (hidden, shown, elsewhere)] == [False, True, True]
    admin = Caller(ACCOUNT, user.id, user, True, True, "A", user.group_id, {}, RECEIVED)
    assert admin.may_view(hidden)
    assert User(**{**user.__dict__, "stage_views": [list(v) for v in user.stage_views]}) == user  # JSON round trip


def test_api12_open_task_made_by_a_robot():
    [task] = [schemas.TaskSchema().load(t) for t in api_items("api12_thelord_tasks_open_2023.json", "tasks")]
    assert (task.lead_id, task.is_completed, task.completed_at, task.text) == (1781381, False, None, "hi!")


def test_fractional_prices_are_read_from_webhooks_and_the_api():
    pairs = b"leads[update][0][id]=1&leads[update][0][status_id]=2&leads[update][0][pipeline_id]=3&" \
            b"leads[update][0][price]=1500.50&leads[update][0][updated_at]=5&account[id]=1&account[subdomain]=x"
    assert parse_webhook(pairs).events[0].price == 1500.5
    assert schemas.LeadSchema().load({"id": 1, "pipeline_id": 2, "status_id": 3, "price": 99.99}).price == 99.99
    assert schemas.LeadSchema().load({"id": 1, "pipeline_id": 2, "status_id": 3, "price": 100.0}).price == 100
