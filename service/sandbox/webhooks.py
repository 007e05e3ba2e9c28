"""Webhook sender: a background thread that POSTs amoCRM-format hooks with amoCRM's retry schedule."""
from __future__ import annotations

import collections
import heapq
import itertools
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from . import hookbody

# Delay before attempt n+1 after attempt n failed, and whether any failure (True) or only 499/5xx retries.
RETRIES = {1: (300, True), 2: (900, True), 3: (900, False), 4: (3600, False)}
DISABLE_AFTER = 100  # failed answers within 2 h (and the latest failed) disable the hook
HEADERS = {"User-Agent": "amoCRM-Webhooks/3.0", "Content-Type": "application/x-www-form-urlencoded",
           "Accept": "*/*"}


@dataclass(order=True)
class Delivery:
    """One POST due at a monotonic time."""

    due: float
    seq: int
    hook_id: int = field(compare=False)
    destination: str = field(compare=False)
    body: str = field(compare=False)
    attempt: int = field(compare=False, default=1)


def retryable(status: int, attempt: int) -> bool:
    """Whether amoCRM tries again after this answer (status 0 = no answer / timeout)."""
    if attempt not in RETRIES or 100 <= status < 300:
        return False
    _, any_failure = RETRIES[attempt]
    return any_failure or status == 499 or 500 <= status < 600


class WebhookSender:
    """Queue + worker thread; configured by the world's settings["webhooks"]."""

    def __init__(self, world, session: requests.Session | None = None):
        self.world = world
        self.session = session or requests.Session()
        self.cond = threading.Condition()
        self.queue: list[Delivery] = []
        self.seq = itertools.count()
        self.in_flight = 0
        self.log: list[dict] = []  # every attempt: destination, attempt, status, request_id, body
        self.failures: dict[int, collections.deque] = {}
        self.rng = random.Random(world.settings["webhooks"].get("seed", 0))
        self.thread: threading.Thread | None = None
        self.running = False

    @property
    def conf(self) -> dict:
        """The webhooks settings."""
        return self.world.settings["webhooks"]

    def start(self) -> "WebhookSender":
        """Listen to the world and start the delivery thread."""
        if self.on_change not in self.world.listeners:
            self.world.listeners.append(self.on_change)
        if not self.running:
            self.running = True
            self.thread = threading.Thread(target=self.run, name="sandbox-webhooks", daemon=True)
            self.thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and end the thread (pending deliveries are dropped)."""
        if self.on_change in self.world.listeners:
            self.world.listeners.remove(self.on_change)
        with self.cond:
            self.running = False
            self.cond.notify_all()
        if self.thread:
            self.thread.join(timeout=5)

    def on_change(self, hook: str, record, extra: dict) -> None:
        """World listener: format the body now (records are mutable) and queue one per subscriber."""
        if hook not in hookbody.ENTITY_ACTION:
            return
        event = hookbody.SUBSCRIPTION.get(hook, hook)
        targets = [h for h in self.world.hooks.values() if event in h.settings and not h.disabled]
        if not targets:
            return
        body = hookbody.encode(hookbody.account_pairs(self.world) + hookbody.item_pairs(self.world, hook, record, extra))
        for target in targets:
            self.enqueue(target.id, target.destination, body)

    def enqueue(self, hook_id: int, destination: str, body: str) -> None:
        """Queue a first attempt, applying the configured drop / duplicate / reorder shares."""
        conf, now = self.conf, time.monotonic()
        with self.cond:
            if self.rng.random() < float(conf.get("drop_rate", 0)):
                self.log.append({"destination": destination, "attempt": 1, "status": "dropped", "body": body})
                return
            delay = float(conf.get("reorder_delay", 0.3)) if self.rng.random() < float(conf.get("reorder_rate", 0)) else 0.0
            copies = 2 if self.rng.random() < float(conf.get("duplicate_rate", 0)) else 1
            for _ in range(copies):
                heapq.heappush(self.queue, Delivery(now + delay, next(self.seq), hook_id, destination, body))
            self.cond.notify_all()

    def run(self) -> None:
        """Worker loop: send what is due, sleep until the next due time."""
        while True:
            with self.cond:
                while self.running and (not self.queue or self.queue[0].due > time.monotonic()):
                    wait = self.queue[0].due - time.monotonic() if self.queue else None
                    self.cond.wait(timeout=wait)
                if not self.running:
                    return
                item = heapq.heappop(self.queue)
                self.in_flight += 1
            try:
                self.attempt(item)
            finally:
                with self.cond:
                    self.in_flight -= 1
                    self.cond.notify_all()

    def attempt(self, item: Delivery) -> None:
        """POST once, log it, and schedule the next attempt per amoCRM's table."""
        request_id = str(uuid.uuid4())
        headers = dict(HEADERS, **{"X-Amocrm-Requestid": request_id})
        try:
            status = self.session.post(item.destination, data=item.body.encode(), headers=headers,
                                       timeout=float(self.conf.get("timeout", 2.0))).status_code
        except requests.RequestException:
            status = 0
        self.log.append({"destination": item.destination, "attempt": item.attempt, "status": status,
                         "request_id": request_id, "body": item.body})
        if 100 <= status < 300:
            return
        self.note_failure(item.hook_id)
        if retryable(status, item.attempt):
            delay = RETRIES[item.attempt][0] * float(self.conf.get("time_scale", 1.0))
            with self.cond:
                heapq.heappush(self.queue, Delivery(time.monotonic() + delay, next(self.seq), item.hook_id,
                                                    item.destination, item.body, item.attempt + 1))
                self.cond.notify_all()

    def note_failure(self, hook_id: int) -> None:
        """Disable a hook after more than 100 failures within 2 h (the latest one failed)."""
        now, window = time.monotonic(), 7200 * float(self.conf.get("time_scale", 1.0))
        recent = self.failures.setdefault(hook_id, collections.deque())
        recent.append(now)
        while recent and recent[0] < now - window:
            recent.popleft()
        hook = self.world.hooks.get(hook_id)
        if hook is not None and len(recent) > DISABLE_AFTER:
            hook.disabled = True

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.queue or self.in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(timeout=min(left, 0.05))
        return True

    flush = wait_idle

    def sent(self, status_ok: bool = True) -> list[dict]:
        """Logged attempts, only the successful ones by default."""
        return [e for e in self.log if not status_ok or (isinstance(e["status"], int) and 100 <= e["status"] < 300)]
