"""End to end: a new deal made in the sandbox reaches us by webhook; its first-contact hint appears when the limit
passes with no further webhook (the scheduled re-check, on a controlled clock), and a call clears it."""
from __future__ import annotations

from rq.job import Job
from rq.registry import ScheduledJobRegistry

from service import bootstrap
from service.services import first_contacts
from service.services.first_contacts import RECHECK_SLOT
from tests.e2e.delivery_support import delivery  # noqa: F401  (fixture)


def codes(deps, account_id, lead_id):
    return [h["code"] for h in (deps.store.read_card(account_id, lead_id) or {}).get("hints", [])]


def run_scheduler_at(deps, moment: float) -> list[str]:
    """What RQ's scheduler does when `moment` comes: queue the scheduled jobs that are due by then."""
    queue = deps.queues["insights"]
    registry = ScheduledJobRegistry(queue=queue)
    due = registry.get_jobs_to_schedule(int(moment))
    for job_id in due:
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=deps.redis, serializer=queue.serializer))
    return due


def test_the_hint_appears_at_the_limit_without_a_webhook_and_a_call_clears_it(delivery, monkeypatch):
    deps, world, account_id = delivery.deps, delivery.world, delivery.account.id
    deps.store.save_insight(account_id, "settings", {"working_hours": None, "first_contact_minutes": 15})
    manager = sorted(world.profiles)[0]
    pipeline = next(iter(world.pipelines))
    now = world.now()
    lead = world.add_lead("Новый клиент", pipeline, price=80_000, responsible_user_id=manager, by=manager, at=now)
    delivery.settle()
    assert codes(deps, account_id, lead.id) == []  # not yet: it has waited seconds

    slot = -(-(now + 15 * 60) // RECHECK_SLOT) * RECHECK_SLOT
    worker_deps = bootstrap.worker_deps()
    monkeypatch.setattr(worker_deps, "clock", lambda: slot)  # the worker's clock, moved to the limit
    received = deps.store.webhooks_received(account_id)
    rechecks = [j for j in run_scheduler_at(deps, slot - RECHECK_SLOT) if j.startswith("fc-")]
    assert rechecks == []  # nothing is due before the limit (beside the panel's debounced recompute, issue 20)
    assert run_scheduler_at(deps, slot) == [f"fc-{account_id}-{slot}"]
    delivery.drain()
    assert deps.store.webhooks_received(account_id) == received  # no webhook came in between
    [hint] = [h for h in deps.store.read_card(account_id, lead.id)["hints"] if h["code"] == "first_contact_overdue"]
    assert hint["severity"] == "warning" and "80\u00a0000" in hint["text"]["ru"]

    world.log_call(lead.id, "out", 95, by=manager, at=now + 16 * 60)
    delivery.settle()
    assert "first_contact_overdue" not in codes(deps, account_id, lead.id)
    assert first_contacts.store(deps).scheduled(account_id) == {}  # touched: no re-check left


def test_a_full_sync_reads_first_touches_from_the_api_events(deps, connected, world):
    """Sync and reconcile read the same touches from /api/v4/events: outgoing calls and people's stage moves."""
    from service.services import recompute, sync
    from service.sandbox.records import EV_A, EV_AT, EV_BY, EV_EID, EV_TYPE, EVENT_CODE

    start = int(deps.clock())
    deps.clock = lambda: start  # the sync's window starts exactly here
    assert sync.full_sync(deps, connected.id)["state"] == "done"
    since = start - deps.settings.sync_history_days * 86400
    unsorted = {s.id for p in world.pipelines.values() for s in p.statuses if s.type == 1}
    expected: dict = {}
    for row in world.events:
        kind = {EVENT_CODE["outgoing_call"]: "call", EVENT_CODE["lead_status_changed"]: "move"}.get(row[EV_TYPE])
        if kind is None or row[EV_AT] < since or (kind == "move" and row[EV_A] in unsorted):
            continue
        key = f"{kind}:{row[EV_BY]}"
        held = expected.setdefault(row[EV_EID], {})
        held[key] = min(held.get(key, row[EV_AT]), row[EV_AT])
    stored = first_contacts.store(deps).all_touches(connected.id)
    assert stored == expected  # every outgoing call and every stage move but the accepting of a request
    recompute.recompute_account(deps, connected.id)
    speed = deps.store.read_insight(connected.id, "speed_to_lead")
    assert sum(b["closed"] for b in speed["by_delay"]) > 0 and speed["managers"]
