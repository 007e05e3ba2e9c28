"""The disable hook's second half, in a job: confirm with amoCRM that the integration is really off, then delete.

amoCRM signs the disable hook with HMAC(client_secret, f"{client_id}|{account_id}") (FACTS §1): no time, no nonce,
so one observed URL is valid forever. The signature alone therefore never deletes anything (issue 16): the job asks
amoCRM whether our tokens still work. After a real disable the API answers 401 and the refresh is refused
(FACTS §1): confirmed, everything of the account goes. Tokens that still work mean a replayed or stale hook:
nothing is deleted. When amoCRM cannot tell us (no usable tokens, a 403 block), the account is deleted after a
grace period, which a reinstall cancels (the job compares the install id it was queued with).
"""
from __future__ import annotations

import logging

import requests
from rq.job import Job

from service.amocrm import oauth
from service.amocrm.tokens import AccountUnavailable, NeedsReinstall, TokenKeeper, TransientError
from service.deps import Deps
from service.services import queueing

log = logging.getLogger(__name__)
GRACE_SECONDS = 3 * 86400  # an unconfirmable disable deletes after this, unless the account is reinstalled
PENDING_SECONDS = 600  # repeats of one hook within this queue no second check
REVOKED, ACTIVE, UNKNOWN = "revoked", "active", "unknown"


def queue_confirmation(deps: Deps, account_id: int) -> bool:
    """Queue the check for an installed account (once per PENDING_SECONDS); False when there is nothing to do."""
    if deps.store.get_account(account_id) is None or not deps.store.claim_disable(account_id, PENDING_SECONDS):
        return False
    queueing.enqueue(deps, "confirm_disable", account_id, deps.store.install_id(account_id))
    return True


def confirm_disable(deps: Deps, account_id: int, install_id: str) -> dict:
    """Delete the account if amoCRM confirms the integration is off; wait out the grace period if it can't say."""
    if not _same_install(deps, account_id, install_id):
        return {"account_id": account_id, "deleted": False, "reason": "reinstalled"}
    verdict = integration_state(deps, account_id)
    if verdict == REVOKED:
        return delete(deps, account_id)
    if verdict == ACTIVE:
        log.warning("account %s: disable hook ignored, our tokens still work (a replay, or a reinstall)", account_id)
        deps.store.release_disable(account_id)
        return {"account_id": account_id, "deleted": False, "reason": "tokens_work"}
    queueing.enqueue(deps, "delete_after_grace", account_id, install_id, delay=GRACE_SECONDS)
    deps.store.release_disable(account_id, hold=GRACE_SECONDS)  # replays meanwhile add no second countdown
    log.warning("account %s: amoCRM could not confirm the disable; deleting in %d h unless it is reinstalled",
                account_id, GRACE_SECONDS // 3600)
    return {"account_id": account_id, "deleted": False, "reason": "grace_period"}


def delete_after_grace(deps: Deps, account_id: int, install_id: str) -> dict:
    """The grace period is over: delete, unless the account was reinstalled meanwhile."""
    if not _same_install(deps, account_id, install_id):
        return {"account_id": account_id, "deleted": False, "reason": "reinstalled"}
    if integration_state(deps, account_id) == ACTIVE:  # its tokens work again: not disabled after all
        deps.store.release_disable(account_id)
        return {"account_id": account_id, "deleted": False, "reason": "tokens_work"}
    return delete(deps, account_id)


def integration_state(deps: Deps, account_id: int) -> str:
    """REVOKED when amoCRM refuses our token and its refresh, ACTIVE when either works, else UNKNOWN; outages
    raise TransientError (the job is retried)."""
    account = deps.store.get_account(account_id)
    session = deps.http
    keeper = TokenKeeper(deps.store, deps.settings, session, deps.clock)
    try:
        pair = keeper.current(account_id)
    except AccountUnavailable:
        return UNKNOWN  # no tokens we can read: amoCRM cannot be asked
    base = oauth.api_base(deps.settings, account.base_url if account else "")
    status = _account_status(session, base, pair.access_token)
    if status == 200:
        return ACTIVE
    if status != 401:
        return UNKNOWN  # 403 (blocked), 402, a redirect: not amoCRM's answer to a disabled integration
    try:
        keeper.refresh(account_id, pair, base)
    except NeedsReinstall:
        return REVOKED
    return ACTIVE


def _account_status(session: requests.Session, base: str, access_token: str) -> int:
    """The status of GET /api/v4/account with our token (redirects not followed); 5xx and outages raise."""
    try:
        answer = session.get(f"{base}/api/v4/account", headers={"Authorization": f"Bearer {access_token}"},
                             timeout=(5, 20), allow_redirects=False)
    except requests.RequestException as exc:
        raise TransientError(f"GET /api/v4/account: {type(exc).__name__}") from None
    if answer.status_code >= 500 or answer.status_code == 429:
        raise TransientError(f"GET /api/v4/account answered {answer.status_code}")
    return answer.status_code


def _same_install(deps: Deps, account_id: int, install_id: str) -> bool:
    """The account still exists and was not reinstalled since the hook."""
    return deps.store.get_account(account_id) is not None and deps.store.install_id(account_id) == install_id


def delete(deps: Deps, account_id: int) -> dict:
    """Forget the account: tokens, mirror, insights, plans, queued work."""
    cancelled = cancel_jobs(deps, account_id)
    deleted = deps.store.delete_account(account_id)
    log.info("account %s disabled: %d keys deleted, %d jobs cancelled", account_id, deleted, cancelled)
    return {"account_id": account_id, "deleted": True, "cancelled_jobs": cancelled}


def cancel_jobs(deps: Deps, account_id: int) -> int:
    """Delete queued and scheduled jobs whose first argument is the account (this job excepted: it is running)."""
    cancelled = 0
    for queue in deps.queues.values():
        ids = queue.get_job_ids() + queue.scheduled_job_registry.get_job_ids()
        for job in Job.fetch_many(ids, connection=deps.redis, serializer=queue.serializer):
            if job is not None and job.args and job.args[0] == account_id:
                job.delete()
                cancelled += 1
    return cancelled
