"""Thin RQ entrypoints: ids in, one service call, exceptions reach RQ. Jobs on one account's data take the deps
`for_account` (on a cluster, straight to the account's node)."""
from service import bootstrap
from service.services import intake, recompute


def drain_ready() -> dict:
    """Apply the stored webhooks of every account on the drain board (run in the worker's own process)."""
    from service.services import draining

    return draining.drain_ready(bootstrap.worker_deps())


def drain_inbox(account_id: int) -> dict:
    """Apply the account's stored webhooks (jobs queued before the drain board)."""
    return intake.drain_inbox(bootstrap.worker_deps(), account_id)


def recheck_leads(account_id: int, lead_ids: list[int]) -> None:
    """Recompute cards whose facts changed with time alone (a task fell due)."""
    with bootstrap.worker_deps().for_account(account_id) as deps:
        recompute.recompute_cards(deps, account_id, lead_ids)


def recheck_first_contacts(account_id: int, until: float | None = None) -> list[int]:
    """Recompute the cards whose first-contact limit passed by `until` (new deals nobody has answered)."""
    with bootstrap.worker_deps().for_account(account_id) as deps:
        return recompute.recheck_due(deps, account_id, until)


def sweep_inboxes() -> list[int]:
    """Drain inboxes that were left behind (a worker died mid-drain)."""
    return intake.sweep_inboxes(bootstrap.worker_deps())


# --- issue 4: install, sync and reconcile (imported here to keep this block self-contained)
from service.services import accounts, sync  # noqa: E402
from service.services import queueing


def complete_install(sealed_code: str, base: str) -> dict:
    """Exchange an install's code and register the account."""
    return accounts.complete_install(bootstrap.worker_deps(), sealed_code, base)


def finish_install(account_id: int) -> dict:
    """Subscribe the account's webhooks and start its initial sync."""
    return accounts.finish_install(bootstrap.worker_deps(), account_id)


def confirm_disable(account_id: int, install_id: str) -> dict:
    """Delete a disabled account once amoCRM confirms it (issue 16)."""
    from service.services import uninstall
    return uninstall.confirm_disable(bootstrap.worker_deps(), account_id, install_id)


def delete_after_grace(account_id: int, install_id: str) -> dict:
    """Delete an account whose disable amoCRM could not confirm, unless it was reinstalled."""
    from service.services import uninstall
    return uninstall.delete_after_grace(bootstrap.worker_deps(), account_id, install_id)


def full_sync(account_id: int) -> dict:
    """Mirror the account from the API (resumable)."""
    return sync.full_sync(bootstrap.worker_deps(), account_id)


def incremental_sync(account_id: int) -> dict:
    """Catch the mirror up since the last sync."""
    return sync.incremental_sync(bootstrap.worker_deps(), account_id)


def reconcile_all() -> int:
    """Queue an incremental sync of every active account, then reschedule."""
    return sync.reconcile_all(bootstrap.worker_deps())


def check_webhook(account_id: int) -> dict:
    """Re-subscribe the account's webhook if amoCRM disabled it (then reconcile at once)."""
    from service.services import hook_health

    return hook_health.check_account(bootstrap.worker_deps(), account_id)


def check_webhooks_all() -> int:
    """Queue the webhook check of every active account."""
    from service.services import hook_health

    return hook_health.check_all(bootstrap.worker_deps())


def recompute_account(account_id: int) -> dict:
    """Recompute every insight of the account (after a sync, and on the clock)."""
    with bootstrap.worker_deps().for_account(account_id) as deps:
        return recompute.recompute_account(deps, account_id)


def recompute_all() -> int:
    """Queue a full recompute of every installed account."""
    return _for_every_account("recompute_account")


def score_forecast(account_id: int) -> dict:
    """Backtest the account's forecast on the last six months."""
    with bootstrap.worker_deps().for_account(account_id) as deps:
        return recompute.score_forecast(deps, account_id)


def score_all() -> int:
    """Queue the daily forecast backtest of every installed account."""
    return _for_every_account("score_forecast")


def _for_every_account(job: str) -> int:
    """Queue one job per installed account; a job already waiting for an account is not queued twice."""
    deps = bootstrap.worker_deps()
    accounts = deps.store.account_ids()
    for account_id in accounts:
        queueing.enqueue(deps, job, account_id)
    return len(accounts)


# --- issue 7: widget API
def settle_hint_outcomes(account_id: int) -> dict:
    """Close the 48 h windows of shown hints: resolved when the problem left the card."""
    from service.services import widget

    return widget.settle_hint_outcomes(bootstrap.worker_deps(), account_id)


# --- issue 20: a fresh panel
def recompute_fresh(account_id: int) -> dict:
    """The debounced recompute after a burst of the account's webhooks (one waiting, one running at most)."""
    from service.services import fresh_panel

    with bootstrap.worker_deps().for_account(account_id) as deps:
        return fresh_panel.run_recompute(deps, account_id)
