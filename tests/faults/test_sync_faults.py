"""A full sync against the sandbox amoCRM while it misbehaves (faults injected through its settings):
5xx bursts, timeouts and 429 storms → the sync completes, resuming from its checkpoint where a job gave up, and the
mirror equals the sandbox lead by lead (no lead, stage move or change made during the sync lost, none duplicated);
a 403 block → the sync stops cleanly with the account marked; the disable hook mid-sync → no key of the account
left.

Waits are made short (client backoff 10 ms, read timeout 0.2 s, Retry-After 1 s) so the file runs in seconds; what
is asserted is outcomes, never timings."""
from __future__ import annotations

import requests
import pytest

from service.services import queueing, sync
from service.amocrm import client as amo_client
from service.sandbox.records import LOST, WON
from service.store.keys import account_key
from tests.e2e.conftest import app, connected, ours, sandbox, settings, world  # noqa: F401  (fixtures)
from tests.e2e.test_install_and_sync import expected_leads, history_size, mirrored_leads, stage_moves

YEAR = 365 * 86400
MAX_RESUMES = 12  # RQ retries a failed full sync (Retry(max=3)); tests just call it again


class CountingSession(requests.Session):
    """The client's HTTP session, counting answers by status (and timeouts) as the sandbox gave them."""

    def __init__(self):
        super().__init__()
        self.statuses: list = []

    def request(self, method, url, **kwargs):
        try:
            answer = super().request(method, url, **kwargs)
        except requests.Timeout:
            self.statuses.append("timeout")
            raise
        self.statuses.append(answer.status_code)
        return answer


@pytest.fixture
def fast_client(monkeypatch, deps):
    """Our amoCRM client with short waits, and a session that counts what the sandbox answered."""
    real_init = amo_client.AmoClient.__init__

    def init(self, *args, **kwargs):
        kwargs.setdefault("backoff", 0.01)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(amo_client.AmoClient, "__init__", init)
    monkeypatch.setattr(amo_client, "TIMEOUT", (2, 0.2))
    deps.http = CountingSession()
    return deps.http


def faults(sandbox, **values):
    """Inject (or clear) faults through the sandbox's control API, as an operator would."""
    requests.patch(f"{sandbox.url}/_sandbox/settings", json={"faults": values}, timeout=5).raise_for_status()


def rate_limit(sandbox, **values):
    requests.patch(f"{sandbox.url}/_sandbox/settings", json={"rate_limit": values}, timeout=5).raise_for_status()


def on_page(deps, monkeypatch, action, before_save=False):
    """Run `action(page_number)` around each page the sync saves (leads pages: the bulk of a sync)."""
    real, pages = deps.store.save_leads, []

    def hooked(account_id, leads):
        pages.append(1)
        if before_save:
            action(len(pages))
        result = real(account_id, leads)
        if not before_save:
            action(len(pages))
        return result

    monkeypatch.setattr(deps.store, "save_leads", hooked)
    return pages


def sync_until_done(deps, account_id) -> tuple[dict, int]:
    """Call full_sync as RQ's retries would, until it finishes; (last result, interruptions)."""
    interrupted = 0
    for _ in range(MAX_RESUMES):
        try:
            result = sync.full_sync(deps, account_id)
        except amo_client.TransientError:
            interrupted += 1
            assert sync.sync_status(deps, account_id)["state"] == "interrupted"
            continue
        return result, interrupted
    raise AssertionError(f"the sync did not finish after {MAX_RESUMES} attempts")


def assert_mirror_equals_sandbox(deps, account_id, world):
    status = sync.sync_status(deps, account_id)
    assert (status["state"], status["percent"], status["account"]["state"]) == ("done", 100.0, "active")
    since = status["started_at"] - YEAR
    assert mirrored_leads(deps, account_id) == expected_leads(world, since)
    assert history_size(deps, account_id)[0] == stage_moves(world, since)  # no stage move lost or doubled
    open_tasks = {t.id for t in world.tasks.values() if not t.is_completed and t.entity_id in world.leads}
    assert open_tasks <= {t.id for t in deps.store.all_tasks(account_id)}
    assert set(deps.store.get_users(account_id)) == set(world.users)
    assert deps.store.get_sync(account_id, "checkpoint") == {}


def move_a_lead(world):
    """A change made in amoCRM while we sync (a write that must not be lost)."""
    lead = next(l for l in sorted(world.leads.values(), key=lambda l: l.id)
                if not l.is_deleted and l.status_id not in (WON, LOST))
    stage = next(s.id for s in world.pipelines[lead.pipeline_id].statuses
                 if s.type == 0 and s.id not in (lead.status_id, WON, LOST))
    world.move_lead(lead.id, stage)
    return lead.id, stage


# ---- transient faults: the sync completes ------------------------------------------------------------------------
@pytest.mark.parametrize("fault", [
    {"error_rate": 0.25, "error_status": 503, "seed": 7},  # flaky throughout (~90 requests per sync)
    {"error_rate": 0.25, "error_status": 500, "seed": 3},
    {"timeout_rate": 0.1, "timeout_seconds": 0.5, "seed": 5},  # answers later than our read timeout
    {"storm_429": 5},  # five 429s in a row (no Retry-After: our exponential backoff)
], ids=["503-flaky", "500-flaky", "timeouts", "429-storm"])
def test_transient_faults_throughout_the_sync(deps, connected, sandbox, world, fast_client, fault):
    faults(sandbox, **fault)
    result, interrupted = sync_until_done(deps, connected.id)
    assert result["state"] == "done"
    assert_mirror_equals_sandbox(deps, connected.id, world)
    injected = [s for s in fast_client.statuses if s in (429, 500, 503, "timeout")]
    assert injected, "the fault was never injected"


def test_a_5xx_burst_mid_sync_interrupts_then_the_resume_completes_with_the_changes_made_meanwhile(
        deps, connected, sandbox, world, fast_client, monkeypatch):
    """amoCRM answers 503 to everything for a while: the job gives up after its retries (interrupted), the retry
    resumes from the checkpoint, and a change made in amoCRM during the outage reaches the mirror."""
    moved = {}

    def burst(page):
        if page == 2:
            faults(sandbox, error_rate=1.0, error_status=503)
            moved["lead"] = move_a_lead(world)

    applied = on_page(deps, monkeypatch, burst)
    with pytest.raises(amo_client.TransientError):
        sync.full_sync(deps, connected.id)
    assert sync.sync_status(deps, connected.id)["state"] == "interrupted"
    checkpoint = deps.store.get_sync(connected.id, "checkpoint")
    # the resume starts at the first page not applied (the page fetched ahead before the burst was applied)
    assert checkpoint["steps"]["leads"]["next"].endswith(f"page={len(applied) + 1}")
    assert deps.store.get_sync(connected.id, "history") == {}  # not done: the mirror's history is not whole yet

    faults(sandbox, error_rate=0.0)
    result, _ = sync_until_done(deps, connected.id)
    assert result["state"] == "done"
    assert sync.incremental_sync(deps, connected.id)["state"] == "done"  # the reconcile that follows every sync
    # the history the panel may count starts where the interrupted run's window did, not at the resume's
    assert deps.store.get_sync(connected.id, "history") == {"since": checkpoint["since"]}
    lead_id, stage = moved["lead"]
    assert deps.store.get_leads(connected.id, [lead_id])[lead_id].status_id == stage
    assert_mirror_equals_sandbox(deps, connected.id, world)
    assert fast_client.statuses.count(503) >= amo_client.GET_ATTEMPTS


def test_a_429_storm_with_retry_after_is_waited_out_without_a_block(deps, connected, sandbox, world, fast_client,
                                                                   monkeypatch):
    """The sandbox's real limiter at 30 requests/s with Retry-After: 1 while we would send 100,000/s: every 429
    pauses the account for the Retry-After, so the excess never adds up to the sandbox's 403 block (which a client
    retrying on its own 10 ms backoff would reach within the first window)."""
    def storm(page):
        if page == 1:
            rate_limit(sandbox, per_second=30, retry_after=1, block_after_excess=8, excess_window=60)

    on_page(deps, monkeypatch, storm)
    result, interrupted = sync_until_done(deps, connected.id)
    assert (result["state"], interrupted) == ("done", 0)
    assert 429 in fast_client.statuses and 403 not in fast_client.statuses
    assert_mirror_equals_sandbox(deps, connected.id, world)


# ---- permanent faults: the sync stops cleanly ----------------------------------------------------------------------
def test_a_403_block_mid_sync_stops_cleanly_and_marks_the_account(deps, connected, sandbox, world, fast_client,
                                                                  monkeypatch):
    def block(page):
        if page == 2:  # any excess now blocks the account
            rate_limit(sandbox, per_second=0, block_after_excess=0, block_seconds=3600)

    on_page(deps, monkeypatch, block)
    result = sync.full_sync(deps, connected.id)
    assert (result["state"], result["reason"]) == ("stopped", "blocked")
    assert fast_client.statuses[-1] == 403 and fast_client.statuses.count(403) == 1  # no hammering on a block
    state = deps.store.get_account_state(connected.id)
    assert state["state"] == "blocked" and "403" in state["reason"]
    status = sync.sync_status(deps, connected.id)
    assert (status["state"], status["reason"]) == ("stopped", "blocked")
    sent = len(fast_client.statuses)
    assert sync.full_sync(deps, connected.id)["reason"] == "blocked"  # stays stopped, calls nobody
    assert len(fast_client.statuses) == sent
    assert deps.store.get_sync(connected.id, "checkpoint")["steps"]["leads"]["next"]  # resumable

    rate_limit(sandbox, per_second=100_000, block_after_excess=30)  # the block is lifted...
    requests.post(f"{sandbox.url}/_sandbox/rate_limit/reset", timeout=5).raise_for_status()
    deps.store.set_account_state(connected.id, "active")  # ...and the account re-enabled
    monkeypatch.undo()
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    assert_mirror_equals_sandbox(deps, connected.id, world)


@pytest.mark.parametrize("before_save", [False, True], ids=["between-pages", "between-fetch-and-save"])
def test_the_disable_hook_mid_sync_leaves_no_key_of_the_account(app, deps, connected, sandbox, fast_client,
                                                                monkeypatch, before_save, run_worker):
    """amoCRM calls our disable hook while a sync runs: once the sync has noticed and the hook's job has confirmed
    with amoCRM (issue 16), nothing of the account is left (not a lead page saved after the wipe, not a progress
    record, not a queued job)."""
    fired = []

    def disable(page):
        if page == 2:
            fired.append(requests.post(f"{sandbox.url}/_sandbox/disable", json={}, timeout=10).json())

    on_page(deps, monkeypatch, disable, before_save=before_save)
    result = sync.full_sync(deps, connected.id)  # no crash: a clean stop
    assert fired and fired[0]["status"] == 202
    assert result["state"] == "stopped" and result["reason"] in ("not_installed", "needs_reinstall")
    run_worker()  # the hook's job: amoCRM refuses our token and its refresh, so the account goes
    assert deps.redis.keys(account_key(connected.id, "*")) == []
    assert connected.id not in deps.store.account_ids()
    assert all(q.count == 0 for q in deps.queues.values())


# ---- an interrupted reconcile: retried by RQ, and the progress says what really follows ----------------------------
def test_an_interrupted_reconcile_is_retried_and_says_so_honestly(deps, connected, sandbox, world, fast_client,
                                                                   run_worker, monkeypatch):
    from rq.job import Job
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    faults(sandbox, error_rate=1.0, error_status=503)
    sync.reconcile_all(deps)
    queue = deps.queues["sync"]
    for attempt in range(len(queueing.RECONCILE_RETRIES)):
        run_worker()
        status = sync.sync_status(deps, connected.id)
        assert (status["kind"], status["state"], status["reason"]) == ("incremental", "interrupted", "will retry")
        assert queue.failed_job_registry.count == 0  # it was in the failed registry while "will retry" was shown
        [scheduled] = queue.scheduled_job_registry.get_job_ids()
        queue.scheduled_job_registry.remove(scheduled)
        queue.enqueue_job(Job.fetch(scheduled, connection=deps.redis, serializer=queue.serializer))  # due now
    run_worker()  # the last try
    assert sync.sync_status(deps, connected.id)["reason"] == "next reconcile"
    assert queue.failed_job_registry.count == 1
    faults(sandbox, error_rate=0.0)
    monkeypatch.setattr(amo_client, "TIMEOUT", (5, 30))  # no fault left: a loaded host's slow answer is no error
    sync.reconcile_all(deps)
    run_worker()
    assert sync.sync_status(deps, connected.id)["state"] == "done"
