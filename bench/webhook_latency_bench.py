"""End to end under live load: webhook sent by the sandbox → our card for that lead rewritten. Prints p50/p95.

What runs: an embedded Redis; our web under gunicorn (the Procfile's settings: gthread, 2 workers × 4 threads);
two workers with the Procfile's worker command (`python -m service worker`); in this process, a generated sandbox account whose simulator acts RATE times a
second for SECONDS, its webhook sender posting to our live hook URL.

How each event is timed (honestly, from outside our code):
- sent: the sandbox sender's clock right before it POSTs (a requests.Session that timestamps each POST);
- stored / read / card: Redis MONITOR (server timestamps, same host clock): the XADD that stored the delivery
  (matched by its X-Amocrm-Requestid), the first XRANGE of the inbox after it (the drain that read it), and the
  first HSET of `acct:<id>:cards` for that lead after that read (the card rewritten with the event applied).
- latency = card − sent. Deliveries about contacts have no card; deliveries that change nothing a card depends on
  (e.g. the update_lead that follows a status_lead in the same batch) cause no rewrite and are counted apart:
  a card write that comes after the drain's next batch read belongs to a later event, not this one.
Target (issue 5): p95 ≤ 1 s at 50 events/s.

    .venv/bin/python bench/webhook_latency_bench.py [--rate 50] [--seconds 60]
"""
from __future__ import annotations

import argparse
import bisect
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.stack import start_stack  # noqa: E402
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

ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class TimedSession(requests.Session):
    """The sender's HTTP session, noting when each POST started and was answered."""

    def __init__(self):
        super().__init__()
        self.posts: list[dict] = []

    def post(self, url, data=None, headers=None, **kwargs):
        sent = time.time()
        answer = super().post(url, data=data, headers=headers, **kwargs)
        self.posts.append({"sent": sent, "acked": time.time(), "status": answer.status_code,
                           "request_id": (headers or {}).get("X-Amocrm-Requestid"), "body": data.decode()})
        return answer


class Monitor(threading.Thread):
    """Redis MONITOR, keeping (server time, command, key, raw line) of inbox appends/reads and card writes."""

    def __init__(self, url: str, account_id: int):
        super().__init__(daemon=True)
        import redis
        self.conn = redis.Redis.from_url(url).connection_pool.get_connection()
        self.inbox, self.cards = account_key(account_id, "inbox").encode(), account_key(account_id, "cards").encode()
        self.rows: list[tuple] = []
        self.stopping = False

    def run(self) -> None:
        self.conn.send_command("MONITOR")
        self.conn.read_response()
        while not self.stopping:
            line = self.conn.read_response()
            line = line if isinstance(line, bytes) else str(line).encode()
            stamp, _, rest = line.partition(b" ")
            args = ARG.findall(rest)
            if len(args) >= 2 and args[1] in (self.inbox, self.cards) and args[0].upper() in (b"XADD", b"XRANGE", b"HSET"):
                self.rows.append((float(stamp), args[0].upper(), args, line))

    def stop(self) -> None:
        self.stopping = True


def lead_of(body: str) -> int | None:
    """The lead a delivery is about: leads[..][0][id], or the element_id of a lead's task or note."""
    form = dict(parse_qsl(body))
    for key, value in form.items():
        if key.startswith("leads[") and key.endswith("][note][element_id]"):
            return int(value)
        if key.startswith("task[") and key.endswith("][element_id]") and form.get(key.replace("element_id", "element_type")) == "2":
            return int(value)
    for key, value in form.items():
        if key.startswith("leads[") and key.endswith("[0][id]"):
            return int(value)
    return None


def start_processes(redis_url: str, port: int, workers: int) -> list[subprocess.Popen]:
    env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": DEV_SECRET_KEY, "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    return start_stack(env, port, workers, "--graceful-timeout", "20")


def measure(posts: list[dict], rows: list[tuple]) -> dict:
    """Match each answered delivery to the XADD that stored it, the XRANGE that read it and the card write."""
    stored = {}
    reads, cards = [], {}
    for at, command, args, line in rows:
        if command == b"XADD":
            for found in UUID.findall(line):  # the request id (a note's text may hold another uuid)
                stored.setdefault(found.decode(), at)
        elif command == b"XRANGE":
            reads.append(at)
        else:
            for field in args[2::2]:
                if field.isdigit():
                    cards.setdefault(int(field), []).append(at)
    latencies, no_rewrite, no_card, lost = [], 0, 0, 0
    parts = {"sent → stored": [], "stored → read by a drain": [], "read → card written": []}
    for post in posts:
        if not 200 <= post["status"] < 300:
            continue
        lead = lead_of(post["body"])
        if lead is None:
            no_card += 1
            continue
        at = stored.get(post["request_id"])
        if at is None:
            lost += 1
            continue
        i = bisect.bisect_left(reads, at)
        read = reads[i] if i < len(reads) else None
        writes = cards.get(lead, [])
        j = bisect.bisect_left(writes, read) if read is not None else len(writes)
        card = writes[j] if j < len(writes) else None
        next_read = reads[i + 1] if i + 1 < len(reads) else None
        # A write after the next batch was read belongs to a later event: this one changed nothing on the card.
        if card is None or (next_read is not None and next_read < card):
            no_rewrite += 1
            continue
        latencies.append(card - post["sent"])
        for name, value in zip(parts, (at - post["sent"], read - at, card - read)):
            parts[name].append(value)
    return {"latencies": sorted(latencies), "no_rewrite": no_rewrite, "no_card": no_card, "unmatched": lost,
            "parts": {name: sorted(values) for name, values in parts.items()}}


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="simulator events per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}")
    processes = []
    with EmbeddedRedis() as server:
        try:
            port = free_port()
            processes = start_processes(server.url, port, args.workers)
            deps = bootstrap.build(Settings(redis_url=server.url, public_url=f"http://127.0.0.1:{port}"))
            world = generate("small", seed=3)
            account = Account(world.account["id"], world.account["subdomain"],
                              base_url=f"https://{world.account['subdomain']}.amocrm.ru",
                              timezone=world.account["timezone"])
            deps.store.save_account(account)
            world.subscribe(hook_url(deps, account.id), [*HOOK_EVENTS, "add_contact"])
            monitor = Monitor(server.url, account.id)
            monitor.start()
            session = TimedSession()
            sender = WebhookSender(world, session=session).start()
            simulator = Simulator(world, args.rate, seed=1).start()
            time.sleep(args.seconds)
            simulator.stop()
            sender.wait_idle(60)
            deadline = time.monotonic() + 60
            while (deps.store.inbox_length(account.id) or len(deps.queues["webhooks"])) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)
            monitor.stop()
            sender.stop()
            report(args, simulator, session.posts, measure(session.posts, list(monitor.rows)), deps, account)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=20)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def report(args, simulator, posts: list[dict], result: dict, deps, account) -> None:
    acks = sorted(p["acked"] - p["sent"] for p in posts)
    ok = sum(1 for p in posts if 200 <= p["status"] < 300)
    lat = result["latencies"]
    print(f"simulator: {simulator.acted} actions in {args.seconds:.0f} s ({simulator.acted / args.seconds:.1f}/s); "
          f"deliveries: {len(posts)} POSTs, {ok} answered 2xx, {len(posts) - ok} other")
    print(f"webhook answered (sent → 2xx): p50 {percentile(acks, .5) * 1000:.1f} ms, "
          f"p99 {percentile(acks, .99) * 1000:.1f} ms, max {acks[-1] * 1000 if acks else 0:.1f} ms")
    print(f"webhook sent → card rewritten: n={len(lat)} p50 {percentile(lat, .5) * 1000:.0f} ms, "
          f"p95 {percentile(lat, .95) * 1000:.0f} ms, p99 {percentile(lat, .99) * 1000:.0f} ms, "
          f"max {lat[-1] * 1000 if lat else 0:.0f} ms, mean {statistics.fmean(lat) * 1000 if lat else 0:.0f} ms "
          f"-> {'meets' if lat and percentile(lat, .95) <= 1 else 'MISSES'} the target (p95 <= 1000 ms)")
    print("  where the time goes: " + "; ".join(f"{name} p50 {percentile(v, .5) * 1000:.0f} / p95 "
                                                f"{percentile(v, .95) * 1000:.0f} ms" for name, v in result["parts"].items()))
    print(f"not timed: {result['no_card']} deliveries without a lead card (contacts), {result['no_rewrite']} that "
          f"changed nothing a card shows (no rewrite followed), {result['unmatched']} not found in MONITOR")
    print(f"intake counters: {deps.store.counters(account.id)}; dead letters: {len(deps.store.dead_letters(account.id))}")


if __name__ == "__main__":
    main()
