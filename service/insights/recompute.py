"""Whole-account and single-deal recomputation: the two entry points the jobs call."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from service.model import Hint, Lead
from service.insights import cards
from service.insights.cards import deal_hints
from service.insights.cube_shards import full_parts
from service.insights.forecast import Forecast, forecast
from service.insights.funnel import first_entries
from service.insights.managers import manager_summaries, team_baseline
from service.insights.plans import Plan, remaining_plans
from service.insights.settings import DAY, InsightSettings
from service.insights.snapshot import Snapshot, deal_context
from service.insights.spells import build_spells
from service.insights.stages import StageStats, stage_stats_from_spells
from service.insights.team import TeamInsights, team_insights
from service.insights.winrate import WinModel, win_model


@dataclass(frozen=True)
class Models:
    """Account-level models a single deal's hints need; cached between full recomputes."""

    stage_stats: StageStats
    win_model: WinModel
    remaining_plans: dict  # user_id -> amount still to win this month


@dataclass(frozen=True)
class AccountInsights:
    """Everything Deal Pulse shows for one account, as of one moment."""

    as_of: int
    models: Models
    hints: dict  # lead_id -> [Hint] (open deals only)
    managers: dict  # user_id -> ManagerSummary
    team: TeamInsights
    forecast: Forecast
    cube: tuple = ({}, {})  # per-day aggregates the filtered panel adds up: (account part, {shard: lead tables})


def build_models(snap: Snapshot, spells: list, plans: list[Plan], now: int, settings: InsightSettings) -> Models:
    """Stage statistics, the win model and the remaining plans."""
    return Models(stage_stats_from_spells(spells, now, settings), win_model(spells, snap.leads, now, settings),
                  remaining_plans(plans, snap.leads.values(), now, snap.account.timezone))


def deal_hints_for(lead_id: int, snap: Snapshot, models: Models, now: int, settings: InsightSettings,
                   as_of: Optional[int] = None) -> list[Hint]:
    """Recompute one deal's hints after a change (uses the cached models; a few hundred microseconds)."""
    lead = snap.leads.get(lead_id)
    if lead is None or not lead.is_open:
        return []
    ctx = deal_context(lead, snap, models.stage_stats, models.win_model, models.remaining_plans, settings, as_of)
    return deal_hints(lead, ctx, now)


def webhook_only_hints(snap: Snapshot, lead: Lead, now: int, default_days: float) -> list[Hint]:
    """Before the first sync only the stage age and the tasks seen are known: rules that need history wait."""
    if not lead.is_open:
        return []
    ctx = cards.DealContext(StageStats(window_days=180, default_warn_days=default_days,
                                       default_crit_days=default_days * 1.5),
                            tasks=tuple(snap.tasks_by_lead.get(lead.id, ())),
                            stage_name=snap.stage_names.get(lead.status_id, ""))
    return [h for rule in (cards.stuck_in_stage, cards.overdue_task) if (h := rule(lead, ctx, now))]


def recompute_account(snap: Snapshot, plans: list[Plan], now: int, settings: InsightSettings = InsightSettings(),
                      period_days: int = 30, as_of: Optional[int] = None) -> AccountInsights:
    """Full recompute: models, every open deal's hints, the forecast, the team panel and manager summaries."""
    spells = build_spells(snap.leads.values(), snap.history_by_lead)
    models = build_models(snap, spells, plans, now, settings)
    hints = {lead.id: deal_hints_for(lead.id, snap, models, now, settings, as_of)
             for lead in snap.leads.values() if lead.is_open}
    outlook = forecast(snap.leads, spells, now, snap.account.timezone, settings)
    period = (now - period_days * DAY, now)
    entries = first_entries(spells)  # the panel's steps and the managers' baseline share them
    team = team_insights(snap, spells, models.stage_stats, *period, now, entries)
    base = team_baseline(snap, spells, hints, team, entries, now, snap.account.timezone)
    managers = manager_summaries(snap, base, outlook.deals, plans, now, period, settings)
    return AccountInsights(now, models, hints, managers, team, outlook, full_parts(snap, spells, now))
