"""Webhook intake under load: our endpoint vs a bare "return 204" Flask endpoint, same gunicorn settings, same run.

Starts an embedded Redis (AOF on, as in production), then for each gunicorn setting serves the bare app and
`service:create_app()` side by side and loads them in turn, round after round (so that a neighbour's load on this
shared machine falls on both alike), with `wrk -t2 -c8` over loopback, POSTing the real form body of
tests/data/samples/webhooks/status_lead_modern.txt. Prints, per endpoint, the median of the rounds' requests/s and
latencies, and the CPU each request cost the gunicorn workers and Redis (steadier than requests/s when the machine
is shared); then the intake/bare ratio. Targets (issue 5): ratio >= 50 %, intake p99 <= 20 ms. `--breakdown` first
prints where one intake request's CPU goes, in-process (the WSGI app called directly, no gunicorn, no wrk).
`--cluster` (issue 22) adds, side by side in the same rounds, the intake with account data on an embedded Redis
Cluster (3 primaries + 3 replicas, REDIS_CLUSTER_URL): without the replica wait (`cluster`) and with it
(`cluster+wait`: the append then `WAIT 1`, as production runs it); and the appends' own rates in-process.

    .venv/bin/python bench/intake_bench.py                              # every setting below
    .venv/bin/python bench/intake_bench.py --settings gthread:2:4 --rounds 3 --duration 8 --breakdown
    .venv/bin/python bench/intake_bench.py --settings gthread:2:4 --cluster
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from service.config import DEV_SECRET_KEY  # noqa: E402
from service.model import Account  # noqa: E402
from service.ops.redis_cluster import EmbeddedCluster  # noqa: E402
from service.ops.redis_server import EmbeddedRedis, free_port  # noqa: E402
from service.services.hook_urls import hook_secret  # noqa: E402
from service.store.keys import account_key  # noqa: E402
from tests.support.samples import webhook_bodies  # noqa: E402

ACCOUNT = Account(16700680, "unirock", base_url="https://unirock.amocrm.ru")  # the sample's account
FORM = "application/x-www-form-urlencoded"
# worker class : workers : threads. gthread:2:4 is the Procfile's web command.
SETTINGS = ("gthread:2:4", "sync:2:1", "sync:4:1", "gthread:4:2")
LUA = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "%s"
wrk.headers["User-Agent"] = "amoCRM-Webhooks/3.0"
threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) statuses = {} end
response = function(status, headers, body)
  if status >= 300 then statuses[status] = (statuses[status] or 0) + 1 end
end
done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do io.write(string.format("STATUS %%d %%d\\n", status, n)) end
  end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def bare_app():
    """The baseline: Flask routing the same URL shape and answering 204, nothing else."""
    from flask import Flask

    app = Flask("bare")

    @app.post("/hooks/<int:account_id>/<secret>")
    def receive(account_id: int, secret: str):
        return "", 204

    return app


def intake_app():
    """Our app as `python -m service web` runs it: a redacted JSON access line per request (to /dev/null: building
    the line is the cost)."""
    from service import logs
    from service.ops import processes
    from service.config import Settings

    settings = Settings.from_env()
    logs.configure(settings, "web", stream=open(os.devnull, "w"))
    return processes.web_app(settings)


# One account at wrk's pace would meet its intake limits at once (issue 16): limits far out of reach, still checked.
UNLIMITED = {"INTAKE_ACCOUNT_RPS": str(10 ** 9), "INBOX_MAX_ENTRIES": str(10 ** 9)}
ENDPOINTS = (("bare", "intake_bench:bare_app()"), ("intake", "intake_bench:intake_app()"))


def cluster_endpoints(cluster_url: str) -> dict:
    """The intake over a cluster, without and with the replica wait: name -> extra environment."""
    return {"cluster": {"REDIS_CLUSTER_URL": cluster_url, "INTAKE_WAIT_REPLICAS": "0"},
            "cluster+wait": {"REDIS_CLUSTER_URL": cluster_url, "INTAKE_WAIT_REPLICAS": "1"}}


def serve(app_spec: str, setting: str, redis_url: str, extra_env=None) -> tuple[subprocess.Popen, int]:
    """Start gunicorn with one setting; wait until it accepts connections."""
    worker_class, workers, threads = setting.split(":")
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": DEV_SECRET_KEY, "PYTHONPATH": f"{ROOT}",
           **UNLIMITED, **(extra_env or {})}
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", workers,
               "--threads", threads, "--worker-class", worker_class, "--chdir", str(ROOT / "bench"),
               "--log-level", "warning", app_spec]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            time.sleep(0.5)  # let every worker boot, not just the first
            return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def compare(servers: dict, path: str, script: Path, rounds: int, seconds: int, redis_pids: dict) -> dict:
    """Warm both endpoints, then load them in turn `rounds` times; each run with the CPU it cost per request
    (gunicorn workers and the Redis servers the endpoint uses: `redis_pids[name]`)."""
    runs: dict = {name: [] for name in servers}
    for name, (process, port) in servers.items():
        runs[name].append(dict(wrk_run(f"http://127.0.0.1:{port}{path}", script, 2), warm_up=True))
    for _ in range(rounds):
        for name, (process, port) in servers.items():
            pids = worker_pids(process) + redis_pids.get(name, redis_pids["intake"])
            before = cpu_seconds(pids)
            result = wrk_run(f"http://127.0.0.1:{port}{path}", script, seconds)
            result["cpu_ms"] = (cpu_seconds(pids) - before) / max(result["requests"], 1) * 1000
            runs[name].append(result)
    return runs


def summary(runs: list[dict]) -> dict:
    """Medians over the measured rounds; totals of what went wrong; 2xx answers including the warm-up."""
    measured = [r for r in runs if not r.get("warm_up")]
    median = {k: statistics.median(r[k] for r in measured) for k in ("rps", "p50_ms", "p99_ms", "cpu_ms")}
    return {**median, "max_ms": max(r["max_ms"] for r in measured),
            "non_2xx": sum(r["non_2xx"] for r in runs), "socket_errors": sum(r["socket_errors"] for r in runs),
            "answered_2xx": sum(r["requests"] - r["non_2xx"] for r in runs)}


def worker_pids(master: subprocess.Popen) -> list[int]:
    """The gunicorn master's workers."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU these processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk_run(url: str, script: Path, seconds: int) -> dict:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    out = subprocess.run([wrk, "-t2", "-c8", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    odd = [x for x in out.splitlines() if x.startswith("STATUS ")]
    if odd:
        print("   non-2xx answers (status count, per wrk thread):", "; ".join(x[7:] for x in odd))
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, duration_us, bad_status, socket_errors, p50, p99, worst = map(int, line.split()[1:])
    return {"rps": requests / (duration_us / 1e6), "requests": requests, "non_2xx": bad_status,
            "socket_errors": socket_errors, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "max_ms": worst / 1000}


def breakdown(redis_url: str, body: bytes, rounds: int = 30, calls: int = 200) -> dict:
    """CPU ms of each stage of one intake request, in-process: the least over interleaved rounds (a shared machine
    only ever adds), with the access line written as in production."""
    from service import bootstrap, create_app, logs
    from service.amocrm.form import parse_php_form
    from service.amocrm.webhooks import parse_webhook
    from service.config import Settings

    settings = Settings(redis_url=redis_url, secret_key=DEV_SECRET_KEY, intake_account_rps=10 ** 9,
                        inbox_max_entries=10 ** 9)
    logs.configure(settings, "web", stream=open(os.devnull, "w"))
    deps = bootstrap.build(settings)
    app, bare = create_app(deps=deps), bare_app()
    path = f"/hooks/{ACCOUNT.id}/{hook_secret(DEV_SECRET_KEY, ACCOUNT.id)}"
    entry = {"body": body, "received_at": "0", "headers": '{"User-Agent": "amoCRM-Webhooks/3.0"}'}
    stages = {"decode the form": lambda: parse_php_form(body),
              "decode + validate": lambda: parse_webhook(body, ACCOUNT.timezone),
              "Redis append": lambda: deps.store.append_inbox(ACCOUNT.id, entry),
              "intake request": lambda: call_wsgi(app, path, body),
              "bare request": lambda: call_wsgi(bare, path, body)}
    best = dict.fromkeys(stages, float("inf"))
    for _ in range(rounds):
        for name, stage in stages.items():
            started = time.process_time()
            for _ in range(calls):
                stage()
            best[name] = min(best[name], (time.process_time() - started) / calls * 1000)
    deps.redis.delete(account_key(ACCOUNT.id, "inbox"), account_key(ACCOUNT.id, "drain_pending"))
    return best


def call_wsgi(app, path: str, body: bytes) -> str:
    """One POST straight into a WSGI app, with the environ gunicorn would give it."""
    import io

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "RAW_URI": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "CONTENT_TYPE": FORM,
               "CONTENT_LENGTH": str(len(body)), "HTTP_USER_AGENT": "amoCRM-Webhooks/3.0",
               "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "wsgi.url_scheme": "http",
               "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
               "wsgi.run_once": False, "wsgi.version": (1, 0)}
    status = []
    for _ in app(environ, lambda code, headers, exc_info=None: status.append(code)):
        pass
    return status[0]


def redis_append_rate(redis_url: str, body: bytes, seconds: float = 3.0) -> dict:
    """Bare appends from Python, one round trip each: XADD alone, and the intake's (XADD, SET NX, INCR: one script)."""
    import redis

    from service.store.core import Store

    client = redis.Redis.from_url(redis_url)
    store = Store(client)
    entry = {"body": body, "received_at": "0", "headers": '{"User-Agent": "amoCRM-Webhooks/3.0"}'}
    rates = {}
    for name, append in (("xadd", lambda: client.xadd("bench:xadd", entry)),
                         ("intake_append", lambda: store.append_inbox(999, entry))):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            append()
            count += 1
        rates[name] = count / (time.perf_counter() - started)
    client.delete("bench:xadd", account_key(999, "inbox"), account_key(999, "drain_pending"),
                  account_key(999, "metrics", "webhooks_received"))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), help="worker_class:workers:threads")
    parser.add_argument("--duration", type=int, default=8, help="seconds of wrk per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3, help="bare, intake, bare, intake, ...: medians are shown")
    parser.add_argument("--breakdown", action="store_true", help="first, the in-process CPU of one request")
    parser.add_argument("--cluster", action="store_true", help="also the intake over a Redis Cluster, w/o WAIT")
    args = parser.parse_args()
    if not (shutil.which("wrk") or os.path.exists("/usr/bin/wrk")):
        sys.exit("wrk is not installed (Debian package `wrk`)")
    body = webhook_bodies("status_lead_modern.txt")[0]
    path = f"/hooks/{ACCOUNT.id}/{hook_secret(DEV_SECRET_KEY, ACCOUNT.id)}"
    print(f"body: {len(body)} bytes (status_lead_modern.txt); wrk -t2 -c8, {args.rounds} x {args.duration} s per "
          f"endpoint; {os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}")
    with EmbeddedRedis() as server, tempfile.TemporaryDirectory() as tmp, optional_cluster(args.cluster) as cluster:
        import redis
        from redis.cluster import RedisCluster

        from service.store.core import Store

        client = redis.Redis.from_url(server.url)
        Store(client).save_account(ACCOUNT)
        extra, redis_pids = {}, {"intake": [server.process.pid]}
        if cluster:
            cluster_client = RedisCluster.from_url(cluster.url)
            Store(cluster_client).save_account(ACCOUNT)
            extra = cluster_endpoints(cluster.url)
            redis_pids.update(dict.fromkeys(extra, [server.process.pid, *(p.pid for p in
                                                                           cluster.processes.values())]))
            for name, rate in cluster_append_rates(cluster.url, body).items():
                print(f"in-process appends over the cluster, {name}: {rate:,.0f}/s")
        script = Path(tmp) / "post.lua"
        script.write_text(LUA % (lua_string(body.decode()), FORM))
        if args.breakdown:
            stages = breakdown(server.url, body)
            print("in-process CPU per call (ms): " + "; ".join(f"{k} {v:.3f}" for k, v in stages.items()))
        rates = redis_append_rate(server.url, body)
        print(f"bare Redis appends (Python loop, one round trip each): XADD {rates['xadd']:,.0f}/s; "
              f"the intake's append {rates['intake_append']:,.0f}/s")
        print(f"{'gunicorn':<14}{'endpoint':<13}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'CPU ms':>9}"
              f"{'non-2xx':>9}{'sock err':>9}{'stored':>9}")
        for setting in args.settings:
            before = client.xlen(account_key(ACCOUNT.id, "inbox"))
            servers = {name: serve(spec, setting, server.url) for name, spec in ENDPOINTS}
            servers.update({name: serve(ENDPOINTS[1][1], setting, server.url, env) for name, env in extra.items()})
            try:
                runs = compare(servers, path, script, args.rounds, args.duration, redis_pids)
            finally:
                for process, _ in servers.values():
                    stop(process)
            results = {name: summary(rows) for name, rows in runs.items()}
            stored = client.xlen(account_key(ACCOUNT.id, "inbox")) - before
            in_flight = 8 * len(runs["intake"])  # wrk drops the answers of requests in flight when it stops
            if not 0 <= stored - results["intake"]["answered_2xx"] <= in_flight:
                print(f"!! {results['intake']['answered_2xx']} deliveries answered 2xx but {stored} stored")
            for name, r in results.items():
                print(f"{setting:<14}{name:<13}{r['rps']:>9,.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                      f"{r['max_ms']:>9.1f}{r['cpu_ms']:>9.3f}{r['non_2xx']:>9}{r['socket_errors']:>9}"
                      f"{stored if name == 'intake' else '-':>9}")
            # Each round's intake run against the bare run just before it: the load of neighbours drifts less.
            ratios = [i["rps"] / b["rps"] for b, i in zip(runs["bare"][1:], runs["intake"][1:])]
            ratio, rounds = statistics.median(ratios), ", ".join(f"{r:.0%}" for r in ratios)
            verdict = "meets" if ratio >= 0.5 and results["intake"]["p99_ms"] <= 20 else "MISSES"
            cpu = results["bare"]["cpu_ms"] / results["intake"]["cpu_ms"]
            print(f"{setting:<14}ratio intake/bare = {ratio:.0%} (median of the rounds: {rounds}; "
                  f"CPU bare/intake {cpu:.0%}); intake p99 = {results['intake']['p99_ms']:.1f} ms "
                  f"-> {verdict} the targets (>= 50 %, p99 <= 20 ms)")
            for name in extra:
                own = statistics.median(c["rps"] / i["rps"] for i, c in zip(runs["intake"][1:], runs[name][1:]))
                print(f"{setting:<14}{name}/intake (one Redis) = {own:.0%} req/s; CPU per request "
                      f"{results[name]['cpu_ms']:.3f} ms vs {results['intake']['cpu_ms']:.3f} ms; "
                      f"p99 {results[name]['p99_ms']:.1f} ms; stored on the cluster: "
                      f"{cluster_client.xlen(account_key(ACCOUNT.id, 'inbox'))} (both cluster endpoints)")
            client.delete(account_key(ACCOUNT.id, "inbox"), account_key(ACCOUNT.id, "drain_pending"))
            client.delete(*client.keys("rq:*") or ["-"])
    print("req/s, p50, p99, CPU: medians of the rounds; max: of all rounds; CPU: ms of gunicorn workers + Redis per "
          "request; stored: inbox entries added (warm-up included)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


@contextlib.contextmanager
def optional_cluster(wanted: bool):
    """An embedded 3 + 3 cluster when asked for, else None."""
    if not wanted:
        yield None
        return
    with EmbeddedCluster(primaries=3, replicas=1) as cluster:
        yield cluster


def cluster_append_rates(cluster_url: str, body: bytes, seconds: float = 3.0) -> dict:
    """The intake's append from Python over the cluster, one delivery at a time: without and with `WAIT 1`."""
    from redis.cluster import RedisCluster

    from service.store.core import Store

    entry = {"body": body, "received_at": "0", "headers": '{"User-Agent": "amoCRM-Webhooks/3.0"}'}
    rates = {}
    for name, replicas in (("append", 0), ("append + WAIT 1", 1)):
        store = Store(RedisCluster.from_url(cluster_url), wait_replicas=replicas)
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            store.append_inbox(999, entry)
            count += 1
        rates[name] = count / (time.perf_counter() - started)
        store.redis.delete(account_key(999, "inbox"))
    return rates


def lua_string(text: str) -> str:
    """A Lua long-bracket string literal holding `text` verbatim."""
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


if __name__ == "__main__":
    main()
