"""Per-deal hints: each rule of the catalogue turns one open lead and its context into a Hint with its reason."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from service.model import CloseDateChange, Call, Hint, Lead, Task, Threshold
from service.insights import texts
from service.insights.settings import DAY, HOUR, InsightSettings
from service.insights.stages import StageStats, threshold_evidence, threshold_for
from service.insights.winrate import WinModel, win_chance as estimate_win

MIN_WIN_TRIALS = 5  # resolved deals that stayed at least as long as this one, before a chance is shown
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
ONE_CAUSE = ("stuck_in_stage", "no_activity")  # a deal that sits silent in its stage: one alarm, two reasons


@dataclass(frozen=True)
class DealContext:
    """Everything one card needs, precomputed: recomputing a deal reads only this."""

    stage_stats: StageStats
    settings: InsightSettings = field(default_factory=InsightSettings)
    tasks: tuple[Task, ...] = ()
    calls: tuple[Call, ...] = ()
    last_activity_at: Optional[int] = None
    close_date: Optional[int] = None  # the planned close date: the value of the account's chosen date field
    close_date_changes: tuple[CloseDateChange, ...] = ()  # of that field
    timezone: str = "UTC"  # the account's: a planned close date (a day) ends at its local midnight
    win_model: Optional[WinModel] = None
    remaining_plan: Optional[float] = None  # the manager's plan amount still to win this month
    stage_name: str = ""
    as_of: Optional[int] = None  # freshness of the mirror; defaults to now


def make_hint(code: str, severity: str, value: float, unit: str, threshold: Optional[Threshold],
              evidence: dict, lead: Lead, ctx: DealContext, now: int) -> Hint:
    """A Hint whose text and action are generated from its evidence."""
    return Hint(code=code, severity=severity, value=round(value, 2), unit=unit, threshold=threshold,
                evidence=evidence, action=texts.action_text(code, severity), text=texts.hint_text(code, evidence),
                as_of=ctx.as_of if ctx.as_of is not None else now, lead_id=lead.id)


def entered_stage_at(lead: Lead) -> int:
    """When the lead entered its current stage (creation when unknown)."""
    return lead.stage_entered_at or lead.created_at


def stuck_in_stage(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """Longer in the stage than P80 (warning) or P95 (critical) of the stage's own history."""
    days = (now - entered_stage_at(lead)) / DAY
    warn, crit = threshold_for(ctx.stage_stats, lead, ctx.settings.stage_overrides)
    if days <= warn.value:  # "longer than 80 of 100": strictly, or a stage of equal ages would all be stuck
        return None
    critical = days > crit.value
    limit = crit if critical else warn
    evidence = {"stage_name": ctx.stage_name, "days_in_stage": round(days, 1), "limit_days": round(limit.value, 1),
                "warn_days": round(warn.value, 2), "crit_days": round(crit.value, 2),
                "percentile": "P95" if critical else "P80", "source_code": limit.source_code,
                **threshold_evidence(ctx.stage_stats, lead)}
    severity = "critical" if critical else "warning"
    return make_hint("stuck_in_stage", severity, days, "days", limit, evidence, lead, ctx, now)


def no_open_task(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """An open deal with no incomplete task (amoCRM's "deals without tasks")."""
    if any(not t.is_completed for t in ctx.tasks):
        return None
    evidence = {"open_tasks": 0, "completed_tasks": len(ctx.tasks)}
    threshold = Threshold(1, "every open deal needs an open task", "default")
    return make_hint("no_open_task", "warning", 0, "tasks", threshold, evidence, lead, ctx, now)


def overdue_task(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """The most overdue incomplete task; severity grows with hours overdue."""
    overdue = sorted((t for t in ctx.tasks if not t.is_completed and t.complete_till < now),
                     key=lambda t: t.complete_till)
    if not overdue:
        return None
    s = ctx.settings
    hours = (now - overdue[0].complete_till) / HOUR
    severity = ("critical" if hours >= s.overdue_critical_hours
                else "warning" if hours >= s.overdue_warning_hours else "info")
    limit = s.overdue_critical_hours if severity == "critical" else s.overdue_warning_hours
    evidence = {"hours_overdue": round(hours, 1), "overdue_tasks": len(overdue), "task_id": overdue[0].id,
                "task_text": overdue[0].text or f"#{overdue[0].id}", "complete_till": overdue[0].complete_till,
                "timezone": ctx.timezone}
    threshold = Threshold(limit, f"{limit:g} h overdue is {severity}", "default")
    return make_hint("overdue_task", severity, hours, "hours", threshold, evidence, lead, ctx, now)


def no_activity(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """No stage move, completed task, call or note for N days (critical at 2N)."""
    last = ctx.last_activity_at or entered_stage_at(lead)
    days, limit = (now - last) / DAY, ctx.settings.no_activity_days
    if days < limit:
        return None
    severity = "critical" if days >= 2 * limit else "warning"
    evidence = {"days_quiet": round(days, 1), "limit_days": limit, "last_activity_at": last}
    threshold = Threshold(limit, "manual setting" if limit != 7 else "default of 7 days", "default")
    return make_hint("no_activity", severity, days, "days", threshold, evidence, lead, ctx, now)


def close_date_passed(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """The planned close date is behind us and the deal is still open."""
    if ctx.close_date is None:
        return None
    passed_at = close_date_passes_at(ctx.close_date, ctx.settings.close_date_field_type, ctx.timezone)
    if passed_at > now:
        return None
    days = (now - passed_at) / DAY
    limit = ctx.settings.close_date_critical_days
    severity = "critical" if days >= limit else "warning"
    evidence = {"days_past": round(days, 1), "close_date": ctx.close_date}
    threshold = Threshold(limit, f"critical after {limit:g} days past the date", "default")
    return make_hint("close_date_passed", severity, days, "days", threshold, evidence, lead, ctx, now)


def close_date_passes_at(value: int, field_type: str, timezone: str) -> int:
    """When a planned close date is behind us: a date_time at its moment, a date (or birthday) once its day has
    ended in the account's `timezone`."""
    if field_type == "date_time":
        return value
    zone = ZoneInfo(timezone)
    next_day = planned_day(value, zone) + timedelta(days=1)
    return int(datetime.combine(next_day, time(), zone).timestamp())


def planned_day(value: int, zone: ZoneInfo) -> date:
    """The calendar day a date field's value names.

    amoCRM returns a date as the start of its day in the account's timezone; the docs' examples show UTC midnights
    instead, which name the UTC day (west of UTC that is the local day before): both readings are accepted.
    """
    local = datetime.fromtimestamp(value, zone)
    if local.time() != time() and value % DAY == 0:
        return datetime.fromtimestamp(value, ZoneInfo("UTC")).date()
    return local.date()


def close_date_pushed(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """The close date was moved later: once info, twice warning, three times critical."""
    pushes = [c for c in ctx.close_date_changes if c.old is not None and c.new is not None and c.new > c.old]
    if not pushes:
        return None
    pushes.sort(key=lambda c: c.at)
    days = (pushes[-1].new - pushes[0].old) / DAY
    severity = ("info", "warning", "critical")[min(len(pushes), 3) - 1]
    evidence = {"pushes": len(pushes), "days_pushed": round(days, 1), "first_close_date": pushes[0].old,
                "close_date": pushes[-1].new}
    threshold = Threshold(2, "two pushes are a warning, three critical", "default")
    return make_hint("close_date_pushed", severity, len(pushes), "pushes", threshold, evidence, lead, ctx, now)


def win_chance(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """Chance to win from this stage at this age, only where enough resolved deals stayed as long; a warning when
    it is under half the stage's usual. The shown share is the raw one of the counts shown beside it."""
    estimate = estimate_win(ctx.win_model, lead, now) if ctx.win_model else None
    if estimate is None or estimate.rate.trials < MIN_WIN_TRIALS:
        return None  # no comparable deals at this age: say nothing rather than guess
    r, stage = estimate.rate, estimate.stage_rate
    low = r.value < stage.value / 2  # decided on the shrunk rates, so 0 of 5 does not cry wolf on its own
    evidence = {"win_share": round(r.raw, 4), "win_share_shrunk": round(r.value, 4), "wins": r.successes,
                "trials": r.trials, "stage_win_share": round(stage.raw, 4), "stage_wins": stage.successes,
                "stage_trials": stage.trials, "age_days": round(estimate.age_days, 1),
                "bucket_days": estimate.bucket_days, "stage_name": ctx.stage_name}
    threshold = Threshold(round(stage.raw * 100, 1),
                          f"win rate of {stage.trials} resolved deals that passed this stage", "stage")
    return make_hint("win_chance", "warning" if low else "info", r.raw * 100, "%", threshold, evidence,
                     lead, ctx, now)


def plan_impact(lead: Lead, ctx: DealContext, now: int) -> Optional[Hint]:
    """The share of the manager's remaining plan this deal would cover."""
    left = ctx.remaining_plan
    if not left or left <= 0 or lead.price <= 0:
        return None
    share = min(1.0, lead.price / left)
    limit = ctx.settings.plan_impact_warning_share
    severity = "warning" if share >= limit else "info"
    evidence = {"share": round(share, 4), "price": lead.price, "remaining_plan": left}
    threshold = Threshold(limit * 100, f"{limit:.0%} of the remaining plan is a key deal", "default")
    return make_hint("plan_impact", severity, share * 100, "%", threshold, evidence, lead, ctx, now)


RULES = (stuck_in_stage, no_open_task, overdue_task, no_activity, close_date_passed, close_date_pushed,
         win_chance, plan_impact)
CODES = tuple(rule.__name__ for rule in RULES)


def deal_hints(lead: Lead, ctx: DealContext, now: int) -> list[Hint]:
    """All hints for one deal, one per cause; closed or deleted deals get none."""
    if not lead.is_open:
        return []
    return merge_one_cause([hint for rule in RULES if (hint := rule(lead, ctx, now)) is not None])


def merge_one_cause(hints: list[Hint]) -> list[Hint]:
    """Stuck in the stage and no activity describe one silence: keep the more severe as the card (stuck on a tie)
    and put both reasons under it, so the manager gets one alarm with every reason."""
    same = sorted((h for h in hints if h.code in ONE_CAUSE),
                  key=lambda h: (SEVERITY_RANK[h.severity], ONE_CAUSE.index(h.code)))
    if len(same) < 2:
        return hints
    main, other = same
    reasons = tuple(reason_of(h) for h in same)
    card = replace(main, reasons=reasons, action=texts.action_text(main.code, main.severity, (other.code,)))
    return [card if h is main else h for h in hints if h is not other]


def reason_of(hint: Hint) -> dict:
    """One reason under a merged card: what fired, how badly, and why."""
    threshold = None if hint.threshold is None else asdict(hint.threshold)
    return {"code": hint.code, "severity": hint.severity, "value": hint.value, "unit": hint.unit,
            "threshold": threshold, "evidence": hint.evidence, "text": hint.text}
