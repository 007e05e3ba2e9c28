"""Soak: the real processes under a steady stream of amoCRM webhooks for a long time. Zero lost, memory flat, lag bounded.

What runs: an embedded Redis (AOF on, as in production) in a temporary folder; the Procfile's processes as child
processes — `python -m service web` (gunicorn: gthread, 2 workers × 4 threads), two `python -m service worker`,
one `python -m service clock`; in this process, the sandbox's generated **medium** account (15 managers, 20,000
leads) whose simulator acts RATE times a second, its webhook sender posting to our live hook URL (amoCRM's own
retry rules). AMOCRM_API_BASE points at a closed local port: nothing ever leaves this host.

Every 10 s it samples: events sent by the sandbox (POSTs, and those answered 2xx), events stored (our intake's
counter), applied, duplicates, dead letters, queue lag (inbox entries not applied yet, the age of the oldest, RQ
queue lengths) and the RSS of each process (web = gunicorn master + its workers; worker = the RQ main process, with
its work horse of the moment apart; clock; redis; this process, which hosts the sandbox). At the end (after letting the
backlog drain, at most 120 s) it prints events in vs applied (every 2xx-acknowledged delivery stored, every stored
one applied or counted as a duplicate: zero lost), the memory slope of each process (least squares over the
samples after the first 20 %, MB per 10 minutes) and the maximum queue lag.

    .venv/bin/python bench/soak_bench.py [--minutes 30] [--rate 20] [--workers 2] [--csv samples.csv]

Stops every process it started, on any exit (Ctrl-C and SIGTERM included), and removes its temporary folder.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from service import bootstrap  # noqa: E402
from service.services.hook_health import HOOK_EVENTS  # noqa: E402
from service.config import DEV_SECRET_KEY, Settings  # noqa: E402
from service.model import Account  # noqa: E402
from service.ops.redis_server import EmbeddedRedis, free_port  # noqa: E402
from service.sandbox.generator import generate  # noqa: E402
from service.sandbox.simulator import Simulator  # noqa: E402
from service.sandbox.webhooks import WebhookSender  # noqa: E402
from service.services.hook_urls import hook_url  # noqa: E402
from service.store.keys import account_key  # noqa: E402

SAMPLE_SECONDS = 10
PAGE = os.sysconf("SC_PAGE_SIZE")


class CountingSession(requests.Session):
    """The sandbox sender's HTTP session: every delivery attempt, its request id and our answer."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.posts = 0
        self.acked: set = set()
        self.other: dict = {}

    def post(self, url, data=None, headers=None, **kwargs):
        try:
            answer = super().post(url, data=data, headers=headers, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.posts += 1
                self.other[type(exc).__name__] = self.other.get(type(exc).__name__, 0) + 1
            raise
        with self.lock:
            self.posts += 1
            if 200 <= answer.status_code < 300:
                self.acked.add((headers or {}).get("X-Amocrm-Requestid"))
            else:
                self.other[answer.status_code] = self.other.get(answer.status_code, 0) + 1
        return answer


# ---- processes ---------------------------------------------------------------------------------------------------
class Processes:
    """The Procfile's processes, each in its own session so that stopping one stops its children too."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs, self.running = env, logs, {}

    def spawn(self, name: str, *command: str) -> None:
        log = open(self.logs / f"{name}.log", "wb")
        self.running[name] = subprocess.Popen([sys.executable, "-m", "service", *command], cwd=ROOT, env=self.env,
                                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def alive(self) -> list[str]:
        return [name for name, p in self.running.items() if p.poll() is None]

    def stop(self, timeout: float = 25.0) -> None:
        """SIGTERM every process group, wait, then SIGKILL what is left."""
        for process in self.running.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.running.values():
            _signal_group(process, signal.SIGKILL)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                print(f"warning: pid {process.pid} did not exit", file=sys.stderr)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)  # its own session: the group holds its children (gunicorn workers, horses)
    except (ProcessLookupError, PermissionError):
        pass


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB (from /proc)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE / 1e6
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return found


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, in MB."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += rss_mb(current)
        todo += children(current)
    return total


def wait_ready(port: int, processes: Processes, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                time.sleep(3)  # RQ workers import the service before they listen
                return
        except requests.RequestException:
            pass
        if len(processes.alive()) < len(processes.running):
            break
        time.sleep(0.3)
    raise RuntimeError(f"our processes did not come up (alive: {processes.alive()}); see their logs")


# ---- sampling -----------------------------------------------------------------------------------------------------
def sample(deps, account_id: int, session: CountingSession, simulator, processes: Processes, redis_pid: int,
           started: float) -> dict:
    store, redis = deps.store, deps.redis
    counters = store.counters(account_id)
    first = redis.xrange(account_key(account_id, "inbox"), count=1)
    seconds, micros = redis.time()
    server_ms = seconds * 1000 + micros // 1000
    oldest = (server_ms - int(first[0][0].decode().split("-")[0])) / 1000 if first else 0.0
    row = {"t": round(time.monotonic() - started, 1), "actions": simulator.acted, "posts": session.posts,
           "acked": len(session.acked), "stored": store.webhooks_received(account_id),
           "applied": counters.get("applied", 0), "duplicates": counters.get("duplicates", 0),
           "dead_letters": len(store.dead_letters(account_id)), "inbox": store.inbox_length(account_id),
           "lag_s": round(oldest, 2), "rq": sum(len(q) for q in deps.queues.values()),
           "failed_jobs": sum(q.failed_job_registry.count for q in deps.queues.values())}
    for name, process in processes.running.items():
        if name.startswith("worker"):  # the long-lived process; its work horse (forked per job) apart
            row[f"rss_{name}"] = round(rss_mb(process.pid), 1)
            row[f"horse_{name}"] = round(sum(tree_rss_mb(c) for c in children(process.pid)), 1)
        else:  # web: the gunicorn master and its (long-lived) workers
            row[f"rss_{name}"] = round(tree_rss_mb(process.pid), 1)
    row["rss_redis"] = round(rss_mb(redis_pid), 1)
    row["rss_bench"] = round(rss_mb(os.getpid()), 1)
    return row


def slope_per_10_min(rows: list[dict], key: str) -> float:
    """Least-squares slope of `key` over time (MB per 10 minutes), after the first 20 % of the samples (warm-up)."""
    points = [(r["t"], r[key]) for r in rows[len(rows) // 5:]]
    if len(points) < 2:
        return float("nan")
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    den = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / den * 600 if den else float("nan")


def run(args, tmp: Path, processes_box: list) -> int:
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}; {args.minutes:g} min at "
          f"{args.rate:g} events/s, {args.workers} workers", flush=True)
    with EmbeddedRedis(data_dir=tmp / "redis") as server:
        port = free_port()
        env = {**os.environ, "REDIS_URL": server.url, "SECRET_KEY": DEV_SECRET_KEY, "PORT": str(port),
               "BIND_HOST": "127.0.0.1", "PUBLIC_URL": f"http://127.0.0.1:{port}", "PYTHONPATH": str(ROOT),
               "AMOCRM_API_BASE": f"http://127.0.0.1:{free_port()}",  # closed: nothing leaves this host
               "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text"}
        processes = Processes(env, tmp)
        processes_box.append(processes)
        try:
            return soak(args, server, port, processes)
        finally:
            processes.stop()  # before Redis goes: workers shut down cleanly


def soak(args, server, port: int, processes: Processes) -> int:
    processes.spawn("web", "web")
    for i in range(args.workers):
        processes.spawn(f"worker{i + 1}", "worker")
    processes.spawn("clock", "clock")
    deps = bootstrap.build(Settings(redis_url=server.url, public_url=f"http://127.0.0.1:{port}"))
    print("generating the sandbox's medium account...", flush=True)
    world = generate("medium", seed=3)
    account = Account(world.account["id"], world.account["subdomain"],
                      base_url=f"https://{world.account['subdomain']}.amocrm.ru",
                      timezone=world.account["timezone"])
    deps.store.save_account(account)
    world.subscribe(hook_url(deps, account.id), [*HOOK_EVENTS, "add_contact"])
    wait_ready(port, processes)
    print(f"ready: {len(world.leads)} leads; our processes: "
          + ", ".join(f"{n}={p.pid}" for n, p in processes.running.items()), flush=True)

    session = CountingSession()
    sender = WebhookSender(world, session=session).start()
    simulator = Simulator(world, args.rate, seed=1).start()
    started = time.monotonic()
    rows, out = [], None
    if args.csv:
        out = csv.writer(open(args.csv, "w", newline=""))
    try:
        end = started + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(SAMPLE_SECONDS, max(0.0, end - time.monotonic())))
            rows.append(sample(deps, account.id, session, simulator, processes, server.process.pid, started))
            print_row(rows[-1], header=len(rows) == 1)
            if out:
                if len(rows) == 1:
                    out.writerow(rows[0].keys())
                out.writerow(rows[-1].values())
            dead = [n for n in processes.running if n not in processes.alive()]
            if dead:
                raise RuntimeError(f"process(es) died: {dead}; see their logs")
    finally:
        simulator.stop()
    sender.wait_idle(120)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not deps.store.inbox_length(account.id) and not len(deps.queues["webhooks"]):
            break
        time.sleep(1)
    time.sleep(2)
    final = sample(deps, account.id, session, simulator, processes, server.process.pid, started)
    sender.stop()
    return report(args, rows, final, session)


def print_row(row: dict, header: bool) -> None:
    keys = ["t", "actions", "posts", "acked", "stored", "applied", "duplicates", "dead_letters", "inbox", "lag_s",
            "rq"] + [k for k in row if k.startswith(("rss_", "horse_"))]
    if header:
        print(" ".join(f"{k:>11}" for k in keys), flush=True)
    print(" ".join(f"{row[k]:>11}" for k in keys), flush=True)


def report(args, rows: list[dict], final: dict, session: CountingSession) -> int:
    lost = final["acked"] - final["stored"]
    unapplied = final["stored"] - final["applied"] - final["duplicates"] - final["dead_letters"]
    minutes = args.minutes
    print()
    print(f"simulator: {final['actions']} actions in {minutes:g} min ({final['actions'] / (minutes * 60):.1f}/s); "
          f"sandbox deliveries: {final['posts']} POSTs, {final['acked']} distinct deliveries answered 2xx, "
          f"non-2xx/errors: {session.other or 0}")
    print(f"events in (2xx) {final['acked']} / stored {final['stored']} / applied {final['applied']} + duplicates "
          f"{final['duplicates']} + dead letters {final['dead_letters']}; left in the inbox {final['inbox']}")
    print(f"-> acknowledged but not stored: {max(lost, 0)}; stored but neither applied nor counted: {unapplied}: "
          f"{'ZERO LOST' if lost <= 0 and unapplied == 0 and final['inbox'] == 0 else 'LOSS OR BACKLOG'}")
    print(f"queue lag: max inbox {max(r['inbox'] for r in rows)} entries, max age of the oldest unapplied "
          f"{max(r['lag_s'] for r in rows):.1f} s, max RQ jobs waiting {max(r['rq'] for r in rows)}; "
          f"failed jobs {final['failed_jobs']}")
    for key in [k for k in final if k.startswith("rss_")]:
        values = [r[key] for r in rows]
        print(f"memory {key[4:]:>8}: first {values[0]:7.1f} MB, last {values[-1]:7.1f} MB, max {max(values):7.1f} MB,"
              f" slope {slope_per_10_min(rows, key):+6.2f} MB/10 min")
    horses = [r[k] for r in rows for k in r if k.startswith("horse_") and r[k]]
    print(f"work horses (one per job, forked and gone): seen in {len(horses)} samples, max {max(horses, default=0):.1f}"
          f" MB; Redis grows with the data (leads first seen in a webhook join the mirror), not a leak by itself")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0 if lost <= 0 and unapplied == 0 and final["inbox"] == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="simulator events per second")
    parser.add_argument("--workers", type=int, default=2, help="`python -m service worker` processes")
    parser.add_argument("--csv", help="also write every sample to this CSV file")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (path printed)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    processes_box: list = []

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        return run(args, tmp, processes_box)
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        return 130
    finally:
        for processes in processes_box:
            processes.stop()
        if args.keep_logs:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
