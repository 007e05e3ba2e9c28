"""Bench: the timed first-contact re-checks of 10,000 waiting deals, run by the Procfile's forking worker.

Run: .venv/bin/python bench/first_contact_bench.py [N] [arrival window in seconds]   (default 10000 3600)

N new deals arrive, evenly spread over the window (default: one hour, a very busy account), and nobody answers any
of them: each is re-checked twice with no webhook (at the 15-minute limit and at 4 × it), by the scheduled jobs
`first_contacts.schedule_checks` queues (one per account and 10-second slot). The bench queues exactly those jobs with
the production scheduling code, lets RQ's scheduler logic move them to the queue, and runs `python -m service worker
--burst` (a forking worker, a work horse per job) over them, once per round. It prints the worker's CPU seconds
(its own and its work horses', from getrusage of the finished child), and that CPU as a share of one core over the
arrival window. Target (issue 21): < 5 % of one core. The machine's load average is printed beside it.
"""
from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from rq.job import Job  # noqa: E402
from rq.registry import ScheduledJobRegistry  # noqa: E402

from service import bootstrap
from service.services import first_contacts, recompute  # noqa: E402
from service.config import Settings  # noqa: E402
from service.model import Account, Lead, Pipeline, Stage, User  # noqa: E402
from service.ops.redis_server import EmbeddedRedis  # noqa: E402

LIMIT_MINUTES = 15


def seed(deps, n: int, window: int, now: int) -> list[Lead]:
    """An account with n open deals that arrived over `window` seconds ending two hours ago (all checks are due)."""
    account = Account(id=1, subdomain="bench", timezone="Europe/Moscow")
    deps.store.save_account(account)
    deps.store.save_pipelines(1, [Pipeline(1, "Продажи", (Stage(100, 1, "Неразобранное", 0, True),
                                                          Stage(101, 1, "Первичный контакт", 1),
                                                          Stage(102, 1, "Переговоры", 2)))])
    deps.store.save_users(1, [User(u, f"Менеджер {u}") for u in range(1, 21)])
    rng, first = random.Random(1), now - 2 * 3600 - window
    leads = [Lead(id=10_000 + i, pipeline_id=1, status_id=101, responsible_user_id=1 + i % 20,
                  price=rng.choice((0, 0, 30_000, 120_000)), created_at=first + i * window // n,
                  updated_at=first + i * window // n, stage_entered_at=first + i * window // n) for i in range(n)]
    deps.store.save_leads(1, leads)
    deps.store.save_insight(1, "settings", {"working_hours": None, "first_contact_minutes": LIMIT_MINUTES})
    recompute.recompute_account(deps, 1)  # the models and stake figures a card re-check reads
    deps.redis.delete(*[k for k in deps.redis.scan_iter("rq:scheduled:*")] or ["-"])
    first_contacts.store(deps).unschedule(1, [lead.id for lead in leads])
    return leads


def schedule_round(deps, leads: list[Lead], factor: int) -> int:
    """Schedule every deal's check at factor × the limit (production code), then queue what is due; returns jobs."""
    due = {lead.id: lead.created_at + factor * LIMIT_MINUTES * 60 for lead in leads}
    first_contacts.schedule_checks(deps, 1, due)
    queue = deps.queues["insights"]
    registry = ScheduledJobRegistry(queue=queue)
    ids = registry.get_jobs_to_schedule(int(time.time()))
    for job_id in ids:  # what RQ's scheduler does once a job's time has come
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=deps.redis, serializer=queue.serializer))
    return len(ids)


def run_worker(redis_url: str) -> tuple[float, float]:
    """Run the Procfile worker in burst mode; return (CPU seconds of it and its work horses, wall seconds)."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "service", "worker", "--burst"], cwd=ROOT, check=True,
                   env={**os.environ, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING"},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, time.perf_counter() - started


def baseline(redis_url: str) -> float:
    """CPU of a burst worker that finds nothing to do (start-up and shutdown, not the re-checks)."""
    return run_worker(redis_url)[0]


def main(n: int = 10_000, window: int = 3600) -> None:
    with EmbeddedRedis() as server:
        deps = bootstrap.build(Settings(redis_url=server.url))
        now = int(time.time())
        leads = seed(deps, n, window, now)
        idle = baseline(server.url)
        total_cpu, total_jobs = 0.0, 0
        for factor, name in ((1, "at the limit"), (4, "at 4 x the limit")):
            jobs = schedule_round(deps, leads, factor)
            cpu, wall = run_worker(server.url)
            hinted = sum(1 for lead in leads[:200] if any(
                h["code"] == "first_contact_overdue" for h in deps.store.read_card(1, lead.id)["hints"]))
            print(f"re-checks {name}: {jobs} jobs for {n} deals, worker CPU {cpu:.2f} s ({cpu - idle:.2f} s above "
                  f"an idle burst worker's {idle:.2f} s), wall {wall:.1f} s; {hinted} of 200 sampled cards hinted")
            total_cpu += cpu - idle
            total_jobs += jobs
        share = total_cpu / window
        print(f"TOTAL: {total_jobs} re-check jobs, {2 * n} card re-checks, {total_cpu:.2f} CPU s over a "
              f"{window} s arrival window = {share:.2%} of one core (target < 5 %); load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        deps.redis.close()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
