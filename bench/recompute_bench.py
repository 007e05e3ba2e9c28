"""Bench: full insight recompute of a synced sandbox account, reading the mirror from Redis, and one card.

Run: .venv/bin/python bench/recompute_bench.py [small|medium|large ...]
The account is synced from the sandbox with its rate limit lifted (this bench measures recompute, not sync).
Prints: load-from-Redis and compute seconds of the full recompute, one card's recompute time, peak RSS.
Targets (issue 6): medium ≤ 5 s and large ≤ 30 s on one core, peak memory ≤ 1.5 GB, one deal ≤ 5 ms.
"""
from __future__ import annotations

import multiprocessing
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service import bootstrap, recompute, sync  # noqa: E402
from service.amocrm import schemas  # noqa: E402
from service.amocrm.oauth import TokenPair  # noqa: E402
from service.amocrm.tokens import TokenKeeper  # noqa: E402
from service.config import Settings  # noqa: E402
from service.redis_server import EmbeddedRedis  # noqa: E402


def serve_sandbox(size: str, pipe) -> None:
    """Child: a generated account served without a rate limit."""
    import logging
    from werkzeug.serving import make_server
    from service.sandbox.app import create_sandbox_app, sandbox_state
    from service.sandbox.generator import generate
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    world = generate(size, seed=1)
    world.settings["rate_limit"]["per_second"] = 1_000_000
    app = create_sandbox_app(world, start_webhooks=False)
    with sandbox_state(app).tokens.lock:
        pair = sandbox_state(app).tokens.new_pair()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    pipe.send((f"http://127.0.0.1:{server.server_port}", dict(world.account), pair))
    server.serve_forever()


def bench(size: str, redis_url: str) -> None:
    """Sync, then time the full recompute and single cards."""
    parent, child = multiprocessing.Pipe()
    sandbox = multiprocessing.Process(target=serve_sandbox, args=(size, child), daemon=True)
    sandbox.start()
    url, account_doc, pair = parent.recv()
    settings = Settings(redis_url=redis_url, amocrm_api_base=url, amocrm_rps=7, amocrm_global_rps=1_000_000)
    deps = bootstrap.build(settings)
    deps.redis.flushdb()
    account = schemas.make_account({**account_doc, "_embedded": {}}, "https://sandbox.amocrm.ru")
    TokenKeeper(deps.store, settings, None, deps.clock).save(
        account.id, TokenPair(pair["access_token"], pair["refresh_token"], int(time.time()) + 86400))
    deps.store.save_account(account)
    deps.settings = Settings(**{**settings.__dict__, "amocrm_rps": 1_000_000})  # sync as fast as the sandbox goes
    started = time.perf_counter()
    sync.full_sync(deps, account.id)
    print(f"\n[{size}] synced in {time.perf_counter() - started:.1f} s")
    sandbox.terminate()
    summary = recompute.recompute_account(deps, account.id)
    print(f"[{size}] full recompute: {summary['leads']} leads, load {summary['load_seconds']:.2f} s + compute "
          f"{summary['compute_seconds']:.2f} s = {summary['load_seconds'] + summary['compute_seconds']:.2f} s")
    lead_ids = [lead.id for lead in deps.store.all_leads(account.id) if lead.is_open][:200]
    timings = []
    for lead_id in lead_ids:
        t0 = time.perf_counter()
        recompute.recompute_cards(deps, account.id, [lead_id])
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    print(f"[{size}] one card (read mirror + compute + write): median {statistics.median(timings):.2f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))]:.2f} ms over {len(timings)} deals")
    print(f"[{size}] peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    sizes = sys.argv[1:] or ["small", "medium"]
    with EmbeddedRedis() as redis:
        for size in sizes:
            bench(size, redis.url)


if __name__ == "__main__":
    main()
