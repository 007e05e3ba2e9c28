"""Bench: Redis bytes per 1,000 deals of a synced and recomputed sandbox account, by key family (issue 22).

Run: .venv/bin/python bench/memory_bench.py [small|medium|large ...]   (default: medium large)
Each account is generated (seed 7), synced from the sandbox with its rate limit lifted, and fully recomputed (cards,
team, forecast), as after an install. Then every key of the account is measured with MEMORY USAGE (SAMPLES 0: every
element, exact) and grouped by family (the key name after `acct:{<id>}:`, numbers replaced by <n>). Also prints
used_memory before and after (allocator overhead included). Target: <= 1.7 MB per 1,000 deals on medium.
"""
from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from service.services import recompute, sync  # noqa: E402
from service.config import Settings  # noqa: E402
from service.ops.redis_server import EmbeddedRedis  # noqa: E402
from service.store.keys import account_key  # noqa: E402
from sync_bench import connect, start_sandbox  # noqa: E402

TARGET_MB_PER_1000 = 1.7


def families(client, account_id: int) -> tuple[Counter, Counter]:
    """Bytes and key counts per key family of one account."""
    prefix = account_key(account_id, "")
    sizes, counts = Counter(), Counter()
    for raw in client.scan_iter(match=prefix.replace("{", "\\{").replace("}", "\\}") + "*", count=1000):
        family = re.sub(r"\d+", "<n>", raw.decode()[len(prefix):])
        sizes[family] += client.memory_usage(raw, samples=0) or 0
        counts[family] += 1
    return sizes, counts


def bench(size: str, redis_url: str) -> float:
    """Sync + recompute one account; print its families; return MB per 1,000 deals."""
    sandbox, url, account_doc, pair, counts = start_sandbox(size, per_second=1_000_000)
    settings = Settings(redis_url=redis_url, amocrm_api_base=url, amocrm_rps=1_000_000, amocrm_global_rps=1_000_000)
    deps, account = connect(settings, account_doc, pair)
    before = deps.redis.info("memory")["used_memory"]
    started = time.perf_counter()
    sync.full_sync(deps, account.id)
    sandbox.terminate()
    summary = recompute.recompute_account(deps, account.id)
    deals = summary["leads"]
    used = deps.redis.info("memory")["used_memory"] - before
    sizes, keys = families(deps.redis, account.id)
    total = sum(sizes.values())
    print(f"\n[{size}] {deals} deals, synced + recomputed in {time.perf_counter() - started:.0f} s; "
          f"sandbox counts {counts}")
    print(f"{'family':<28}{'keys':>8}{'MB':>9}{'KB/1000 deals':>15}{'share':>8}")
    for family, nbytes in sizes.most_common(25):
        print(f"{family:<28}{keys[family]:>8}{nbytes / 1e6:>9.2f}{nbytes / deals:>15.1f}{nbytes / total:>8.0%}")
    per_1000 = total / deals * 1000 / 1e6
    print(f"[{size}] MEMORY USAGE total {total / 1e6:.1f} MB = {per_1000:.2f} MB per 1,000 deals; used_memory grew "
          f"{used / 1e6:.1f} MB = {used / deals * 1000 / 1e6:.2f} MB per 1,000 deals"
          + (f" (target <= {TARGET_MB_PER_1000} MB on medium)" if size == "medium" else ""))
    deps.redis.flushdb()
    return per_1000


def main() -> None:
    sizes = sys.argv[1:] or ["medium", "large"]
    print(f"load average before: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with EmbeddedRedis() as server:
        for size in sizes:
            bench(size, server.url)
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
