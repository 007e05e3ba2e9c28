"""API v4 behaviour: paging, limits, 204, rate limit, the filter add-on switch, writes and faults."""
from __future__ import annotations

import time

from service.sandbox.generator import generate


def page_all(get, path: str, name: str) -> list:
    """Follow _links.next until the last page."""
    items, url = [], path
    while url:
        response = get(url)
        if response.status_code == 204:
            break
        body = response.get_json()
        items += body["_embedded"][name]
        url = body["_links"].get("next", {}).get("href", "").replace("http://localhost", "")
    return items


def test_paging_all_leads_returns_each_exactly_once(get, world):
    ids = [lead["id"] for lead in page_all(get, "/api/v4/leads?limit=250&order[updated_at]=asc", "leads")]
    assert len(ids) == len(set(ids)) == sum(1 for x in world.leads.values() if not x.is_deleted)


def test_leads_limit_is_capped_at_250(get):
    body = get("/api/v4/leads?limit=1000").get_json()
    assert len(body["_embedded"]["leads"]) == 250


def test_events_page_is_capped_at_100_and_paging_covers_the_log(get, world):
    body = get("/api/v4/events?limit=250").get_json()
    assert len(body["_embedded"]["events"]) == 100
    start = world.events[-300][0]
    events = page_all(get, f"/api/v4/events?limit=100&filter[created_at][from]={start}", "events")
    assert len(events) == sum(1 for row in world.events if row[0] >= start)
    assert len({e["id"] for e in events}) == len(events)


def test_events_filter_by_type_entity_and_time(get, world):
    rows = page_all(get, "/api/v4/events?filter[type]=lead_status_changed&filter[entity]=lead&limit=100", "events")
    assert rows and all(e["type"] == "lead_status_changed" and e["entity_type"] == "lead" for e in rows)
    assert get("/api/v4/events?filter[created_at][from]=1&filter[created_at][to]=2").status_code == 204


def test_an_account_without_a_date_field_lists_no_lead_custom_fields(get, world):
    world.close_date_field = {"id": 0, "name": "Планируемая дата закрытия"}  # an account file with none
    assert get("/api/v4/leads/custom_fields").status_code == 204


def test_empty_list_page_is_204_with_empty_body(get):
    response = get("/api/v4/leads?page=999")
    assert response.status_code == 204 and response.data == b""
    assert get("/api/v4/webhooks").status_code == 204


def test_missing_lead_is_204(get):
    assert get("/api/v4/leads/1").status_code == 204


def test_eight_requests_in_a_second_get_429_and_repeated_excess_gets_403(client, auth, state):
    state.world.settings["rate_limit"].update(block_after_excess=5, block_seconds=30)
    codes = [client.get("/api/v4/account", headers=auth).status_code for _ in range(8)]
    assert codes[:7] == [200] * 7 and codes[7] == 429
    codes = [client.get("/api/v4/account", headers=auth).status_code for _ in range(6)]
    assert codes[-1] == 403
    state.limiter.reset()
    assert client.get("/api/v4/account", headers=auth).status_code == 200


def test_rate_window_slides(client, auth, state):
    for _ in range(7):
        assert client.get("/api/v4/account", headers=auth).status_code == 200
    time.sleep(1.05)
    assert client.get("/api/v4/account", headers=auth).status_code == 200


def test_filters_work_with_the_add_on_and_are_refused_without_it(get, world):
    lead = next(x for x in world.leads.values() if not x.is_deleted)
    path = f"/api/v4/leads?filter[updated_at][from]={lead.updated_at}&filter[updated_at][to]={lead.updated_at}"
    body = get(path).get_json()
    assert lead.id in [x["id"] for x in body["_embedded"]["leads"]]
    assert all(x["updated_at"] == lead.updated_at for x in body["_embedded"]["leads"])
    world.account["is_api_filter_enabled"] = False
    refused = get(path)
    assert refused.status_code == 402 and refused.mimetype == "application/problem+json"
    assert get("/api/v4/account?with=is_api_filter_enabled").get_json()["is_api_filter_enabled"] is False
    world.settings["api_filter_off"] = "ignore"
    assert len(get(path + "&limit=250").get_json()["_embedded"]["leads"]) == 250


def test_post_task_creates_a_task_and_an_event(client, auth, world):
    lead = next(x for x in world.leads.values() if not x.is_deleted and x.status_id not in (142, 143))
    before = len(world.events)
    response = client.post("/api/v4/tasks", headers=auth, json=[
        {"text": "Позвонить", "complete_till": 1767300000, "entity_id": lead.id, "entity_type": "leads",
         "request_id": "r1"}])
    assert response.status_code == 200
    task_id = response.get_json()["_embedded"]["tasks"][0]["id"]
    assert world.tasks[task_id].entity_id == lead.id and len(world.events) == before + 1
    assert world.leads[lead.id].closest_task_at <= 1767300000


def test_injected_faults_answer_5xx_and_429_storms(client, auth, state):
    state.world.settings["faults"].update(error_rate=1.0, error_status=502)
    assert client.get("/api/v4/account", headers=auth).status_code == 502
    state.world.settings["faults"].update(error_rate=0.0, storm_429=2)
    codes = [client.get("/api/v4/account", headers=auth).status_code for _ in range(3)]
    assert codes == [429, 429, 200]


def test_injected_latency_delays_answers(client, auth, state):
    state.world.settings["faults"]["latency_ms"] = 150
    started = time.perf_counter()
    client.get("/api/v4/account", headers=auth)
    assert time.perf_counter() - started >= 0.15


def test_generator_is_deterministic_for_a_seed():
    a, b = generate("small", seed=3, now=1767225600), generate("small", seed=3, now=1767225600)
    assert a.events == b.events and [x.status_id for x in a.leads.values()] == [x.status_id for x in b.leads.values()]


def test_hal_next_links_work_over_a_real_socket(live_server, auth, world):
    import requests
    url, seen = f"{live_server}/api/v4/leads?limit=250", []
    while url:
        response = requests.get(url, headers=auth, timeout=5)
        if response.status_code == 204:
            break
        body = response.json()
        seen += [x["id"] for x in body["_embedded"]["leads"]]
        url = body["_links"].get("next", {}).get("href")
        time.sleep(0.15)  # stay under 7 requests/s
    assert sorted(seen) == sorted(x.id for x in world.leads.values() if not x.is_deleted)
