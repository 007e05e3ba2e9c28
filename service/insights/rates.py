"""Rates on small samples: beta-binomial shrinkage and a ranking key that respects sample size."""
from __future__ import annotations

import math
from dataclasses import dataclass

Z_RANK = 1.645  # one-sided 95%: a rate is ranked by what its own data can support


@dataclass(frozen=True)
class Rate:
    """A rate shown with its sample: raw successes/trials, the shrunk estimate, and a ranking key."""

    successes: int
    trials: int
    value: float  # shrunk estimate in 0..1
    prior: float
    rank_key: float

    @property
    def raw(self) -> float:
        """The unshrunk share (0 when there are no trials)."""
        return self.successes / self.trials if self.trials else 0.0

    def as_dict(self) -> dict:
        """Plain numbers for evidence."""
        return {"successes": self.successes, "trials": self.trials, "rate": round(self.value, 4),
                "raw_rate": round(self.raw, 4), "prior": round(self.prior, 4)}


def shrunk(successes: int, trials: int, prior: float, strength: float = 20.0) -> float:
    """Posterior mean of a Beta(prior*strength, (1-prior)*strength) prior after the observed counts."""
    return (successes + prior * strength) / (trials + strength)


def wilson_lower(successes: int, trials: int, z: float = Z_RANK) -> float:
    """Wilson score lower bound: small samples cannot claim a high rate."""
    if trials == 0:
        return 0.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def posterior_lower(successes: int, trials: int, prior: float, strength: float, z: float = Z_RANK) -> float:
    """Normal approximation of the lower bound of the shrunk Beta posterior."""
    a = successes + prior * strength
    b = trials - successes + (1 - prior) * strength
    n = a + b
    if n <= 0:
        return 0.0
    mean = a / n
    return max(0.0, mean - z * math.sqrt(mean * (1 - mean) / (n + 1)))


def rate(successes: int, trials: int, prior: float, strength: float = 20.0) -> Rate:
    """Shrink toward `prior`; rank by the lower of the posterior and Wilson bounds (2 of 3 < 300 of 1000)."""
    value = shrunk(successes, trials, prior, strength)
    key = min(posterior_lower(successes, trials, prior, strength), wilson_lower(successes, trials))
    return Rate(successes, trials, value, prior, key)


def pooled(pairs) -> float:
    """The pooled share of (successes, trials) pairs, 0 when empty."""
    s = t = 0
    for successes, trials in pairs:
        s += successes
        t += trials
    return s / t if t else 0.0
