"""Semi-Markov model of the funnel: where deals go from each stage (absorbing chain, smoothed) and how long they
stay there (Kaplan–Meier on a daily grid with a constant-hazard tail), composed into P(won within n days)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional

from service.model import LOST, WON
from service.insights.settings import DAY
from service.insights.spells import Spell

SMOOTHING = 1.0  # pseudo-exits per stage, split between won and lost at the account's close rate
MIN_AT_RISK = 10  # the daily Kaplan–Meier hazard is used while at least this many deals were still in the stage
TAIL_PRIOR = 1.0  # pseudo-exits pulling the tail hazard towards the stage's overall exit rate


@dataclass(frozen=True)
class Sojourn:
    """How long deals stay in one status: daily exit hazards, then a constant hazard for older deals."""

    hazard: tuple = ()  # hazard[j] = P(leave during day j of the stay | still there at its start)
    tail: float = 0.0  # the same for every day past len(hazard)

    def exits(self, age_day: int, days: int) -> list[float]:
        """P(leave during each of the next `days` days | still in the status at day `age_day` of the stay)."""
        out, stay, hazard, known = [], 1.0, self.hazard, len(self.hazard)
        for j in range(age_day, age_day + days):
            h = hazard[j] if j < known else self.tail
            out.append(stay * h)
            stay *= 1.0 - h
        return out


@dataclass(frozen=True)
class ChainModel:
    """Exit destinations and stay lengths per status, P(win) from the absorbing chain."""

    p_win: dict = field(default_factory=dict)  # status_id -> probability of eventually winning
    base_win: float = 0.0  # account close rate, the prior for stages without history
    rows: dict = field(default_factory=dict)  # status_id -> [(next status, probability)], smoothed
    sojourn: dict = field(default_factory=dict)  # status_id -> Sojourn
    default_sojourn: Sojourn = Sojourn()  # for statuses with no stays in the window
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
    return _absorb({s: _smoothed_row(c, base_win, alpha) for s, c in counts.items()}, base_win)


def _absorb(probs: dict[int, list], base_win: float) -> dict[int, float]:
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


def stays(spells: Iterable[Spell], since: int, until: int) -> dict[int, list[tuple[float, bool]]]:
    """status -> (days in it, left?) of every stay that began in (since, until]; open stays are censored at `until`.

    Whole stays from their start, so long stays are not under-sampled (they are censored, not dropped)."""
    out: dict[int, list] = defaultdict(list)
    for s in spells:
        if since < s.entered_at <= until:
            left = s.left_at is not None and s.left_at <= until
            out[s.status_id].append(((((s.left_at if left else until) - s.entered_at) / DAY), left))
    return out


def _rate(observed: list[tuple[float, bool]], start: float) -> tuple[int, float]:
    """(exits, deal-days) of the stays past `start` days."""
    exits = sum(1 for d, left in observed if left and d >= start)
    return exits, sum(d - start for d, _ in observed if d > start)


def sojourn_of(observed: list[tuple[float, bool]], overall_rate: float) -> Sojourn:
    """Kaplan–Meier daily hazards while >= MIN_AT_RISK stays remain, then a constant hazard estimated from the stays
    that went past that point (TAIL_PRIOR pseudo-exits at the stage's overall rate keep it positive and sane)."""
    exits_by_day, at_risk = Counter(), Counter()
    for d, left in observed:
        day = int(d)
        at_risk[day] += 1  # stays that reach day `day` but not day + 1
        if left:
            exits_by_day[day] += 1
    hazard, remaining, day = [], len(observed), 0
    while remaining >= MIN_AT_RISK:
        hazard.append(exits_by_day[day] / remaining)
        remaining -= at_risk[day]
        day += 1
    exits, exposure = _rate(observed, 0.0)
    stage_rate = (exits + TAIL_PRIOR) / (exposure + TAIL_PRIOR / overall_rate) if overall_rate > 0 else 0.0
    tail_exits, tail_exposure = _rate(observed, float(len(hazard)))
    tail = (tail_exits + TAIL_PRIOR) / (tail_exposure + TAIL_PRIOR / stage_rate) if stage_rate > 0 else 0.0
    return Sojourn(tuple(hazard), min(1.0, tail))


def chain_model(spells: list[Spell], now: int, window_days: int = 180) -> ChainModel:
    """Estimate destinations and stay lengths from what happened inside the look-back window only."""
    since = now - window_days * DAY
    counts = transition_counts(spells, since, now)
    base = _close_rate(counts)
    rows = {s: _smoothed_row(c, base, SMOOTHING) for s, c in counts.items()}
    observed = stays(spells, since, now)
    exits, exposure = _rate([o for obs in observed.values() for o in obs], 0.0)
    overall = exits / exposure if exposure else 0.0
    sojourn = {s: sojourn_of(obs, overall) for s, obs in observed.items()}
    return ChainModel(_absorb(rows, base), base, rows, sojourn, Sojourn((), min(1.0, overall)),
                      {s: sum(c.values()) for s, c in counts.items()})


def p_win(model: ChainModel, status_id: int) -> float:
    """Probability that a deal now in `status_id` is eventually won."""
    return model.p_win.get(status_id, model.base_win)


def _row(model: ChainModel, status_id: int) -> list:
    return model.rows.get(status_id) or [(WON, model.base_win), (LOST, 1.0 - model.base_win)]


def _stay(model: ChainModel, status_id: int) -> Sojourn:
    return model.sojourn.get(status_id) or model.default_sojourn


class WinTiming:
    """P(won within n days) for deals entering or sitting in each status, on a daily grid of `days` days.

    A stay's exit is placed mid-day; a deal entering the next status then needs the remaining n - k - 1/2 days,
    read as the mean of the grid values at n - k - 1 and n - k."""

    def __init__(self, model: ChainModel, days: int):
        self.model, self.days = model, days
        statuses = set(model.rows) | set(model.sojourn)
        statuses |= {t for row in model.rows.values() for t, _ in row} - {WON, LOST}
        self.statuses = sorted(statuses)
        self.exits = {s: _stay(model, s).exits(0, days) for s in self.statuses}
        self.entered = {s: [0.0] * (days + 1) for s in self.statuses}  # P(won within n days of entering s)
        self.after = {s: [0.0] * (days + 1) for s in self.statuses}  # P(won within n - 1/2 days of leaving s)
        for n in range(1, days + 1):
            for s in self.statuses:
                self.after[s][n] = self._after(s, n, n - 1)  # provisional: the next statuses' value at n is not in
            for s in self.statuses:
                self.entered[s][n] = self._convolve(self.exits[s], self.after[s], n)
            for s in self.statuses:
                self.after[s][n] = self._after(s, n, n)

    def _after(self, status: int, n: int, upto: int) -> float:
        total = 0.0
        for t, p in _row(self.model, status):
            if t == WON:
                total += p
            elif t != LOST:
                grid = self.entered.get(t)
                total += p * (0.5 * (grid[n - 1] + grid[min(n, upto)]) if grid else self.model.base_win)
        return total

    @staticmethod
    def _convolve(exits: list[float], after: list[float], n: int) -> float:
        return sum(exits[k] * after[n - k] for k in range(n))

    def open_deal(self, status: int, age_day: int, horizons: list[int]) -> list[float]:
        """P(won within each horizon (whole days) | in `status` since `age_day` days)."""
        if status not in self.after:
            return [0.0 for _ in horizons]
        exits = _stay(self.model, status).exits(age_day, max(horizons, default=0))
        after = self.after[status]
        return [self._convolve(exits, after, n) for n in horizons]

    def new_deal(self, status: int, start: int, end: int) -> float:
        """Expected wins in days [start, end) from one deal a day entering `status` from now on (mid-day)."""
        grid = self.entered.get(status)
        if not grid:
            return 0.0
        total = 0.0
        for d in range(min(end, self.days)):
            lo, hi = max(0, start - d), end - d
            total += 0.5 * (grid[hi - 1] + grid[hi]) - (0.5 * (grid[lo - 1] + grid[lo]) if lo > 0 else 0.0)
        return total


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
