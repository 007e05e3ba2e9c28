"""Bench: many tenants at once, on a Redis Cluster and on one Redis, in the same run (issue 22).

Run: .venv/bin/python bench/tenants_bench.py [--accounts 200] [--rate 100] [--seconds 300] [--workers 2]
For each column (`one Redis`: everything on REDIS_URL; `cluster`: account data on an embedded 3 primaries + 3
replicas cluster, queues on REDIS_URL, webhooks answered after WAIT 1) it starts the production processes (`python -m
service web`, N `python -m service worker`), installs `--accounts` accounts (their mirrors start empty: each is built
by the webhooks themselves, no initial sync), then POSTs amoCRM's captured status_lead delivery, re-addressed to a
random account and a fresh lead, at `--rate` per second for `--seconds`. A watcher polls the cards; a delivery's
webhook -> card time is from its POST until its card is in Redis. Prints p50/p95/p99/max, lost (answered 2xx, no card
once every inbox and queue is empty), the seconds the backlog took to drain after the load stopped, retried (non-2xx
answers, posted again as amoCRM would), Redis memory per account, and CPU per event (web + workers with their forked
jobs + Redis servers; also by process), with the 1-minute load average at the end of each column. Targets: p95 <= 1 s,
zero lost.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from redis.cluster import RedisCluster  # noqa: E402

from bench.stack import wait_up  # noqa: E402
from service import bootstrap  # noqa: E402
from service.config import DEV_SECRET_KEY, Settings  # noqa: E402
from service.model import Account  # noqa: E402
from service.ops.redis_cluster import EmbeddedCluster  # noqa: E402
from service.ops.redis_server import EmbeddedRedis, free_port  # noqa: E402
from service.services.hook_urls import hook_secret  # noqa: E402
from service.store.keys import bucket_key  # noqa: E402
from tests.support.samples import webhook_bodies  # noqa: E402

TEMPLATE = webhook_bodies("status_lead_modern.txt")[0]
FORM = "application/x-www-form-urlencoded"
FIRST_ID = 41_000_000


def body(account_id: int, lead_id: int) -> bytes:
    """The captured delivery, re-addressed to another account and lead."""
    return (TEMPLATE.replace(b"16700680", str(account_id).encode()).replace(b"unirock", f"t{account_id}".encode())
            .replace(b"30052055", str(lead_id).encode()))


def start_processes(env: dict, workers: int) -> list[subprocess.Popen]:
    """web + workers, as the Procfile runs them."""
    common = dict(cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [subprocess.Popen([sys.executable, "-m", "service", "web"], **common)]
    procs += [subprocess.Popen([sys.executable, "-m", "service", "worker"], **common) for _ in range(workers)]
    return procs


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds of these processes and their children (gunicorn workers)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    seen = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick  # own + waited-for children (forked jobs)
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def used_memory(store) -> int:
    """used_memory of the server(s) holding account data (primaries only on a cluster)."""
    if isinstance(store.redis, RedisCluster):
        return sum(store.redis.get_redis_connection(n).info("memory")["used_memory"]
                   for n in store.redis.get_primaries())
    return store.redis.info("memory")["used_memory"]


def run_column(name: str, settings: Settings, redis_pids: list[int], args) -> dict:
    """One column of the table: start processes, install accounts, load, measure."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": settings.redis_url, "REDIS_CLUSTER_URL": settings.redis_cluster_url,
           "PORT": str(port), "BIND_HOST": "127.0.0.1", "SECRET_KEY": DEV_SECRET_KEY, "LOG_LEVEL": "WARNING",
           "WEB_CONCURRENCY": "2", "WEB_THREADS": "4"}
    deps = bootstrap.build(settings)
    deps.redis.flushdb()
    deps.store.redis.flushdb()
    memory_before = used_memory(deps.store)
    accounts = [Account(id=FIRST_ID + i, subdomain=f"t{FIRST_ID + i}") for i in range(args.accounts)]
    for account in accounts:
        deps.store.save_account(account)
    procs = start_processes(env, args.workers)
    try:
        wait_up(port)
        return load(name, deps, accounts, port, procs, redis_pids, memory_before, args)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def load(name, deps, accounts, port, procs, redis_pids, memory_before, args) -> dict:
    """Send at the rate for the duration; watch the cards; the figures."""
    rng, session = random.Random(7), requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
    sent: dict = {}  # (account, lead) -> sent at
    answered: dict = {}  # (account, lead) -> its 2xx came back at
    carded: dict = {}
    refused = [0]
    lock, stop = threading.Lock(), threading.Event()
    watcher = threading.Thread(target=watch, args=(deps.store, sent, carded, lock, stop), daemon=True)
    watcher.start()
    groups = {"web": [procs[0].pid], "workers": [p.pid for p in procs[1:]], "redis": redis_pids}
    cpu_before = {name: tree_cpu(pids) for name, pids in groups.items()}
    own_before = time.process_time()  # this process (posting, watching) shares the CPUs: shown, not counted

    def deliver(account: Account, lead_id: int, at: float) -> None:
        url = f"http://127.0.0.1:{port}/hooks/{account.id}/{hook_secret(DEV_SECRET_KEY, account.id)}"
        for _ in range(20):  # amoCRM retries a non-2xx
            try:
                answer = session.post(url, data=body(account.id, lead_id), timeout=5,
                                      headers={"Content-Type": FORM, "X-Amocrm-Requestid": f"{account.id}-{lead_id}"})
                if answer.status_code < 300:
                    with lock:
                        sent[(account.id, lead_id)] = at
                        answered[(account.id, lead_id)] = time.monotonic()
                    return
            except requests.RequestException:
                pass
            refused[0] += 1
            time.sleep(0.5)

    started, n = time.monotonic(), 0
    with ThreadPoolExecutor(max_workers=32) as pool:
        while (elapsed := time.monotonic() - started) < args.seconds:
            due = int(elapsed * args.rate)
            while n < due:
                account = rng.choice(accounts)
                pool.submit(deliver, account, FIRST_ID * 10 + n, time.monotonic())
                n += 1
            time.sleep(0.005)
    drained_at = drain(deps, accounts, sent, carded, started + args.seconds)
    stop.set()
    watcher.join()
    cpu = {name: tree_cpu(pids) - cpu_before[name] for name, pids in groups.items()}
    own = time.process_time() - own_before
    latencies = sorted(carded[k] - sent[k] for k in carded if k in sent)
    posts = sorted(answered[k] - sent[k] for k in answered)
    after_ack = sorted(max(carded[k] - answered[k], 0) for k in carded if k in answered)
    memory = used_memory(deps.store) - memory_before
    return {"name": name, "events": n, "acked": len(sent), "lost": len(set(sent) - set(carded)), "drain": drained_at,
            "refused": refused[0], "p50": _pct(latencies, 0.5), "p95": _pct(latencies, 0.95),
            "p99": _pct(latencies, 0.99), "max": latencies[-1] if latencies else float("nan"),
            "post_p95": _pct(posts, 0.95), "after_p95": _pct(after_ack, 0.95),
            "mem_kb": memory / len(accounts) / 1024, "cpu_ms": sum(cpu.values()) / max(n, 1) * 1000,
            "cpu_parts": {k: v / max(n, 1) * 1000 for k, v in cpu.items()}, "load": os.getloadavg()[0],
            "bench_cpu_ms": own / max(n, 1) * 1000}


def drain(deps, accounts, sent: dict, carded: dict, ended: float, cap: float = 900) -> float:
    """Wait until every card is in, or every inbox and queue is empty (then a missing card is lost); seconds the
    backlog took to drain after the load ended."""
    while time.monotonic() - ended < cap and len(carded) < len(sent):
        idle = not any(deps.store.inbox_length(a.id) for a in accounts) and not any(len(q) for q in
                                                                                    deps.queues.values())
        if idle:
            time.sleep(2)  # a drain that already read its batch is still writing the cards
            if not any(deps.store.inbox_length(a.id) for a in accounts):
                break
        time.sleep(0.5)
    return time.monotonic() - ended


def watch(store, sent: dict, carded: dict, lock, stop) -> None:
    """Poll the pending deliveries' cards every 50 ms; record when each first appears."""
    while not stop.is_set():
        with lock:
            pending = [key for key in sent if key not in carded]
        pipe = store.redis.pipeline(transaction=False)
        for account_id, lead_id in pending:  # a card lives in its bucket hash (store/keys.py)
            pipe.hexists(bucket_key(account_id, "cards", lead_id), lead_id)
        found = pipe.execute() if pending else []
        now = time.monotonic()
        for key, held in zip(pending, found):
            if held:
                carded[key] = now
        time.sleep(0.05)


def _pct(values: list, q: float) -> float:
    return values[min(int(q * len(values)), len(values) - 1)] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second over all accounts")
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--only", choices=("one", "cluster"), help="run one column only (a quick look)")
    args = parser.parse_args()
    print(f"{args.accounts} accounts, {args.rate:g} events/s for {args.seconds} s, {args.workers} workers, "
          f"{os.cpu_count()} CPUs; load average before: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    with EmbeddedRedis() as single, EmbeddedCluster(primaries=3, replicas=1, appendonly=True) as cluster:
        cluster_pids = [p.pid for p in cluster.processes.values()]
        if args.only != "cluster":
            rows.append(run_column("one Redis", Settings(redis_url=single.url), [single.process.pid], args))
        if args.only != "one":
            rows.append(run_column("cluster", Settings(redis_url=single.url, redis_cluster_url=cluster.url),
                                   [single.process.pid, *cluster_pids], args))
    print(f"{'column':<11}{'events':>8}{'2xx':>8}{'lost':>6}{'retried':>8}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}"
          f"{'max s':>8}{'drain s':>8}{'KB/acct':>9}{'CPU ms/ev':>10}{'load':>6}")
    for r in rows:
        print(f"{r['name']:<11}{r['events']:>8}{r['acked']:>8}{r['lost']:>6}{r['refused']:>8}{r['p50']:>8.3f}"
              f"{r['p95']:>8.3f}{r['p99']:>8.3f}{r['max']:>8.2f}{r['drain']:>8.1f}{r['mem_kb']:>9.1f}"
              f"{r['cpu_ms']:>10.2f}{r['load']:>6.2f}")
    for r in rows:
        print(f"{r['name']}: p95 of the POST until its 2xx {r['post_p95']:.3f} s, of the 2xx until the card "
              f"{r['after_p95']:.3f} s; CPU ms per event by process: "
              + ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_parts"].items())
              + f" (and this bench's own process {r['bench_cpu_ms']:.2f})")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
