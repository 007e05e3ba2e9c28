"""A fresh panel rebuilds only the changed leads' shards: after random webhooks its cube and its filtered panel
equal a from-scratch build over the same mirror (real Redis, real RQ worker running the drain and the update)."""
from __future__ import annotations

import json
import random

import pytest

from service.config import Settings
from service.insights.cube import build_cube
from service.insights.panel_query import split_by_pipeline
from service.insights.spells import build_spells
from service.model import User
from service.services import cube_cache, fresh_panel, queueing, recompute
from service.services.widget.overview import filtered_view
from tests.integration.test_intake_processing import post, task_pairs
from tests.support.tokens import mint_token
from tests.unit.insights.synthetic import NOW, PIPE, generate_account

STATUSES = (101, 102, 103, 104, 142, 143)
DAY = 86400
HISTORY = NOW - 250 * DAY  # where the synced history starts


@pytest.fixture
def settings(redis_url) -> Settings:
    """One supervisor asking for many panels in a row: the per-user rate limit is not what is tested."""
    return Settings(redis_url=redis_url, api_user_rps=1_000_000)


@pytest.fixture
def seeded(account, deps, monkeypatch):
    """A 600-lead account in the mirror, recomputed once; the clock stands still; updates run without a debounce."""
    acc = generate_account(600, days=200, seed=5, activity=True)
    deps.clock = lambda: NOW
    monkeypatch.setattr("service.bootstrap.worker_deps", lambda: deps)
    monkeypatch.setattr(fresh_panel, "_schedule", lambda deps, account_id, delay=None: queueing.enqueue(
        deps, "recompute_fresh", account_id))  # queued at once: the burst worker runs it after the drain
    store = deps.store
    store.save_pipelines(account.id, acc.pipelines)
    store.save_users(account.id, [User(u.id, u.name, is_admin=u.id == 1) for u in acc.users])
    store.save_leads(account.id, acc.leads)
    store.save_tasks(account.id, acc.tasks)
    store.add_timeline(account.id, "history", acc.history)
    store.add_timeline(account.id, "calls", acc.calls)
    store.save_sync(account.id, "history", {"since": HISTORY})
    recompute.recompute_account(deps, account.id)
    return acc


def lead_change(rng, lead, at) -> list:
    """A webhook changing a lead's stage, price, manager, or deleting it."""
    fields = {"id": lead.id, "status_id": lead.status_id, "pipeline_id": PIPE, "updated_at": at,
              "created_at": lead.created_at, "responsible_user_id": lead.responsible_user_id, "price": lead.price}
    kind = rng.choice(["status", "status", "price", "responsible", "delete"])
    if kind == "delete":
        return [(f"leads[delete][0][{k}]", str(fields[k])) for k in ("id", "status_id", "pipeline_id")]
    if kind == "status":
        fields["status_id"] = rng.choice([s for s in STATUSES if s != lead.status_id])
    elif kind == "price":
        fields["price"] = rng.randrange(1, 90) * 1000
    else:
        fields["responsible_user_id"] = rng.randrange(1, 11)
    action = "status" if kind == "status" else "update"
    return [(f"leads[{action}][0][{k}]", str(v)) for k, v in fields.items()]


def new_lead(lead_id, at) -> list:
    fields = {"id": lead_id, "status_id": 101, "pipeline_id": PIPE, "updated_at": at, "created_at": at,
              "responsible_user_id": 3, "price": 7000}
    return [(f"leads[add][0][{k}]", str(v)) for k, v in fields.items()]


def from_scratch(deps, account_id) -> dict:
    """The cube built over the whole current mirror, as a full recompute at this moment would."""
    snap = recompute.load_snapshot(deps, account_id)
    return build_cube(snap, build_spells(snap.leads.values(), snap.history_by_lead), NOW)


def panel(client, settings, account, query="") -> dict:
    reply = client.get(f"/api/v1/panel{query}", headers={"X-Auth-Token": mint_token(settings, account, user_id=1)})
    assert reply.status_code == 200, reply.json
    return reply.json


def expected_view(cube, query: dict) -> dict:
    view = filtered_view({"cube": cube, "parts": split_by_pipeline(cube)}, NOW, query.get("from"), query.get("to"),
                         query.get("pipeline_id"), query.get("user_id"), None, HISTORY)
    return json.loads(json.dumps({"team": view["team"], "report": view["report"]}))


QUERIES = [{}, {"from": NOW - 90 * DAY, "to": NOW}, {"from": NOW - 7 * DAY, "to": NOW, "user_id": 4},
           {"from": NOW - 2 * DAY, "to": NOW, "user_id": 7}]


def test_random_changes_reach_the_panel_equal_to_a_from_scratch_cube(client, settings, account, deps, seeded,
                                                                     run_worker):
    rng = random.Random(11)
    panel(client, settings, account)  # the web process now holds the summed cube
    leads, next_id, task_id = {lead.id: lead for lead in seeded.leads}, 10_000, 50_000
    for round_ in range(5):
        at = NOW - 3600 + round_ * 60
        for lead_id in rng.sample(sorted(leads), rng.randrange(3, 12)):
            post(client, settings, lead_change(rng, leads[lead_id], at))
        post(client, settings, new_lead(next_id, at) + task_pairs("add", task_id, next_id, NOW + rng.choice([-1, 1])
                                                                  * DAY, at=at))
        next_id, task_id = next_id + 1, task_id + 1
        run_worker()  # the drain, then the fresh-panel update it queued
        assert not deps.store.take_cube_dirty(account.id)  # every marked shard was rebuilt
        expected = from_scratch(deps, account.id)
        held = cube_cache.cube_parts(deps, account.id)["cube"]
        assert {k: v for k, v in held.items() if k != "version"} == expected
        for query in QUERIES:
            answer = panel(client, settings, account, "?" + "&".join(f"{k}={v}" for k, v in query.items()))
            assert {"team": answer["team"], "report": answer["report"]} == expected_view(expected, query)
        leads = {lead.id: lead for lead in deps.store.all_leads(account.id)}


def test_an_update_rewrites_only_the_changed_leads_shards(client, settings, account, deps, seeded, run_worker):
    before = deps.store.cube_index(account.id)
    lead = seeded.leads[40]
    post(client, settings, lead_change(random.Random(2), lead, NOW - 60))
    run_worker()
    after = deps.store.cube_index(account.id)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {str(lead.id % 16), "account"}  # the full recompute's version stays: its speed facts too


def test_a_failed_update_leaves_its_shards_marked_for_the_next_run(account, deps, seeded, monkeypatch):
    fresh_panel.request_recompute(deps, account.id, [3, 20])

    def broken(*args, **kwargs):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(deps.store, "save_cube", broken)
    with pytest.raises(ConnectionError):
        fresh_panel.run_recompute(deps, account.id)
    assert deps.store.take_cube_dirty(account.id) == {3, 4}
