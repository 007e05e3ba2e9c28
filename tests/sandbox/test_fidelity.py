"""The sandbox's wire format has the same keys, value types and nesting as every shared amoCRM sample."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl

from shape import docs_examples, flatten, generic_keys, sample, shape_errors, webhook_body

from service.sandbox import hookbody
from service.sandbox.records import LOST, WON

LEAD_NULLABLE = ("*.closed_at", "*.closest_task_at", "*.loss_reason_id", "*.source_id", "*.custom_fields_values")
ALL_ACCOUNT_WITH = "amojo_id,amojo_rights,users_groups,task_types,version,entity_names,datetime_settings," \
                   "drive_url,is_api_filter_enabled,uuid"


def test_account_with_everything_matches_the_account_sample(get):
    body = get(f"/api/v4/account?with={ALL_ACCOUNT_WITH}").get_json()
    assert shape_errors(body, sample("account.json")) == []
    assert body["_embedded"]["datetime_settings"]["timezone"] == "Europe/Moscow"


def test_leads_list_page_matches_the_leads_list_sample(get, world):
    won = [lead.id for lead in world.leads.values() if lead.status_id == WON]
    body = get(f"/api/v4/leads?filter[id][]={won[0]}&filter[id][]={won[1]}&filter[id][]={won[2]}"
               "&limit=1&page=2").get_json()
    assert shape_errors(body, sample("leads_list.json"), nullable=LEAD_NULLABLE) == []


def test_lost_lead_by_id_with_embedded_matches_the_lead_sample(get, world):
    lead = next(x for x in world.leads.values() if x.status_id == LOST and x.source_id and x.loss_reason_id)
    body = get(f"/api/v4/leads/{lead.id}?with=contacts,loss_reason,source,catalog_elements,"
               "is_price_modified_by_robot").get_json()
    assert shape_errors(body, sample("lead_by_id_lost_with_embedded.json"), nullable=LEAD_NULLABLE) == []
    assert body["_embedded"]["loss_reason"][0]["id"] == lead.loss_reason_id


def test_pipelines_match_the_pipelines_sample(get):
    assert shape_errors(get("/api/v4/leads/pipelines").get_json(), sample("pipelines_list.json")) == []


def test_pipeline_statuses_match_the_statuses_sample(get, world):
    pipeline_id = next(iter(world.pipelines))
    body = get(f"/api/v4/leads/pipelines/{pipeline_id}/statuses").get_json()
    assert shape_errors(body, sample("pipeline_statuses_list.json")) == []


def test_users_with_role_and_group_match_the_users_sample(get):
    body = get("/api/v4/users?with=role,group").get_json()
    # the sample itself shows status_rights null (admin) and a list (manager)
    assert shape_errors(body, sample("users_list.json"), nullable=("*.status_rights",)) == []


def test_lead_custom_fields_match_the_custom_fields_sample(get, world):
    body = get("/api/v4/leads/custom_fields?limit=250").get_json()
    theirs = sample("custom_fields_list.json")
    del theirs["_links"]["next"], theirs["_links"]["last"]  # the sample is page 1 of 10; ours is all on one page
    assert shape_errors(body, theirs, nullable=("*.required_statuses",)) == []  # the sample's date field: null
    field = world.close_date_field  # the one the leads' custom_fields_values and webhooks carry
    assert [(f["id"], f["name"], f["type"]) for f in body["_embedded"]["custom_fields"]] == \
        [(field["id"], field["name"], "date")]
    assert (body["_total_items"], body["_page_count"]) == (1, 1)


def test_tasks_match_the_tasks_sample(get):
    body = get("/api/v4/tasks?filter[is_completed][]=1&limit=2").get_json()
    assert shape_errors(body, sample("tasks_list.json")) == []


def test_events_match_the_events_sample(get):
    body = get("/api/v4/events?filter[type]=lead_added&limit=1").get_json()
    assert shape_errors(body, sample("events_list.json")) == []


def test_status_change_event_values_match_the_docs_structure(get):
    event = get("/api/v4/events?filter[type]=lead_status_changed&limit=1").get_json()["_embedded"]["events"][0]
    values = {"value_after": event["value_after"], "value_before": event["value_before"]}
    assert shape_errors(values, sample("event_values_lead_status_changed.json")) == []


def test_responsible_change_event_values_match_the_docs_structure(get):
    event = get("/api/v4/events?filter[type]=entity_responsible_changed&limit=1").get_json()["_embedded"]["events"][0]
    values = {"value_after": event["value_after"], "value_before": event["value_before"]}
    assert shape_errors(values, sample("event_values_entity_responsible_changed.json")) == []


# params of call notes as the notes docs list them (the shared sample holds common/attachment notes only)
CALL_PARAMS = {"uniq": "8f52d38a", "duration": 60, "source": "onlinePBX", "link": "https://example.com",
               "phone": "+79999999999"}


def test_call_notes_match_the_notes_sample_and_documented_call_params(get):
    body = get("/api/v4/leads/notes?filter[note_type]=call_in&limit=2").get_json()
    theirs = sample("notes_list_leads.json")
    for note in theirs["_embedded"]["notes"]:
        note["params"] = {}  # params depend on note_type; checked against the docs below
    assert shape_errors(body, theirs, extra_ok=("*.params.*",)) == []
    for note in body["_embedded"]["notes"]:
        assert note["note_type"] == "call_in"
        assert shape_errors(note["params"], CALL_PARAMS, nullable=("*.link",), extra_ok=("*.call_responsible",)) == []


def test_sip_unsorted_matches_the_unsorted_sample(get, world):
    uid = next(u.uid for u in world.unsorted.values() if u.category == "sip")
    body = get(f"/api/v4/leads/unsorted?filter[uid]={uid}").get_json()
    assert shape_errors(body, sample("unsorted_list.json")) == []


def test_webhook_list_matches_the_webhooks_sample(client, auth, state):
    for url, events in (("https://a.example/hook", ["add_task"]), ("https://b.example/hook", ["update_lead"])):
        state.limiter.reset()
        assert client.post("/api/v4/webhooks", json={"destination": url, "settings": events}, headers=auth).status_code == 201
    body = client.get("/api/v4/webhooks", headers=auth).get_json()
    assert shape_errors(body, sample("webhooks_list.json")) == []


def test_token_responses_match_the_oauth_samples(client, state):
    code = state.tokens.issue_code()
    conf = state.world.settings["oauth"]
    creds = {"client_id": conf["client_id"], "client_secret": conf["client_secret"], "redirect_uri": conf["redirect_uri"]}
    first = client.post("/oauth2/access_token", json={**creds, "grant_type": "authorization_code", "code": code}).get_json()
    assert shape_errors(first, sample("oauth_token_response.json")) == []
    second = client.post("/oauth2/access_token", json={**creds, "grant_type": "refresh_token",
                                                       "refresh_token": first["refresh_token"]}).get_json()
    assert shape_errors(second, sample("oauth_refresh_token_response.json")) == []
    domain = client.get("/oauth2/account/current/subdomain", headers={"X-Refresh-Token": second["refresh_token"]})
    assert shape_errors(domain.get_json(), sample("account_domain_by_refresh_token.json")) == []


def test_disposable_token_claims_match_the_docs_claims(client):
    token = client.post("/_sandbox/disposable_token", json={"aud": "https://dealpulse.example"}).get_json()["token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert shape_errors(claims, sample("disposable_token_claims.json")) == []


# ---- webhook bodies -----------------------------------------------------------------------
def body_for(world, hook: str, record, extra=None) -> str:
    """Our encoded webhook body for one change."""
    return hookbody.encode(hookbody.account_pairs(world) + hookbody.item_pairs(world, hook, record, extra or {}))


def without_custom_fields(keys) -> list[str]:
    """Keys minus the optional custom field / tag groups (checked on their own)."""
    return [k for k in keys if "[custom_fields]" not in k and "[tags]" not in k]


def test_modern_add_update_delete_bodies_have_the_captured_keys_in_order(world):
    lead = next(x for x in world.leads.values() if x.close_date is None and not x.is_deleted and not x.tags)
    for section, hook in enumerate(("add_lead", "update_lead", "delete_lead")):
        theirs = without_custom_fields(generic_keys(webhook_body("leads_add_update_delete_2025_raw.txt", section)))
        ours = without_custom_fields(generic_keys(body_for(world, hook, lead)))
        assert ours == theirs, hook


def test_status_and_responsible_bodies_carry_every_key_of_the_captures(world):
    lead = next(x for x in world.leads.values() if not x.is_deleted)
    cases = (("status_lead_2016_raw.txt", "status_lead", {"old_status_id": 1, "old_pipeline_id": lead.pipeline_id}),
             ("responsible_lead_2016_raw.txt", "responsible_lead", {"old_responsible_user_id": 1}),
             ("add_lead_2016_raw.txt", "add_lead", {}), ("update_lead_2016_raw.txt", "update_lead", {}))
    for name, hook, extra in cases:
        theirs = set(without_custom_fields(generic_keys(webhook_body(name))))
        assert theirs <= set(generic_keys(body_for(world, hook, lead, extra))), name


def test_every_webhook_value_is_a_string_and_ids_are_digits(world):
    lead = next(x for x in world.leads.values() if x.close_date)
    pairs = parse_qsl(body_for(world, "update_lead", lead), keep_blank_values=True)
    assert all(isinstance(v, str) for _, v in pairs)
    assert all(v.isdigit() for k, v in pairs if k.endswith(("[id]", "_id]", "[price]", "[created_at]")))
    date_value = dict(pairs)["leads[update][0][custom_fields][0][values][0]"]
    assert date_value == str(lead.close_date)  # date fields: [values][0]=<unix ts>


def test_pipeline_move_adds_old_pipeline_id(world):
    lead = next(x for x in world.leads.values() if not x.is_deleted)
    keys = generic_keys(body_for(world, "status_lead", lead, {"old_status_id": 1, "old_pipeline_id": 99}))
    assert "leads[status][N][old_pipeline_id]" in keys


def test_task_and_contact_bodies_have_the_docs_keys(world):
    docs = docs_examples()
    task = next(iter(world.tasks.values()))
    task.result_text = "Success"
    ours = set(generic_keys(body_for(world, "update_task", task, {"action_close": 1})))
    theirs = {k.replace("task[update][N][N]", "task[update][N]") for k in flatten(docs["Пример массива для задач"])}
    assert theirs <= ours
    contact = next(c for c in world.contacts.values() if c.phone and c.lead_ids)
    ours = set(generic_keys(body_for(world, "add_contact", contact)))
    theirs = set(flatten(docs["Пример создания контакта"])) - {"contacts[add][N][company_name]",
                                                                "contacts[add][N][linked_company_id]"}
    assert theirs <= ours


def test_call_note_body_uses_the_note_layout(world):
    note = next(iter(world.notes.values()))
    pairs = dict(parse_qsl(body_for(world, "note_lead", note)))
    assert pairs["leads[note][0][note][element_type]"] == "2"
    assert pairs["leads[note][0][note][note_type]"] in ("10", "11")
    assert json.loads(pairs["leads[note][0][note][text]"])["DURATION"] == note.duration
    assert list(pairs)[:3] == ["account[subdomain]", "account[id]", "account[_links][self]"]
