"""Real deliveries (tests/data/real) through the HTTP intake and a real worker: the answer amoCRM gets, what lands."""
import time
from urllib.parse import parse_qsl

import pytest

from service.model import Account, Lead
from service.services.hook_urls import hook_secret
from tests.support.real import webhook_body

FORM = "application/x-www-form-urlencoded"
CAPTURES = ["wh01_etesttask_contacts_add_2025.txt", "wh03_etesttask_leads_add_2025.txt",
            "wh04_etesttask_leads_update_2025.txt", "wh05_appgpt_leads_update_chatlead_2023.txt",
            "wh07_appgpt_message_add_2023.txt", "wh08_appgpt_unsorted_add_chats_2023.txt",
            "wh09_makeprofit_leads_note_common_2020.txt", "wh10_impactcapital_status_short.txt",
            "wh11_messengermarketing_add_short.txt", "wh12_messg_status_short.txt",
            "wh16_test000002_add_company_2016.txt", "wh17_test000002_add_contact_2016.txt",
            "wh20_unirock_update_tags_emptycf_2021.txt"]


def install_for(deps, name: str) -> Account:
    """The account a capture came from (subdomain-only senders get an id of our choosing)."""
    sent = dict(parse_qsl(webhook_body(name).decode()))
    account = Account(id=int(sent.get("account[id]") or 4242), subdomain=sent["account[subdomain]"])
    deps.store.save_account(account)
    return account


def deliver(client, settings, account: Account, body: bytes):
    return client.post(f"/hooks/{account.id}/{hook_secret(settings.secret_key, account.id)}", data=body,
                       content_type=FORM, headers={"User-Agent": "amoCRM-Webhooks/3.0"})


@pytest.mark.parametrize("name", CAPTURES)
def test_every_real_delivery_gets_a_2xx_and_nothing_is_dead_lettered(client, settings, deps, run_worker, name):
    account = install_for(deps, name)
    answer = deliver(client, settings, account, webhook_body(name))
    assert answer.status_code == 204, answer.get_data(as_text=True)
    run_worker()
    assert deps.store.dead_letters(account.id) == []


def test_a_kind_we_do_not_read_is_answered_2xx_not_stored_and_counted_in_metrics(client, settings, deps, run_worker):
    account = install_for(deps, "wh07_appgpt_message_add_2023.txt")
    unread = webhook_body("wh07_appgpt_message_add_2023.txt").replace(b"message%5Badd%5D", b"talk%5Bdelete%5D")
    for _ in range(2):
        assert deliver(client, settings, account, unread).status_code == 204
    assert deps.store.inbox_length(account.id) == 0 and deps.store.webhooks_received(account.id) == 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'deal_pulse_webhook_items_skipped_total{{account="{account.id}",kind="talk[delete]"}} 2' in metrics


def test_a_body_with_no_kind_at_all_is_still_refused(client, settings, deps):
    account = install_for(deps, "wh07_appgpt_message_add_2023.txt")
    answer = deliver(client, settings, account, b"account[id]=31257294&account[subdomain]=appgpt")
    assert answer.status_code == 400 and "no event" in answer.get_json()["message"]


def test_a_short_stage_move_is_placed_at_its_arrival_and_keeps_the_rest(client, settings, deps, run_worker):
    account = install_for(deps, "wh10_impactcapital_status_short.txt")
    held = Lead(id=25431551, pipeline_id=3273697, status_id=35108005, responsible_user_id=7, price=5000, name="Deal",
                created_at=1600000000, updated_at=1690000000, stage_entered_at=1680000000,
                date_fields=((957903, 1747008000),))
    deps.store.save_leads(account.id, [held])
    before = int(time.time())
    assert deliver(client, settings, account, webhook_body("wh10_impactcapital_status_short.txt")).status_code == 204
    after = int(time.time()) + 1
    run_worker()
    lead = deps.store.get_leads(account.id, {held.id})[held.id]
    assert lead.status_id == 34354531 and before <= lead.stage_entered_at <= after
    assert (lead.price, lead.name, lead.created_at, lead.date_fields) == (5000, "Deal", 1600000000,
                                                                          ((957903, 1747008000),))
    [move] = deps.store.timelines(account.id, "history", [held.id])[held.id]
    assert (move.old_status_id, move.status_id) == (35108005, 34354531) and before <= move.at <= after


def test_an_incoming_chat_request_keeps_its_lead_and_source_name(client, settings, deps, run_worker):
    account = install_for(deps, "wh08_appgpt_unsorted_add_chats_2023.txt")
    assert deliver(client, settings, account, webhook_body("wh08_appgpt_unsorted_add_chats_2023.txt")).status_code \
        == 204
    run_worker()
    [request] = deps.store.get_records(account.id, "incoming",
                                       ["00b625866db8641999f48766d61d4d0663c12aa38b9bcb4d2866b0c49605"]).values()
    assert (request["lead_id"], request["source_name"], request["category"]) == (28455371, "AICHATTESTBOT", "chats")
