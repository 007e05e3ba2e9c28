"""A fresh panel: shortly after a burst of an account's webhooks its aggregates are recomputed, once.

Cards follow a webhook within the drain; the panel's figures (team, cube, managers) come from a full recompute,
which the clock runs every 15 minutes. A drain that applied something asks for one more, debounced: the first
request of a burst sets a `pending` key and schedules the job DEBOUNCE seconds later; requests while it is pending
add nothing. The job clears `pending` as it starts (changes from then on ask for the next run) and holds a lock, so
at most one recompute runs and at most one waits per account. The clock's periodic recompute stays the safety net.
"""
from __future__ import annotations

from service.deps import Deps
from service.services import queueing
from service.services.recompute import recompute_account

DEBOUNCE = 10  # seconds: a burst of webhooks (a manager's bulk edit, an import) becomes one recompute
# seconds from one recompute of an account to the next: under a steady stream of webhooks every account would
# otherwise be recomputed every DEBOUNCE seconds, which at 200 tenants cost more CPU than their webhooks (issue 22)
MIN_INTERVAL = 60
# a lost job (worker killed) stops coalescing after this, and the next webhook queues anew
PENDING_TTL = queueing.FRESH_RECOMPUTE_TTL


def request_recompute(deps: Deps, account_id: int) -> bool:
    """Schedule one recompute of the account's insights unless one is already waiting; True when scheduled."""
    if not deps.store.claim_fresh_recompute(account_id, PENDING_TTL):
        return False
    last = (deps.store.read_insight(account_id, "recompute") or {}).get("as_of") or 0
    _schedule(deps, account_id, max(DEBOUNCE, last + MIN_INTERVAL - deps.clock()))
    return True


def _schedule(deps: Deps, account_id: int, delay: float = DEBOUNCE) -> None:
    queueing.enqueue(deps, "recompute_fresh", account_id, delay=delay)


def run_recompute(deps: Deps, account_id: int) -> dict:
    """The scheduled job: recompute now, or, while another recompute of the account runs, look again later."""
    lock = deps.store.lock(account_id, "recompute", timeout=1800)
    if not lock.acquire(blocking=False):
        _schedule(deps, account_id)  # `pending` stays set: requests keep coalescing into this one
        return {"state": "busy"}
    try:
        deps.store.clear_fresh_recompute(account_id)
        return {"state": "done", **recompute_account(deps, account_id)}
    finally:
        lock.release()
