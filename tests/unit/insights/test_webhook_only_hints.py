"""Cards before the first sync: only the rules that need no history (stage age against the default, overdue tasks)."""
from service.model import WON, Account
from service.insights.recompute import webhook_only_hints
from service.insights.snapshot import build_snapshot

from .factories import NOW, make_lead, make_task


def test_an_open_deal_long_in_its_stage_with_an_overdue_task_gets_both_hints():
    lead = make_lead(in_stage_days=20)
    snap = build_snapshot(Account(1, "a"), leads=[lead], tasks=[make_task(lead.id, due_in_hours=-30)])
    codes = {h.code for h in webhook_only_hints(snap, lead, NOW, default_days=7)}
    assert codes == {"stuck_in_stage", "overdue_task"}


def test_a_fresh_deal_gets_none_and_a_closed_one_none_at_all():
    fresh, won = make_lead(in_stage_days=1), make_lead(in_stage_days=90, status_id=WON)
    snap = build_snapshot(Account(1, "a"), leads=[fresh, won])
    assert webhook_only_hints(snap, fresh, NOW, default_days=7) == []
    assert webhook_only_hints(snap, won, NOW, default_days=7) == []
