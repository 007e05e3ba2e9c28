"""Webhook → applied for an installed account, quiet and during a flood of anonymous /oauth/callback and /install
requests (issue 16). Prints figures; asserts nothing.

What runs: an embedded Redis; our web under gunicorn (2 workers × 4 threads, as the Procfile's web); WORKERS
`python -m service worker` processes. FORWARDED_HOPS=1 lets this script play many client addresses through
X-Forwarded-For (as a platform router would pass them). AMOCRM_API_BASE points at a closed local port, so every
flooded code exchange fails at once, as a forged code does, and lands in the failed registry.

How a webhook is timed: POST to the account's hook URL, then poll the account's `applied` counter every 2 ms; the
time until it moves is webhook → applied (one webhook at a time, SPACING apart). The flood runs in FLOODERS threads
for the whole burst phase, each request from one of ADDRESSES client addresses, alternating callback and /install.

    .venv/bin/python bench/oauth_flood_bench.py [--webhooks 40] [--flooders 8] [--addresses 200] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.stack import start_stack  # noqa: E402
from service import bootstrap  # noqa: E402
from service.config import DEV_SECRET_KEY, Settings  # noqa: E402
from service.model import Account  # noqa: E402
from service.ops.redis_server import EmbeddedRedis, free_port  # noqa: E402
from service.services.hook_urls import hook_url  # noqa: E402

ACCOUNT = Account(16700680, "unirock", "https://unirock.amocrm.ru")
SAMPLE = ROOT / "tests" / "data" / "samples" / "webhooks" / "status_lead_modern.txt"
SPACING = 0.1


def webhook_body() -> bytes:
    text = SAMPLE.read_text()
    return text.split("---BODY")[1].split("---", 1)[1].strip().splitlines()[0].encode()


def start(redis_url: str, port: int, workers: int) -> list[subprocess.Popen]:
    env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": DEV_SECRET_KEY, "PUBLIC_URL": f"http://127.0.0.1:{port}",
           "FORWARDED_HOPS": "1", "AMOCRM_API_BASE": f"http://127.0.0.1:{free_port()}", "LOG_LEVEL": "WARNING"}
    return start_stack(env, port, workers)


def applied(deps) -> int:
    return deps.store.counters(ACCOUNT.id).get("applied", 0)


def webhook_latencies(deps, url: str, count: int) -> list[float]:
    """Send `count` webhooks one at a time; seconds from POST to the applied counter moving."""
    session, body, out = requests.Session(), webhook_body(), []
    for _ in range(count):
        before = applied(deps)
        sent = time.perf_counter()
        session.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
        while applied(deps) == before and time.perf_counter() - sent < 120:
            time.sleep(0.002)
        out.append(time.perf_counter() - sent)
        time.sleep(SPACING)
    return out


class Flood:
    """Threads sending anonymous callbacks and /install GETs from many addresses until stopped."""

    def __init__(self, base: str, threads: int, addresses: int):
        self.base, self.addresses, self.stopping = base, addresses, False
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(threads)]

    def run(self, n: int) -> None:
        session, i = requests.Session(), n
        while not self.stopping:
            a = i % self.addresses
            address = f"10.{a // 65536}.{a // 256 % 256}.{a % 256}"
            headers = {"X-Forwarded-For": address}
            if i % 2:
                query = {"code": secrets.token_hex(16), "referer": f"x{secrets.token_hex(4)}.amocrm.ru"}
                answer = session.get(f"{self.base}/oauth/callback", params=query, headers=headers, timeout=10)
            else:
                answer = session.get(f"{self.base}/install", headers=headers, timeout=10)
            with self.lock:
                self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
            i += len(self.threads)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        for thread in self.threads:
            thread.join(15)


def figures(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return (f"{name:<28} n={len(values):<4} p50 {statistics.median(values) * 1000:7.1f} ms   "
            f"p95 {p95 * 1000:7.1f} ms   max {values[-1] * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webhooks", type=int, default=40, help="webhooks timed in each phase")
    parser.add_argument("--flooders", type=int, default=8, help="flooding threads")
    parser.add_argument("--addresses", type=int, default=200, help="client addresses the flood uses")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}")
    processes = []
    with EmbeddedRedis() as server:
        try:
            port = free_port()
            processes = start(server.url, port, args.workers)
            base = f"http://127.0.0.1:{port}"
            deps = bootstrap.build(Settings(redis_url=server.url, public_url=base))
            deps.store.save_account(ACCOUNT)
            url = hook_url(deps, ACCOUNT.id)
            quiet = webhook_latencies(deps, url, args.webhooks)
            memory_before, keys_before = deps.redis.info("memory")["used_memory"], deps.redis.dbsize()
            started = time.perf_counter()
            with Flood(base, args.flooders, args.addresses) as flood:
                time.sleep(1)  # the flood is under way before the first timed webhook
                busy = webhook_latencies(deps, url, args.webhooks)
            seconds = time.perf_counter() - started
            sent = sum(flood.statuses.values())
            print(figures("webhook → applied, quiet", quiet))
            print(figures("webhook → applied, flooded", busy))
            print(f"flood: {sent} requests in {seconds:.1f} s ({sent / seconds:.0f}/s) from {args.addresses} "
                  f"addresses; answers {dict(sorted(flood.statuses.items()))}")
            install = deps.queues["install"]
            time.sleep(3)
            failed = install.failed_job_registry.get_job_ids()[:50]
            kept = max((deps.redis.ttl(f"rq:job:{j}") for j in failed), default=0)
            print(f"install queue after the flood: {install.count} waiting, {install.failed_job_registry.count} "
                  f"failed (kept {kept} s at most)")
            print(f"Redis: {deps.redis.dbsize() - keys_before:+d} keys, "
                  f"{(deps.redis.info('memory')['used_memory'] - memory_before) / 1e6:+.2f} MB during the flood; "
                  f"rate-limit keys now {len(deps.redis.keys('dp:rl:anon:*'))}")
            print(f"load average after: {os.getloadavg()[0]:.2f}")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(25)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
