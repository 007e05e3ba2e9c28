"""GET /api/v1/leads/<id>/hints at a fixed rate over loopback: gunicorn serving the app, an embedded Redis (or
REDIS_URL), pre-minted one-time tokens (each used once), and a paced Python load generator (Debian's wrk has no -R).
Prints p50/p90/p99/max. Target: p99 <= 10 ms at 200 requests/s.

    .venv/bin/python bench/card_read_bench.py [--rate 200] [--seconds 30] [--workers 2] [--threads 4]
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from service import bootstrap  # noqa: E402
from service.config import Settings  # noqa: E402
from service.model import Account, Lead, User  # noqa: E402
from service.redis_server import EmbeddedRedis, free_port  # noqa: E402
from tests.support.api import card, hint  # noqa: E402
from tests.support.tokens import mint_token  # noqa: E402

ACCOUNT = Account(id=4_200_042, subdomain="bench", base_url="https://bench.amocrm.ru")
USERS, LEADS = 100, 5000


def seed(settings: Settings) -> None:
    """An account with USERS managers (mixed rights) and LEADS deals, each with a three-hint card."""
    deps = bootstrap.build(settings)
    store, now = deps.store, int(time.time())
    store.delete_account(ACCOUNT.id)
    store.save_account(ACCOUNT)
    store.save_users(ACCOUNT.id, [User(u, f"Manager {u}", is_admin=u == 1, leads_view="AGM"[u % 3], group_id=u % 5)
                                  for u in range(1, USERS + 1)])
    store.save_leads(ACCOUNT.id, [Lead(i, 1, 11, 1 + i % USERS, price=1000 * i, name=f"Deal {i}",
                                       group_id=(1 + i % USERS) % 5, stage_entered_at=now - 20 * 86400)
                                  for i in range(1, LEADS + 1)])
    hints = (hint("stuck_in_stage", "critical", 20, evidence={"stage_name": "Talks"}),
             hint("no_open_task", "warning", 0, "tasks", evidence={"completed_tasks": 1}),
             hint("no_activity", "warning", 9, evidence={"last_activity_at": now - 9 * 86400}))
    store.save_cards(ACCOUNT.id, {i: card(i, *hints) for i in range(1, LEADS + 1)})
    store.save_insight(ACCOUNT.id, "settings", {"supervisor_ids": [2]})
    deps.redis.close()


def requests_for(settings: Settings, count: int) -> list[tuple[str, str]]:
    """(path, token): a user reading one of the deals they may view (their own; admins and A users any)."""
    out = []
    for _ in range(count):
        user = random.randint(1, USERS)
        own = "AGM"[user % 3] != "A" and user not in (1, 2)  # G and M users read their own deals
        lead = random.choice(range(user - 1 or USERS, LEADS + 1, USERS)) if own else random.randint(1, LEADS)
        out.append((f"/api/v1/leads/{lead}/hints", mint_token(settings, ACCOUNT, user)))
    return out


def run_load(port: int, work: list, rate: float, threads: int) -> tuple[list[float], dict]:
    """Send work[i] at start + i/rate; latency is measured from the scheduled moment (no coordinated omission)."""
    latencies: list[float] = []
    statuses: dict = {}
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(offset, len(work), threads):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            path, token = work[i]
            conn.request("GET", path, headers={"X-Auth-Token": token, "Origin": ACCOUNT.origin})
            answer = conn.getresponse()
            answer.read()
            elapsed = time.perf_counter() - due
            with lock:
                latencies.append(elapsed)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, statuses


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (Procfile default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process (Procfile default 4)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (sync: no keep-alive)")
    parser.add_argument("--clients", type=int, default=32, help="load generator threads")
    args = parser.parse_args()
    redis_server = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    redis_url = os.environ.get("REDIS_URL") or redis_server.url
    port = free_port()
    settings = Settings(redis_url=redis_url, public_url=f"http://127.0.0.1:{port}")
    seed(settings)
    env = {**os.environ, "REDIS_URL": redis_url, "PUBLIC_URL": settings.public_url, "LOG_LEVEL": "WARNING"}
    web = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
                            str(args.workers), "--threads", str(args.threads), "--worker-class", args.worker_class,
                            "--log-level", "warning",
                            "service:create_app()"], cwd=ROOT, env=env)
    try:
        wait_until_up(port)
        run_load(port, requests_for(settings, int(args.rate * args.warmup)), args.rate, args.clients)
        work = requests_for(settings, int(args.rate * args.seconds))
        latencies, statuses = run_load(port, work, args.rate, args.clients)
    finally:
        web.terminate()
        web.wait(timeout=20)
        if redis_server:
            redis_server.stop()
    ms = [x * 1000 for x in latencies]
    p99 = percentile(ms, 0.99)
    print(f"card read at {args.rate:g} req/s for {args.seconds:g} s over loopback "
          f"(gunicorn {args.worker_class} {args.workers}x{args.threads}, {len(work)} one-time tokens): "
          f"statuses {statuses}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"p50={percentile(ms, 0.5):.2f} ms  p90={percentile(ms, 0.9):.2f} ms  p99={p99:.2f} ms  "
          f"max={max(ms):.2f} ms  (target p99 <= 10 ms: {'met' if p99 <= 10 else 'MISSED'})")


def wait_until_up(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not come up")


if __name__ == "__main__":
    main()
