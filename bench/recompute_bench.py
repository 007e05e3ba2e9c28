"""Bench: full insight recompute of a synced sandbox account, reading the mirror from Redis, and one card.

Run: .venv/bin/python bench/recompute_bench.py [small|medium|large|scaling|N ...]   (default: medium scaling)
A number N is the large account's profile (50 managers) with N leads; `scaling` is 10000 20000 50000 100000 and
ends with the four totals side by side (time should grow about linearly). Each account is synced from the sandbox
with its rate limit lifted (this bench measures recompute, not sync); syncing 100k leads takes several minutes.
Prints: load-from-Redis and compute seconds of the full recompute with its CPU time, one card's recompute time,
peak RSS, and the machine's load average (the figures mean little on a shared machine without it).
Targets (issue 6): medium ≤ 5 s and large ≤ 30 s on one core, peak memory ≤ 1.5 GB, one deal ≤ 5 ms.
"""
from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from service.services import recompute, sync  # noqa: E402
from service.config import Settings  # noqa: E402
from service.ops.redis_server import EmbeddedRedis  # noqa: E402
from sync_bench import connect, start_sandbox  # noqa: E402

SCALING = ["10000", "20000", "50000", "100000"]


def bench(size: str, redis_url: str) -> float:
    """Sync, then time the full recompute and single cards; return the full recompute's seconds."""
    profile, leads = ("large", int(size)) if size.isdigit() else (size, None)
    sandbox, url, account_doc, pair, _ = start_sandbox(profile, leads=leads, per_second=1_000_000)
    settings = Settings(redis_url=redis_url, amocrm_api_base=url, amocrm_rps=1_000_000,  # as fast as it goes
                        amocrm_global_rps=1_000_000)
    deps, account = connect(settings, account_doc, pair)
    started = time.perf_counter()
    sync.full_sync(deps, account.id)
    print(f"\n[{size}] synced in {time.perf_counter() - started:.1f} s")
    sandbox.terminate()
    load_before, cpu_before = os.getloadavg(), _cpu_seconds()
    summary = recompute.recompute_account(deps, account.id)
    total = summary["load_seconds"] + summary["compute_seconds"]
    print(f"[{size}] full recompute: {summary['leads']} leads, load {summary['load_seconds']:.2f} s + compute "
          f"{summary['compute_seconds']:.2f} s = {total:.2f} s (CPU {_cpu_seconds() - cpu_before:.2f} s; load average "
          f"{_load(load_before)} before, {_load(os.getloadavg())} after)")
    one_card(deps, account.id, size)
    print(f"[{size}] peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return total


def one_card(deps, account_id: int, size: str) -> None:
    """Median and p95 of recomputing one open deal's card (read its part of the mirror, compute, write)."""
    lead_ids = [lead.id for lead in deps.store.all_leads(account_id) if lead.is_open][:200]
    timings = []
    for lead_id in lead_ids:
        t0 = time.perf_counter()
        recompute.recompute_cards(deps, account_id, [lead_id])
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    print(f"[{size}] one card (read mirror + compute + write): median {statistics.median(timings):.2f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))]:.2f} ms over {len(timings)} deals")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load(averages) -> str:
    return " / ".join(f"{a:.1f}" for a in averages)


def main() -> None:
    sizes = [s for arg in sys.argv[1:] or ["medium", "scaling"] for s in (SCALING if arg == "scaling" else [arg])]
    with EmbeddedRedis() as redis:
        totals = {size: bench(size, redis.url) for size in sizes}
    scaled = [size for size in SCALING if size in totals]
    if scaled:
        print("\nscaling (full recompute, large profile): " + ", ".join(
            f"{int(s) // 1000}k leads {totals[s]:.2f} s ({totals[s] / int(s) * 10_000:.2f} s per 10k)" for s in scaled))


if __name__ == "__main__":
    main()
