"""Absorbing Markov chain over stages, estimated from spells and smoothed, plus time-to-win samples."""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional

from service.model import LOST, WON
from service.insights.settings import DAY
from service.insights.spells import Spell

SMOOTHING = 1.0  # pseudo-exits per stage, split between won and lost at the account's close rate


@dataclass(frozen=True)
class ChainModel:
    """P(win) per status from the absorbing chain, and days from entering a status to winning."""

    p_win: dict = field(default_factory=dict)  # status_id -> probability of eventually winning
    base_win: float = 0.0  # account close rate, the prior for stages without history
    to_win_days: dict = field(default_factory=dict)  # status_id -> sorted days from entering it to the win
    all_to_win_days: tuple = ()
    exits: dict = field(default_factory=dict)  # status_id -> number of observed exits


def transition_counts(spells: Iterable[Spell], since: int, until: int) -> dict[int, Counter]:
    """status -> Counter(next status) for exits in (since, until]."""
    counts: dict[int, Counter] = defaultdict(Counter)
    for s in spells:
        if s.left_at is not None and since < s.left_at <= until and s.next_status_id is not None:
            counts[s.status_id][s.next_status_id] += 1
    return counts


def absorption(counts: dict[int, Counter], base_win: float, alpha: float = SMOOTHING) -> dict[int, float]:
    """Solve x_s = sum_t P(s,t) x_t with x_won = 1, x_lost = 0, by Gauss–Seidel sweeps."""
    probs = {s: _smoothed_row(c, base_win, alpha) for s, c in counts.items()}
    x = {s: base_win for s in probs}
    x[WON], x[LOST] = 1.0, 0.0
    for _ in range(1000):
        delta = 0.0
        for s, row in probs.items():
            new = sum(p * x.get(t, base_win) for t, p in row)
            delta, x[s] = max(delta, abs(new - x[s])), new
        if delta < 1e-10:
            break
    return {s: v for s, v in x.items() if s not in (WON, LOST)}


def _smoothed_row(counter: Counter, base_win: float, alpha: float) -> list[tuple[int, float]]:
    """Observed exits plus `alpha` pseudo-exits straight to won/lost at the base rate."""
    n = sum(counter.values()) + alpha
    row = Counter({t: c / n for t, c in counter.items()})
    row[WON] += alpha * base_win / n
    row[LOST] += alpha * (1 - base_win) / n
    return list(row.items())


def _close_rate(counts: dict[int, Counter]) -> float:
    won = sum(c[WON] for c in counts.values())
    closed = won + sum(c[LOST] for c in counts.values())
    return won / closed if closed else 0.2


def to_win_samples(spells: list[Spell], since: int, until: int) -> dict[int, list[float]]:
    """status -> sorted days from entering it to the lead's win, for wins in (since, until]."""
    won_at = {s.lead_id: s.left_at for s in spells
              if s.next_status_id == WON and s.left_at is not None and since < s.left_at <= until}
    out: dict[int, list[float]] = defaultdict(list)
    for s in spells:
        at = won_at.get(s.lead_id)
        if at is not None and s.entered_at <= at:
            out[s.status_id].append((at - s.entered_at) / DAY)
    for days in out.values():
        days.sort()
    return dict(out)


def chain_model(spells: list[Spell], now: int, window_days: int = 180) -> ChainModel:
    """Estimate the chain and time-to-win from exits inside the look-back window only."""
    since = now - window_days * DAY
    counts = transition_counts(spells, since, now)
    base = _close_rate(counts)
    samples = to_win_samples(spells, since, now)
    pooled = tuple(sorted(d for days in samples.values() for d in days))
    return ChainModel(absorption(counts, base), base, samples, pooled,
                      {s: sum(c.values()) for s, c in counts.items()})


def p_win(model: ChainModel, status_id: int) -> float:
    """Probability that a deal now in `status_id` is eventually won."""
    return model.p_win.get(status_id, model.base_win)


def close_by(model: ChainModel, status_id: int, age_days: float, horizons_days: Iterable[float]) -> list[float]:
    """P(win happens within each horizon | won, already `age_days` in the stage), from the samples."""
    days = model.to_win_days.get(status_id) or model.all_to_win_days
    if not days:
        return [0.0 for _ in horizons_days]
    skip = bisect_right(days, age_days)
    if skip == len(days):  # older than every past win from here: treat the remaining time as fresh
        return [bisect_right(days, h) / len(days) for h in horizons_days]
    left = len(days) - skip
    return [(bisect_right(days, age_days + h) - skip) / left for h in horizons_days]


def new_deal_win(model: ChainModel, first_statuses: Counter) -> float:
    """P(win) of a deal not yet created, mixing the statuses new deals start in."""
    n = sum(first_statuses.values())
    if not n:
        return model.base_win
    return sum(p_win(model, s) * c for s, c in first_statuses.items()) / n


def quantile(sorted_values: list[float], q: float) -> Optional[float]:
    """Empirical quantile (nearest rank) of an already sorted list."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, int(q * len(sorted_values))))]
