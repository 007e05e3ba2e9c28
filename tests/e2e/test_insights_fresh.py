"""After install and sync every insight is precomputed; a later webhook refreshes its card with the models."""
from urllib.parse import urlencode, urlsplit

import requests

from service.services import recompute
from service.services.hook_urls import hook_url
from service.model import CLOSED_STATUSES


def install_and_sync(sandbox, run_worker, deps, world):
    assert requests.post(f"{sandbox.url}/_sandbox/install", json={}, timeout=10).json()["status"] == 200
    run_worker()  # exchange → account → webhooks → full sync → full recompute
    return deps.store.get_account(world.account["id"])


def test_sync_leaves_every_insight_precomputed(app, deps, sandbox, world, run_worker):
    account = install_and_sync(sandbox, run_worker, deps, world)
    team = deps.store.read_insight(account.id, "team")
    open_leads = [lead for lead in world.leads.values() if lead.status_id not in CLOSED_STATUSES
                  and not getattr(lead, "is_deleted", False)]
    assert sum(row["count"] for row in team["funnel"]) == len(open_leads)
    assert team["places"] and all(set(p["text"]) == {"ru", "en"} for p in team["places"])
    forecast = deps.store.read_insight(account.id, "forecast")
    assert len(forecast["months"]) == 3 and all(m["p10"] <= m["p50"] <= m["p90"] for m in forecast["months"])
    assert len(deps.store.read_insight(account.id, "backtest")["months"]) == 6
    managers = {lead.responsible_user_id for lead in open_leads}
    assert all(deps.store.read_manager(account.id, user) for user in managers)
    codes = {h["code"] for lead in open_leads for h in card_of(deps, account.id, lead.id)["hints"]}
    assert {"stuck_in_stage", "no_open_task", "win_chance"} <= codes


def test_a_webhook_after_sync_recomputes_its_card_with_the_account_models(app, deps, sandbox, world, run_worker,
                                                                          client):
    account = install_and_sync(sandbox, run_worker, deps, world)
    models = recompute.decode_models(deps.store.read_models(account.id))
    assert recompute.decode_models(recompute.encode_models(models)) == models
    lead = next(l for l in world.leads.values() if l.status_id not in CLOSED_STATUSES and not l.is_deleted
                and stuck(deps, account.id, l.id))
    target = next(s.id for s in world.pipelines[lead.pipeline_id].statuses
                  if s.id not in CLOSED_STATUSES | {lead.status_id})
    now = int(deps.clock())
    body = urlencode([("account[id]", str(account.id)), ("leads[status][0][id]", str(lead.id)),
                      ("leads[status][0][status_id]", str(target)), ("leads[status][0][old_status_id]",
                                                                     str(lead.status_id)),
                      ("leads[status][0][pipeline_id]", str(lead.pipeline_id)),
                      ("leads[status][0][updated_at]", str(now))])
    answer = client.post(urlsplit(hook_url(deps, account.id)).path, data=body,  # this install's URL
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 204
    run_worker()
    card = card_of(deps, account.id, lead.id)
    assert card["as_of"] >= now and not stuck(deps, account.id, lead.id)
    assert "win_chance" in {h["code"] for h in card["hints"]}  # the account's models were used


def card_of(deps, account_id, lead_id):
    return deps.store.read_card(account_id, lead_id)


def stuck(deps, account_id, lead_id):
    return any(h["code"] == "stuck_in_stage" for h in card_of(deps, account_id, lead_id)["hints"])
