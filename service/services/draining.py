"""The drain job: one job applies the inboxes of every account on the drain board, in the worker's own process.

At many tenants nearly every delivery is the first in its account's inbox: a drain job per account meant a forked
work horse (and its fresh Redis clients) per delivery, and the backlog grew without end (issue 22, BENCHMARKS.md).
Now an account whose inbox needs a drain is put on the board (services/queueing.request_drain) and one waiting job
takes accounts from it a few at a time. Each account is still drained by intake.drain_inbox: its lease keeps one
drain per account at a time, its delivery marks keep every delivery applied once, whatever process dies.
"""
from __future__ import annotations

import logging
import time
from collections import Counter

from service.deps import Deps
from service.services import intake, queueing
from service.store.drains import DrainBoard

log = logging.getLogger(__name__)

TAKE = 16  # accounts taken at a time: a worker killed mid-take strands these until their inbox flag expires
BUDGET = 5.0  # seconds a job drains before handing over: a warm shutdown waits no longer, other queues get a turn


def drain_ready(deps: Deps, budget: float = BUDGET) -> dict:
    """Drain the accounts on the board until it is empty or the budget is spent; one failing account stops none
    of the others (its inbox stays, the sweeper brings it back), and the first failure is raised at the end."""
    board = DrainBoard(deps.redis)
    board.job_started()
    deadline, totals, failure, emptied = time.monotonic() + budget, Counter(), None, False
    while not emptied and time.monotonic() < deadline:
        accounts = board.take(TAKE)
        emptied = len(accounts) < TAKE  # accounts put on the board from now on queue the next job themselves
        for account_id in accounts:
            try:
                totals.update(intake.drain_inbox(deps, account_id))
                totals["accounts"] += 1
            except Exception as exc:  # noqa: BLE001 — re-raised below, once the other accounts are drained
                log.warning("drain of account %s failed: %s", account_id, type(exc).__name__)
                failure = failure or exc
    if not emptied and board.waiting():
        queueing.queue_drain_job(deps)  # the budget ran out: the next job (perhaps on another worker) goes on
    if failure is not None:
        raise failure
    return dict(totals)
