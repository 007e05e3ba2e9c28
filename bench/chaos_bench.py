"""Chaos, the long run: the sandbox's medium account driven by its simulator while our web, workers, clock and Redis
are killed (SIGKILL and SIGTERM) and restarted, and the sandbox drops, duplicates and reorders deliveries; then the
mirror compared with the sandbox's truth field by field (status, pipeline, responsible, price, closed_at, loss reason,
deleted, open tasks, stage entry, calls) before and after one reconcile, and every card with a fresh install's.

    .venv/bin/python bench/chaos_bench.py [--size medium] [--minutes 10] [--rate 20] [--kill-every 30]

The engine is tests/support/chaos.py (tests/faults/test_chaos.py runs a minute of a small account in `make test`).
Prints the faults injected, deliveries acknowledged / stored / applied, mismatches before and after the reconcile and
the card comparison; exits 1 when an acknowledged delivery went unapplied or a mismatch survived the reconcile.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from service.ops.redis_server import EmbeddedRedis  # noqa: E402
from service.sandbox.generator import generate  # noqa: E402
from tests.support import chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="simulator actions per second")
    parser.add_argument("--kill-every", type=float, default=30.0, help="seconds between kills (in turn)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per sandbox request
    tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}; {args.size} account, "
          f"{args.minutes:g} min at {args.rate:g} actions/s, a kill every {args.kill_every:g} s; logs in {tmp}",
          flush=True)
    started = time.monotonic()
    world = generate(args.size, seed=args.seed)
    print(f"generated {len(world.leads)} leads in {time.monotonic() - started:.0f} s", flush=True)
    plan = chaos.Plan(seconds=args.minutes * 60, rate=args.rate, kill_every=args.kill_every, workers=args.workers,
                      deletes_every=5.0, seed=args.seed)
    with EmbeddedRedis(data_dir=tmp / "redis") as server:
        report = chaos.run(world, server.url, server.url.rsplit("/", 1)[0] + "/1", plan, tmp,
                           say=lambda line: print(line, flush=True), redis_server=server)
    print(*report.lines(), sep="\n")
    print(f"total {time.monotonic() - started:.0f} s; load average after: {os.getloadavg()[0]:.2f}")
    clean = (report.left_in_inbox == 0 and report.applied + report.duplicates + report.dead_lettered == report.stored
             and not set(report.after) - {"stage_entry_before_window"})  # before the sync window: not knowable
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
