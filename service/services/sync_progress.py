"""Sync progress: pages done against pages counted up front, entities stored, and an ETA at the allowed rate."""
from __future__ import annotations

from typing import Callable


class Progress:
    """The progress document of an account's current (or last) sync run, saved after every page."""

    def __init__(self, store, account_id: int, doc: dict, clock: Callable[[], float]):
        self.store, self.account_id, self.doc, self.clock = store, account_id, doc, clock

    @classmethod
    def resume(cls, store, account_id: int, kind: str, clock, resuming: bool) -> "Progress":
        """Continue a resumed full sync's document, else start a fresh one."""
        now = int(clock())
        doc = store.get_sync(account_id, "progress") if resuming else {}
        if doc.get("kind") != kind:
            doc = {"kind": kind, "started_at": now, "steps": {}, "requests": 0}
        doc.update(state="running", reason="", run_started_at=now, run_pages=0, updated_at=now, finished_at=None)
        progress = cls(store, account_id, doc, clock)
        progress.save()
        return progress

    @property
    def entities(self) -> int:
        return sum(s["entities"] for s in self.doc["steps"].values())

    def plan(self, pages: dict, requests: int) -> None:
        """Record how many pages each step has (counting them cost `requests`)."""
        for name, total in pages.items():
            step = self.doc["steps"].setdefault(name, {"pages_done": 0, "entities": 0})
            step["pages_total"] = total
        self.doc["requests"] += requests
        self.save()

    def page(self, name: str, entities: int, requests: int) -> None:
        """One more page of a step is in the mirror."""
        step = self.doc["steps"].setdefault(name, {"pages_done": 0, "entities": 0, "pages_total": 1})
        step["pages_done"] += 1
        step["entities"] += entities
        self.doc["run_pages"] += 1
        self.doc["requests"] = max(self.doc["requests"], requests)
        self.doc["updated_at"] = int(self.clock())
        self.save()

    def finish(self, state: str, reason: str = "") -> None:
        """done | stopped (account unavailable) | interrupted (will resume or retry)."""
        now = int(self.clock())
        self.doc.update(state=state, reason=reason, updated_at=now, finished_at=now)
        self.save()

    def save(self) -> None:
        self.store.save_sync(self.account_id, "progress", self.doc)


def progress_view(doc: dict, now: float, rps: float) -> dict:
    """Percent, entities done and ETA in seconds (None when unknown) for readers of a progress document."""
    if not doc:
        return {"state": "never", "percent": 0.0, "entities_done": 0, "eta_seconds": None, "steps": {}}
    steps = doc.get("steps", {})
    done = sum(s.get("pages_done", 0) for s in steps.values())
    total = sum(max(s.get("pages_total", 1), s.get("pages_done", 0)) for s in steps.values()) or 1
    finished = doc.get("state") == "done"
    percent = 100.0 if finished else round(min(99.9, 100.0 * done / total), 1)
    return {"state": doc.get("state"), "kind": doc.get("kind"), "percent": percent,
            "entities_done": sum(s.get("entities", 0) for s in steps.values()),
            "eta_seconds": 0 if finished else _eta(doc, total - done, now, rps),
            "started_at": doc.get("started_at"), "updated_at": doc.get("updated_at"),
            "finished_at": doc.get("finished_at"), "reason": doc.get("reason", ""),
            "requests": doc.get("requests", 0),
            "steps": {name: {k: s.get(k, 0) for k in ("pages_done", "pages_total", "entities")}
                      for name, s in steps.items()}}


def _eta(doc: dict, pages_left: int, now: float, rps: float):
    """Pages left at the rate this run achieves, never faster than the allowed rate."""
    if doc.get("state") != "running":
        return None
    elapsed, pages = now - doc.get("run_started_at", now), doc.get("run_pages", 0)
    rate = min(rps, pages / elapsed) if pages >= 5 and elapsed > 0 else rps
    return int(round(pages_left / rate)) if rate > 0 else None
