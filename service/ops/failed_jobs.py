"""Failed RQ jobs: inspect them and put them back in their queues (`python -m service jobs failed|replay`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rq.job import Job

from service.deps import Deps
from service.logs import redact


@dataclass(frozen=True)
class FailedJob:
    """What an operator needs to decide on a replay; arguments and errors pass through the log redaction."""

    id: str
    queue: str
    func: str
    args: str
    ended_at: str
    error: str

    def line(self) -> str:
        return f"{self.queue:<9} {self.id}  {self.ended_at:<19}  {self.func}({self.args})  {self.error}"


def failed(deps: Deps, queue: Optional[str] = None) -> list[FailedJob]:
    """Every failed job, newest first within each queue."""
    found = []
    for name, q in _queues(deps, queue):
        ids = q.failed_job_registry.get_job_ids(desc=True)
        for job in Job.fetch_many(ids, connection=deps.redis, serializer=q.serializer):
            if job is not None:
                found.append(_describe(name, job))
    return found


def _describe(queue: str, job: Job) -> FailedJob:
    args = ", ".join([*map(repr, job.args), *(f"{k}={v!r}" for k, v in job.kwargs.items())])
    if len(args) > 80:
        args = args[:77] + "..."
    result = job.latest_result()
    error = ((result.exc_string if result else "") or "").strip().splitlines()
    ended = job.ended_at.strftime("%Y-%m-%d %H:%M:%S") if job.ended_at else "?"
    return FailedJob(job.id, queue, job.func_name or "?", redact(args), ended, redact(error[-1] if error else ""))


def replay(deps: Deps, job_ids: list[str], queue: Optional[str] = None) -> int:
    """Requeue the given failed jobs (all of them when `job_ids` is empty); returns how many."""
    count = 0
    for _, q in _queues(deps, queue):
        registry = q.failed_job_registry
        for job_id in registry.get_job_ids():
            if not job_ids or job_id in job_ids:
                registry.requeue(job_id)
                count += 1
    return count


def _queues(deps: Deps, only: Optional[str]):
    if only and only not in deps.queues:
        raise ValueError(f"no queue {only!r}; queues: {', '.join(deps.queues)}")
    return [(name, q) for name, q in deps.queues.items() if not only or name == only]
