"""Insights kept fresh: the whole account after a sync or on a schedule, single cards after a change."""
from __future__ import annotations

import gc
import json
import time
from contextlib import contextmanager
from dataclasses import asdict, fields, is_dataclass, replace
from typing import Iterable, Optional

from redis.exceptions import LockError

from service.services import first_contacts
from service.deps import Deps
from service.insights.forecast import backtest
from service.insights.recompute import Models, deal_hints_for, recompute_account as recompute_core, webhook_only_hints
from service.insights.settings import InsightSettings, StageOverride
from service.insights.snapshot import Snapshot, build_snapshot
from service.insights.stages import StageStats, TimeStats
from service.insights.winrate import WinModel
from service.insights.plans import Plan
from service.model import Hint, Lead, Threshold
from service.store.codec import Read

def load_snapshot(deps: Deps, account_id: int) -> Snapshot:
    """The account's whole mirror as the insight core takes it."""
    store = deps.store
    contacts = store.all_records(account_id, "contacts")
    snap = _snapshot(deps, account_id, list(store.all_leads(account_id)), list(store.all_tasks(account_id)),
                     users=store.get_users(account_id).values(),
                     incoming=store.all_records(account_id, "incoming").values(),
                     loss_reasons=store.all_records(account_id, "loss_reasons"),
                     contacts_created=_contacts_by_user(contacts))
    return replace(snap, contacts=tuple((c.get("created_at") or 0, c.get("responsible_user_id") or 0)
                                        for c in contacts.values()))


def load_cards_snapshot(deps: Deps, account_id: int, lead_ids: Iterable[int]) -> Snapshot:
    """Only what the cards of `lead_ids` need: account-wide records (users, requests, contacts) stay unread."""
    return cards_snapshot(deps, account_id, lead_ids)[0]


def cards_snapshot(deps: Deps, account_id: int, lead_ids: Iterable[int], *also: Read) -> tuple[Snapshot, list]:
    """load_cards_snapshot in two round trips (the leads with everything keyed by lead, then their tasks), and the
    values of `also`, queued first in the first (a mark among them precedes the reads)."""
    store, ids = deps.store, list(lead_ids)
    values = store.read(*also, store.leads_read(account_id, ids), store.task_ids_read(account_id, ids),
                        *_around_leads(store, account_id, ids))
    more, (leads, task_ids, *held) = values[:len(also)], values[len(also):]
    tasks = [t for group in store.tasks_by_lead(account_id, list(leads), task_ids).values() for t in group]
    return _assembled(leads, tasks, held), more


def _snapshot(deps: Deps, account_id: int, leads: list[Lead], tasks: list, **account_wide) -> Snapshot:
    """The leads with their timelines and latest notes, plus the pipelines (stage names)."""
    store = deps.store
    return _assembled({lead.id: lead for lead in leads}, tasks,
                      store.read(*_around_leads(store, account_id, [lead.id for lead in leads])), **account_wide)


TIMELINES = ("history", "calls", "close_dates")


def _around_leads(store, account_id: int, ids: list[int]) -> list[Read]:
    """What a snapshot holds beside leads and tasks: the leads' timelines and latest notes, the account, its
    pipelines (stage names)."""
    return [*(store.timelines_read(account_id, kind, ids) for kind in TIMELINES),
            store.last_note_at_read(account_id, ids), store.account_read(account_id), store.pipelines_read(account_id)]


def _assembled(leads: dict, tasks: list, held: list, **account_wide) -> Snapshot:
    """The snapshot from the leads, their tasks and _around_leads' values."""
    *timelines, notes, account, pipelines = held
    snap = build_snapshot(account, pipelines, leads=leads.values(), tasks=tasks,
                          last_note_at={i: at for i, at in notes.items() if i in leads}, **account_wide)
    # The store hands timelines grouped by lead and in time order: flattening them to regroup would cost seconds.
    return replace(snap, **{f"{kind}_by_lead": {lead: got for lead, got in facts.items() if got and lead in leads}
                            for kind, facts in zip(TIMELINES, timelines)})


def _contacts_by_user(contacts: dict) -> dict[int, int]:
    """Contacts created per responsible manager."""
    counts: dict[int, int] = {}
    for contact in contacts.values():
        user = contact.get("responsible_user_id")
        if user:
            counts[user] = counts.get(user, 0) + 1
    return counts


def insight_settings(deps: Deps, account_id: int) -> InsightSettings:
    """The account's insight settings (supervisor overrides over the defaults)."""
    saved = deps.store.read_insight(account_id, "settings") or {}
    overrides = {int(k): StageOverride(**v) for k, v in saved.get("stage_overrides", {}).items()}
    field_id = saved.get("close_date_field_id")
    field = deps.store.get_records(account_id, "date_fields", [field_id]).get(field_id) if field_id else None
    return InsightSettings(no_activity_days=saved.get("no_activity_days", 7.0), stage_overrides=overrides,
                           close_date_field_id=field_id, close_date_field_type=field["type"] if field else "date",
                           default_warn_days=deps.settings.stuck_default_days,
                           default_crit_days=deps.settings.stuck_default_days * 1.5)


def plans_of(deps: Deps, account_id: int) -> list[Plan]:
    """Every stored plan of the account."""
    return [Plan(**p) for p in deps.store.read_plans(account_id)]


@contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector: a snapshot is millions of small objects without cycles, which it would
    rescan again and again while they are built (a third of a large account's load). Reference counting frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


RECOMPUTE_LOCK = 1800  # seconds: the longest a whole-account recompute may hold the account's insights


def recompute_lock(deps: Deps, account_id: int, wait: Optional[float] = None):
    """The account's insights are being written: a full recompute and a fresh-panel update of the cube never
    interleave (an older snapshot's shards would overwrite a newer update's)."""
    return deps.store.lock(account_id, "recompute", timeout=RECOMPUTE_LOCK, blocking_timeout=wait)


def recompute_account(deps: Deps, account_id: int) -> dict:
    """Recompute every insight of the account and store it, after a running fresh-panel update (seconds)."""
    lock = recompute_lock(deps, account_id, wait=600)
    held = lock.acquire(blocking=True)  # not taken in ten minutes: its holder died; recompute all the same
    try:
        return recompute_held(deps, account_id)
    finally:
        if held:
            _release(lock)


def _release(lock) -> None:
    try:
        lock.release()
    except LockError:  # ran past the lock's timeout: nothing left to release
        pass


@_collector_paused()
def recompute_held(deps: Deps, account_id: int) -> dict:
    """Recompute every insight of the account and store it; return what it took (the caller holds the lock)."""
    started = time.perf_counter()
    now = int(deps.clock())
    seq = deps.store.cards_seq(account_id)  # before the snapshot: a card marked later saw a newer mirror
    snap = load_snapshot(deps, account_id)
    loaded = time.perf_counter()
    settings = insight_settings(deps, account_id)
    result = recompute_core(snap, plans_of(deps, account_id), now, settings)
    first_contacts.refresh_account(deps, account_id, snap, now, result.team.period)
    waiting = first_contacts.card_hints(deps, account_id, snap, now)
    cards_json = {lead_id: card_json(lead_id, first_contacts.with_first_contact(waiting, lead_id, hints), now)
                  for lead_id, hints in result.hints.items()}
    cards_json.update({lead.id: card_json(lead.id, [], now) for lead in snap.leads.values() if not lead.is_open})
    for lead_id in deps.store.cards_touched_since(account_id, seq):  # fresher than this snapshot
        cards_json.pop(lead_id, None)
    deps.store.save_cards(account_id, cards_json)
    deps.store.save_models(account_id, encode_models(result.models))
    deps.store.save_insight(account_id, "team", jsonable(result.team))
    cube_version = deps.store.save_cube(account_id, *result.cube, full=True)["full"]  # readers key on versions
    deps.store.save_insight(account_id, "forecast", jsonable(replace(result.forecast, deals={})))  # not per deal
    deps.store.save_managers(account_id, {u: jsonable(m) for u, m in result.managers.items()})
    done = time.perf_counter()
    summary = {"as_of": now, "leads": len(snap.leads), "cards": len(cards_json), "cube_version": cube_version,
               "load_seconds": round(loaded - started, 3), "compute_seconds": round(done - loaded, 3)}
    deps.store.save_insight(account_id, "recompute", summary)
    return summary


@_collector_paused()
def score_forecast(deps: Deps, account_id: int) -> dict:
    """Rebuild the forecast at each of the last six month starts and score it (the panel's accuracy figures)."""
    now = int(deps.clock())
    snap = load_snapshot(deps, account_id)
    scored = backtest(snap.leads, snap.history_by_lead, now, snap.account.timezone, insight_settings(deps, account_id))
    document = {"as_of": now, **jsonable(scored)}
    deps.store.save_insight(account_id, "backtest", document)
    return document


def recompute_cards(deps: Deps, account_id: int, lead_ids) -> None:
    """Precompute the cards of changed leads so that opening one is one Redis read."""
    lead_ids = list(lead_ids)
    if not lead_ids:
        return
    now, store = int(deps.clock()), deps.store
    # marked before reading, in the same round trip (a full recompute saving later leaves these cards alone)
    snap, (_, raw_models, facts) = cards_snapshot(deps, account_id, lead_ids, store.cards_touched_mark(
        account_id, lead_ids), store.models_read(account_id), store.first_contact.card_facts_read(account_id, lead_ids))
    waiting = first_contacts.card_hints(deps, account_id, snap, now, facts=facts)
    if raw_models is None:
        fresh = {lead.id: card_json(lead.id, first_contacts.with_first_contact(
            waiting, lead.id, webhook_only_hints(snap, lead, now, deps.settings.stuck_default_days)), now)
            for lead in snap.leads.values()}
    else:
        models, settings = decode_models(raw_models), insight_settings(deps, account_id)
        fresh = {lead_id: card_json(lead_id, first_contacts.with_first_contact(
            waiting, lead_id, deal_hints_for(lead_id, snap, models, now, settings)), now)
                 for lead_id in snap.leads}
    deps.store.save_cards(account_id, fresh)


def recheck_due(deps: Deps, account_id: int, until: Optional[float] = None) -> list[int]:
    """Recompute the cards whose first-contact limit passed by its slot (the job the schedule queues); later ones
    have their own job."""
    due = first_contacts.take_due(deps, account_id, until)
    recompute_cards(deps, account_id, due)
    return due

def card_json(lead_id: int, hints: list, now: int) -> dict:
    """The JSON the widget receives for one lead card."""
    return {"lead_id": lead_id, "as_of": now, "hints": [_hint_json(h) for h in hints]}


def _hint_json(hint: Hint) -> dict:
    """asdict(hint) without copying: asdict deep-copies every evidence and text dict, only to be serialised at once."""
    doc = {name: getattr(hint, name) for name in HINT_FIELDS}
    doc["threshold"] = {name: getattr(hint.threshold, name) for name in THRESHOLD_FIELDS} if hint.threshold else None
    return doc


HINT_FIELDS, THRESHOLD_FIELDS = (tuple(f.name for f in fields(cls)) for cls in (Hint, Threshold))


def jsonable(value):
    """Dataclasses, tuples and numeric keys turned into plain JSON values."""
    if is_dataclass(value):  # field by field: asdict would deep-copy the whole tree only for it to be walked again
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else json.dumps(k) if isinstance(k, tuple) else str(k)): jsonable(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def encode_models(models: Models) -> str:
    """Models as JSON (tuple keys as pairs), so cards can be recomputed without the whole account."""
    stats, win = models.stage_stats, models.win_model
    return json.dumps({
        "stage_stats": {**{k: getattr(stats, k) for k in ("window_days", "min_exits", "default_warn_days",
                                                          "default_crit_days")},
                        "stages": [[k, asdict(v)] for k, v in stats.stages.items()],
                        "pipelines": [[k, asdict(v)] for k, v in stats.pipelines.items()]},
        "win_model": {"stages": [[k, v] for k, v in win.stages.items()],
                      "pipelines": [[k, v] for k, v in win.pipelines.items()], "account": win.account,
                      "strength": win.strength, "window_days": win.window_days},
        "remaining_plans": [[k, v] for k, v in models.remaining_plans.items()]})


def decode_models(raw: str) -> Models:
    """The inverse of encode_models."""
    doc = json.loads(raw)
    st, wm = doc["stage_stats"], doc["win_model"]
    stats = StageStats(window_days=st["window_days"], min_exits=st["min_exits"],
                       default_warn_days=st["default_warn_days"], default_crit_days=st["default_crit_days"],
                       stages={tuple(k): TimeStats(**v) for k, v in st["stages"]},
                       pipelines={k: TimeStats(**v) for k, v in st["pipelines"]})
    win = WinModel(stages={tuple(k): v for k, v in wm["stages"]}, pipelines={k: v for k, v in wm["pipelines"]},
                   account=tuple(wm["account"]), strength=wm["strength"], window_days=wm["window_days"])
    return Models(stats, win, {k: v for k, v in doc["remaining_plans"]})
