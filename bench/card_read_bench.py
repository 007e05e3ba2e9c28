"""GET /api/v1/leads/<id>/hints at a fixed rate over loopback, served as the Procfile serves it.

The web process is the Procfile's `web` command (gunicorn with WEB_CONCURRENCY x WEB_THREADS from config.py, JSON
access lines at LOG_LEVEL), on an embedded Redis (or REDIS_URL) holding 5,000 deals and 100 users. Debian's wrk
(/usr/bin/wrk) sends the requests, paced by bench/card_read.lua, each with its own pre-minted one-time token; a
warm-up run comes first. Per run it prints p50/p90/p99/max, the statuses (all should be 200), the web workers' CPU
per request and how it split between them. Target (issue 7): p99 <= 10 ms at 200 requests/s.

wrk times a request from the moment it sends it. The script also counts slots no connection was free for
("queued") and sends more than 2 ms after their slot ("late"): when both are 0, every request was sent on time.

    .venv/bin/python bench/card_read_bench.py [--rate 200] [--seconds 30] [--runs 3] [--connections 32]
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from service import bootstrap  # noqa: E402
from service.config import Settings  # noqa: E402
from service.model import Account, Lead, User  # noqa: E402
from service.ops.processes import gunicorn_options  # noqa: E402
from service.ops.redis_server import EmbeddedRedis, free_port  # noqa: E402
from tests.support.api import card, hint  # noqa: E402
from tests.support.tokens import mint_token  # noqa: E402

ACCOUNT = Account(id=4_200_042, subdomain="bench", base_url="https://bench.amocrm.ru")
USERS, LEADS = 100, 5000
SCRIPT = Path(__file__).with_name("card_read.lua")
DONE_LINES = ("STATUS", "ERRORS", "PACING", "LATENCY_US")  # what the script's done() prints


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
        own = "AGM"[user % 3] != "A" and user != 1  # G and M users read their own deals, chosen supervisor 2 too
        lead = random.choice(range(user - 1 or USERS, LEADS + 1, USERS)) if own else random.randint(1, LEADS)
        out.append((f"/api/v1/leads/{lead}/hints", mint_token(settings, ACCOUNT, user)))
    return out


def start_web(env: dict, log: Path) -> subprocess.Popen:
    """The Procfile's `web` command, with this interpreter for `python`; its log lines go to `log`."""
    command = shlex.split(procfile_command("web"))
    if command[0] == "python":
        command[0] = sys.executable
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
                            start_new_session=True)


def procfile_command(process: str) -> str:
    """The command line the Procfile gives `process`."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise RuntimeError(f"the Procfile has no {process!r} process")


def wrk_run(wrk: str, port: int, work: list, rate: float, seconds: float, connections: int, tmp: Path) -> dict:
    """One paced wrk run over `work`; its figures as parsed from the script's done() lines."""
    tokens = tmp / "tokens.tsv"
    tokens.write_text("".join(f"{path}\t{token}\n" for path, token in work))
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "2s", "-s", str(SCRIPT),
               f"http://127.0.0.1:{port}/", "--", str(tokens), f"{rate:g}", "1", ACCOUNT.origin]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.split(" ", 1)[0] in DONE_LINES]
    result = {"statuses": {int(code): int(n) for kind, code, n in (r for r in rows if r[0] == "STATUS")}}
    for row in rows:
        if row[0] == "ERRORS":
            result["socket_errors"] = sum(map(int, row[1:]))
        elif row[0] == "PACING":
            sent, queued, late, worst, exhausted = row[1:]
            result.update(sent=int(sent), queued=int(queued), late=int(late), worst_late_ms=float(worst),
                          exhausted=int(exhausted))
        elif row[0] == "LATENCY_US":
            requests, duration, *micros = map(int, row[1:])
            result.update(requests=requests, rps=requests / (duration / 1e6),
                          **dict(zip(("p50", "p90", "p99", "max"), (m / 1000 for m in micros))))
    return result


def shown_count(settings: Settings) -> int:
    """Hints recorded as shown for the first time (each such read writes to Redis a second time)."""
    deps = bootstrap.build(settings)
    try:
        return sum(n for k, n in deps.store.widget.hint_stats(ACCOUNT.id).items() if k.endswith(":shown"))
    finally:
        deps.redis.close()


def worker_cpu(master: int) -> dict[int, float]:
    """CPU seconds each gunicorn worker (a child of `master`) has used so far, from /proc; {} where there is none."""
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == master:
            used[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_line(before: dict, after: dict, requests: int) -> str:
    """Web CPU per request, and how it split between the workers (they accept wrk's connections in a burst)."""
    spent = sorted((after[pid] - before.get(pid, 0.0) for pid in after), reverse=True)
    if not spent or not sum(spent):
        return ""
    split = "/".join(f"{100 * x / sum(spent):.0f}" for x in spent)
    return f"  web CPU {1000 * sum(spent) / requests:.1f} ms/req, split {split} %"


def report(run: str, r: dict, first_views: int, load: float) -> None:
    other = {code: n for code, n in r["statuses"].items() if code != 200}
    checks = [f"{r['statuses'].get(200, 0)} x 200"] + [f"{n} x {code}" for code, n in sorted(other.items())]
    if r["socket_errors"]:
        checks.append(f"{r['socket_errors']} socket errors/timeouts")
    if r["exhausted"]:
        checks.append(f"RAN OUT OF TOKENS {r['exhausted']} times")
    print(f"{run:<8} {r['requests']:>6} req {r['rps']:>6.1f}/s  p50 {r['p50']:6.2f}  p90 {r['p90']:6.2f}  "
          f"p99 {r['p99']:6.2f}  max {r['max']:7.2f} ms  queued {r['queued']}  late sends {r['late']} "
          f"(worst {r['worst_late_ms']:.1f} ms)"
          f"  new hint views {first_views}  load {load:.2f}  [{', '.join(checks)}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second in all")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each measured run")
    parser.add_argument("--runs", type=int, default=3, help="measured runs, one after the other")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before the first run")
    parser.add_argument("--connections", type=int, default=32,
                        help="keep-alive connections; enough that a request never waits for a free one")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("card_read_bench: wrk is missing. This bench needs Debian's wrk (apt-get install wrk) to send "
                 "paced requests from outside Python; nothing was measured.")
    redis_server = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    redis_url = os.environ.get("REDIS_URL") or redis_server.url
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "PORT": str(port), "BIND_HOST": "127.0.0.1",
           "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    settings = Settings.from_env(env)
    seed(settings)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        web = start_web(env, tmp / "web.log")
        try:
            wait_until_up(port, web, tmp / "web.log")
            measure(wrk, web, port, settings, args, tmp)
        finally:
            web.terminate()
            web.wait(timeout=30)
            if redis_server:
                redis_server.stop()
    print("latency in ms, from each request's send (see late sends); target p99 <= 10 ms")


def measure(wrk: str, web: subprocess.Popen, port: int, settings: Settings, args, tmp: Path) -> None:
    """The warm-up, then each measured run with its figures."""
    options = gunicorn_options(settings)
    worker_class = options.get("worker_class") or ("gthread" if options["threads"] > 1 else "sync")
    print(f"Procfile web: {procfile_command('web')!r} -> gunicorn {worker_class} "
          f"{options['workers']}x{options['threads']}, LOG_LEVEL {settings.log_level}; wrk -t1 -c{args.connections} "
          f"at {args.rate:g} req/s, {args.seconds:g} s per run, one fresh token per request; {os.cpu_count()} CPUs")
    wrk_run(wrk, port, requests_for(settings, int(args.rate * (args.warmup + 2))), args.rate, args.warmup,
            args.connections, tmp)
    for run in range(1, args.runs + 1):
        work = requests_for(settings, int(args.rate * (args.seconds + 2)) + args.connections)
        shown, cpu = shown_count(settings), worker_cpu(web.pid)
        result = wrk_run(wrk, port, work, args.rate, args.seconds, args.connections, tmp)
        report(f"run {run}", result, shown_count(settings) - shown, os.getloadavg()[0])
        print(cpu_line(cpu, worker_cpu(web.pid), result["requests"]) or "  (no /proc: web CPU not measured)")


def wait_until_up(port: int, web: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise RuntimeError(f"the web process exited: {log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the web process did not come up")


if __name__ == "__main__":
    main()
