"""Chance of winning from a stage at a given age, from the account's resolved deals, shrunk by sample size."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from service.model import CLOSED_STATUSES, WON, Lead
from service.insights.rates import Rate, rate
from service.insights.settings import DAY, InsightSettings
from service.insights.spells import Spell

AGE_BUCKETS_DAYS = (0, 3, 7, 14, 30, 60, 90)


@dataclass(frozen=True)
class WinModel:
    """Won/resolved counts per stage and age bucket (spells that lasted at least the bucket's age)."""

    stages: dict = field(default_factory=dict)  # (pipeline_id, status_id) -> [[wins, trials] per bucket]
    pipelines: dict = field(default_factory=dict)  # pipeline_id -> [wins, trials]
    account: tuple = (0, 0)
    strength: float = 20.0
    window_days: int = 180


@dataclass(frozen=True)
class WinEstimate:
    """P(win) of one deal from its stage at its age, with the sample it rests on."""

    rate: Rate  # shrunk toward the stage's overall rate
    stage_rate: Rate
    age_days: float
    bucket_days: int


def _resolved(leads_by_id: Mapping[int, Lead], now: int, window_days: int) -> dict[int, bool]:
    """lead_id -> won, for leads closed inside the window."""
    since = now - window_days * DAY
    out = {}
    for lead in leads_by_id.values():
        closed = lead.closed_at or lead.updated_at
        if lead.status_id in CLOSED_STATUSES and since < closed <= now and not lead.is_deleted:
            out[lead.id] = lead.status_id == WON
    return out


def win_model(spells: Iterable[Spell], leads_by_id: Mapping[int, Lead], now: int,
              settings: InsightSettings = InsightSettings()) -> WinModel:
    """Count, per stage and age bucket, how many resolved deals that stayed that long were won."""
    outcome = _resolved(leads_by_id, now, settings.window_days)
    stages: dict = {}
    pipelines: dict = {}
    for s in spells:
        won = outcome.get(s.lead_id)
        if won is None or s.left_at is None:
            continue
        counts = stages.get((s.pipeline_id, s.status_id))
        if counts is None:
            counts = stages[(s.pipeline_id, s.status_id)] = [[0, 0] for _ in AGE_BUCKETS_DAYS]
        last = bisect_right(AGE_BUCKETS_DAYS, (s.left_at - s.entered_at) / DAY)
        for bucket in counts[:last]:
            bucket[0] += won
            bucket[1] += 1
    for lead_id, won in outcome.items():
        lead = leads_by_id[lead_id]
        pair = pipelines.setdefault(lead.pipeline_id, [0, 0])
        pair[0] += won
        pair[1] += 1
    total = (sum(p[0] for p in pipelines.values()), sum(p[1] for p in pipelines.values()))
    return WinModel(stages, pipelines, total, settings.prior_strength, settings.window_days)


def win_chance(model: WinModel, lead: Lead, now: int) -> Optional[WinEstimate]:
    """Chance that this open deal is won, given its stage and days in it; None without any history."""
    if not model.account[1]:
        return None
    k = model.strength
    account_p = model.account[0] / model.account[1]
    pipe = model.pipelines.get(lead.pipeline_id, (0, 0))
    pipe_p = rate(pipe[0], pipe[1], account_p, k).value
    counts = model.stages.get((lead.pipeline_id, lead.status_id), [[0, 0]] * len(AGE_BUCKETS_DAYS))
    stage = rate(counts[0][0], counts[0][1], pipe_p, k)
    age = max(0.0, (now - (lead.stage_entered_at or lead.created_at)) / DAY)
    index = bisect_right(AGE_BUCKETS_DAYS, age) - 1
    wins, trials = counts[index]
    return WinEstimate(rate(wins, trials, stage.value, k), stage, age, AGE_BUCKETS_DAYS[index])
