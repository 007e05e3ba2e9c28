"""Chaos run: the sandbox's simulator drives an installed account while our real processes (gunicorn web, RQ workers,
clock) are killed and restarted and the sandbox drops, duplicates and reorders deliveries; then the mirror is compared
with the sandbox's own truth field by field, before and after one reconcile, and the cards with a fresh install.

Used by tests/faults/test_chaos.py (a small account, about a minute) and bench/chaos_bench.py (long runs)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import redis
import requests

from service import bootstrap
from service.services import hook_health, intake, recompute, sync
from service.services.hook_health import HOOK_EVENTS
from service.amocrm import schemas
from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.config import DEV_CLIENT_ID, DEV_CLIENT_SECRET, Settings
from service.ops.redis_server import ROOT, free_port
from service.sandbox.app import create_sandbox_app, sandbox_state
from service.sandbox.records import EV_AT, EV_C, EV_D, EV_EID, EV_TYPE, EVENT_CODE, LOST, WON
from service.sandbox.simulator import Simulator
from service.sandbox.webhooks import WebhookSender
from service.services.hook_urls import hook_url
from tests.e2e.conftest import Served

EVENTS = [*HOOK_EVENTS, "add_contact"]
FIELDS = ("status", "pipeline", "responsible", "price", "closed_at", "loss_reason", "deleted", "open_tasks",
          "stage_entry", "calls")


@dataclass
class Plan:
    """What the run does: traffic, faults and kills."""

    seconds: float = 60.0
    rate: float = 10.0  # simulator actions per second
    deletes_every: float = 4.0  # seconds between lead deletes (the simulator itself never deletes)
    kill_every: float = 8.0  # seconds between process kills (worker SIGKILL, web SIGTERM, worker SIGTERM, ...)
    drop_rate: float = 0.03
    duplicate_rate: float = 0.05
    reorder_rate: float = 0.05
    workers: int = 2
    seed: int = 7
    check_every: float = 5.0  # seconds between checks of our webhook subscription (see _chaos)


class Counting(requests.Session):
    """The sandbox sender's session: which deliveries we acknowledged."""

    def __init__(self):
        super().__init__()
        self.lock, self.acked, self.failed = threading.Lock(), 0, Counter()

    def post(self, url, data=None, headers=None, **kwargs):
        try:
            answer = super().post(url, data=data, headers=headers, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.failed[type(exc).__name__] += 1
            raise
        with self.lock:
            if 200 <= answer.status_code < 300:
                self.acked += 1
            else:
                self.failed[answer.status_code] += 1
        return answer


class Processes:
    """Our Procfile processes, each in its own session (a kill reaches its children: gunicorn workers, horses)."""

    def __init__(self, env: dict, log_dir):
        self.env, self.log_dir, self.running = env, log_dir, {}

    def spawn(self, name: str, command: str) -> None:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            self.running[name] = subprocess.Popen([sys.executable, "-m", "service", command], cwd=ROOT,
                                                  env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                  start_new_session=True)

    def kill(self, name: str, signum: int) -> None:
        """Signal the process group, wait for it, start it again."""
        process = self.running[name]
        _group(process, signum)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _group(process, signal.SIGKILL)
            process.wait()
        self.spawn(name, "web" if name == "web" else "clock" if name == "clock" else "worker")

    def stop(self) -> None:
        for process in self.running.values():
            _group(process, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _group(process, signal.SIGKILL)
                process.wait()


def _group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Report:
    """What a run measured."""

    actions: int = 0
    kills: list = field(default_factory=list)
    acknowledged: int = 0
    failed_answers: dict = field(default_factory=dict)
    stored: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    left_in_inbox: int = 0
    before: dict = field(default_factory=dict)  # mismatches per field before the reconcile
    after: dict = field(default_factory=dict)
    examples_after: list = field(default_factory=list)
    cards_compared: int = 0
    card_mismatches: list = field(default_factory=list)
    hook_found: str = ""
    repairs: list = field(default_factory=list)  # when (s into the run) a disabled hook was subscribed again

    def lines(self) -> list[str]:
        return [f"actions {self.actions}; kills {', '.join(self.kills) or 'none'}",
                f"deliveries acknowledged {self.acknowledged}; failed answers {self.failed_answers or 0}",
                f"stored {self.stored} = applied {self.applied} + duplicates {self.duplicates} + dead letters "
                f"{self.dead_lettered}; left in the inbox {self.left_in_inbox}",
                f"webhook re-subscribed during the run at {self.repairs or 'no time'} s; found by the final "
                f"reconcile: {self.hook_found}",
                f"mismatches before the reconcile: {sum(self.before.values())} {dict(self.before)}",
                f"mismatches after one reconcile: {sum(self.after.values())} {dict(self.after)} "
                f"{self.examples_after[:5]}",
                f"cards compared with a fresh install: {self.cards_compared}, different: {len(self.card_mismatches)} "
                f"{self.card_mismatches[:5]}"]


def connect(deps, sandbox, world):
    """Install the sandbox account in a store: tokens from the sandbox, no OAuth dance (as the e2e fixture)."""
    with sandbox.state.tokens.lock:
        pair = sandbox.state.tokens.new_pair()
    account = schemas.make_account({**world.account, "_embedded": {}}, "https://sandbox.amocrm.ru")
    TokenKeeper(deps.store, deps.settings, None, deps.clock).save(
        account.id, TokenPair(pair["access_token"], pair["refresh_token"], int(deps.clock()) + 7200))
    deps.store.save_account(account)
    return account


def run(world, redis_url: str, fresh_redis_url: str, plan: Plan, log_dir, say=print, redis_server=None) -> Report:
    """The whole run; every process it started is stopped on the way out. With `redis_server` (an EmbeddedRedis
    serving redis_url), Redis itself is killed and restarted too."""
    report = Report()
    app = create_sandbox_app(world, start_webhooks=False)
    world.settings["rate_limit"]["per_second"] = 100_000
    sandbox = Served(app)
    sandbox.state = sandbox_state(app)
    port = free_port()
    ours = f"http://127.0.0.1:{port}"
    world.settings["oauth"].update(client_id=DEV_CLIENT_ID, client_secret=DEV_CLIENT_SECRET)
    env = {**os.environ, "REDIS_URL": redis_url, "PORT": str(port), "BIND_HOST": "127.0.0.1", "PUBLIC_URL": ours,
           "AMOCRM_API_BASE": sandbox.url, "AMOCRM_RPS": "100000", "AMOCRM_GLOBAL_RPS": "100000",
           "DRAIN_LEASE_SECONDS": "2", "WEB_CONCURRENCY": "1", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text",
           "PYTHONPATH": str(ROOT)}
    settings = Settings(redis_url=redis_url, public_url=ours, amocrm_api_base=sandbox.url, amocrm_rps=100000.0,
                        amocrm_global_rps=100000.0)
    deps = bootstrap.build(settings)
    deps.redis.flushdb()
    processes = Processes(env, log_dir)
    simulator, sender = None, None
    try:
        account = connect(deps, sandbox, world)
        assert sync.full_sync(deps, account.id)["state"] == "done"
        since = _window_start(deps, account.id)
        processes.spawn("web", "web")
        for i in range(plan.workers):
            processes.spawn(f"worker{i + 1}", "worker")
        processes.spawn("clock", "clock")
        _wait_web(ours)
        world.subscribe(hook_url(deps, account.id), EVENTS)
        world.settings["webhooks"].update(drop_rate=plan.drop_rate, duplicate_rate=plan.duplicate_rate,
                                          reorder_rate=plan.reorder_rate, reorder_delay=0.5, time_scale=0.001,
                                          seed=plan.seed)
        session = Counting()
        sender = WebhookSender(world, session=session).start()
        simulator = Simulator(world, plan.rate, seed=plan.seed).start()
        _chaos(world, deps, account.id, processes, plan, report, say, redis_server)
        simulator.stop()
        report.actions = simulator.acted
        sender.wait_idle(120)
        _settle(deps, account.id)
        report.acknowledged, report.failed_answers = session.acked, dict(session.failed)
        _count(deps, account.id, report)
        report.before = compare(deps, account.id, world, since)[0]
        result = sync.incremental_sync(deps, account.id)
        assert result["state"] == "done", result
        report.hook_found = deps.store.get_sync(account.id, "webhook").get("found", "")
        _settle(deps, account.id)
        report.after, report.examples_after = compare(deps, account.id, world, since)
        _compare_cards(deps, account.id, world, sandbox, fresh_redis_url, report)
        return report
    finally:
        if simulator:
            simulator.stop()
        if sender:
            sender.stop()
        processes.stop()
        sandbox.close()
        deps.redis.close()


def _wait_web(base: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("our web process did not come up")


def _chaos(world, deps, account_id: int, processes: Processes, plan: Plan, report: Report, say,
           redis_server=None) -> None:
    """Traffic for plan.seconds: lead deletes now and then, and a kill every plan.kill_every seconds in turn."""
    kills = [("worker1", signal.SIGKILL), ("web", signal.SIGTERM), (f"worker{plan.workers}", signal.SIGTERM),
             ("web", signal.SIGKILL), ("worker1", signal.SIGTERM), ("clock", signal.SIGKILL)]
    if redis_server is not None:  # AOF on: a killed Redis comes back with every write it acknowledged
        kills.insert(3, ("redis", signal.SIGKILL))
    start = time.monotonic()
    next_kill, next_delete, k = start + plan.kill_every, start + plan.deletes_every, 0
    next_check = start + plan.check_every
    while (now := time.monotonic()) < start + plan.seconds:
        if now >= next_check:  # the clock's 5-minute check, compressed like the sandbox's 2-hour disable window
            if _checked(deps, account_id) != "active":
                report.repairs.append(round(now - start, 1))
                say(f"  {now - start:5.1f} s: our webhook was disabled by the sandbox; subscribed again")
            next_check += plan.check_every
        if now >= next_delete:
            _delete_one(world)
            next_delete += plan.deletes_every
        if now >= next_kill:
            name, signum = kills[k % len(kills)]
            if name == "redis":
                redis_server.process.send_signal(signum)
                redis_server.process.wait()
                time.sleep(1)  # our web answers 503 meanwhile; the sandbox retries those
                redis_server.start()
            else:
                processes.kill(name, signum)
            report.kills.append(f"{name}:{signal.Signals(signum).name}")
            say(f"  {now - start:5.1f} s: {name} {signal.Signals(signum).name}, restarted")
            k, next_kill = k + 1, next_kill + plan.kill_every
        time.sleep(0.05)


def _checked(deps, account_id: int) -> str:
    """What the hook check found (taken as active while Redis restarts: the next check looks again)."""
    try:
        return hook_health.check_account(deps, account_id)["found"]
    except redis.RedisError:
        return "active"


def _delete_one(world) -> None:
    with world.lock:
        live = [x.id for x in world.leads.values() if not x.is_deleted and x.status_id not in (WON, LOST)]
        if live:
            world.delete_lead(live[len(live) // 2])


def _settle(deps, account_id: int, seconds: float = 120) -> None:
    """Until the inbox is applied and no job waits (the clock's sweeper, called here too, takes over stale drains)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        busy = deps.store.inbox_length(account_id) or any(len(q) or q.started_job_registry.count
                                                          for q in deps.queues.values())
        if not busy:
            return
        intake.sweep_inboxes(deps)
        time.sleep(1)
    raise AssertionError(f"not applied after {seconds} s: inbox {deps.store.inbox_length(account_id)}")


def _count(deps, account_id: int, report: Report) -> None:
    counters = deps.store.counters(account_id)
    report.stored = deps.store.webhooks_received(account_id)
    report.applied, report.duplicates = counters.get("applied", 0), counters.get("duplicates", 0)
    report.dead_lettered = counters.get("dead_lettered", 0)
    report.left_in_inbox = deps.store.inbox_length(account_id)


# ---- the truth and the mirror -------------------------------------------------------------------------------------
def truth(world) -> dict:
    """Per lead, the compared fields as the sandbox holds them."""
    entered: dict = {}
    moved = EVENT_CODE["lead_status_changed"]
    for row in world.events:
        if row[EV_TYPE] == moved:
            entered.setdefault(row[EV_EID], []).append((row[EV_AT], row[EV_C], row[EV_D]))
    tasks: dict = {}
    for task in world.tasks.values():
        if not task.is_completed and task.entity_type == "leads":
            tasks.setdefault(task.entity_id, set()).add(task.id)
    calls: dict = {}
    for note in world.notes.values():
        if note.note_type in ("call_in", "call_out"):
            calls.setdefault(note.entity_id, set()).add((note.created_at, note.duration))
    out = {}
    for lead in world.leads.values():
        moves = [at for at, status, pipeline in entered.get(lead.id, ())
                 if (status, pipeline) == (lead.status_id, lead.pipeline_id)]
        entry = max(moves) if moves else lead.closed_at if lead.closed_at and lead.status_id in (WON, LOST) \
            else lead.created_at
        out[lead.id] = {"status": lead.status_id, "pipeline": lead.pipeline_id,
                        "responsible": lead.responsible_user_id, "price": lead.price, "closed_at": lead.closed_at,
                        "loss_reason": lead.loss_reason_id, "deleted": lead.is_deleted,
                        "open_tasks": tasks.get(lead.id, set()), "stage_entry": entry,
                        "calls": calls.get(lead.id, set())}
    return out


def mirror(deps, account_id: int, lead_ids: list) -> dict:
    """Per lead, the same fields as our mirror holds them (None: not mirrored)."""
    leads = deps.store.get_leads(account_id, lead_ids)
    tasks = deps.store.tasks_of(account_id, lead_ids)
    calls = deps.store.timelines(account_id, "calls", lead_ids)
    out = {}
    for lead_id in lead_ids:
        lead = leads.get(lead_id)
        if lead is None:
            out[lead_id] = None
            continue
        out[lead_id] = {"status": lead.status_id, "pipeline": lead.pipeline_id,
                        "responsible": lead.responsible_user_id, "price": lead.price, "closed_at": lead.closed_at,
                        "loss_reason": lead.loss_reason_id, "deleted": lead.is_deleted,
                        "open_tasks": {t.id for t in tasks.get(lead_id, ()) if not t.is_completed},
                        "stage_entry": lead.stage_entered_at,
                        "calls": {(c.at, c.duration) for c in calls.get(lead_id, ())}}
    return out


def compare(deps, account_id: int, world, since: int) -> tuple[Counter, list]:
    """Mismatches per field (a deleted lead: only `deleted` counts), and a few examples. What the sync window
    (SYNC_HISTORY_DAYS) leaves out no install can know, so it is left out here too: deals closed before it, calls
    before it; a stage entered before it and never left is counted apart (`stage_entry_before_window`)."""
    expected = truth(world)
    held = mirror(deps, account_id, sorted(expected))
    wrong, examples = Counter(), []
    for lead_id, want in expected.items():
        got, lead = held[lead_id], world.leads[lead_id]
        if got is None and not want["deleted"] and lead.status_id in (WON, LOST) \
                and (lead.closed_at or lead.updated_at) < since:
            continue  # closed before the window: never synced
        if got is None and want["deleted"]:
            continue  # deleted before we held it: as good as deleted
        if got is None:
            wrong["missing"] += 1
            examples.append((lead_id, "missing"))
            continue
        want = {**want, "calls": {c for c in want["calls"] if c[0] >= since}}
        got = {**got, "calls": {c for c in got["calls"] if c[0] >= since}}
        for name in (("deleted",) if want["deleted"] else FIELDS):
            if got[name] != want[name]:
                label = "stage_entry_before_window" if name == "stage_entry" and want[name] < since else name
                wrong[label] += 1
                examples.append((lead_id, label, got[name] if name != "calls" else len(got[name]),
                                 want[name] if name != "calls" else len(want[name])))
    return wrong, examples


def _window_start(deps, account_id: int) -> int:
    """The oldest time the full sync read (closed deals, events, calls); called right after it."""
    started = deps.store.get_sync(account_id, "watermark").get("since", int(deps.clock())) + sync.OVERLAP
    return started - deps.settings.sync_history_days * sync.DAY


def _compare_cards(deps, account_id: int, world, sandbox, fresh_redis_url: str, report: Report) -> None:
    """Hints (code, severity) of every card: our mirror after the run vs a brand-new install of the same account."""
    recompute.recompute_account(deps, account_id)
    fresh = bootstrap.build(Settings(**{**deps.settings.__dict__, "redis_url": fresh_redis_url}))
    fresh.redis.flushdb()
    try:
        connect(fresh, sandbox, world)
        assert sync.full_sync(fresh, account_id)["state"] == "done"
        recompute.recompute_account(fresh, account_id)
        ids = [lead.id for lead in world.leads.values() if not lead.is_deleted]
        for lead_id in ids:
            ours, theirs = (_hints(store.read_card(account_id, lead_id)) for store in (deps.store, fresh.store))
            if ours != theirs:
                report.card_mismatches.append((lead_id, sorted(ours), sorted(theirs)))
        report.cards_compared = len(ids)
    finally:
        fresh.redis.flushdb()
        fresh.redis.close()


def _hints(card: Optional[dict]) -> set:
    return {(h["code"], h["severity"]) for h in (card or {}).get("hints", [])}
