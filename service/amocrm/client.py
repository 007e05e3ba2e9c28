"""The amoCRM API v4 client: one session, a Redis-shared rate limit, refresh on 401, stop on 403 (FACTS §5)."""
from __future__ import annotations

import logging
import math
import secrets
import time
from contextlib import contextmanager
from http.cookiejar import DefaultCookiePolicy
from typing import Callable, Iterator, Optional
from urllib.parse import urlsplit

import requests

from service.amocrm import oauth
from service.amocrm.tokens import (AccountBlocked, AccountUnavailable, NeedsReinstall, NotInstalled, TokenKeeper,
                                   TransientError)

log = logging.getLogger(__name__)
TIMEOUT = (5, 30)  # connect, read
GET_ATTEMPTS = 3  # timeouts, connection errors and 5xx on GETs
MAX_THROTTLED = 6  # 429s in a row before the job gives up (and RQ retries it later)
MAX_SLOT_WAIT = 300.0  # seconds a request may wait for its rate-limit slot

__all__ = ["AmoClient", "ApiError", "PaymentRequired", "RateLimited", "AccountUnavailable", "AccountBlocked",
           "NeedsReinstall", "NotInstalled", "TransientError", "http_session", "click_session", "without_cookies"]


class ApiError(RuntimeError):
    """An answer the caller has to deal with (4xx other than 401/402/403/429)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class PaymentRequired(ApiError):
    """402: the account is unpaid, or a paid add-on (API filters) is off."""


class RateLimited(TransientError):
    """amoCRM kept answering 429 after backing off."""


CLICK_TIMEOUT = (3.0, 8.0)  # connect, read: a person waits for a widget click's call


def http_session() -> requests.Session:
    """An HTTP session for amoCRM hosts (pooled keep-alive connections); bootstrap builds one per process."""
    return without_cookies(requests.Session())


class BoundedSession(requests.Session):
    """A session whose every request has our short timeout, whatever the caller asks."""

    def request(self, method, url, **kwargs):
        kwargs["timeout"] = CLICK_TIMEOUT
        return super().request(method, url, **kwargs)


def click_session() -> BoundedSession:
    """The session of calls a person waits for (bootstrap builds one per process)."""
    return without_cookies(BoundedSession())


def without_cookies(session: requests.Session) -> requests.Session:
    """A session that never stores a cookie: one session serves every tenant, and a cookie one account's host
    (or anything answering in its name) sets must not ride along on another account's calls."""
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = "DealPulse/1.0"
    return session


class AmoClient:
    """Calls one account's API on behalf of every job; safe to build per job."""

    def __init__(self, deps, account_id: int, account_base: str, *, session: Optional[requests.Session] = None,
                 sleep: Callable[[float], None] = time.sleep, backoff: float = 0.5):
        self.deps, self.account_id, self.sleep, self.backoff = deps, int(account_id), sleep, backoff
        self.session = session or deps.http
        self.base = oauth.api_base(deps.settings, account_base)
        self.tokens = TokenKeeper(deps.store, deps.settings, self.session, deps.clock)
        settings = deps.settings
        self.interval_ms = math.ceil(1000 / settings.amocrm_rps)
        self.per_second = math.ceil(settings.amocrm_rps)  # most requests amoCRM may see in any one second
        self.global_interval_ms = math.ceil(1000 / settings.amocrm_global_rps)
        self.requests_sent = 0

    # --- public calls
    def get(self, path: str, params: Optional[dict] = None) -> Optional[dict]:
        """GET a resource; None for 204 (amoCRM's empty list)."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body) -> Optional[dict]:
        """POST JSON (never retried on timeouts: it may have been applied)."""
        return self.request("POST", path, json=body)

    def pages(self, path: str, params: Optional[dict] = None, key: str = "") -> Iterator[tuple[list, Optional[str]]]:
        """Each page's items under `_embedded[key]` with the next page's path, following `_links.next`."""
        target: Optional[str] = path
        while target:
            body = self.request("GET", target, params=params)
            params = None  # the next link carries the whole query
            if not body:
                return
            target = self.local(((body.get("_links") or {}).get("next") or {}).get("href"))
            yield (body.get("_embedded") or {}).get(key, []), target

    def local(self, href: Optional[str]) -> Optional[str]:
        """A HAL link as path+query on our API base: tokens never go to a host amoCRM names in a body."""
        if not href:
            return None
        parts = urlsplit(href)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    # --- the request loop
    def request(self, method: str, path: str, params: Optional[dict] = None, json=None) -> Optional[dict]:
        """One logical call: waits for a slot, refreshes once on 401, backs off on 429, retries GETs."""
        self._check_state()
        pair = self.tokens.fresh(self.account_id, self.base)
        refreshed, throttled, failures = False, 0, 0
        while True:
            answer = self._send(method, path, params, json, pair, failures)
            if answer is None:  # a network failure worth retrying
                failures += 1
                continue
            status = answer.status_code
            if status == 401 and not refreshed:
                pair, refreshed = self.tokens.refresh(self.account_id, pair, self.base), True
                continue
            if status == 429:
                throttled += 1
                self._throttled(answer, throttled)
                continue
            if status >= 500 and method == "GET" and failures + 1 < GET_ATTEMPTS:
                failures += 1
                self.sleep(self.backoff * 2 ** failures)
                continue
            return self._result(answer)

    def _send(self, method, path, params, json, pair, failures) -> Optional[requests.Response]:
        """Send once after the rate-limit slot; None when a GET should be retried after a network error."""
        try:
            with self._slot():
                self.requests_sent += 1
                # Redirects are never followed: the bearer token goes to the account's own host only; a 3xx
                # comes back here and is an error (_result).
                return self.session.request(method, self.base + path, params=params, json=json, timeout=TIMEOUT,
                                            headers={"Authorization": f"Bearer {pair.access_token}"},
                                            allow_redirects=False)
        except (requests.Timeout, requests.ConnectionError) as exc:
            if method != "GET" or failures + 1 >= GET_ATTEMPTS:
                raise TransientError(f"account {self.account_id}: {method} {path}: {type(exc).__name__}") from None
            self.sleep(self.backoff * 2 ** (failures + 1))
            return None

    def _result(self, answer: requests.Response) -> Optional[dict]:
        """Translate a final answer into data or the error the caller acts on."""
        status = answer.status_code
        if status == 204:
            return None
        if status < 300:
            return answer.json() if answer.content else None
        if status < 400:
            raise ApiError(status, "amoCRM answered a redirect; redirects are never followed")
        if status == 401:
            self.tokens.mark(self.account_id, NeedsReinstall.state, "401 after a token refresh")
            raise NeedsReinstall(f"account {self.account_id}: 401 after a token refresh")
        if status == 403:
            self.tokens.mark(self.account_id, AccountBlocked.state, f"403 from amoCRM: {_detail(answer)}")
            raise AccountBlocked(f"account {self.account_id}: 403 from amoCRM")
        if status == 402:
            raise PaymentRequired(status, _detail(answer))
        if status >= 500:
            raise TransientError(f"account {self.account_id}: HTTP {status}")
        raise ApiError(status, _detail(answer))

    def _throttled(self, answer: requests.Response, count: int) -> None:
        """Pause the account for every worker: Retry-After when given, else exponential backoff."""
        if count > MAX_THROTTLED:
            raise RateLimited(f"account {self.account_id}: still 429 after {MAX_THROTTLED} pauses")
        seconds = _retry_after(answer) or min(60.0, max(self.backoff, 0.001) * 2 ** count)
        log.warning("account %s: 429 from amoCRM, pausing %.1f s", self.account_id, seconds)
        self.deps.store.pause_requests(self.account_id, int(seconds * 1000))

    @contextmanager
    def _slot(self):
        """Hold a window ticket from before the request leaves until its answer (or failure) is in."""
        ticket = secrets.token_hex(8)
        self._wait_for_slot(ticket)
        try:
            yield
        finally:
            self.deps.store.release_request_slot(self.account_id, ticket)

    def _wait_for_slot(self, ticket: str) -> None:
        """Sleep until the shared rate limit (this account's spacing and window, the global cap) admits one request."""
        waited = 0.0
        while (wait_ms := self.deps.store.acquire_request_slot(
                self.account_id, self.interval_ms, self.global_interval_ms, self.per_second, ticket)) > 0:
            if waited > MAX_SLOT_WAIT:
                raise RateLimited(f"account {self.account_id}: no request slot for {waited:.0f} s")
            self.sleep(wait_ms / 1000)
            waited += wait_ms / 1000

    def _check_state(self) -> None:
        """Refuse to call an account marked blocked or needing a re-install."""
        state = self.deps.store.get_account_state(self.account_id)
        if state["state"] == AccountBlocked.state:
            raise AccountBlocked(f"account {self.account_id} is blocked: {state['reason']}")
        if state["state"] == NeedsReinstall.state:
            raise NeedsReinstall(f"account {self.account_id} needs a re-install: {state['reason']}")


@contextmanager
def request_slot(deps, account_id: int):
    """One request's turn under the shared rate limit, for a call made before an AmoClient can be (the install)."""
    with AmoClient(deps, account_id, "")._slot():
        yield


def _retry_after(answer: requests.Response) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds form)."""
    try:
        return max(0.0, float(answer.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _detail(answer: requests.Response) -> str:
    """A short reason from a problem+json body."""
    try:
        body = answer.json()
    except ValueError:
        return answer.reason or str(answer.status_code)
    return str(body.get("detail") or body.get("title") or body)[:200] if isinstance(body, dict) else str(body)[:200]
