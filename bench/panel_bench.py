"""Bench: the filtered supervisor panel (GET /api/v1/panel?from=&to=&pipeline_id=&user_id=) and how soon a change
reaches it.

Run: .venv/bin/python bench/panel_bench.py [small|medium|large ...]   (default: medium large)
Each account is synced from the sandbox (rate limit lifted) and recomputed once (which builds the per-day cube).
Then every combination of period preset × pipeline × (everyone, each of up to 10 managers, each group) is asked
through the real Flask endpoint (token checks, rights, JSON), timed server-side from request to response bytes.
Prints p50/p95/max per account, the cube's size and build share, and the change → panel figure: the debounce plus
the measured p95 of the debounced recompute job (fresh_panel.run_recompute) over three runs — the worst case with an
idle worker. Targets (issue 20): p95 ≤ 300 ms (medium), ≤ 1 s (large); change → panel ≤ 60 s.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from service import create_app
from service.services import fresh_panel, sync  # noqa: E402
from service.config import Settings  # noqa: E402
from service.insights.panel_query import periods  # noqa: E402
from service.preview import widget_token  # noqa: E402
from service.ops.redis_server import EmbeddedRedis  # noqa: E402
from sync_bench import connect, start_sandbox  # noqa: E402


def queries(cube: dict) -> list[str]:
    """Every preset × pipeline × (everyone, up to ten managers, every group)."""
    users = [None] + [u["id"] for u in cube["users"]][:10]
    groups = sorted({u["group_id"] for u in cube["users"] if u["group_id"]})
    out = []
    for period in periods(cube["as_of"], cube["timezone"]):
        for pipeline in cube["pipelines"]:
            base = f"?from={period['from']}&to={period['to']}&pipeline_id={pipeline['id']}"
            out += [base + (f"&user_id={u}" if u else "") for u in users]
            out += [base + f"&group_id={g}" for g in groups]
    return out


def percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def bench(size: str, redis_url: str) -> None:
    sandbox, url, account_doc, pair, _ = start_sandbox(size, per_second=1_000_000)
    settings = Settings(redis_url=redis_url, amocrm_api_base=url, amocrm_rps=1_000_000, amocrm_global_rps=1_000_000,
                        api_user_rps=1_000_000)  # one supervisor asking fast: the bench measures answers, not limits
    deps, account = connect(settings, account_doc, pair)
    sync.full_sync(deps, account.id)
    sandbox.terminate()
    account = deps.store.get_account(account.id)
    recomputes = [fresh_panel.run_recompute(deps, account.id) for _ in range(3)]
    seconds = sorted(r["load_seconds"] + r["compute_seconds"] for r in recomputes)
    cube = deps.store.read_insight(account.id, "cube")
    admin = next(u.id for u in deps.store.get_users(account.id).values() if u.is_admin)
    client = create_app(deps=deps).test_client()
    timings = []
    for query in queries(cube) * 2:
        token = widget_token(settings, account, admin, is_admin=True)  # minted outside the timing
        t0 = time.perf_counter()
        reply = client.get(f"/api/v1/panel{query}", headers={"X-Auth-Token": token})
        body = reply.get_data()
        timings.append((time.perf_counter() - t0) * 1000)
        assert reply.status_code == 200, body[:300]
    timings.sort()
    leads = recomputes[-1]["leads"]
    print(f"[{size}] {leads} leads, {len(cube['pipelines'])} pipelines, {len(cube['users'])} users; cube "
          f"{len(json.dumps(cube)) / 1e6:.1f} MB ({sum(len(v) for v in cube.values() if isinstance(v, list))} rows)")
    print(f"[{size}] GET /panel filtered, {len(timings)} requests: p50 {statistics.median(timings):.0f} ms, "
          f"p95 {percentile(timings, 0.95):.0f} ms, max {timings[-1]:.0f} ms")
    print(f"[{size}] change → panel: debounce {fresh_panel.DEBOUNCE} s + recompute p95 {seconds[-1]:.1f} s "
          f"(runs {', '.join(f'{s:.1f}' for s in seconds)} s) = {fresh_panel.DEBOUNCE + seconds[-1]:.1f} s "
          f"with an idle worker")
    print(f"[{size}] load average {' / '.join(f'{a:.1f}' for a in os.getloadavg())}")


def main() -> None:
    with EmbeddedRedis() as redis:
        for size in sys.argv[1:] or ["medium", "large"]:
            bench(size, redis.url)


if __name__ == "__main__":
    main()
