"""The screenshot account (tests/support/report_screenshots.py) loaded into our store as a sync would leave it.

The account is expanded at the present moment, so the relative figures the insight tests assert (losses in the last
30 days, time in stage, incoming conversion) hold exactly while the widget sees fresh data ("updated just now").
"""
from __future__ import annotations

from typing import Optional

from service.model import Account
from service.services.recompute import recompute_account, score_forecast
from tests.support.report_screenshots import report_account, synced_snapshot


def load_scenario(deps, account: Account, now: Optional[float] = None, plans: tuple = ()) -> dict:
    """Save the account's pipelines, users, leads, history, incoming requests and loss reasons; recompute insights.

    The forecast is scored too (the panel's accuracy figures). Returns the recompute summary.
    """
    snap = synced_snapshot(report_account(int(now if now is not None else deps.clock())))
    store, account_id = deps.store, account.id
    store.save_account(account)
    store.save_pipelines(account_id, snap.pipelines)
    store.save_users(account_id, snap.users)
    store.save_leads(account_id, list(snap.leads.values()))
    store.add_timeline(account_id, "history", [change for changes in snap.history_by_lead.values()
                                               for change in changes])
    store.save_records(account_id, "incoming", {item.id: item for item in snap.incoming})
    store.save_records(account_id, "loss_reasons", snap.loss_reasons)
    # Its open deals were answered five minutes after they came in: no first-contact hint on their cards, whatever
    # the weekday and hour the tests run at (working hours)
    store.first_contact.add_touches(account_id, {
        lead.id: {f"call:{lead.responsible_user_id}": lead.created_at + 300}
        for lead in snap.leads.values() if lead.is_open and lead.responsible_user_id})
    for plan in plans:
        store.save_plan(account_id, plan)
    summary = recompute_account(deps, account_id)
    score_forecast(deps, account_id)
    return summary
