"""Per-lead timelines in one hash per kind: time order, sets (replays add nothing), whole-account reads."""
import random

from service.model import Call, CloseDateChange, StageChange
from service.store.keys import bucket_key


def move(lead_id, at, status, old=None):
    return StageChange(lead_id=lead_id, at=at, pipeline_id=1, status_id=status, old_pipeline_id=1, old_status_id=old)


def test_facts_come_back_per_lead_in_time_order_whatever_order_they_were_written_in(deps, account):
    rng = random.Random(3)
    facts = [move(rng.randrange(5), rng.randrange(50), rng.randrange(4), rng.randrange(3)) for _ in range(300)]
    for start in range(0, len(facts), 37):  # pages, as sync and the inbox drain write them
        deps.store.add_timeline(account.id, "history", facts[start:start + 37])
    got = deps.store.timelines(account.id, "history", range(5))
    for lead_id, changes in got.items():
        assert sorted(changes, key=lambda c: c.at) == changes
        assert set(changes) == {f for f in facts if f.lead_id == lead_id} and len(set(changes)) == len(changes)


def test_replaying_facts_in_any_order_adds_nothing(deps, account):
    facts = [move(7, 100, 2, 1), move(7, 300, 3, 2), move(7, 200, 9, 2)]
    deps.store.add_timeline(account.id, "history", facts)
    before = deps.redis.hgetall(bucket_key(account.id, "timeline", 7, "history"))
    assert before  # the lead's bucket: what a replay must leave byte for byte
    deps.store.add_timeline(account.id, "history", facts[::-1])
    assert deps.redis.hgetall(bucket_key(account.id, "timeline", 7, "history")) == before
    assert [c.at for c in deps.store.timelines(account.id, "history", [7])[7]] == [100, 200, 300]


def test_each_kind_keeps_its_own_facts_and_a_lead_without_any_reads_empty(deps, account):
    deps.store.add_timeline(account.id, "calls", [Call(1, 10, 60, "in", 5), Call(1, 5, 30, "out", 5)])
    deps.store.add_timeline(account.id, "close_dates", [CloseDateChange(1, 20, None, 1000, field_id=3)])
    assert deps.store.timelines(account.id, "calls", [1, 2]) == {1: [Call(1, 5, 30, "out", 5),
                                                                     Call(1, 10, 60, "in", 5)], 2: []}
    assert deps.store.timelines(account.id, "close_dates", [1]) == {1: [CloseDateChange(1, 20, None, 1000, 3)]}
    assert deps.store.timelines(account.id, "history", [1]) == {1: []}


def test_text_that_looks_like_a_field_does_not_confuse_the_time_order(deps, account):
    odd = Call(1, 50, 1, 'in\n"at":1,', 5)  # a newline and a fake key inside a string value
    deps.store.add_timeline(account.id, "calls", [odd, Call(1, 10, 1, "out", 5), Call(1, 90, 1, "out", 5)])
    assert [c.at for c in deps.store.timelines(account.id, "calls", [1])[1]] == [10, 50, 90]
    assert deps.store.timelines(account.id, "calls", [1])[1][1] == odd
