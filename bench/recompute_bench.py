"""Bench: full insight recompute of a synced sandbox account, reading the mirror from Redis, and one card.

Run: .venv/bin/python bench/recompute_bench.py [small|medium|large ...]
The account is synced from the sandbox with its rate limit lifted (this bench measures recompute, not sync).
Prints: load-from-Redis and compute seconds of the full recompute, one card's recompute time, peak RSS.
Targets (issue 6): medium ≤ 5 s and large ≤ 30 s on one core, peak memory ≤ 1.5 GB, one deal ≤ 5 ms.
"""
from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from service import recompute, sync  # noqa: E402
from service.config import Settings  # noqa: E402
from service.redis_server import EmbeddedRedis  # noqa: E402
from sync_bench import connect, start_sandbox  # noqa: E402


def bench(size: str, redis_url: str) -> None:
    """Sync, then time the full recompute and single cards."""
    sandbox, url, account_doc, pair, _ = start_sandbox(size, per_second=1_000_000)
    settings = Settings(redis_url=redis_url, amocrm_api_base=url, amocrm_rps=1_000_000,  # as fast as it goes
                        amocrm_global_rps=1_000_000)
    deps, account = connect(settings, account_doc, pair)
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
