"""Every job we queue, in one table: its function (`service.jobs.<name>`), queue, id, timeout, retries, and whether
one may wait in the queue at a time. Use cases, jobs and the clock queue through `enqueue` only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Optional

from rq import Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from service.deps import Deps
from service.store.drains import DrainBoard

WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
INSTALL_FAILURE_TTL = 1800  # a failed code exchange is kept 30 min to be read, not a year to fill Redis
INSTALL_RESULT_TTL = 300  # an exchange's result (installed, or the code refused) is kept 5 min
RECONCILE_RETRIES = (60, 300)  # seconds: an interrupted reconcile runs again, not only at the next period
FRESH_RECOMPUTE_TTL = 600  # a fresh-panel job nobody runs is dropped; the next webhook asks anew


@dataclass(frozen=True)
class JobSpec:
    """How one job is queued."""

    queue: str
    timeout: Optional[int] = None  # seconds; None: RQ's default (180 s)
    retry: tuple[int, ...] = ()  # the waits (s) between attempts after a failure
    job_id: Optional[Callable[..., str]] = None  # from the job's arguments
    one_waiting: bool = False  # a second request while one waits is the same work: dropped
    options: dict = field(default_factory=dict)  # result_ttl, failure_ttl


JOBS = {
    # webhooks: the highest priority. One drain job serves every account on the drain board (issue 22: a job per
    # account cost a work horse per delivery at many tenants); `drain_inbox` stays for jobs queued before that.
    "drain_ready": JobSpec("webhooks", options={"result_ttl": 0}),  # many a second: nothing kept once done
    "drain_inbox": JobSpec("webhooks"),
    "sweep_inboxes": JobSpec("webhooks"),
    # insights: one recompute per account waits at a time (it reads the newest data when it runs)
    "recompute_account": JobSpec("insights", 1800, job_id=lambda a: f"recompute_account-{a}", one_waiting=True),
    "recompute_all": JobSpec("insights"),
    # the fresh panel's debounced recompute (services/fresh_panel.py: one waits, one runs); no job key outlives its use
    "recompute_fresh": JobSpec("insights", 1800, job_id=lambda a: f"fresh-recompute-{a}",
                               options={"ttl": FRESH_RECOMPUTE_TTL, "result_ttl": 60}),
    # the caller names it (account, lead, due time); retried: a drain hands it the cards it failed to compute
    "recheck_leads": JobSpec("insights", retry=(30, 300)),
    "recheck_first_contacts": JobSpec("insights"),  # the caller names it (account, time slot)
    "score_forecast": JobSpec("insights", 1800, job_id=lambda a: f"score_forecast-{a}", one_waiting=True),
    "score_all": JobSpec("insights"),
    "settle_hint_outcomes": JobSpec("insights"),
    # install: below webhooks, so anonymous callbacks never delay installed accounts' work
    "complete_install": JobSpec("install", 120,
                                options={"failure_ttl": INSTALL_FAILURE_TTL, "result_ttl": INSTALL_RESULT_TTL}),
    "finish_install": JobSpec("install", 120, retry=(10, 60, 300)),
    "confirm_disable": JobSpec("install", 120, retry=(30, 120, 600, 1800)),
    "delete_after_grace": JobSpec("install", 300),
    # sync: RQ retries a full sync after transient failures, and it resumes from its checkpoint
    "full_sync": JobSpec("sync", 6 * 3600, retry=(60, 300, 900)),
    "incremental_sync": JobSpec("sync", 3600, retry=RECONCILE_RETRIES),
    "reconcile_all": JobSpec("sync"),
    "check_webhook": JobSpec("sync", 120, job_id=lambda a: f"check_webhook-{a}"),
    "check_webhooks_all": JobSpec("sync"),
}


def function(name: str) -> str:
    """The job's function as RQ names it: this path is part of every queued job."""
    return f"service.jobs.{name}"


def request_drain(deps: Deps, account_id: int) -> None:
    """Put the account on the drain board and queue the drain job unless one already waits for it."""
    if DrainBoard(deps.redis).mark_ready(account_id):
        enqueue(deps, "drain_ready")


def queue_drain_job(deps: Deps) -> None:
    """Queue the drain job for accounts already on the board, unless one waits."""
    if DrainBoard(deps.redis).claim_job():
        enqueue(deps, "drain_ready")


def queue_of(deps: Deps, name: str):
    """The RQ queue a job goes to."""
    return deps.queues[JOBS[name].queue]


def enqueue(deps: Deps, name: str, *args, job_id: Optional[str] = None, delay: Optional[float] = None,
            at: Optional[datetime] = None) -> Optional[Job]:
    """Queue `service.jobs.<name>(*args)` now, after `delay` seconds or `at` a time; None when an identical one
    already waits."""
    spec = JOBS[name]
    queue = queue_of(deps, name)
    job_id = job_id or (spec.job_id(*args) if spec.job_id else None)
    kwargs = dict(spec.options, job_id=job_id, job_timeout=spec.timeout,
                  retry=Retry(max=len(spec.retry), interval=list(spec.retry)) if spec.retry else None)
    func = function(name)
    if at is not None or delay is not None:
        when = at if at is not None else timedelta(seconds=delay)
        put = (lambda **more: queue.enqueue_at(when, func, *args, **kwargs, **more)) if at is not None else \
            (lambda **more: queue.enqueue_in(when, func, *args, **kwargs, **more))
    else:
        put = lambda **more: queue.enqueue(func, *args, **kwargs, **more)  # noqa: E731
    if not (spec.one_waiting and job_id):
        return put()
    try:
        return put(unique=True)
    except DuplicateJobError:
        if _status(queue, job_id) in WAITING:
            return None
        return put()  # the last one finished, failed or is running: one more run must see the newest data


def _status(queue, job_id: str):
    """The status of a job by id (None once it is gone)."""
    try:
        return Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer).get_status(refresh=False)
    except NoSuchJobError:
        return None
