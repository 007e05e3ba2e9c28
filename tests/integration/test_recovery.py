"""A worker killed mid-drain loses nothing: after a restart every event is applied, once in effect."""
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlencode

from service.ops import clock
from service.services import intake
from service.ops.redis_server import ROOT
from service.services.hook_urls import hook_secret

EVENTS = 4000


def status_moves(count):
    """Bodies of `count` status moves over 400 leads, each lead moving 100 → 109."""
    for i in range(count):
        pairs = [("account[id]", "16700680"), ("leads[status][0][id]", str(i % 400 + 1)),
                 ("leads[status][0][status_id]", str(100 + i // 400)), ("leads[status][0][pipeline_id]", "10"),
                 ("leads[status][0][old_status_id]", str(99 + i // 400)),
                 ("leads[status][0][updated_at]", str(10_000 + i))]
        yield urlencode(pairs).encode()


def post_status_moves(client, settings, count):
    url = f"/hooks/16700680/{hook_secret(settings.secret_key, 16700680)}"
    for body in status_moves(count):
        assert client.post(url, data=body, content_type="application/x-www-form-urlencoded").status_code == 204


def kill_with_children(pid):
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for child in [pid, *map(int, children)]:
        os.kill(child, signal.SIGKILL)


def start_worker(redis_url):
    env = {**os.environ, "REDIS_URL": redis_url, "DRAIN_LEASE_SECONDS": "2"}
    return subprocess.Popen([sys.executable, "-m", "service", "worker", "--burst"], cwd=ROOT, env=env,
                            start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_worker_killed_mid_drain_then_restarted_applies_everything_once(client, settings, account, deps,
                                                                        redis_url):
    for i, body in enumerate(status_moves(EVENTS)):  # stored as the intake stores them, faster than HTTP
        headers = {"User-Agent": "amoCRM-Webhooks/3.0", "X-Amocrm-Requestid": f"req-{i}",
                   "Content-Type": "application/x-www-form-urlencoded"}
        deps.store.append_inbox(account.id, {"body": body, "received_at": "0", "headers": json.dumps(headers)})
    intake.queue_drain(deps, account.id)
    worker = start_worker(redis_url)
    deadline = time.monotonic() + 30
    while deps.store.inbox_length(account.id) == EVENTS and time.monotonic() < deadline:
        time.sleep(0.005)
    kill_with_children(worker.pid)  # the worker and its work-horse (RQ puts it in its own group), mid-batch
    worker.wait()
    left = deps.store.inbox_length(account.id)
    assert 0 < left < EVENTS, "the kill must land mid-drain for this test to mean anything"

    time.sleep(2.1)  # the dead worker's lease on the inbox (DRAIN_LEASE_SECONDS=2) runs out
    assert intake.sweep_inboxes(deps) == [account.id]  # the clock's sweeper finds the stranded inbox
    start_worker(redis_url).wait(timeout=60)

    assert deps.store.inbox_length(account.id) == 0
    leads = deps.store.get_leads(account.id, range(1, 401))
    assert {lead.status_id for lead in leads.values()} == {109} and len(leads) == 400
    history = deps.store.timelines(account.id, "history", range(1, 401))
    wrong = {lead: [(c.old_status_id, c.status_id, c.at) for c in changes] for lead, changes in history.items()
             if [c.status_id for c in changes] != list(range(100, 110))}
    assert wrong == {}


def test_clock_queues_each_periodic_job_once_per_slot(deps):
    periodic = clock.schedule(deps.settings)
    day = 86400 * 1000  # a moment every period divides
    assert clock.tick(deps, float(day)) == [p.func for p in periodic]
    assert clock.tick(deps, day + 1.0) == []  # another replica, same slot
    assert clock.tick(deps, day + 30.0) == ["service.jobs.sweep_inboxes"]
    assert clock.tick(deps, day + 900.0) == ["service.jobs.sweep_inboxes", "service.jobs.recompute_all",
                                             "service.jobs.check_webhooks_all"]
    assert deps.queues["webhooks"].count == 3


def test_sweep_leaves_inboxes_with_a_drain_already_queued_alone(client, settings, account, deps):
    post_status_moves(client, settings, 3)
    assert intake.sweep_inboxes(deps) == []  # the webhook itself queued a drain
