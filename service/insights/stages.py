"""Time-in-stage statistics: Kaplan–Meier percentiles per stage and pipeline, and the stuck thresholds."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from service.model import Lead, StageChange, Threshold
from service.insights.settings import DAY, InsightSettings, as_override
from service.insights.spells import Spell, build_spells, group_history

QUANTILES = (0.5, 0.8, 0.95)


@dataclass(frozen=True)
class TimeStats:
    """Time spent in a stage (days): Kaplan–Meier percentiles and the sample behind them."""

    exits: int
    censored: int
    median_days: Optional[float]
    p80_days: Optional[float]
    p95_days: Optional[float]
    current_p80_days: Optional[float] = None  # of the deals still in the stage: their time there so far
    current_p95_days: Optional[float] = None


@dataclass(frozen=True)
class StageStats:
    """Time statistics per (pipeline_id, status_id) and per pipeline, with the fallback rules."""

    window_days: int
    stages: dict = field(default_factory=dict)  # (pipeline_id, status_id) -> TimeStats
    pipelines: dict = field(default_factory=dict)  # pipeline_id -> TimeStats
    min_exits: int = 20
    default_warn_days: float = 14.0
    default_crit_days: float = 21.0


def kaplan_meier(exits: Iterable[float], censored: Iterable[float] = ()) -> list[tuple[float, float]]:
    """The survival curve [(t, S(t))] at each exit time; censored stays are at risk up to their time."""
    exit_times = sorted(exits)
    cens_times = sorted(censored)
    n_exits, n_censored = len(exit_times), len(cens_times)
    at_risk = n_exits + n_censored
    curve, survival, i, j = [], 1.0, 0, 0
    while i < n_exits:
        t = exit_times[i]
        while j < n_censored and cens_times[j] < t:  # censored before t leave the risk set
            at_risk -= 1
            j += 1
        deaths = 0
        while i < n_exits and exit_times[i] == t:
            deaths += 1
            i += 1
        survival *= 1 - deaths / at_risk
        at_risk -= deaths
        curve.append((t, survival))
    return curve


def km_quantile(curve: list[tuple[float, float]], q: float) -> Optional[float]:
    """The first time by which a share q has left; None when censoring hides it."""
    for t, survival in curve:
        if survival <= 1 - q + 1e-12:
            return t
    return None


def empirical_quantile(values: list[float], q: float) -> Optional[float]:
    """The smallest value with at least a share q of `values` at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def time_stats(exits: list[float], censored: list[float]) -> TimeStats:
    """Summarise durations (seconds) as Kaplan–Meier percentiles in days, plus the spread of the current stays."""
    curve = kaplan_meier(exits, censored)
    values = [km_quantile(curve, q) for q in QUANTILES]
    days = [None if v is None else v / DAY for v in values]
    current = [empirical_quantile(censored, q) for q in (0.8, 0.95)]
    return TimeStats(len(exits), len(censored), *days, *(None if v is None else v / DAY for v in current))


def _durations(spells: Iterable[Spell], now: int, window_days: int):
    """Split spells into exit and censored durations per stage, within the look-back window."""
    since = now - window_days * DAY
    exits, censored = defaultdict(list), defaultdict(list)
    for s in spells:
        key = (s.pipeline_id, s.status_id)
        if s.left_at is not None and s.left_at <= now:
            if s.left_at > since:
                exits[key].append(s.left_at - s.entered_at)
        elif s.entered_at <= now:
            censored[key].append(now - s.entered_at)
    return exits, censored


def stage_stats_from_spells(spells: Iterable[Spell], now: int,
                            settings: InsightSettings = InsightSettings()) -> StageStats:
    """Kaplan–Meier time-in-stage per stage and per pipeline (all its stages pooled)."""
    exits, censored = _durations(spells, now, settings.window_days)
    stages, pipe_exits, pipe_cens = {}, defaultdict(list), defaultdict(list)
    for key in set(exits) | set(censored):
        stages[key] = time_stats(exits.get(key, []), censored.get(key, []))
        pipe_exits[key[0]].extend(exits.get(key, []))
        pipe_cens[key[0]].extend(censored.get(key, []))
    pipelines = {p: time_stats(pipe_exits[p], pipe_cens[p]) for p in pipe_exits}
    return StageStats(settings.window_days, stages, pipelines, settings.min_exits,
                      settings.default_warn_days, settings.default_crit_days)


def stage_stats(history: list[StageChange], leads: list[Lead], now: int, window_days: int = 180,
                settings: Optional[InsightSettings] = None) -> StageStats:
    """Stage statistics straight from the stage history and the leads."""
    settings = settings or InsightSettings(window_days=window_days)
    spells = build_spells(leads, group_history(history))
    return stage_stats_from_spells(spells, now, settings)


def _usable(ts: Optional[TimeStats], min_exits: int) -> bool:
    return ts is not None and ts.exits >= min_exits and ts.p80_days is not None and ts.p95_days is not None


def _find_override(overrides: Optional[Mapping], lead: Lead):
    if not overrides:
        return None
    value = overrides.get((lead.pipeline_id, lead.status_id), overrides.get(lead.status_id))
    return None if value is None else as_override(value)


def threshold_for(stats: StageStats, lead: Lead, overrides: Optional[Mapping] = None) -> tuple[Threshold, Threshold]:
    """(warning, critical) limits in days for the lead's stage: override, stage, pipeline, then default."""
    override = _find_override(overrides, lead)
    if override is not None:
        return (Threshold(override.warn_days, "manual setting", "manual"),
                Threshold(override.critical_days, "manual setting", "manual"))
    stage = stats.stages.get((lead.pipeline_id, lead.status_id))
    if _usable(stage, stats.min_exits):
        where = f"exits in the last {stats.window_days} days"
        return (Threshold(stage.p80_days, f"P80 of {stage.exits} {where}", "stage"),
                Threshold(stage.p95_days, f"P95 of {stage.exits} {where}", "stage"))
    if _crowded(stage, stats.min_exits):
        return _current_limits(stats, stage)
    return _fallback(stats, lead, stage.exits if stage else 0)


def _crowded(ts: Optional[TimeStats], min_exits: int) -> bool:
    """Enough deals are in the stage now to compare one of them with the others."""
    return ts is not None and ts.censored >= min_exits and ts.current_p95_days is not None


def _current_limits(stats: StageStats, stage: TimeStats) -> tuple[Threshold, Threshold]:
    """Limits for a stage few deals have left, honest about censoring: the waiting deals' time so far is all that is
    known of their stays, so a deal is compared with exactly that — the deals waiting there now."""
    where = (f"time so far of the {stage.censored} deals still in this stage (only {stage.exits} exits in the "
             f"last {stats.window_days} days)")
    return (Threshold(stage.current_p80_days, f"P80 of the {where}", "stage_current"),
            Threshold(stage.current_p95_days, f"P95 of the {where}", "stage_current"))


def _fallback(stats: StageStats, lead: Lead, stage_exits: int) -> tuple[Threshold, Threshold]:
    """The pipeline's pooled limits, or the default, when the stage has too few exits."""
    pipe = stats.pipelines.get(lead.pipeline_id)
    only = (f"this stage has only {stage_exits} exits" if stage_exits < stats.min_exits
            else f"too many deals are still in this stage to measure it ({stage_exits} exits)")
    if _usable(pipe, stats.min_exits):
        where = f"exits across the pipeline in the last {stats.window_days} days; {only}"
        return (Threshold(pipe.p80_days, f"P80 of {pipe.exits} {where}", "pipeline"),
                Threshold(pipe.p95_days, f"P95 of {pipe.exits} {where}", "pipeline"))
    return (Threshold(stats.default_warn_days, f"default; {only}", "default"),
            Threshold(stats.default_crit_days, f"default; {only}", "default"))


def threshold_evidence(stats: StageStats, lead: Lead) -> dict:
    """The sample sizes behind a threshold, for texts in both languages."""
    stage = stats.stages.get((lead.pipeline_id, lead.status_id))
    pipe = stats.pipelines.get(lead.pipeline_id)
    return {"stage_exits": stage.exits if stage else 0, "stage_current": stage.censored if stage else 0,
            "pipeline_exits": pipe.exits if pipe else 0,
            "window_days": stats.window_days, "min_exits": stats.min_exits}
