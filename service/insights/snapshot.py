"""An account's mirror as the core sees it: plain lists indexed once, and the per-deal context built from it."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from service.model import (Account, Call, CloseDateChange, IncomingLead, Lead, Pipeline, StageChange, Task,
                           User)
from service.insights.cards import DealContext
from service.insights.settings import InsightSettings
from service.insights.spells import group_history
from service.insights.stages import StageStats
from service.insights.winrate import WinModel


@dataclass(frozen=True)
class Snapshot:
    """All inputs of one account's insights, grouped by lead for O(1) per-deal work."""

    account: Account
    pipelines: tuple[Pipeline, ...] = ()
    users: tuple[User, ...] = ()
    leads: dict = field(default_factory=dict)  # lead_id -> Lead
    tasks_by_lead: dict = field(default_factory=dict)
    calls_by_lead: dict = field(default_factory=dict)
    history_by_lead: dict = field(default_factory=dict)  # lead_id -> [StageChange] in time order
    close_dates_by_lead: dict = field(default_factory=dict)
    last_note_at: dict = field(default_factory=dict)  # lead_id -> unix seconds of the latest note
    incoming: tuple[IncomingLead, ...] = ()
    loss_reasons: dict = field(default_factory=dict)  # loss_reason_id -> name
    contacts_created: dict = field(default_factory=dict)  # user_id -> contacts created in the period
    stage_names: dict = field(default_factory=dict)  # status_id -> name
    contacts: tuple = ()  # (created_at, responsible_user_id) of contacts seen created, for the manager report


def _group(items: Iterable, key: str) -> dict:
    out = defaultdict(list)
    for item in items:
        out[getattr(item, key)].append(item)
    return dict(out)


def stage_names(pipelines: Iterable[Pipeline]) -> dict[int, str]:
    """status_id -> stage name (won/lost get their usual names)."""
    names = {142: "Успешно реализовано", 143: "Закрыто и не реализовано"}
    for pipeline in pipelines:
        names.update({stage.id: stage.name for stage in pipeline.stages})
    return names


def build_snapshot(account: Account, pipelines: Iterable[Pipeline] = (), users: Iterable[User] = (),
                   leads: Iterable[Lead] = (), tasks: Iterable[Task] = (), history: Iterable[StageChange] = (),
                   calls: Iterable[Call] = (), close_date_changes: Iterable[CloseDateChange] = (),
                   last_note_at: Optional[Mapping[int, int]] = None, incoming: Iterable[IncomingLead] = (),
                   loss_reasons: Optional[Mapping[int, str]] = None,
                   contacts_created: Optional[Mapping[int, int]] = None) -> Snapshot:
    """Index the mirror's lists once; every later computation is a lookup."""
    pipelines = tuple(pipelines)
    return Snapshot(account, pipelines, tuple(users), {lead.id: lead for lead in leads},
                    _group(tasks, "lead_id"), _group(calls, "lead_id"), group_history(history),
                    _group(close_date_changes, "lead_id"), dict(last_note_at or {}), tuple(incoming),
                    dict(loss_reasons or {}), dict(contacts_created or {}), stage_names(pipelines))


def last_activity_at(lead: Lead, snap: Snapshot) -> int:
    """The latest meaningful event: stage move, completed task, call or note (creation at the earliest)."""
    times = [lead.created_at, snap.last_note_at.get(lead.id, 0)]
    times.extend(c.at for c in snap.history_by_lead.get(lead.id, ()))
    times.extend(t.completed_at or t.updated_at for t in snap.tasks_by_lead.get(lead.id, ()) if t.is_completed)
    times.extend(c.at for c in snap.calls_by_lead.get(lead.id, ()))
    return max(times)


def deal_context(lead: Lead, snap: Snapshot, stats: StageStats, win_model: Optional[WinModel],
                 remaining_plans: Mapping[int, float], settings: InsightSettings,
                 as_of: Optional[int] = None) -> DealContext:
    """The DealContext of one lead from the snapshot and the account-level models."""
    field = settings.close_date_field_id  # the mirror keeps every date field: changing the choice needs no sync
    changes = tuple(c for c in snap.close_dates_by_lead.get(lead.id, ()) if c.field_id == field)
    return DealContext(stage_stats=stats, settings=settings, tasks=tuple(snap.tasks_by_lead.get(lead.id, ())),
                       calls=tuple(snap.calls_by_lead.get(lead.id, ())), last_activity_at=last_activity_at(lead, snap),
                       close_date=dict(lead.date_fields).get(field), close_date_changes=changes,
                       timezone=snap.account.timezone,
                       win_model=win_model, remaining_plan=remaining_plans.get(lead.responsible_user_id),
                       stage_name=snap.stage_names.get(lead.status_id, str(lead.status_id)), as_of=as_of)
