"""GET /metrics in Prometheus text format (bearer METRICS_TOKEN): queues, failed jobs, webhooks, accounts, sync."""
from __future__ import annotations

import hmac
import time

import redis
from flask import Blueprint, Response, request
from rq import Worker
from rq.job import Job

from service import errors
from service.deps import Deps
from service.services.sync_progress import progress_view
from service.web import deps

bp = Blueprint("metrics", __name__)
LOOPBACK = ("127.0.0.1", "::1")
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_HOST",
                 "HTTP_X_FORWARDED_PROTO", "HTTP_VIA")


@bp.get("/metrics")
def metrics():
    """Every gauge and counter, read from Redis at scrape time (any web process answers the same)."""
    d = deps()
    _authorize(d.settings.metrics_token)
    try:
        text = render(d)
    except redis.RedisError:
        raise errors.Unavailable("storage is unavailable; retry later") from None
    return Response(text, mimetype="text/plain", headers={"Content-Type": "text/plain; version=0.0.4"})


def _authorize(token: str) -> None:
    """Bearer METRICS_TOKEN; without one configured (development only) loopback callers may read, unless they came
    through a proxy: a proxy on this host makes every outside caller look local (issue 16)."""
    if not token:
        if request.remote_addr not in LOOPBACK or _proxied():
            raise errors.Forbidden("set METRICS_TOKEN to read /metrics from another host or through a proxy")
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise errors.Unauthorized("/metrics wants Authorization: Bearer <METRICS_TOKEN>")


def _proxied() -> bool:
    """True when a proxy forwarded the request (any of the headers proxies add, whatever their value)."""
    environ = request.environ
    return any(environ.get(name) for name in PROXY_HEADERS) or "werkzeug.proxy_fix.orig" in environ


class Exposition:
    """Prometheus text exposition: HELP and TYPE once per family, then its samples."""

    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str, text: str, samples) -> None:
        self.lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _labels(labels: dict) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in labels.items())
    return "{" + body + "}"


def _number(value) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def render(d: Deps) -> str:
    """The whole exposition."""
    out, now = Exposition(), time.time()
    _queues(out, d, now)
    _accounts(out, d, now)
    return out.text()


def _queues(out: Exposition, d: Deps, now: float) -> None:
    depth, lag, failed, started, scheduled = [], [], [], [], []
    for name, queue in d.queues.items():
        label = {"queue": name}
        depth.append((label, queue.count))
        lag.append((label, _lag(d, queue, now)))
        failed.append((label, queue.failed_job_registry.count))
        started.append((label, queue.started_job_registry.count))
        scheduled.append((label, queue.scheduled_job_registry.count))
    out.family("deal_pulse_queue_depth", "gauge", "Jobs waiting in the queue.", depth)
    out.family("deal_pulse_queue_lag_seconds", "gauge", "Age of the oldest waiting job (0 when empty).", lag)
    out.family("deal_pulse_jobs_failed", "gauge", "Jobs in the failed registry (python -m service jobs failed).",
               failed)
    out.family("deal_pulse_jobs_started", "gauge", "Jobs being performed now.", started)
    out.family("deal_pulse_jobs_scheduled", "gauge", "Jobs scheduled for later (retries, reconcile).", scheduled)
    horizon = now - d.settings.worker_seen_seconds
    alive = [w for w in Worker.all(connection=d.redis)
             if w.last_heartbeat and w.last_heartbeat.timestamp() >= horizon]
    out.family("deal_pulse_workers", "gauge", "Workers with a recent heartbeat.", [({}, len(alive))])


def _lag(d: Deps, queue, now: float) -> float:
    """Seconds the head of the queue has waited."""
    ids = queue.get_job_ids(0, 0)
    job = Job.fetch_many(ids, connection=d.redis, serializer=queue.serializer)[0] if ids else None
    if job is None or job.enqueued_at is None:
        return 0.0
    return round(max(0.0, now - job.enqueued_at.timestamp()), 3)


def _accounts(out: Exposition, d: Deps, now: float) -> None:
    rows = {name: [] for name in ("received", "applied", "duplicates", "dead", "pending", "last", "state",
                                  "sync_state", "sync_percent", "sync_finished", "skipped", "replays", "age", "hook",
                                  "resubscribed", "card_failed")}
    for account_id in d.store.account_ids():
        label = {"account": account_id}
        counters = d.store.counters(account_id)
        rows["received"].append((label, d.store.webhooks_received(account_id)))
        rows["applied"].append((label, counters.get("applied", 0)))
        rows["duplicates"].append((label, counters.get("duplicates", 0)))
        rows["dead"].append((label, counters.get("dead_lettered", 0)))
        rows["replays"].append((label, counters.get("token_replayed", 0)))
        rows["card_failed"].append((label, counters.get("card_recompute_failed", 0)))
        rows["skipped"] += [({**label, "kind": name[len("skipped:"):]}, n)
                            for name, n in sorted(counters.items()) if name.startswith("skipped:")]
        rows["pending"].append((label, d.store.inbox_length(account_id)))
        rows["last"].append((label, _last_webhook(d, account_id)))
        rows["state"].append(({**label, "state": d.store.get_account_state(account_id)["state"]}, 1))
        view = progress_view(d.store.get_sync(account_id, "progress"), now, d.settings.amocrm_rps)
        rows["sync_state"].append(({**label, "kind": view.get("kind") or "none", "state": view["state"]}, 1))
        rows["sync_percent"].append((label, float(view["percent"])))
        rows["sync_finished"].append((label, view.get("finished_at") or 0))
        _inbox_and_hook(rows, d, account_id, label, now)
    out.family("deal_pulse_accounts", "gauge", "Installed accounts.", [({}, len(rows["state"]))])
    out.family("deal_pulse_webhooks_received_total", "counter",
               "Webhook deliveries stored (rate() of it is the intake rate).", rows["received"])
    out.family("deal_pulse_webhook_events_applied_total", "counter", "Webhook events applied to the mirror.",
               rows["applied"])
    out.family("deal_pulse_webhook_events_duplicate_total", "counter", "Redelivered events recognised.",
               rows["duplicates"])
    out.family("deal_pulse_webhooks_dead_lettered_total", "counter",
               "Webhooks that could not be applied (python -m service dlq list).", rows["dead"])
    out.family("deal_pulse_webhook_items_skipped_total", "counter",
               "Items of valid deliveries of kinds Deal Pulse does not read (answered 2xx, not stored).",
               rows["skipped"])
    out.family("deal_pulse_widget_token_replays_total", "counter",
               "Widget calls refused because their one-time token was used before (the widget retries once).",
               rows["replays"])
    out.family("deal_pulse_card_recompute_failed_total", "counter",
               "Drains whose card recompute failed after the events were applied (the cards went to a retried "
               "recheck job; the logs say why).", rows["card_failed"])
    out.family("deal_pulse_inbox_pending", "gauge", "Webhooks stored but not applied yet.", rows["pending"])
    out.family("deal_pulse_last_webhook_timestamp_seconds", "gauge",
               "When the account's latest webhook was stored (0: never).", rows["last"])
    out.family("deal_pulse_account_state", "gauge", "1 for the account's state: active, blocked, needs_reinstall.",
               rows["state"])
    out.family("deal_pulse_sync_state", "gauge", "1 for the state of the account's latest sync run.",
               rows["sync_state"])
    out.family("deal_pulse_sync_progress_percent", "gauge", "Progress of the latest sync run.", rows["sync_percent"])
    out.family("deal_pulse_sync_finished_timestamp_seconds", "gauge", "When the latest sync run ended (0: not yet).",
               rows["sync_finished"])
    _hook_families(out, rows)


def _inbox_and_hook(rows: dict, d: Deps, account_id: int, label: dict, now: float) -> None:
    """How long the oldest stored delivery has waited to be applied; what the last webhook check found."""
    oldest = d.store.oldest_pending_at(account_id)
    rows["age"].append((label, round(max(0.0, now - oldest), 3) if oldest else 0.0))
    hook = d.store.get_sync(account_id, "webhook")
    rows["hook"].append(({**label, "found": hook.get("found", "unchecked")}, 1))
    rows["resubscribed"].append((label, int(hook.get("resubscribed", 0))))


def _hook_families(out: Exposition, rows: dict) -> None:
    out.family("deal_pulse_inbox_oldest_age_seconds", "gauge",
               "Age of the oldest stored delivery not applied yet (0: all applied); alert on its max.", rows["age"])
    out.family("deal_pulse_webhook_subscription", "gauge",
               "1 for what the last check of the account's amoCRM webhook found: active, disabled, missing.",
               rows["hook"])
    out.family("deal_pulse_webhook_resubscribed_total", "counter",
               "Times the account's webhook was found disabled or missing and subscribed again.", rows["resubscribed"])


def _last_webhook(d: Deps, account_id: int) -> float:
    """The inbox stream's last generated id is the arrival time (ms) of the latest webhook, applied or not."""
    return round(d.store.last_webhook_ms(account_id) / 1000, 3)
