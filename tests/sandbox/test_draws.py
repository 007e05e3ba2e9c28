"""The generator's inlined draws give exactly what random.Random's methods give from the same state."""
from __future__ import annotations

import random

from service.sandbox.draws import lognormal, randbelow, reseed


def test_lognormal_is_lognormvariate():
    ours, theirs = random.Random(5), random.Random(5)
    for mu, sigma in [(0, 0.6), (4.6, 0.8), (4.6, 0.6)] * 2000:
        assert lognormal(ours.random, mu, sigma) == theirs.lognormvariate(mu, sigma)
    assert ours.random() == theirs.random()


def test_randbelow_is_randint_from_zero_or_an_offset():
    ours, theirs = random.Random(6), random.Random(6)
    for _ in range(5000):
        assert randbelow(ours.getrandbits, 2) == theirs.randint(0, 1)
        assert 7 + randbelow(ours.getrandbits, 24) == theirs.randint(7, 30)
    assert ours.random() == theirs.random()


def test_reseed_starts_where_a_new_generator_starts():
    rng = random.Random(1)
    for seed in (0, 1, 2 ** 40 + 3, 20_000_001 * 7_919 + 1_733_011_200):
        fresh = random.Random(seed)
        reseed(rng, seed)
        assert [rng.random() for _ in range(5)] == [fresh.random() for _ in range(5)]
