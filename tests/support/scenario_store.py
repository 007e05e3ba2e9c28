"""The insight scenario account (tests/unit/insights/scenario.py) loaded into our store, moved to the present.

The scenario is written relative to a fixed `NOW`; every timestamp is shifted by the same amount so that relative
figures (losses in the last 30 days, time in stage, incoming conversion) stay exactly what the insight tests assert,
while the widget sees fresh data ("updated just now").
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Optional

from service.model import Account, User
from service.recompute import recompute_account, score_forecast
from tests.unit.insights.factories import NOW
from tests.unit.insights.scenario import report_snapshot

MANAGERS = (User(1, "Анна Смирнова", leads_view="M"), User(2, "Борис Петров", leads_view="M"),
            User(3, "Вера Иванова", leads_view="M"))
SUPERVISOR = User(1001, "Ольга Руководитель", is_admin=True)


def _shift(value: Optional[int], offset: int) -> Optional[int]:
    return None if value is None else value + offset


def load_scenario(deps, account: Account, now: Optional[float] = None, supervisor: Optional[User] = None,
                  managers: tuple = MANAGERS, plans: tuple = ()) -> dict:
    """Save the scenario's pipelines, users, leads, history, incoming leads and loss reasons; recompute insights.

    Deals are spread over `managers` round-robin (team figures do not depend on who owns a deal). The forecast is
    scored too (the panel's accuracy figures). Returns the recompute summary.
    """
    snap = report_snapshot()
    offset = int(now if now is not None else deps.clock()) - NOW
    store, account_id = deps.store, account.id
    store.save_account(account)
    store.save_pipelines(account_id, snap.pipelines)
    store.save_users(account_id, [*managers, *([supervisor] if supervisor else [])])
    owners = [m.id for m in managers]
    leads = [replace(lead, responsible_user_id=owners[lead.id % len(owners)],
                     name=f"Сделка №{lead.id}", created_at=lead.created_at + offset,
                     updated_at=lead.updated_at + offset, closed_at=_shift(lead.closed_at, offset),
                     stage_entered_at=lead.stage_entered_at + offset)
             for lead in snap.leads.values()]
    store.save_leads(account_id, leads)
    store.add_timeline(account_id, "history",
                       [replace(change, at=change.at + offset)
                        for changes in snap.history_by_lead.values() for change in changes])
    store.save_records(account_id, "incoming",
                       {item.id: replace(item, created_at=item.created_at + offset) for item in snap.incoming})
    store.save_records(account_id, "loss_reasons", snap.loss_reasons)
    for plan in plans:
        store.save_plan(account_id, plan)
    summary = recompute_account(deps, account_id)
    score_forecast(deps, account_id)
    return summary
