"""Chaos: a minute of a small account's traffic while our web, workers, clock and Redis are killed (SIGKILL and
SIGTERM) and restarted, and the sandbox drops, duplicates and reorders deliveries. Every acknowledged delivery is applied; after
one reconcile the mirror equals the sandbox field by field, and the cards equal a brand-new install's.
The long version: bench/chaos_bench.py."""
from __future__ import annotations

import pytest

from service.ops.redis_server import EmbeddedRedis
from service.sandbox.generator import generate
from tests.support import chaos


def other_db(url: str) -> str:
    base, _, db = url.rpartition("/")
    return f"{base}/{int(db) + 1}" if db.isdigit() and base.count("/") >= 2 else f"{url.rstrip('/')}/1"


@pytest.fixture
def server(tmp_path):
    """A Redis of this test's own (AOF on): the run kills it."""
    redis = EmbeddedRedis(data_dir=tmp_path / "redis").start()
    yield redis
    redis.stop()


@pytest.mark.long
def test_chaos_then_one_reconcile_leaves_no_mismatch(server, tmp_path, capsys):
    world = generate("small", seed=17, leads=120, managers=4, months=3)
    report = chaos.run(world, server.url, other_db(server.url), chaos.Plan(seconds=60, rate=8), tmp_path,
                       redis_server=server)
    with capsys.disabled():
        print("\nchaos:", *report.lines(), sep="\n  ")
    assert len(report.kills) >= 6 and report.acknowledged > 100
    assert report.stored >= report.acknowledged  # every 2xx was stored (retries and duplicates add stores)
    assert report.left_in_inbox == 0 and report.dead_lettered == 0
    assert report.applied + report.duplicates == report.stored  # every stored delivery applied once in effect
    assert report.after == {}, report.examples_after[:10]
    assert report.cards_compared > 50 and report.card_mismatches == []
