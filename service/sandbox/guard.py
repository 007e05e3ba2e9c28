"""What stands in front of the API: bearer check, rate limit (429/403) and injected faults."""
from __future__ import annotations

import collections
import random
import threading
import time

from flask import Response, json


def problem(status: int, title: str, detail: str, headers: dict | None = None) -> Response:
    """An application/problem+json answer as amoCRM API v4 gives on errors."""
    body = {"title": title, "type": f"https://httpstatus.es/{status}", "status": status, "detail": detail}
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers or {},
                    mimetype="application/problem+json")


class RateLimiter:
    """Sliding 1 s window per account; repeated excess blocks the account (403) for a while."""

    def __init__(self, settings: dict, clock=time.monotonic):
        self.settings, self.clock = settings, clock
        self.lock = threading.Lock()
        self.admitted: collections.deque = collections.deque()
        self.excess: collections.deque = collections.deque()
        self.blocked_until = 0.0

    @property
    def conf(self) -> dict:
        """The rate_limit settings."""
        return self.settings["rate_limit"]

    def check(self) -> int:
        """200 when admitted, else 429 or 403."""
        with self.lock:
            now = self.clock()
            if now < self.blocked_until:
                return 403
            while self.admitted and self.admitted[0] <= now - 1.0:
                self.admitted.popleft()
            if len(self.admitted) < int(self.conf["per_second"]):
                self.admitted.append(now)
                return 200
            return self.note_excess(now)

    def note_excess(self, now: float) -> int:
        """Count one refused request; too many within the window turns into a block."""
        window = float(self.conf["excess_window"])
        self.excess.append(now)
        while self.excess and self.excess[0] <= now - window:
            self.excess.popleft()
        if len(self.excess) > int(self.conf["block_after_excess"]):
            self.blocked_until = now + float(self.conf["block_seconds"])
            self.excess.clear()
            return 403
        return 429

    def reset(self) -> None:
        """Forget history and lift any block."""
        with self.lock:
            self.admitted.clear()
            self.excess.clear()
            self.blocked_until = 0.0


class Faults:
    """Injected misbehaviour, decided per request from the faults settings."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.lock = threading.Lock()
        self.rng = random.Random(settings["faults"].get("seed", 0))

    @property
    def conf(self) -> dict:
        """The faults settings."""
        return self.settings["faults"]

    def before(self) -> Response | None:
        """Apply latency/timeouts; return a response to short-circuit with, or None."""
        conf = self.conf
        with self.lock:
            storm = int(conf.get("storm_429", 0))
            if storm > 0:
                conf["storm_429"] = storm - 1
            roll_timeout, roll_error = self.rng.random(), self.rng.random()
        if conf.get("latency_ms"):
            time.sleep(float(conf["latency_ms"]) / 1000)
        if storm > 0:
            return problem(429, "Too Many Requests", "Too many requests (injected storm)")
        if roll_timeout < float(conf.get("timeout_rate", 0)):
            time.sleep(float(conf["timeout_seconds"]))
        if roll_error < float(conf.get("error_rate", 0)):
            code = int(conf.get("error_status", 503))
            return problem(code, "Service Unavailable" if code == 503 else "Internal Server Error",
                           "Injected failure")
        return None


def guard_response(app) -> Response | None:
    """Run the guards for one API request; a Response means stop here."""
    from flask import request
    state = app.config["SANDBOX"]
    injected = state.faults.before()
    if injected is not None:
        return injected
    auth = request.headers.get("Authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not token or not state.tokens.valid_access(token):
        return problem(401, "Unauthorized", "Authorization required or token is invalid/expired")
    verdict = state.limiter.check()
    if verdict == 403:
        return problem(403, "Forbidden", "Account blocked for repeated excess of the request rate")
    if verdict == 429:
        retry = state.world.settings["rate_limit"].get("retry_after")
        headers = {"Retry-After": str(retry)} if retry else None
        return problem(429, "Too Many Requests", "Too many requests per second", headers)
    return None
