"""Random draws as random.Random computes them (CPython 3.11), without its per-call method lookups.

The generator makes millions of draws; each of these takes the generator's bound `random` or `getrandbits`
and returns exactly what the named Random method returns for the same state (tests/sandbox/test_draws.py)."""
from __future__ import annotations

import _random
from math import exp, log
from random import NV_MAGICCONST


def lognormal(random, mu: float, sigma: float) -> float:
    """Random.lognormvariate(mu, sigma): exp of normalvariate's Kinderman–Monahan draw."""
    while True:
        u1 = random()
        u2 = 1.0 - random()
        z = NV_MAGICCONST * (u1 - 0.5) / u2
        if z * z / 4.0 <= -log(u2):
            return exp(mu + z * sigma)


def randbelow(getrandbits, n: int) -> int:
    """Random.randrange(n) for n > 0 (randint(a, b) is a + randbelow(b - a + 1))."""
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def reseed(rng, seed: int):
    """rng in the state random.Random(seed) starts in (an int seed), without making a new generator."""
    _random.Random.seed(rng, seed)
    return rng
