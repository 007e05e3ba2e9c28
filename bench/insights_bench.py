"""Bench: full-account recompute for 10k/20k/50k/100k leads (~10 events each) and one-deal recompute.

Run from the repo root: .venv/bin/python bench/insights_bench.py [sizes...]
Prints figures only; targets: 20k <= 5 s, 100k <= 30 s on one core, one deal <= 5 ms.
"""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.model import Account  # noqa: E402
from service.insights.forecast import backtest  # noqa: E402
from service.insights.plans import Plan, month_key  # noqa: E402
from service.insights.recompute import deal_hints_for, recompute_account  # noqa: E402
from service.insights.settings import InsightSettings  # noqa: E402
from service.insights.snapshot import build_snapshot  # noqa: E402
from tests.unit.insights.synthetic import NOW, generate_account  # noqa: E402

SETTINGS = InsightSettings()


def bench(n: int) -> None:
    """Generate, then time snapshot, full recompute, one-deal recompute and the backtest."""
    acc = generate_account(n, days=365, seed=n, users=max(5, n // 1000), activity=True,
                           pace=6.0)  # slow deals: about a fifth stay open, as in real accounts
    events = len(acc.history) + len(acc.tasks) + len(acc.calls)
    t0 = time.perf_counter()
    snap = build_snapshot(Account(1, "bench"), acc.pipelines, acc.users, acc.leads, acc.tasks, acc.history,
                          acc.calls)
    t1 = time.perf_counter()
    plans = [Plan(month_key(NOW, "Europe/Moscow"), u.id, amount=500_000) for u in acc.users]
    result = recompute_account(snap, plans, NOW, SETTINGS)
    t2 = time.perf_counter()
    ids = list(result.hints)[:500]
    for lead_id in ids:
        deal_hints_for(lead_id, snap, result.models, NOW, SETTINGS)
    t3 = time.perf_counter()
    backtest(snap.leads, snap.history_by_lead, NOW, "Europe/Moscow", InsightSettings(forecast_sims=300))
    t4 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n:>7} leads {events:>9} events {len(result.hints):>6} open | index {t1 - t0:5.2f} s | "
          f"full recompute {t2 - t1:6.2f} s | one deal {(t3 - t2) / len(ids) * 1000:5.3f} ms | "
          f"backtest(6 mo) {t4 - t3:6.2f} s | peak RSS {peak:6.0f} MB", flush=True)


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [10_000, 20_000, 50_000, 100_000]:
        bench(size)
