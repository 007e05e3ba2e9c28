"""Bench: a full sync of a sandbox account at amoCRM's real rate limit (7 requests/s in the sandbox).

Run from the repo root: .venv/bin/python bench/sync_bench.py [small|medium|large ...] [--rps 7] [--leads N]
The sandbox runs in a child process, so this process's peak RSS and CPU time are the sync worker's own.
Prints: requests, 429s, elapsed vs the rate-limit bound (requests ÷ 7), entities/s, requests/s, peak RSS, CPU time
and the machine's load average before and after (figures on a shared machine mean little without it).
Targets (issue 4): zero 429s, elapsed ≤ 1.2 × bound, RSS < 1 GB on the large account.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service import bootstrap
from service.services import sync  # noqa: E402
from service.amocrm import schemas  # noqa: E402
from service.amocrm.oauth import TokenPair  # noqa: E402
from service.amocrm.tokens import TokenKeeper  # noqa: E402
from service.config import Settings  # noqa: E402
from service.ops.redis_server import EmbeddedRedis  # noqa: E402

SANDBOX_RPS = 7


def serve_sandbox(size: str, leads, pipe, per_second=None) -> None:
    """Child: generate the account, serve it on a free port, hand back its URL, account and a token pair."""
    import logging
    from werkzeug.serving import make_server
    from service.sandbox.app import create_sandbox_app, sandbox_state
    from service.sandbox.generator import generate
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    world = generate(size, seed=1, leads=leads)
    if per_second:
        world.settings["rate_limit"]["per_second"] = per_second  # lifted when the bench measures something else
    app = create_sandbox_app(world, start_webhooks=False)
    state = sandbox_state(app)
    with state.tokens.lock:
        pair = state.tokens.new_pair()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    counts = {name: len(getattr(world, name)) for name in ("leads", "tasks", "notes", "events", "unsorted")}
    pipe.send((f"http://127.0.0.1:{server.server_port}", dict(world.account), pair, counts))
    server.serve_forever()


def start_sandbox(size: str, leads=None, per_second=None):
    """(process, url, account document, token pair, counts) of a sandbox served by a child process."""
    parent, child = multiprocessing.Pipe()
    sandbox = multiprocessing.Process(target=serve_sandbox, args=(size, leads, child, per_second), daemon=True)
    sandbox.start()
    return (sandbox, *parent.recv())


def connect(settings: Settings, account_doc: dict, pair: dict):
    """Deps over an empty Redis with the sandbox account installed (token pair saved): (deps, account)."""
    deps = bootstrap.build(settings)
    deps.redis.flushdb()
    account = schemas.make_account({**account_doc, "_embedded": {}}, "https://sandbox.amocrm.ru")
    TokenKeeper(deps.store, settings, None, deps.clock).save(
        account.id, TokenPair(pair["access_token"], pair["refresh_token"], int(time.time()) + 86400))
    deps.store.save_account(account)
    return deps, account


def bench(size: str, rps: float, leads, redis_url: str) -> None:
    """Sync one generated account and print the figures."""
    t0 = time.perf_counter()
    sandbox, url, account_doc, pair, counts = start_sandbox(size, leads)
    print(f"\n[{size}] sandbox ready in {time.perf_counter() - t0:.1f} s: {counts}")
    deps, account = connect(Settings(redis_url=redis_url, amocrm_api_base=url, amocrm_rps=rps), account_doc, pair)
    throttled = []
    pause = deps.store.pause_requests
    deps.store.pause_requests = lambda a, ms: (throttled.append(ms), pause(a, ms))
    load_before, cpu_before, start = os.getloadavg(), _cpu_seconds(), time.perf_counter()
    result = sync.full_sync(deps, account.id)
    elapsed = time.perf_counter() - start
    sandbox.terminate()
    report(size, rps, result, elapsed, len(throttled))
    print(f"  sync CPU        {_cpu_seconds() - cpu_before:.1f} s  (worker process, both threads)")
    print(f"  load average    {_load(load_before)} before, {_load(os.getloadavg())} after")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load(averages) -> str:
    return " / ".join(f"{a:.1f}" for a in averages)


def report(size: str, rps: float, result: dict, elapsed: float, throttled: int) -> None:
    """Print the figures of one run."""
    requests, entities = result.get("requests", 0), result.get("entities", 0)
    bound = requests / SANDBOX_RPS
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"[{size}] state={result['state']} at {rps} rps (sandbox allows {SANDBOX_RPS})")
    print(f"  requests        {requests}")
    print(f"  429 answers     {throttled}")
    print(f"  elapsed         {elapsed:.1f} s")
    print(f"  bound           {bound:.1f} s  (requests / {SANDBOX_RPS} rps)")
    print(f"  ratio           {elapsed / bound if bound else 0:.3f}  (target <= 1.2)")
    print(f"  requests/s      {requests / elapsed:.2f}")
    print(f"  entities        {entities}  ({entities / elapsed:.0f}/s)")
    print(f"  peak RSS        {rss_mb:.0f} MB  (sync process; target < 1024)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", default=["medium"])
    parser.add_argument("--rps", type=float, default=Settings().amocrm_rps)
    parser.add_argument("--leads", type=int, default=None, help="override the size's lead count")
    args = parser.parse_args()
    with EmbeddedRedis() as server:
        for size in args.sizes:
            bench(size, args.rps, args.leads, server.url)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
