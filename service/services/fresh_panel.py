"""A fresh panel: shortly after a burst of an account's webhooks the panel's cube is brought up to date, once.

Cards follow a webhook within the drain; the panel's figures come from the cube, which the full recompute (the
clock's, every 15 minutes) builds in shards of leads (insights/cube_shards.py). A drain that applied something marks
the shards of the leads it changed and asks for an update, debounced: the first request of a burst sets a `pending`
key and schedules the job DEBOUNCE seconds later; requests while it is pending add nothing. The job clears `pending`
as it starts (changes from then on ask for the next run), holds the account's recompute lock (at most one runs, and
never beside a full recompute), and rebuilds only the marked shards and the small account-wide part. The clock's
full recompute stays the safety net: it also refreshes what only time changes (stays still open, overdue tasks).
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Iterable

from service.deps import Deps
from service.insights.cube import account_part
from service.insights.cube_shards import shard_of, shard_parts, shards_of
from service.insights.snapshot import Snapshot, build_snapshot
from service.insights.spells import build_spells
from service.services import queueing
from service.services.recompute import load_cards_snapshot, recompute_held, recompute_lock

DEBOUNCE = 10  # seconds: a burst of webhooks (a manager's bulk edit, an import) becomes one update
# seconds from one update of an account's panel to the next: under a steady stream of webhooks every account would
# otherwise be updated every DEBOUNCE seconds, which at 200 tenants cost more CPU than their webhooks (issue 22);
# short enough that a change waits at most this plus one update (seconds on the large account) within 60 s (issue 20)
MIN_INTERVAL = 30
# a lost job (worker killed) stops coalescing after this, and the next webhook queues anew
PENDING_TTL = queueing.FRESH_RECOMPUTE_TTL


def request_recompute(deps: Deps, account_id: int, lead_ids: Iterable[int] = ()) -> bool:
    """Mark the shards of the changed leads and schedule one update unless one is already waiting; True when
    scheduled."""
    rest = deps.store.ask_fresh_recompute(account_id, shards_of(lead_ids), PENDING_TTL)
    if rest is None:
        return False
    _schedule(deps, account_id, max(DEBOUNCE, rest))
    return True


def _schedule(deps: Deps, account_id: int, delay: float = DEBOUNCE) -> None:
    queueing.enqueue(deps, "recompute_fresh", account_id, delay=delay)


def run_recompute(deps: Deps, account_id: int) -> dict:
    """The scheduled job: update the cube now, or, while a recompute of the account runs, look again later."""
    lock = recompute_lock(deps, account_id)
    if not lock.acquire(blocking=False):
        _schedule(deps, account_id)  # `pending` stays set: requests keep coalescing into this one
        return {"state": "busy"}
    try:
        deps.store.clear_fresh_recompute(account_id)
        deps.store.rest_fresh_recompute(account_id, MIN_INTERVAL)
        if not deps.store.cube_index(account_id):  # no shards yet: the first recompute, or a cube stored whole
            deps.store.take_cube_dirty(account_id)
            return {"state": "done", "mode": "full", **recompute_held(deps, account_id)}
        return {"state": "done", "mode": "shards", **update_cube(deps, account_id)}
    finally:
        lock.release()


def update_cube(deps: Deps, account_id: int) -> dict:
    """Rebuild the marked shards from the mirror, and the account part; on failure the marks stay for the next run."""
    started, now = time.perf_counter(), int(deps.clock())
    dirty = deps.store.take_cube_dirty(account_id)
    try:
        snap = shard_snapshot(deps, account_id, dirty)
        parts = shard_parts(snap, build_spells(snap.leads.values(), snap.history_by_lead), now, only=dirty)
        deps.store.save_cube(account_id, account_part(account_snapshot(deps, account_id), now), parts)
    except BaseException:
        deps.store.mark_cube_dirty(account_id, dirty)
        raise
    return {"as_of": now, "shards": sorted(dirty), "leads": len(snap.leads),
            "seconds": round(time.perf_counter() - started, 3)}


def shard_snapshot(deps: Deps, account_id: int, shards: set[int]) -> Snapshot:
    """The leads of these shards with their tasks and timelines, the pipelines and the loss reasons."""
    ids = [i for i in deps.store.lead_ids(account_id) if shard_of(i) in shards] if shards else []
    snap = load_cards_snapshot(deps, account_id, ids)
    return replace(snap, loss_reasons=deps.store.all_records(account_id, "loss_reasons"))


def account_snapshot(deps: Deps, account_id: int) -> Snapshot:
    """What the account part reads: pipelines, users, incoming requests with their leads, contacts."""
    store = deps.store
    incoming = list(store.all_records(account_id, "incoming").values())
    leads = store.get_leads(account_id, {item.lead_id for item in incoming if item.lead_id})
    snap = build_snapshot(store.get_account(account_id), store.get_pipelines(account_id),
                          users=store.get_users(account_id).values(), leads=leads.values(), incoming=incoming)
    contacts = store.all_records(account_id, "contacts")
    return replace(snap, contacts=tuple((c.get("created_at") or 0, c.get("responsible_user_id") or 0)
                                        for c in contacts.values()))
