"""Sync use cases: a resumable full sync, an incremental sync by watermark, and their progress."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Optional

from redis.exceptions import LockError
from rq import get_current_job

from service.services import hook_health
from service.services import sync_apply as apply
from service.amocrm.client import AmoClient, ApiError, PaymentRequired, TransientError
from service.amocrm.tokens import AccountUnavailable, NotInstalled
from service.deps import Deps
from service.model import Account
from service.services.prefetch import prefetched
from service.services.sync_progress import Progress, progress_view
from service.services import queueing

log = logging.getLogger(__name__)
DAY = 86400
LOCK_SECONDS = 180  # renewed after every page; a killed worker frees the account after this
OVERLAP = 600  # incremental windows overlap by 10 minutes: clock skew, late commits; replays are harmless
EVENT_TYPES = ("lead_status_changed,entity_responsible_changed,"
               "outgoing_call,outgoing_chat_message,outgoing_sms,common_note_added")  # the last four: first contact


@dataclass
class Run:
    """One sync run of one account."""

    deps: Deps
    account: Account
    client: AmoClient
    since: int
    limit: int
    started_at: int = 0  # every page of the run was read after this (a delete we stored earlier is older)

    @property
    def store(self):
        return self.deps.store

    @property
    def account_id(self) -> int:
        return self.account.id


@dataclass(frozen=True)
class Step:
    """One resource: where to read it, how to fold a page in, and (for newest-first walks) where to stop."""

    name: str
    path: str
    key: str
    params: Callable[[Run], dict]
    apply: Callable[[Run, list], int]
    stop_below: str = ""  # newest-first walk: stop once a page reaches items older than `since` on this field
    counted: bool = True  # count its pages up front (progress); single-page lists are not


def _filter_since(field: str, **more) -> Callable[[Run], dict]:
    return lambda run: {f"filter[{field}][from]": run.since, "limit": run.limit, **more}


REFERENCE = [
    Step("pipelines", "/api/v4/leads/pipelines", "pipelines", lambda r: {}, apply.apply_pipelines, counted=False),
    Step("users", "/api/v4/users", "users", lambda r: {"with": "role,group", "limit": 250}, apply.apply_users,
         counted=False),
    Step("loss_reasons", "/api/v4/leads/loss_reasons", "loss_reasons", lambda r: {}, apply.apply_loss_reasons,
         counted=False),
    Step("date_fields", "/api/v4/leads/custom_fields", "custom_fields", lambda r: {"limit": 250},
         apply.apply_date_fields, counted=False),
]
EVENTS = Step("events", "/api/v4/events", "events",
              lambda r: {"filter[type]": EVENT_TYPES, "filter[entity]": "lead",
                         "filter[created_at][from]": r.since, "limit": 100}, apply.apply_events)
CALLS = Step("calls", "/api/v4/leads/notes", "notes",
             _filter_since("updated_at", **{"filter[note_type][]": ["call_in", "call_out"]}), apply.apply_calls)
UNSORTED = Step("unsorted", "/api/v4/leads/unsorted", "unsorted", lambda r: {"limit": r.limit},
                apply.apply_unsorted, stop_below="created_at", counted=False)
# Deleted leads still in amoCRM's trash (developers.kommo.com/reference/leads-list, with=only_deleted): a delete
# hook that was lost is repaired here. Newest first; the reconcile stops at its watermark.
LEADS_DELETED = Step("leads_deleted", "/api/v4/leads", "leads",
                     lambda r: {"with": "only_deleted", "order[updated_at]": "desc", "limit": r.limit},
                     apply.apply_deleted_leads, counted=False)
LEADS_DELETED_SINCE = Step(LEADS_DELETED.name, LEADS_DELETED.path, LEADS_DELETED.key, LEADS_DELETED.params,
                           LEADS_DELETED.apply, stop_below="updated_at", counted=False)
FULL = REFERENCE + [
    EVENTS,  # before leads: a lead's stage entry time comes from its history
    Step("leads", "/api/v4/leads", "leads", lambda r: {"limit": r.limit}, apply.apply_leads),
    LEADS_DELETED,
    Step("tasks_open", "/api/v4/tasks", "tasks",
         lambda r: {"filter[is_completed]": 0, "filter[entity_type]": "leads", "limit": r.limit}, apply.apply_tasks),
    Step("tasks_done", "/api/v4/tasks", "tasks",
         _filter_since("updated_at", **{"filter[is_completed]": 1, "filter[entity_type]": "leads"}),
         apply.apply_tasks),
    CALLS, UNSORTED,
]
LEADS_BY_FILTER = Step("leads", "/api/v4/leads", "leads", _filter_since("updated_at"), apply.apply_leads)
LEADS_BY_WALK = Step("leads", "/api/v4/leads", "leads", lambda r: {"order[updated_at]": "desc", "limit": r.limit},
                     apply.apply_leads, stop_below="updated_at")
TASKS_SINCE = Step("tasks", "/api/v4/tasks", "tasks", _filter_since("updated_at", **{"filter[entity_type]": "leads"}),
                   apply.apply_tasks)


# --- entry points (jobs call these)
def full_sync(deps: Deps, account_id: int) -> dict:
    """Mirror the account from the API; resumes from its checkpoint after a crash."""
    with _sync_lock(deps, account_id) as lock:
        if lock is None:
            queueing.enqueue(deps, "full_sync", account_id, delay=60)
            return {"state": "busy"}
        return _guarded(deps, account_id, "full", lambda run, progress: _full(run, progress, lock))


def incremental_sync(deps: Deps, account_id: int) -> dict:
    """Bring the mirror up to date since the last sync's watermark (repairs missed webhooks)."""
    watermark = deps.store.get_sync(account_id, "watermark")
    if deps.store.get_sync(account_id, "checkpoint") or not watermark:
        return full_sync(deps, account_id)  # no full sync finished yet: finish it first
    with _sync_lock(deps, account_id) as lock:
        if lock is None:
            return {"state": "busy"}
        return _guarded(deps, account_id, "incremental",
                        lambda run, progress: _incremental(run, progress, lock), since=watermark["since"])


def sync_status(deps: Deps, account_id: int) -> dict:
    """What the supervisor panel's progress bar shows: the last run's progress and whether we may call amoCRM."""
    view = progress_view(deps.store.get_sync(account_id, "progress"), deps.clock(), deps.settings.amocrm_rps)
    return {**view, "account": deps.store.get_account_state(account_id),
            "webhook": deps.store.get_sync(account_id, "webhook")}


def enqueue_full_sync(deps: Deps, account_id: int) -> None:
    """Queue the (initial or repair) full sync; RQ retries it after transient failures, resuming."""
    queueing.enqueue(deps, "full_sync", account_id)


def reconcile_all(deps: Deps) -> int:
    """Queue an incremental sync of every account we may call; returns how many were queued."""
    queued = 0
    for account_id in deps.store.account_ids():
        if deps.store.get_account_state(account_id)["state"] == "active":
            enqueue_reconcile(deps, account_id)
            queued += 1
    return queued




def enqueue_reconcile(deps: Deps, account_id: int) -> None:
    """Queue the account's incremental sync; RQ retries it after API errors (it reads from its watermark again)."""
    queueing.enqueue(deps, "incremental_sync", account_id)


def _what_follows(kind: str) -> str:
    """What the progress tells about an interrupted run, as it will really go: a full sync resumes (RQ retries it
    from its checkpoint); a reconcile is retried while its job has retries left, else the next period runs it."""
    if kind == "full":
        return "will resume"
    job = get_current_job()
    return "will retry" if job is not None and (job.retries_left or 0) > 0 else "next reconcile"


# --- the runs
def _guarded(deps: Deps, account_id: int, kind: str, body, since: Optional[int] = None) -> dict:
    """Run a sync; an account we must not call stops it cleanly, with the reason recorded."""
    account = deps.store.get_account(account_id)
    if account is None:
        return {"state": "stopped", "reason": NotInstalled.state}
    checkpoint = deps.store.get_sync(account_id, "checkpoint") if kind == "full" else {}
    start = int(deps.clock())
    since = since if since is not None else checkpoint.get("since", start - deps.settings.sync_history_days * DAY)
    run = Run(deps, account, AmoClient(deps, account_id, account.base_url), int(since), deps.settings.sync_page_limit,
              start)
    progress = Progress.resume(deps.store, account_id, kind, deps.clock, bool(checkpoint))
    try:
        body(run, progress)
    except Exception as exc:
        if deps.store.get_account(account_id) is None:  # the disable hook wiped the account while we synced
            return _uninstalled_mid_sync(deps, account_id, kind, run, exc)
        if not isinstance(exc, AccountUnavailable):
            progress.finish("interrupted", _what_follows(kind))
            raise
        log.warning("account %s: %s sync stopped: %s", account_id, kind, exc)
        progress.finish("stopped", exc.state)
        return {"state": "stopped", "reason": exc.state, "requests": run.client.requests_sent}
    if deps.store.get_account(account_id) is None:  # wiped after the last page's lock renewal
        return _uninstalled_mid_sync(deps, account_id, kind, run, NotInstalled("uninstalled"))
    progress.finish("done")
    if kind == "full":
        _record_history_start(deps, account_id, run.since)
    deps.store.save_sync(account_id, "watermark", {"since": start - OVERLAP if kind == "incremental"
                                                   else checkpoint.get("started_at", start) - OVERLAP})
    deps.store.delete_sync(account_id, "checkpoint")
    queueing.enqueue(deps, "recompute_account", account_id)
    if kind == "full":  # the first backtest; the clock repeats it daily
        queueing.enqueue(deps, "score_forecast", account_id)
    return {"state": "done", "requests": run.client.requests_sent, "entities": progress.entities}


def _record_history_start(deps: Deps, account_id: int, since: int) -> None:
    """The mirror holds amoCRM's history from `since` (a full sync's window; a later repair sync keeps what is
    older): the panel says where history starts instead of counting the days before as zeros."""
    held = deps.store.get_sync(account_id, "history").get("since")
    deps.store.save_sync(account_id, "history", {"since": min(since, held) if held else since})


def _uninstalled_mid_sync(deps: Deps, account_id: int, kind: str, run: Run, exc: Exception) -> dict:
    """Stop quietly (whatever the sync tripped on: a revoked token, its lock gone with the keys) and delete again
    what the sync wrote between the wipe and noticing it (a page, its checkpoint, the progress record)."""
    log.warning("account %s: uninstalled during its %s sync (%s); stopped", account_id, kind, type(exc).__name__)
    deps.store.delete_account(account_id)
    return {"state": "stopped", "reason": NotInstalled.state, "requests": run.client.requests_sent}


def _full(run: Run, progress: Progress, lock) -> None:
    """Every step in order, each resuming from its saved next page."""
    checkpoint = run.store.get_sync(run.account_id, "checkpoint") or {
        "since": run.since, "started_at": int(run.deps.clock()), "steps": {}}
    if "plan" not in checkpoint:
        checkpoint["plan"] = {s.name: _count_pages(run, s) if s.counted else 1 for s in FULL}
        run.store.save_sync(run.account_id, "checkpoint", checkpoint)
    progress.plan(checkpoint["plan"], run.client.requests_sent)
    for step in FULL:
        _walk(run, step, checkpoint, progress, lock)


def _incremental(run: Run, progress: Progress, lock) -> None:
    """Reference data, then everything changed since the watermark (filter add-on, or a newest-first walk)."""
    _check_webhook(run)  # first: once the hook is live again, this run's lists cover what it did not deliver
    leads = LEADS_BY_FILTER if run.account.is_api_filter_enabled else LEADS_BY_WALK
    steps = REFERENCE + [EVENTS, leads, LEADS_DELETED_SINCE, TASKS_SINCE, CALLS, UNSORTED]
    progress.plan({s.name: 1 for s in steps}, 0)
    checkpoint: dict = {"steps": {}}
    for step in steps:
        try:
            _walk(run, step, checkpoint, progress, lock)
        except PaymentRequired:
            if step is not LEADS_BY_FILTER:
                raise
            log.info("account %s: filter add-on is off; walking leads by updated_at", run.account_id)
            _walk(run, LEADS_BY_WALK, checkpoint, progress, lock)


def _check_webhook(run: Run) -> None:
    """Re-subscribe a disabled or missing hook; a check that fails (no admin rights...) never stops the reconcile."""
    try:
        hook_health.check_webhook(run.deps, run.client, run.account_id)
    except (AccountUnavailable, TransientError):
        raise
    except ApiError as exc:
        log.warning("account %s: webhook check failed: %s", run.account_id, exc)


def _walk(run: Run, step: Step, checkpoint: dict, progress: Progress, lock) -> None:
    """Fold each page in, then save where the next one starts (at-least-once; pages replay harmlessly).
    The next page is fetched while this one is applied; the checkpoint only ever names a page not yet applied."""
    state = checkpoint["steps"].setdefault(step.name, {"next": None, "done": False})
    if state["done"]:
        return
    target, params = (state["next"], None) if state["next"] else (step.path, step.params(run))
    with prefetched(_pages(run, step, target, params)) as pages:
        for items, next_path in pages:
            entities = step.apply(run, items)
            state["next"] = next_path
            if "plan" in checkpoint:
                run.store.save_sync(run.account_id, "checkpoint", checkpoint)
            progress.page(step.name, entities, run.client.requests_sent)
            lock.reacquire()
    state["done"] = True
    if "plan" in checkpoint:
        run.store.save_sync(run.account_id, "checkpoint", checkpoint)


def _pages(run: Run, step: Step, target: str, params: Optional[dict]):
    """The step's pages; a newest-first walk ends with the page that reaches items older than `since`
    (decided here, so the page after it is never fetched)."""
    for items, next_path in run.client.pages(target, params, step.key):
        yield items, next_path
        if step.stop_below and (apply.oldest(items, step.stop_below) or 0) < run.since:
            return


def _count_pages(run: Run, step: Step) -> int:
    """How many pages a list has: gallop, then bisect (about 2·log2(pages) requests)."""
    params = step.params(run)

    def exists(page: int) -> bool:
        return run.client.get(step.path, {**params, "page": page}) is not None

    if not exists(1):
        return 0
    low, high = 1, 2
    while exists(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if exists(middle) else (low, middle)
    return low


@contextmanager
def _sync_lock(deps: Deps, account_id: int):
    """One sync per account at a time; yields None when another one holds it."""
    lock = deps.store.lock(account_id, "sync", LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        yield None
        return
    try:
        yield lock
    finally:
        try:
            lock.release()
        except LockError:
            pass  # expired, or the account was deleted (disable) while we synced

