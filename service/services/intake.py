"""Webhook intake: store before answering, then apply in order, once in effect, and never drop silently."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import weakref
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from typing import Mapping

import redis

from service import errors, mirror
from service.amocrm import events as ev
from service.amocrm.webhooks import WebhookError, parse_webhook
from service.deps import Deps
from service.model import Account, ContactEvent, IncomingLead, LeadEvent, NoteEvent, TaskEvent, UnsortedEvent
from service.services import first_contacts, fresh_panel
from service.services.hook_urls import hook_generation_of, hook_secret
from service.services.recompute import recompute_cards
from service.store.inbox import INBOX_BATCH, InboxRefused
from service.services import queueing

log = logging.getLogger(__name__)
KEPT_HEADERS = ("User-Agent", "X-Amocrm-Requestid", "Content-Type")


def receive_webhook(deps: Deps, account_id: int, secret: bytes, body: bytes, headers: Mapping[str, str]) -> dict:
    """Check, store durably and queue one webhook; the 2xx is only given after this returns."""
    generation = _check_secret(deps, account_id, secret)
    try:
        account = _installed_account(deps, account_id)
        if account is not None and account.hook_generation != generation:
            account = _installed_account(deps, account_id, fresh=True)  # reinstalled seconds ago?
        if account is None:
            raise errors.NotFound(f"account {account_id} has not installed Deal Pulse")
        if account.hook_generation != generation:
            raise errors.Forbidden("this webhook URL belongs to an earlier install of the account")
        webhook = _parse(body, account)
        if webhook.errors and not webhook.events:
            raise errors.BadRequest("no valid item: " + "; ".join(map(str, webhook.errors)))
        if webhook.events:
            _store_and_queue(deps, account_id, body, headers)
        if webhook.skipped:  # kinds we do not read: nothing to store, a 2xx so amoCRM keeps the hook on
            deps.store.count(account_id, **{f"skipped:{kind}": n for kind, n in webhook.skipped.items()})
    except redis.RedisError:
        raise errors.Unavailable("storage is unavailable; retry later") from None
    return {"accepted": len(webhook.events), "rejected": [str(e) for e in webhook.errors],
            "skipped": webhook.skipped}


def _check_secret(deps: Deps, account_id: int, secret: bytes) -> str:
    """The install generation the URL's secret was made for; 403 unless we made it (no Redis read needed)."""
    generation = hook_generation_of(secret.decode("latin-1"))
    expected = hook_secret(deps.settings.secret_key, account_id, generation) if generation is not None else ""
    if not hmac.compare_digest(expected.encode(), secret):
        raise errors.Forbidden("wrong webhook secret for this account")
    return generation


ACCOUNT_TTL = 5.0  # seconds a web process trusts its copy of an installed account (an uninstall takes this long)
_accounts: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # per Store: tests' fresh deps start empty


def _installed_account(deps: Deps, account_id: int, fresh: bool = False):
    """The installed account, re-read at most every few seconds per process: one Redis round trip less per webhook."""
    held = _accounts.setdefault(deps.store, {})
    now = time.monotonic()
    cached = held.get(account_id)
    if cached and now - cached[0] < ACCOUNT_TTL and not fresh:
        return cached[1]
    account = deps.store.get_account(account_id)
    if account is None:
        held.pop(account_id, None)  # unknown accounts are never cached: an install takes effect at once
    else:
        held[account_id] = (now, account)
    return account


def _parse(body: bytes, account: Account):
    """Decode the body and check it names the account the URL belongs to."""
    try:
        webhook = parse_webhook(body, account.timezone)
    except WebhookError as exc:
        raise errors.BadRequest(f"malformed webhook: {exc}") from None
    if webhook.account_id is not None and webhook.account_id != account.id:
        raise errors.Forbidden(f"body is from account {webhook.account_id}, URL is for account {account.id}")
    if webhook.account_id is None and webhook.subdomain != account.subdomain:
        raise errors.Forbidden(f"body is from subdomain {webhook.subdomain!r}, URL is for {account.subdomain!r}")
    return webhook


def _store_and_queue(deps: Deps, account_id: int, body: bytes, headers: Mapping[str, str]) -> None:
    """Append to the durable inbox, then make sure one drain job is queued."""
    entry = {"body": body, "received_at": f"{deps.clock():.3f}",
             "headers": json.dumps({h: value for h in KEPT_HEADERS if (value := headers.get(h)) is not None})}
    settings = deps.settings
    try:
        _, must_queue = deps.store.append_inbox(account_id, entry, (int(deps.clock()), settings.intake_account_rps,
                                                                    settings.inbox_max_entries))
    except InboxRefused as refused:
        raise _refusal(account_id, refused.reason, settings) from None
    if must_queue:
        try:
            queue_drain(deps, account_id)
        except redis.RedisError:
            deps.store.clear_drain_pending(account_id)  # the next delivery queues it
            raise


def _refusal(account_id: int, reason: str, settings) -> errors.AppError:
    """What an inbox refusal answers: 404 once the account is gone, else a 503 amoCRM retries (FACTS §4: 5xx are
    retried longer than 4xx)."""
    if reason == "not_installed":
        return errors.NotFound(f"account {account_id} has not installed Deal Pulse")
    if reason == "rate":
        return errors.Overloaded(f"more than {settings.intake_account_rps} deliveries per second for account "
                                 f"{account_id}; retry later", retry_after=1)
    return errors.Overloaded(f"account {account_id} has {settings.inbox_max_entries} deliveries waiting to be "
                             "applied; retry later", retry_after=60)


def queue_drain(deps: Deps, account_id: int) -> None:
    """Have the account's inbox applied: on the drain board, by the drain job (services/draining.py)."""
    queueing.request_drain(deps, account_id)


def drain_inbox(deps: Deps, account_id: int) -> dict:
    """Apply every stored webhook of the account; recompute each touched card once per batch."""
    with deps.for_account(account_id) as account_deps:
        return _drain(account_deps, account_id)


def _drain(deps: Deps, account_id: int) -> dict:
    """drain_inbox on the account's own deps. A short lease, renewed per batch: a worker killed mid-drain blocks
    the account for seconds (then the clock's sweeper queues a drain). A drain that finds the lease taken leaves at
    once instead of occupying a worker: the holder looks at the inbox again as it lets go."""
    started = deps.store.begin_drain(account_id, deps.settings.drain_lease_seconds)
    if started is None:
        return {}
    token, account, after, entries = started
    totals, changed = Counter(), set()
    try:
        more = _apply_inbox(deps, account, token, (after, entries), totals, changed)
    except BaseException:
        _release(deps, account_id, token)
        raise
    if more:
        queue_drain(deps, account_id)  # events that came in after our last read
    if totals:
        fresh_panel.request_recompute(deps, account_id, changed)  # the panel's figures follow within a minute
    return dict(totals)


def _apply_inbox(deps: Deps, account: Account, token: str, first: tuple, totals: Counter, changed: set) -> bool:
    """Apply batch after batch (each the cursor it was read after and its entries) until the inbox is read to the
    end, the last write ending the lease; True when deliveries came in meanwhile that no queued drain covers."""
    after, entries = first
    while entries:
        touched: set[int] = set()
        batch = _apply_batch(deps, account, entries, touched)
        _recompute_or_hand_over(deps, account.id, touched)
        changed |= touched
        totals.update(batch)
        if len(entries) < INBOX_BATCH:  # read to the end: later arrivals found "queued" cleared and asked anew
            return deps.store.mark_applied(account.id, entries[-1][0], batch, end_lease=token, after=after)
        deps.store.mark_applied(account.id, entries[-1][0], batch, after=after)
        after, entries = deps.store.next_batch(account.id, token, deps.settings.drain_lease_seconds)
    return deps.store.end_drain(account.id, token)


def _recompute_or_hand_over(deps: Deps, account_id: int, touched: set[int]) -> None:
    """Recompute the batch's cards; if that fails for a reason other than Redis, the events are in the mirror
    already: log it and hand the cards to a recheck job RQ retries, so one card that cannot be computed never
    stops the inbox (the batch would be re-read, re-applied and fail again, forever)."""
    try:
        recompute_cards(deps, account_id, touched)
    except redis.RedisError:
        raise  # storage trouble: the batch stays in the inbox and the next drain applies it again
    except Exception:  # noqa: BLE001 — the cards, not the events, failed: they get their own job
        log.exception("account %s: recomputing %d cards after applying webhooks failed; handed to recheck_leads",
                      account_id, len(touched))
        deps.store.count(account_id, card_recompute_failed=1)
        queueing.enqueue(deps, "recheck_leads", account_id, sorted(touched))


def _release(deps: Deps, account_id: int, token: str) -> None:
    """Let go of the inbox after a failure; Redis trouble here is not the failure to report (the lease runs out)."""
    try:
        deps.store.release_drain(account_id, token)
    except redis.RedisError:
        pass


def _apply_batch(deps: Deps, account: Account, entries: list[tuple[str, dict]], touched: set[int]) -> Counter:
    """Apply a batch in one pass; when something in it is poison, apply it again one entry at a time."""
    outcomes, fresh = Counter(), []
    marks = [(_delivery_mark(entry), entry_id) for entry_id, entry in entries]
    for (_, entry), (mark, _), first in zip(entries, marks, deps.store.claim_deliveries(account.id, marks)):
        if not first:
            outcomes["duplicates"] += 1
        else:
            fresh.append((entry, mark))
    try:
        events = [e for entry, _ in fresh for e in events_of(entry, account)]
        touched.update(apply_events(deps, account.id, events))
        outcomes["applied"] += len(fresh)
    except redis.RedisError:
        raise  # storage trouble is not the events' fault: the drain stops and the batch stays in the inbox
    except Exception:  # noqa: BLE001 — find the poison; every write is idempotent, so replaying is safe
        outcomes.update(_apply_entry(deps, account, entry, mark, touched) for entry, mark in fresh)
    return outcomes


def events_of(entry: dict, account: Account) -> list:
    """The typed events of a stored delivery; lead events a short body sent without a time get its arrival time.

    A short Digital Pipeline body (real/wh10-wh12) says a deal moved but not when. The arrival is within seconds
    of the move (amoCRM sends at once and retries within minutes), so it places the stage entry well enough for
    "days in stage"; an API lookup per move (GET /api/v4/events) would spend the account's 7 requests/second
    on every robot move in bursts, and the reconcile that follows reads the exact time from stage history anyway.
    """
    events = parse_webhook(entry["body"], account.timezone).events
    received = _received_at(entry)
    return [replace(e, received_at=received) if isinstance(e, LeadEvent) and e.is_short else e for e in events]


def _received_at(entry: dict):
    """When the delivery was stored (unix seconds), None for entries written without it."""
    raw = entry.get("received_at")
    raw = raw.decode() if isinstance(raw, bytes) else raw
    try:
        return int(float(raw)) or None
    except (TypeError, ValueError):
        return None


def _delivery_mark(entry: dict):
    """What makes two stored entries the same delivery: amoCRM's request id (retries reuse it) and the body's
    digest (a sender reusing an id for another body is another delivery). None without a request id."""
    request_id = json.loads(entry.get("headers") or "{}").get("X-Amocrm-Requestid")
    if not request_id:
        return None
    body = entry["body"] if isinstance(entry["body"], bytes) else str(entry["body"]).encode()
    return f"{request_id}:{hashlib.blake2b(body, digest_size=12).hexdigest()}"


def _apply_entry(deps: Deps, account: Account, entry: dict, mark, touched: set[int]) -> str:
    """Apply one stored webhook; a failure goes to the dead letters with its error."""
    try:
        events = events_of(entry, account)
        touched.update(apply_events(deps, account.id, events))
        return "applied"
    except redis.RedisError:
        raise
    except Exception as exc:  # noqa: BLE001 — a poison event must not block the account's inbox
        if mark:
            deps.store.forget_request(account.id, mark)  # a replay after the fix is not a duplicate
        log.warning("webhook for account %s dead-lettered: %s", account.id, type(exc).__name__)
        deps.store.dead_letter(account.id, entry, f"{type(exc).__name__}: {exc}")
        return "dead_lettered"


def apply_events(deps: Deps, account_id: int, events: list) -> set[int]:
    """Fold typed events into the mirror; return the ids of leads whose card may have changed."""
    touched = _apply_leads(deps, account_id, [e for e in events if isinstance(e, LeadEvent)])
    touched |= _apply_tasks(deps, account_id, [e for e in events if isinstance(e, TaskEvent)])
    touched |= _apply_notes(deps, account_id, [e for e in events if isinstance(e, NoteEvent)])
    _apply_unsorted(deps, account_id, [e for e in events if isinstance(e, UnsortedEvent)])
    _apply_contacts(deps, account_id, [e for e in events if isinstance(e, ContactEvent)])
    return touched | first_contacts.record_webhook_events(deps, account_id, events)


def _apply_leads(deps: Deps, account_id: int, events: list) -> set[int]:
    """Leads by amoCRM's timestamps, and the stage moves and date field changes they made."""
    leads = deps.store.get_leads(account_id, {e.id for e in events})
    groups = _groups_of_new_responsibles(deps, account_id, leads, events)
    changed, moves, dates = {}, [], []
    for event in events:
        before = leads.get(event.id)
        after = mirror.apply_lead_event(before, event, groups)
        if after is not None and after != before:
            leads[event.id] = changed[event.id] = after
        moves += [m for m in [mirror.stage_change(before, after, event)] if m]  # even when overtaken
        dates += mirror.date_changes(before, after, event.at)
    # The moves first: if we die between the writes, the replay still sees the old lead and redoes the move.
    deps.store.add_timeline(account_id, "history", moves)
    deps.store.add_timeline(account_id, "close_dates", dates)
    changed.update(_entered_by_history(deps, account_id, leads, {m.lead_id for m in moves}))
    deps.store.save_leads(account_id, changed.values())
    return set(changed) | {m.lead_id for m in moves}


def _groups_of_new_responsibles(deps: Deps, account_id: int, leads: dict, events: list) -> dict[int, int]:
    """{user: group} of the users that events hand leads to (group rights follow the lead's group_id, issue 16)."""
    handed = {e.responsible_user_id for e in events if e.responsible_user_id is not None
              and (e.id not in leads or leads[e.id].responsible_user_id != e.responsible_user_id)}
    users = deps.store.get_records(account_id, "users", handed) if handed else {}
    return {user_id: int(doc.get("group_id") or 0) for user_id, doc in users.items()}


def _entered_by_history(deps: Deps, account_id: int, leads: dict, moved: set[int]) -> dict:
    """Leads whose stage entry time the stage history corrects: a status hook that arrives after a later-stamped
    update already put the lead in that stage tells when it really entered it (as the sync reads it)."""
    history = deps.store.timelines(account_id, "history", [i for i in moved if leads.get(i)])
    fixed = {}
    for lead_id, changes in history.items():
        lead, stage = leads[lead_id], (leads[lead_id].pipeline_id, leads[lead_id].status_id)
        entered = max((c.at for c in changes if c.at <= lead.updated_at and (c.pipeline_id, c.status_id) == stage),
                      default=None)
        left = max((c.at for c in changes if (c.old_pipeline_id, c.old_status_id) == stage), default=0)
        if entered and entered >= left and entered != lead.stage_entered_at:  # a later exit: re-entry unknown
            fixed[lead_id] = leads[lead_id] = replace(lead, stage_entered_at=entered)
    return fixed


def _apply_tasks(deps: Deps, account_id: int, events: list) -> set[int]:
    """Tasks by their own timestamps; an open task due later schedules a re-check of its deal."""
    tasks = deps.store.get_tasks(account_id, {e.id for e in events})
    due_before = {t.id: (t.complete_till, t.is_completed) for t in tasks.values()}
    touched, removed = set(), []
    for event in events:
        task = mirror.apply_task_event(tasks.get(event.id), event)
        previous = tasks.pop(event.id, None)
        if task is None:
            removed += [previous] if previous else []
            touched |= {previous.lead_id} if previous else set()
            continue
        tasks[event.id] = task
        touched.add(task.lead_id)
    deps.store.save_tasks(account_id, tasks.values())
    deps.store.delete_tasks(account_id, removed)
    for task in tasks.values():  # a re-check per new due time; replays and other edits schedule nothing
        if due_before.get(task.id) != (task.complete_till, task.is_completed):
            schedule_recheck(deps, account_id, task.lead_id, task.complete_till, task.is_completed)
    return touched


def schedule_recheck(deps: Deps, account_id: int, lead_id: int, due: int, done: bool) -> None:
    """A task becomes overdue with no webhook at all: recompute its deal right after it is due."""
    if done or not due or due <= deps.clock():
        return
    when = datetime.fromtimestamp(due + 1, timezone.utc)
    queueing.enqueue(deps, "recheck_leads", account_id, [lead_id], at=when,
                     job_id=f"recheck-{account_id}-{lead_id}-{due}")


def _apply_notes(deps: Deps, account_id: int, events: list) -> set[int]:
    """Calls and the latest note time of each lead."""
    lead_notes = [e for e in events if e.entity == "leads"]
    deps.store.add_timeline(account_id, "calls", [c for c in map(mirror.call_of, lead_notes) if c])
    latest: dict[int, int] = {}
    for note in lead_notes:
        latest[note.element_id] = max(latest.get(note.element_id, 0), note.created_at)
    deps.store.touch_activity(account_id, latest)
    return set(latest)


def _apply_unsorted(deps: Deps, account_id: int, events: list) -> None:
    """Incoming requests and whether they became deals."""
    held = deps.store.get_records(account_id, "incoming", {e.uid for e in events}) if events else {}
    known = {uid: IncomingLead(**doc) for uid, doc in held.items()}
    for event in events:
        known[event.uid] = mirror.incoming_of(event, known.get(event.uid))
    deps.store.save_records(account_id, "incoming", {e.uid: known[e.uid] for e in events})
    first_contacts.record_requests(deps, account_id, (known[e.uid] for e in events))


def _apply_contacts(deps: Deps, account_id: int, events: list) -> None:
    """Contacts created, per responsible manager (for contacts vs deals)."""
    added = {e.id: {"created_at": e.created_at, "responsible_user_id": e.responsible_user_id, "type": e.type}
             for e in events if e.action == "add" and e.entity == "contacts"}
    deps.store.save_records(account_id, "contacts", added)


def sweep_inboxes(deps: Deps) -> list[int]:
    """Queue a drain for every account whose inbox holds events nobody is draining (after a crash)."""
    stranded = [a for a in deps.store.account_ids() if deps.store.inbox_length(a) and deps.store.claim_drain(a)]
    for account_id in stranded:
        queue_drain(deps, account_id)
    if stranded:  # a lost drain job's "waiting" flag may outlive it by seconds: a sweep does not trust it
        queueing.enqueue(deps, "drain_ready")
    return stranded


def replay_dead_letters(deps: Deps, account_id: int) -> int:
    """Put the account's dead letters back into its inbox (after a fix) and drain it."""
    letters = deps.store.take_dead_letters(account_id)
    for letter in letters:
        entry = {"body": letter["body"].encode(), "received_at": letter.get("received_at", ""),
                 "headers": letter.get("headers", "{}")}
        deps.store.append_inbox(account_id, entry)
    if letters:
        queue_drain(deps, account_id)
    return len(letters)
