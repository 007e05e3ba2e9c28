"""Who is calling and what they may see: token → account, jti, rate limit, user and rights in one Redis round trip.

Supervisors (the panel's role) are the account's admins plus the users chosen in the widget settings
(`supervisor_ids`). Only admins see every deal: a chosen supervisor's deal visibility stays what amoCRM gives them
(`rights.leads.view` and the per-stage `status_rights`), in the card, the lists and the panel's figures alike. Who is an
admin is decided once, never OR-ed: the users mirror (`rights.is_admin` of GET /api/v4/users, documented, refreshed
by every reconcile) decides for a mirrored user; the token's optional `is_admin` claim (not in amoCRM's token docs,
FACTS §2; parsed strictly in web/auth.py) counts only for a user the mirror does not hold yet. So a claim cannot
raise a mirrored manager to admin, and an admin demoted in amoCRM stops being one at the next reconcile.
Everyone but an admin sees deals as amoCRM's `rights.leads.view` allows: A all deals, G their group's deals (and
their own), M their own deals, D none; a stage's `status_rights` entry overrides it there.
Until the account's users are mirrored (before the first sync) rights are unknown: cards are shown as amoCRM shows
them (the widget only runs on pages amoCRM let the user open).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import redis

from service import errors
from service.deps import Deps
from service.model import Account, Lead, User


@dataclass(frozen=True)
class Caller:
    """An authorized widget request: the account, the user and their rights, as of `now`."""

    account: Account
    user_id: int
    user: Optional[User]
    is_supervisor: bool
    is_admin: bool
    leads_view: str  # A | G | M | D (admins: A; chosen supervisors keep their amoCRM right)
    group_id: int
    settings: dict  # the stored widget settings document ({} = defaults)
    now: int

    @property
    def name(self) -> str:
        return self.user.name if self.user else ""

    def may_view(self, lead: Optional[Lead], responsible_group: Optional[int] = None) -> bool:
        """True when amoCRM lets this user view `lead` (a lead not mirrored holds nothing to see)."""
        view = self.view_of(lead)
        if view == "A":
            return True
        if view == "D" or lead is None:
            return False
        if lead.responsible_user_id == self.user_id:
            return True
        if view == "G":
            group = lead.group_id or responsible_group or 0
            return bool(self.group_id) and group == self.group_id
        return False

    def view_of(self, lead: Optional[Lead]) -> str:
        """The caller's view right where `lead` stands: its stage's `status_rights` entry, else the general one.

        amoCRM hides a stage's deals from a user whose entry says D even when `leads.view` is A (real/api11);
        supervisors chosen in our settings are bound by it too. Only admins see every stage.
        """
        if lead is None or self.is_admin or self.user is None:
            return self.leads_view
        for pipeline, status, view in self.user.stage_views:
            if (pipeline, status) == (lead.pipeline_id, lead.status_id):
                return view
        return self.leads_view


def authorize(deps: Deps, claims, *reads) -> tuple[Caller, list]:
    """Check the token against its account (issuer, one use), the user's rate, and run `reads`: one round trip."""
    now = deps.clock()
    ttl = jti_ttl(claims.exp, now, deps.settings.token_leeway_seconds)
    try:
        account, fresh, count, user, has_users, settings, results = deps.store.widget.authorized_reads(
            claims.account_id, claims.jti, ttl, claims.user_id, int(now), reads)
    except redis.RedisError:
        raise errors.Unavailable("storage is unavailable; retry later") from None
    if account is None:
        raise errors.Forbidden(f"account {claims.account_id} has not installed Deal Pulse")
    if claims.issuer.rstrip("/") != account.origin:
        raise errors.Unauthorized("token issuer does not match the account")
    if not fresh:
        _count_replay(deps, account.id)
        raise errors.TokenReplayed("token already used: ask $authorizedAjax for a fresh one and retry once")
    limit = deps.settings.api_user_rps
    if count > limit:
        raise errors.TooManyRequests(f"more than {limit} requests per second from user {claims.user_id}; "
                                     "slow down and retry after the Retry-After seconds", retry_after=1)
    return caller_of(account, claims, user, has_users, settings, int(now)), results


def jti_ttl(exp: int, now: float, leeway: int) -> int:
    """Seconds a token's one-use key must live: past the last moment the token is accepted (exp + leeway), rounded
    up, plus one (Redis expires a key up to a millisecond early)."""
    return max(math.ceil(exp + leeway - now) + 1, 1)


def _count_replay(deps: Deps, account_id: int) -> None:
    """One refused replay more in /metrics; a storage failure here must not hide the refusal."""
    try:
        deps.store.count(account_id, token_replayed=1)
    except redis.RedisError:
        pass


def caller_of(account: Account, claims, user: Optional[User], has_users: bool, settings: dict, now: int) -> Caller:
    """The caller's role and rights from the users mirror, the token and the widget settings."""
    is_admin = user.is_admin if user is not None else claims.is_admin  # the mirror first (module docstring)
    chosen = claims.user_id in set(settings.get("supervisor_ids") or ())
    supervisor = is_admin or chosen
    if is_admin:  # a chosen supervisor gets the panel, never more deals than amoCRM shows them
        view = "A"
    elif user is not None:
        view = user.leads_view if user.leads_view in ("A", "G", "M", "D") else "D"
    else:
        view = "D" if has_users else "A"  # a stranger to a mirrored account sees nothing
    return Caller(account, claims.user_id, user, supervisor, is_admin, view, user.group_id if user else 0,
                  settings, now)


def language_hint(account: Account) -> str:
    """"ru" for amocrm.ru accounts, else "en" (the widget should prefer amoCRM's APP.lang_id)."""
    return "ru" if account.origin.endswith(".ru") else "en"


def require_supervisor(caller: Caller, what: str) -> None:
    """403 unless the caller is a supervisor."""
    if not caller.is_supervisor:
        raise errors.Forbidden(f"{what} is for supervisors (account admins and the users chosen in the settings)")


def require_view(deps: Deps, caller: Caller, lead_id: int, lead: Optional[Lead]) -> None:
    """403 unless the caller may view the deal. A deal not mirrored yet has nothing to show and passes (its card
    is empty); the responsible's group is read only for G rights on a lead without a group."""
    if caller.leads_view == "D":
        raise errors.Forbidden("your amoCRM rights do not let you view deals")
    if lead is None:
        return
    group = None
    if caller.leads_view == "G" and not lead.group_id:
        found = deps.store.get_records(caller.account.id, "users", [lead.responsible_user_id])
        group = (found.get(lead.responsible_user_id) or {}).get("group_id")
    if not caller.may_view(lead, group):
        raise errors.Forbidden(f"your amoCRM rights do not let you view deal {lead_id}")
