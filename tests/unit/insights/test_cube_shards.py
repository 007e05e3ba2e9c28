"""The cube in shards: their sum is the whole account's cube, and replacing a shard in the sum keeps it so."""
import random
from dataclasses import replace

from service.model import Account
from service.insights.cube import build_cube
from service.insights.cube_shards import (SHARDS, add_part, assemble, cube_of_parts, empty_sum, full_parts,
                                          shard_of, shard_parts)
from service.insights.snapshot import build_snapshot
from service.insights.spells import build_spells

from .synthetic import NOW, generate_account


def snapshot(seed=7):
    acc = generate_account(900, days=300, seed=seed, activity=True)
    return build_snapshot(Account(1, "t", timezone="Europe/Moscow"), acc.pipelines, acc.users, acc.leads, acc.tasks,
                          history=acc.history, calls=acc.calls)


def spells_of(snap):
    return build_spells(snap.leads.values(), snap.history_by_lead)


def test_the_shards_add_up_to_the_whole_cube():
    snap = snapshot()
    account, shards = full_parts(snap, spells_of(snap), NOW)
    assert sorted(shards) == list(range(SHARDS))
    assert cube_of_parts(account, shards.values()) == build_cube(snap, spells_of(snap), NOW)


def test_replacing_changed_shards_in_the_sum_equals_building_from_scratch():
    rng = random.Random(3)
    snap = snapshot()
    account, shards = full_parts(snap, spells_of(snap), NOW)
    total = empty_sum()
    for part in shards.values():
        add_part(total, part)
    for _ in range(6):
        leads = dict(snap.leads)
        for lead_id in rng.sample(sorted(leads), 25):  # price, manager, status and deletion changes
            lead = leads[lead_id]
            leads[lead_id] = replace(lead, price=rng.randrange(0, 90_000),
                                     responsible_user_id=rng.choice(snap.users).id,
                                     is_deleted=rng.random() < 0.1)
        changed = {shard_of(i) for i in leads if leads[i] != snap.leads[i]}
        snap = replace(snap, leads=leads)
        fresh = shard_parts(snap, spells_of(snap), NOW, only=changed)
        for i in changed:
            add_part(total, shards[i], -1)
            add_part(total, fresh[i])
            shards[i] = fresh[i]
        assert assemble(account, total) == build_cube(snap, spells_of(snap), NOW)
