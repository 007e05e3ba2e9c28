"""Against the sandbox: install → sync → the mirror equals amoCRM lead by lead; resume; revoke; disable."""
from __future__ import annotations

import time
from dataclasses import replace

import requests

from service.services import sync
from service.amocrm.tokens import TokenKeeper
from service.sandbox.records import WON, LOST
from service.services.hook_urls import hook_url
from service.store.keys import account_key

YEAR = 365 * 86400
LEAD_FIELDS = ("id", "name", "price", "responsible_user_id", "group_id", "status_id", "pipeline_id", "created_at",
               "updated_at", "closed_at", "loss_reason_id", "is_deleted")


def expected_leads(world, since):
    """The sandbox leads a sync must mirror: open ones and those closed inside the window."""
    return {lead.id: {f: getattr(lead, f) for f in LEAD_FIELDS} for lead in world.leads.values()
            if not lead.is_deleted and (lead.status_id not in (WON, LOST) or (lead.closed_at or 0) >= since)}


def mirrored_leads(deps, account_id):
    """The live leads of the mirror (deleted ones are kept as tombstones: see deleted_leads)."""
    return {lead.id: {f: getattr(lead, f) for f in LEAD_FIELDS} for lead in deps.store.all_leads(account_id)
            if not lead.is_deleted}


def deleted_leads(deps, account_id):
    return {lead.id for lead in deps.store.all_leads(account_id) if lead.is_deleted}


def stage_moves(world, since):
    from service.sandbox.records import EVENT_CODE, EV_AT, EV_TYPE
    return sum(1 for row in world.events if row[EV_TYPE] == EVENT_CODE["lead_status_changed"] and row[EV_AT] >= since)


def history_size(deps, account_id):
    ids = [lead_id for lead_id in (lead.id for lead in deps.store.all_leads(account_id))]
    lead_ids = deps.store.timeline_leads(account_id, "history")
    return sum(map(len, deps.store.timelines(account_id, "history", lead_ids).values())), ids


def test_install_then_sync_mirrors_the_sandbox_lead_by_lead(app, deps, sandbox, world, run_worker):
    started = requests.post(f"{sandbox.url}/_sandbox/install", json={}, timeout=10).json()
    assert started["status"] == 200  # our redirect URI answered inside amoCRM's 3 seconds
    run_worker()  # exchange → account → webhooks → full sync → insights
    account = deps.store.get_account(world.account["id"])
    assert (account.subdomain, account.timezone, account.is_api_filter_enabled) == ("sandbox", "Europe/Moscow", True)
    assert [h.destination for h in world.hooks.values()] == [hook_url(deps, account.id)]
    assert b"def50200" not in deps.store.get_tokens(account.id)
    status = sync.sync_status(deps, account.id)
    assert (status["state"], status["percent"], status["account"]["state"]) == ("done", 100.0, "active")
    since = status["started_at"] - YEAR
    assert mirrored_leads(deps, account.id) == expected_leads(world, since)
    assert deleted_leads(deps, account.id) == set()  # deleted before we came: never mirrored
    assert history_size(deps, account.id)[0] == stage_moves(world, since)
    assert {p.id for p in deps.store.get_pipelines(account.id)} == set(world.pipelines)
    assert set(deps.store.get_users(account.id)) == set(world.users)
    open_tasks = {t.id for t in world.tasks.values() if not t.is_completed and t.entity_id in world.leads}
    assert open_tasks <= {t.id for t in deps.store.all_tasks(account.id)}


def test_a_sync_killed_halfway_resumes_without_duplicates(deps, connected, world, monkeypatch):
    real, calls = deps.store.save_leads, []

    def dies_on_third_page(account_id, leads):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real(account_id, leads)

    monkeypatch.setattr(deps.store, "save_leads", dies_on_third_page)
    try:
        sync.full_sync(deps, connected.id)
    except RuntimeError:
        pass
    checkpoint = deps.store.get_sync(connected.id, "checkpoint")
    assert checkpoint["steps"]["events"]["done"] and "page=3" in checkpoint["steps"]["leads"]["next"]
    assert sync.sync_status(deps, connected.id)["state"] == "interrupted"
    monkeypatch.setattr(deps.store, "save_leads", real)
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    status = sync.sync_status(deps, connected.id)
    since = status["started_at"] - YEAR
    assert mirrored_leads(deps, connected.id) == expected_leads(world, since)
    assert history_size(deps, connected.id)[0] == stage_moves(world, since)
    leads_step = status["steps"]["leads"]
    assert leads_step["pages_done"] == leads_step["pages_total"]  # the pages before the crash were not re-read
    assert deps.store.get_sync(connected.id, "checkpoint") == {}


def test_a_token_revoked_mid_sync_stops_cleanly_and_marks_the_account(deps, connected, sandbox, monkeypatch):
    real = deps.store.save_leads

    def revoke_then_save(account_id, leads):
        sandbox.state.tokens.revoke_all()
        return real(account_id, leads)

    monkeypatch.setattr(deps.store, "save_leads", revoke_then_save)
    result = sync.full_sync(deps, connected.id)
    assert (result["state"], result["reason"]) == ("stopped", "needs_reinstall")
    assert deps.store.get_account_state(connected.id)["state"] == "needs_reinstall"
    status = sync.sync_status(deps, connected.id)
    assert (status["state"], status["reason"]) == ("stopped", "needs_reinstall")
    assert sync.full_sync(deps, connected.id)["reason"] == "needs_reinstall"  # and it stays stopped


def test_incremental_sync_repairs_a_missed_change_and_replays_harmlessly(deps, connected, world, sandbox):
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    lead = next(l for l in world.leads.values() if not l.is_deleted and l.status_id not in (WON, LOST))
    stage = next(s.id for s in world.pipelines[lead.pipeline_id].statuses if s.type == 0 and s.id != lead.status_id
                 and s.id not in (WON, LOST))
    before = history_size(deps, connected.id)[0]
    world.move_lead(lead.id, stage)  # no webhook reaches us: only reconciliation can see it
    for filter_enabled in (True, False):
        world.account["is_api_filter_enabled"] = filter_enabled
        deps.store.save_account(connected.__class__(**{**connected.__dict__, "is_api_filter_enabled": filter_enabled}))
        assert sync.incremental_sync(deps, connected.id)["state"] == "done"
        mirrored = deps.store.get_leads(connected.id, [lead.id])[lead.id]
        assert (mirrored.status_id, mirrored.stage_entered_at) == (stage, lead.updated_at)
        assert history_size(deps, connected.id)[0] == before + 1


def test_a_newest_first_walk_reads_no_page_past_the_watermark(deps, connected, world):
    """Without the filter add-on leads are walked newest first down to the watermark: the page that reaches it is
    the last one asked for, although pages are otherwise fetched ahead of applying them."""
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    world.account["is_api_filter_enabled"] = False
    deps.store.save_account(replace(connected, is_api_filter_enabled=False))
    asked = []
    deps.http = requests.Session()
    real = deps.http.request
    deps.http.request = lambda method, url, **kw: (asked.append((url, kw.get("params"))), real(method, url, **kw))[1]
    assert sync.incremental_sync(deps, connected.id)["state"] == "done"
    walk = [(url, params) for url, params in asked if (url.endswith("/api/v4/leads") or "/api/v4/leads?" in url)
            and "with" not in (params or {})]
    assert len(walk) == 1 and walk[0][1]["order[updated_at]"] == "desc"  # page 1 already reaches the watermark
    trash = [params for url, params in asked if (params or {}).get("with") == "only_deleted"]
    assert len(trash) == 1 and trash[0]["order[updated_at]"] == "desc"  # so does the deleted leads' walk


def test_a_delete_whose_hook_was_lost_is_repaired_by_the_reconcile_and_sticks(deps, connected, world):
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    lead = next(x for x in world.leads.values() if not x.is_deleted and x.status_id not in (WON, LOST))
    world.delete_lead(lead.id)  # no webhook reaches us
    assert sync.incremental_sync(deps, connected.id)["state"] == "done"
    assert deps.store.get_leads(connected.id, [lead.id])[lead.id].is_deleted
    assert sync.incremental_sync(deps, connected.id)["state"] == "done"  # the next run lists it no more
    assert deps.store.get_leads(connected.id, [lead.id])[lead.id].is_deleted


def test_an_undone_delete_is_repaired_by_the_reconcile(deps, connected, world):
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    lead = next(x for x in world.leads.values() if not x.is_deleted and x.status_id not in (WON, LOST))
    world.delete_lead(lead.id)
    assert sync.incremental_sync(deps, connected.id)["state"] == "done"
    assert deps.store.get_leads(connected.id, [lead.id])[lead.id].is_deleted
    time.sleep(1.1)  # times are whole seconds: a reconcile must start a second after the delete to be newer
    lead.is_deleted, lead.updated_at = False, world.now()  # restored in amoCRM; its restore hook was lost
    world.touch()
    assert sync.incremental_sync(deps, connected.id)["state"] == "done"
    assert not deps.store.get_leads(connected.id, [lead.id])[lead.id].is_deleted


def test_disable_hook_from_amocrm_deletes_every_key_of_the_account(app, deps, connected, sandbox, run_worker):
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    deps.queues["sync"].enqueue("service.jobs.incremental_sync", connected.id)
    assert deps.redis.keys(account_key(connected.id, "*"))
    fired = requests.post(f"{sandbox.url}/_sandbox/disable", json={}, timeout=10).json()
    assert fired["status"] == 202  # issue 16: accepted; a job confirms with amoCRM, then deletes
    run_worker()
    assert deps.redis.keys(account_key(connected.id, "*")) == []
    assert connected.id not in deps.store.account_ids()
    assert deps.queues["sync"].count == 0
