"""Won-amount forecast for the next 1–3 months (Monte Carlo over open deals plus a run-rate) and its backtest."""
from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, NamedTuple, Optional

from service.model import WON, Lead
from service.insights.markov import ChainModel, WinTiming, chain_model, p_win, quantile
from service.insights.plans import month_bounds, won_between
from service.insights.settings import DAY, InsightSettings
from service.insights.spells import Spell, build_spells

RUN_RATE_DAYS = 90


class OpenDeal(NamedTuple):
    """An open deal as the forecast sees it."""

    lead_id: int
    user_id: int
    price: float
    status_id: int
    entered_at: int


@dataclass(frozen=True)
class DealOutlook:
    """One deal's chance to be won at all and within each forecast month."""

    p_win: float
    by_month: tuple  # P(won inside month 1, 2, 3)


@dataclass(frozen=True)
class Forecast:
    """P10/P50/P90 of won amount per calendar month and cumulatively, with what drives them."""

    as_of: int
    months: list  # [{"start", "end", "won_so_far", "from_open", "from_new", "p10", "p50", "p90"}]
    cumulative: list  # [{"months": k, "end", "p10", "p50", "p90"}]
    deals: dict = field(default_factory=dict)  # lead_id -> DealOutlook
    sims: int = 0


def horizon_days(now: int, edges: list[int]) -> list[int]:
    """Whole days from `now` to each month end (a day counts for the month holding its middle)."""
    return [max(0, round((e - now) / DAY)) for e in edges]


def deal_outlooks(model: ChainModel, deals: Iterable[OpenDeal], now: int, edges: list[int],
                  timing: Optional[WinTiming] = None) -> dict:
    """P(win) from the chain and P(won inside each month) given how long the deal has already sat in its stage."""
    horizons = horizon_days(now, edges)
    timing = timing or WinTiming(model, max(horizons, default=0))
    cache: dict = {}
    out = {}
    for d in deals:
        key = (d.status_id, int(max(0.0, (now - d.entered_at) / DAY)))
        if key not in cache:
            cdf = timing.open_deal(key[0], key[1], horizons)
            cache[key] = DealOutlook(p_win(model, d.status_id), tuple(b - a for a, b in zip([0.0] + cdf, cdf)))
        out[d.lead_id] = cache[key]
    return out


def first_stays(spells: Iterable[Spell], since: int, until: int) -> Counter:
    """status -> number of leads whose first stay began in (since, until] (spells come grouped by lead, in order)."""
    firsts, seen = Counter(), set()
    for s in spells:
        if s.lead_id not in seen:
            seen.add(s.lead_id)
            if since < s.entered_at <= until:
                firsts[s.status_id] += 1
    return firsts


def new_deal_rates(timing: WinTiming, spells: list[Spell], now: int, edges: list[int]) -> list:
    """Expected wins per month from deals not created yet: the last RUN_RATE_DAYS' arrivals per day and first
    status, times P(won by each month end) from that status."""
    firsts = first_stays(spells, now - RUN_RATE_DAYS * DAY, now)
    days = horizon_days(now, edges)
    return [sum(c / RUN_RATE_DAYS * timing.new_deal(s, a, b) for s, c in firsts.items())
            for a, b in zip([0] + days, days)]


def _poisson(lam: float, rng: random.Random) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def simulate(outlooks: Mapping[int, DealOutlook], prices: Mapping[int, float], new_rates: list,
             new_prices: list, sims: int, rng: random.Random) -> list[list[float]]:
    """Per month, `sims` simulated won amounts (each open deal won or not independently per sim; new deals Poisson).

    A deal won with probability p visits only the sims it wins in, jumping geometric gaps between them, so the cost
    follows the expected wins rather than deals x sims (most open deals in a real account are long shots)."""
    months = len(new_rates)
    out = [[0.0] * sims for _ in range(months)]
    rnd, log = rng.random, math.log
    for i, o in outlooks.items():
        cum = _cumulate(o.by_month)
        p, price = cum[-1], prices[i]
        if p <= 0:
            continue
        if p >= 1.0:
            for k in range(sims):
                out[bisect_right(cum, rnd())][k] += price
            continue
        log_miss = math.log1p(-p)  # < 0 for any p > 0; the gap to the next win is geometric
        k = int(log(1.0 - rnd()) / log_miss)
        while k < sims:
            out[bisect_right(cum, rnd() * p)][k] += price
            k += 1 + int(log(1.0 - rnd()) / log_miss)
    for k in range(sims):
        for m, lam in enumerate(new_rates):
            out[m][k] += _draw_prices(new_prices, _poisson(lam, rng), rng)
    return out


def _draw_prices(prices: list, count: int, rng: random.Random) -> float:
    """The sum of `count` prices drawn with replacement: the draws rng.choice makes, without a call per draw."""
    if not prices:
        return 0.0
    n, total, getrandbits = len(prices), 0.0, rng.getrandbits
    bits = n.bit_length()
    for _ in range(count):
        i = getrandbits(bits)
        while i >= n:  # rejection, as Random._randbelow does
            i = getrandbits(bits)
        total += prices[i]
    return total


def _cumulate(values) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


def _band(values: list[float], offset: float = 0.0) -> dict:
    ordered = sorted(values)
    return {q: quantile(ordered, p) + offset for q, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))}


def forecast_from(spells: list[Spell], deals: list[OpenDeal], won_prices: list, won_so_far: float, now: int,
                  tz: str, settings: InsightSettings, months: int = 3) -> Forecast:
    """The forecast core: model from spells, Monte Carlo over `deals`, run-rate from the spells' recent arrivals."""
    # The draws are taken in deal order: sorted, the bands depend on the account, not on how the mirror lists it.
    deals, won_prices = sorted(deals, key=lambda d: d.lead_id), sorted(won_prices)
    bounds = [month_bounds(now, tz, k) for k in range(months)]
    edges = [end for _, end in bounds]
    model = chain_model(spells, now, settings.window_days)
    timing = WinTiming(model, max(horizon_days(now, edges), default=0))
    outlooks = deal_outlooks(model, deals, now, edges, timing)
    rates = new_deal_rates(timing, spells, now, edges)
    sims = simulate(outlooks, {d.lead_id: d.price for d in deals}, rates, won_prices, settings.forecast_sims,
                    random.Random(settings.seed))
    rows = [{"start": s, "end": e, "won_so_far": won_so_far if m == 0 else 0.0,
             "from_open": sum(outlooks[d.lead_id].by_month[m] * d.price for d in deals),
             "from_new": rates[m] * (sum(won_prices) / len(won_prices) if won_prices else 0.0),
             **_band(sims[m], won_so_far if m == 0 else 0.0)} for m, (s, e) in enumerate(bounds)]
    running = [0.0] * settings.forecast_sims
    cumulative = []
    for m in range(months):
        running = [a + b for a, b in zip(running, sims[m])]
        cumulative.append({"months": m + 1, "end": edges[m], **_band(running, won_so_far)})
    return Forecast(now, rows, cumulative, outlooks, settings.forecast_sims)


def open_deals(leads: Iterable[Lead]) -> list[OpenDeal]:
    """Open, non-deleted leads as forecast inputs."""
    return [OpenDeal(l.id, l.responsible_user_id, l.price, l.status_id, l.stage_entered_at or l.created_at)
            for l in leads if l.is_open]


def forecast(leads: Mapping[int, Lead], spells: list[Spell], now: int, tz: str,
             settings: InsightSettings = InsightSettings(), months: int = 3) -> Forecast:
    """The live forecast from the mirror's leads and their spells."""
    start, _ = month_bounds(now, tz)
    since = now - settings.window_days * DAY
    won_prices = [l.price for l in leads.values() if l.status_id == WON and (l.closed_at or 0) > since]
    so_far, _ = won_between(leads.values(), start, now + 1)
    return forecast_from(spells, open_deals(leads.values()), won_prices, so_far, now, tz, settings, months)


@dataclass(frozen=True)
class Backtest:
    """The forecast rebuilt at past month starts from history alone, scored against what happened."""

    months: list  # [{"start", "end", "p10", "p50", "p90", "actual", "inside"}]
    wape: Optional[float]  # sum |actual - P50| / sum actual
    bias: Optional[float]  # sum (P50 - actual) / sum actual; positive means over-forecast
    coverage: Optional[float]  # share of months whose actual fell inside P10–P90


def inputs_as_of(leads: Mapping[int, Lead], history_by_lead: Mapping, as_of: int, window_days: int):
    """(spells, open deals, won prices) using only what was known at `as_of`."""
    spells = build_spells(leads.values(), history_by_lead, as_of=as_of)
    deals = [OpenDeal(s.lead_id, leads[s.lead_id].responsible_user_id, leads[s.lead_id].price, s.status_id,
                      s.entered_at) for s in spells if s.left_at is None]
    since = as_of - window_days * DAY
    won = [leads[s.lead_id].price for s in spells
           if s.next_status_id == WON and s.left_at is not None and since < s.left_at <= as_of]
    return spells, deals, won


def won_in(spells: Iterable[Spell], leads: Mapping[int, Lead], start: int, end: int) -> float:
    """Amount of deals whose move to won happened in [start, end)."""
    return float(sum(leads[s.lead_id].price for s in spells
                     if s.next_status_id == WON and s.left_at is not None and start <= s.left_at < end))


def backtest(leads: Mapping[int, Lead], history_by_lead: Mapping, now: int, tz: str,
             settings: InsightSettings = InsightSettings(), months: int = 6) -> Backtest:
    """Forecast each of the last `months` full months as of its first moment; compare with the actual."""
    full = build_spells(leads.values(), history_by_lead)
    rows = []
    for k in range(months, 0, -1):
        start, end = month_bounds(now, tz, -k)
        spells, deals, won = inputs_as_of(leads, history_by_lead, start, settings.window_days)
        band = forecast_from(spells, deals, won, 0.0, start, tz, settings, months=1).months[0]
        actual = won_in(full, leads, start, end)
        rows.append({"start": start, "end": end, "p10": band["p10"], "p50": band["p50"], "p90": band["p90"],
                     "actual": actual, "inside": band["p10"] <= actual <= band["p90"]})
    return score(rows)


def score(rows: list[dict]) -> Backtest:
    """WAPE, signed bias and P10–P90 coverage of backtest rows."""
    total = sum(r["actual"] for r in rows)
    if not rows:
        return Backtest(rows, None, None, None)
    wape = sum(abs(r["actual"] - r["p50"]) for r in rows) / total if total else None
    bias = sum(r["p50"] - r["actual"] for r in rows) / total if total else None
    return Backtest(rows, wape, bias, sum(r["inside"] for r in rows) / len(rows))
