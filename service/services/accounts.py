"""Account lifecycle: install (redirect URI → code exchange in a job → account, webhooks, sync) and disable."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import Optional
from urllib.parse import urlencode

import requests

from service import errors
from service.amocrm import oauth, schemas
from service.amocrm.client import AmoClient, request_slot
from service.amocrm.tokens import TokenKeeper
from service.crypto import Cipher
from service.deps import Deps
from service.model import Account
from service.services import queueing, sync, uninstall
from service.services.hook_health import HOOK_EVENTS
from service.services.hook_urls import hook_url, new_hook_generation

log = logging.getLogger(__name__)
STATE_TTL = 1800  # an install started from our page must come back within 30 minutes
MAX_WAITING_INSTALLS = 1000  # past this many queued exchanges, callbacks get 503: Redis stays bounded whatever the
                             # number of flooding addresses (a real install is rare; its admin can start it again)
AUTHORIZE = {"amocrm": "https://www.amocrm.ru/oauth", "kommo": "https://www.kommo.com/oauth"}


@dataclass(frozen=True)
class InstallCall:
    """What amoCRM sends to the redirect URI."""

    code: str
    referer: str
    state: Optional[str] = None
    client_id: Optional[str] = None
    from_widget: bool = False


def install_links(deps: Deps) -> dict:
    """Authorize URLs for an install started from our page, carrying a signed, time-limited `state` (nothing is
    stored per page view: anonymous GETs must not grow Redis)."""
    query = urlencode({"client_id": deps.settings.client_id, "state": sign_state(deps.settings.secret_key,
                                                                                 deps.clock())})
    if deps.settings.amocrm_api_base:
        return {"sandbox": f"{deps.settings.amocrm_api_base.rstrip('/')}/oauth?{query}"}
    return {name: f"{url}?{query}" for name, url in AUTHORIZE.items()}


def sign_state(secret_key: str, now: float) -> str:
    """`<expiry>.<nonce>.<mac>`: HMAC-SHA256 over expiry and nonce with SECRET_KEY."""
    head = f"{int(now) + STATE_TTL}.{secrets.token_urlsafe(16)}"
    return f"{head}.{_state_mac(secret_key, head)}"


def open_state(secret_key: str, state: str, now: float) -> Optional[tuple[str, int]]:
    """(nonce, seconds left) of a state we signed that has not expired, else None."""
    head, _, mac = state.rpartition(".")
    expiry, _, nonce = head.partition(".")
    if not (expiry.isascii() and expiry.isdigit() and nonce and len(state) < 200):
        return None
    if not hmac.compare_digest(mac.encode(), _state_mac(secret_key, head).encode()):
        return None
    left = int(expiry) - int(now)
    return (nonce, left) if 0 < left <= STATE_TTL else None


def _state_mac(secret_key: str, head: str) -> str:
    return hmac.new(secret_key.encode(), f"install-state|{head}".encode(), hashlib.sha256).hexdigest()[:32]


def accept_install(deps: Deps, call: InstallCall) -> None:
    """Check the redirect and queue the code exchange; amoCRM waits only 3 s and never resends.

    Without `state` this is amoCRM's own widget install (developers.kommo.com/docs/authorization-public: code,
    referer, from_widget only); it gets the same host checks, and complete_install's checks against the account."""
    if call.client_id and call.client_id != deps.settings.client_id:
        raise errors.BadRequest("this install is for another integration (client_id)")
    if call.state is not None:
        opened = open_state(deps.settings.secret_key, call.state, deps.clock())
        if opened is None or not deps.store.claim_install_state(*opened):
            raise errors.Forbidden("unknown or expired install state; start the installation again")
    try:
        base = oauth.account_host_base(deps.settings, call.referer)
    except ValueError as exc:
        raise errors.BadRequest(str(exc)) from None
    if queueing.queue_of(deps, "complete_install").count >= MAX_WAITING_INSTALLS:
        raise errors.Unavailable("too many installations are waiting; start the installation again in a minute")
    # The code is a credential for 20 minutes: RQ keeps job arguments, so it travels encrypted.
    sealed = Cipher.from_settings(deps.settings).seal({"code": call.code}).decode()
    queueing.enqueue(deps, "complete_install", sealed, base)


def complete_install(deps: Deps, sealed_code: str, base: str) -> dict:
    """Exchange the code, learn the account, store it with its tokens, then queue the rest."""
    code = Cipher.from_settings(deps.settings).open(sealed_code.encode())["code"]
    session, api = deps.http, oauth.api_base(deps.settings, base)
    try:
        pair = oauth.exchange_code(session, deps.settings, api, code, deps.clock())
    except oauth.GrantRejected as exc:
        log.warning("install refused by amoCRM: %s", exc)  # a used or expired code: nothing to retry
        return {"installed": False, "reason": str(exc)}
    body = _fetch_account(deps, session, api, pair.access_token, _known_id(deps, base))
    fields = schemas.account_fields(body)
    account = schemas.make_account(body, base if oauth.is_amo_host(oauth.referer_host(base)) else
                                   f"https://{fields['subdomain']}.amocrm.ru")
    conflict = install_conflict(deps, account, base)
    if conflict:
        log.warning("install of account %s refused: %s", account.id, conflict)  # its tokens are dropped unused
        return {"installed": False, "reason": conflict}
    account = replace(account, hook_generation=new_hook_generation())  # a reinstall revokes the old hook URL
    TokenKeeper(deps.store, deps.settings, session, deps.clock).save(account.id, pair)
    deps.store.set_account_state(account.id, "active", "installed", int(deps.clock()))
    deps.store.save_account(account)
    deps.store.set_install_id(account.id, secrets.token_hex(8))  # a disable hook from before this install is stale
    queueing.enqueue(deps, "finish_install", account.id)
    log.info("account %s (%s) installed", account.id, account.subdomain)
    return {"installed": True, "account_id": account.id}


def install_conflict(deps: Deps, account: Account, base: str) -> str:
    """Why this install must not be stored ('' when it may): the account amoCRM names must be the referer's, and
    must not take another installed account's place (tokens, host, hook URL)."""
    label = oauth.account_label(oauth.referer_host(base))
    if label is not None and account.subdomain.lower() != label:
        return f"the account's subdomain {account.subdomain!r} is not the referer's {label!r}"
    stored = deps.store.get_account(account.id)
    if stored is not None and stored.subdomain.lower() != account.subdomain.lower():
        return f"account {account.id} is installed as {stored.subdomain!r}, not {account.subdomain!r}"
    owner = deps.store.account_for_origin(account.origin)
    if owner is not None and owner != account.id:
        return f"{account.origin} belongs to installed account {owner}"
    return ""


def _known_id(deps: Deps, base: str) -> int:
    """The account's id when it was installed before (a re-install), else 0: a first install's account is not known
    until GET /api/v4/account answers, and we make no other call to it, so it takes its turn with every other
    first install in progress (and under the global cap)."""
    label = oauth.account_label(oauth.referer_host(base))
    return (deps.store.account_id_for(label) if label else None) or 0


def _fetch_account(deps: Deps, session: requests.Session, api: str, access_token: str, account_id: int,
                   attempts: int = 3) -> dict:
    """GET /api/v4/account with the new token (tokens are stored under its id, so it must be read first), through
    the rate limit every other call takes."""
    for attempt in range(attempts):
        try:
            with request_slot(deps, account_id):
                answer = session.get(f"{api}/api/v4/account", params={"with": "is_api_filter_enabled,datetime_settings"},
                                     headers={"Authorization": f"Bearer {access_token}"}, timeout=(5, 20),
                                     allow_redirects=False)  # the new token goes to the account's host only
            if answer.status_code == 200:
                return answer.json()
        except requests.RequestException:
            pass
        time.sleep(0.5 * 2 ** attempt)
    raise RuntimeError("GET /api/v4/account failed after the code exchange")


def finish_install(deps: Deps, account_id: int) -> dict:
    """Subscribe the account's webhooks to its secret URL and start the initial sync."""
    account = deps.store.get_account(account_id)
    if account is None:
        return {"installed": False, "reason": "not_installed"}
    client = AmoClient(deps, account_id, account.base_url)
    client.post("/api/v4/webhooks", {"destination": hook_url(deps, account_id), "settings": HOOK_EVENTS})
    sync.enqueue_full_sync(deps, account_id)
    return {"installed": True, "account_id": account_id}


def disable_signature(client_secret: str, client_id: str, account_id: int) -> str:
    """hex(HMAC_SHA256(key=client_secret, msg=f"{client_id}|{account_id}")) as amoCRM signs the disable hook."""
    return hmac.new(client_secret.encode(), f"{client_id}|{account_id}".encode(), hashlib.sha256).hexdigest()


def disable(deps: Deps, account_id: int, client_id: str, signature: str) -> dict:
    """Verify amoCRM's disable hook and queue its confirmation: the delete happens in a job, and only once amoCRM
    confirms our tokens are revoked (the signature has no time or nonce: a replayed URL must delete nothing)."""
    if not hmac.compare_digest(client_id.encode(), deps.settings.client_id.encode()):
        raise errors.Forbidden("disable hook for another integration")
    expected = disable_signature(deps.settings.client_secret, deps.settings.client_id, account_id)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise errors.Forbidden("disable hook signature does not match")
    return {"account_id": account_id, "accepted": True, "queued": uninstall.queue_confirmation(deps, account_id)}
