"""Manager summaries and the whole-account recompute."""
import pytest

from service.model import WON, Account, User
from service.insights.forecast import DealOutlook
from service.insights.managers import gap_deals, p_plan_met
from service.insights.plans import Plan, month_key
from service.insights.recompute import deal_hints_for, recompute_account
from service.insights.settings import InsightSettings
from service.insights.snapshot import build_snapshot

from .factories import DAY, NOW, make_call, make_lead, make_pipeline, make_task
from .synthetic import generate_account

TZ = "Europe/Moscow"
SETTINGS = InsightSettings(forecast_sims=200, plan_sims=200)


def small_account():
    won = make_lead(id=1, status_id=WON, price=40_000, user=7, closed_at=NOW - 3600)
    open_big = make_lead(id=2, price=60_000, user=7)
    open_small = make_lead(id=3, price=1_000, user=7)
    other = make_lead(id=4, price=5_000, user=8)
    tasks = [make_task(2, due_in_hours=-30), make_task(4)]
    calls = [make_call(2, days_ago=1, duration=100, user=7), make_call(3, days_ago=2, duration=50, user=7)]
    snap = build_snapshot(Account(1, "t", timezone=TZ), [make_pipeline()], [User(7, "Анна"), User(8, "Борис")],
                          [won, open_big, open_small, other], tasks, calls=calls, contacts_created={7: 5})
    return snap, [Plan(month_key(NOW, TZ), 7, amount=100_000)]


def test_manager_summary_compares_plan_fact_and_pace():
    snap, plans = small_account()
    summary = recompute_account(snap, plans, NOW, SETTINGS).managers[7]
    assert summary.plan.fact_amount == 40_000 and summary.plan.remaining_amount == 60_000
    assert summary.plan.required_daily_amount > 0 and 0 <= summary.p_plan_met <= 1
    assert summary.texts[0]["code"] == "plan" and "40\u00a0000" in summary.texts[0]["text"]["ru"]


def test_manager_hygiene_and_workload_against_the_team():
    snap, plans = small_account()
    summary = recompute_account(snap, plans, NOW, SETTINGS).managers[7]
    assert summary.hygiene["without_tasks"] == {"mine": 1, "team_median": 0.5}  # deal 3 has no task
    assert summary.hygiene["overdue_tasks"]["mine"] == 1
    assert summary.workload["open_deals"] == 2 and summary.workload["team_median_deals"] == 1.5
    assert summary.calls == {"count": 2, "duration": 150, "team_avg_count": 1, "team_avg_duration": 75}
    assert summary.contacts == {"contacts_created": 5, "deals_created": 3}


def test_gap_deals_are_ranked_by_expected_contribution():
    acc = generate_account(600, seed=4)
    snap = build_snapshot(Account(1, "t", timezone=TZ), acc.pipelines, acc.users, acc.leads, history=acc.history)
    result = recompute_account(snap, [], NOW, SETTINGS)
    deals = max((m.gap_deals for m in result.managers.values()), key=len)
    assert deals and [d["expected"] for d in deals] == sorted((d["expected"] for d in deals), reverse=True)


def test_plan_chance_and_gap_deals_do_not_depend_on_the_order_of_the_deals():
    deals = [(100, 0.5), (300, 0.2), (50, 0.9)]
    assert p_plan_met(deals, 150, 200, 0) == p_plan_met(deals[::-1], 150, 200, 0)
    leads = [make_lead(id=i, price=1_000) for i in (5, 3, 4)]
    outlooks = {i: DealOutlook(0.5, (0.5, 0.0, 0.0)) for i in (3, 4, 5)}
    assert [d["lead_id"] for d in gap_deals(leads, outlooks)] == [3, 4, 5]


def test_plan_met_probability_is_certain_when_nothing_is_needed_and_small_when_out_of_reach():
    assert p_plan_met([(100, 0.5)], 0, 100, 1) == 1.0
    assert p_plan_met([(100, 0.5)], 1000, 100, 1) == 0.0
    assert p_plan_met([(100, 0.5)], 100, 2000, 1) == pytest.approx(0.5, abs=0.05)


def test_single_deal_recompute_matches_the_full_recompute():
    acc = generate_account(800, seed=6, activity=True)
    snap = build_snapshot(Account(1, "t"), acc.pipelines, acc.users, acc.leads, acc.tasks, acc.history, acc.calls)
    full = recompute_account(snap, [], NOW, SETTINGS)
    lead_id = next(iter(full.hints))
    assert deal_hints_for(lead_id, snap, full.models, NOW, SETTINGS) == full.hints[lead_id]


def test_a_stuck_deal_whose_card_is_the_silence_still_counts_as_stuck():
    from service.insights.managers import hygiene_table
    from service.model import Hint
    snap, _ = small_account()
    card = Hint("no_activity", "critical", 30, "days", None, {}, {}, {}, NOW, 2,
                reasons=({"code": "no_activity"}, {"code": "stuck_in_stage"}))
    table = hygiene_table({2: [card]}, snap, [7, 8])
    assert table[7]["stuck"] == 1
