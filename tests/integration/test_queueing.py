"""services/queueing.py: every job is queued from one table; one account recompute waits at a time (real Redis, RQ)."""
from __future__ import annotations

from rq.job import Job

from service import jobs
from service.services import queueing


def test_every_job_in_the_table_is_a_job_function():
    assert all(callable(getattr(jobs, name, None)) for name in queueing.JOBS)


def test_every_periodic_job_of_the_clock_is_in_the_table(settings):
    from service.ops.clock import schedule
    assert {p.func.rpartition(".")[2] for p in schedule(settings)} <= set(queueing.JOBS)


def test_a_second_recompute_of_an_account_is_not_queued_while_one_waits(deps, account):
    first = queueing.enqueue(deps, "recompute_account", account.id)
    again = queueing.enqueue(deps, "recompute_account", account.id)
    other = queueing.enqueue(deps, "recompute_account", account.id + 1)
    assert first.id == f"recompute_account-{account.id}" and again is None and other is not None
    assert deps.queues["insights"].count == 2


def test_a_finished_recompute_does_not_hold_back_the_next(deps, account, run_worker):
    queueing.enqueue(deps, "recompute_account", account.id)
    run_worker()
    assert deps.queues["insights"].count == 0
    assert queueing.enqueue(deps, "recompute_account", account.id) is not None
    assert deps.queues["insights"].count == 1


def test_a_job_is_queued_with_its_queue_timeout_and_retries(deps, account):
    job = queueing.enqueue(deps, "full_sync", account.id)
    stored = Job.fetch(job.id, connection=deps.redis, serializer=deps.queues["sync"].serializer)
    assert stored.origin == "sync" and stored.func_name == "service.jobs.full_sync"
    assert stored.timeout == 6 * 3600 and stored.retries_left == 3 and stored.retry_intervals == [60, 300, 900]


def test_a_delayed_job_is_scheduled_not_queued(deps, account):
    job = queueing.enqueue(deps, "delete_after_grace", account.id, "install-1", delay=3600)
    assert deps.queues["install"].count == 0
    assert job.id in deps.queues["install"].scheduled_job_registry.get_job_ids()
