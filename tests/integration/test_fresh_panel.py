"""A burst of webhooks schedules one recompute of the panel's figures; one waits and one runs at most."""
from rq.registry import ScheduledJobRegistry

from service.services import cube_cache, fresh_panel
from service import jobs
from service.store.keys import account_key
from tests.integration.test_intake_processing import lead_pairs, post

FRESH = "fresh-recompute-16700680"


def fresh_jobs(deps):
    return [j for j in ScheduledJobRegistry(queue=deps.queues["insights"]).get_job_ids() if j.startswith("fresh-")]


def test_a_burst_of_webhooks_schedules_one_debounced_recompute(client, settings, account, deps, run_worker):
    for i in range(5):
        post(client, settings, lead_pairs("add", i + 1, 100, 1500))
        run_worker()  # five drains, as five separate deliveries would be
    assert fresh_jobs(deps) == [FRESH]
    registry = ScheduledJobRegistry(queue=deps.queues["insights"])
    delay = registry.get_scheduled_time(FRESH).timestamp() - deps.clock()
    assert 0 < delay <= fresh_panel.DEBOUNCE + 1
    assert deps.redis.exists(deps.store.recompute_pending_key(account.id))
    job = deps.queues["insights"].fetch_job(FRESH)
    assert 0 < deps.redis.ttl(job.key) <= fresh_panel.PENDING_TTL  # a job nobody runs does not stay forever


def test_the_recompute_refreshes_the_panel_and_lets_the_next_burst_ask_again(client, settings, account, deps,
                                                                             run_worker, monkeypatch):
    post(client, settings, lead_pairs("add", 1, 100, 1500))
    run_worker()
    monkeypatch.setattr("service.bootstrap.worker_deps", lambda: deps)
    answer = jobs.recompute_fresh(account.id)
    assert (answer["state"], answer["mode"], answer["leads"]) == ("done", "full", 1)  # no cube yet: the whole one
    assert cube_cache.cube_parts(deps, account.id)["cube"]["as_of"] == answer["as_of"]
    assert not deps.redis.exists(deps.store.recompute_pending_key(account.id))
    assert fresh_panel.request_recompute(deps, account.id, [1]) is True  # the next change asks again
    answer = jobs.recompute_fresh(account.id)
    assert (answer["mode"], answer["shards"], answer["leads"]) == ("shards", [1], 1)  # then only its shard


def test_while_a_recompute_runs_the_waiting_one_looks_again_later(client, settings, account, deps, monkeypatch):
    assert fresh_panel.request_recompute(deps, account.id) is True
    assert fresh_panel.request_recompute(deps, account.id) is False  # coalesced
    running = deps.redis.lock(account_key(account.id, "lock", "recompute"), timeout=60)
    assert running.acquire(blocking=False)
    monkeypatch.setattr("service.bootstrap.worker_deps", lambda: deps)
    assert jobs.recompute_fresh(account.id) == {"state": "busy"}
    assert deps.redis.exists(deps.store.recompute_pending_key(account.id)) and fresh_jobs(deps) == [FRESH]
    running.release()


def test_the_next_recompute_of_an_account_waits_out_the_minimum_interval(client, settings, account, deps,
                                                                         run_worker, monkeypatch):
    """A steady stream of webhooks updates an account's panel once per MIN_INTERVAL, not every DEBOUNCE seconds
    (issue 22), whichever way the last update ran (a full recompute first, then shards)."""
    post(client, settings, lead_pairs("add", 1, 100, 1500))
    run_worker()
    monkeypatch.setattr("service.bootstrap.worker_deps", lambda: deps)
    for mode in ("full", "shards"):
        deps.store.clear_fresh_recompute(account.id)
        answer = jobs.recompute_fresh(account.id)
        assert answer["mode"] == mode
        ran = deps.clock()
    assert fresh_panel.request_recompute(deps, account.id) is True
    registry = ScheduledJobRegistry(queue=deps.queues["insights"])
    at = registry.get_scheduled_time(FRESH).timestamp()
    assert ran + fresh_panel.MIN_INTERVAL - 1 <= at <= ran + fresh_panel.MIN_INTERVAL + 1
