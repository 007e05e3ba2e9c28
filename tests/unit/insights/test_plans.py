"""Plans: months in the account's timezone, pace and remainder."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service.model import WON
from service.insights.plans import Plan, month_bounds, month_key, plan_progress, remaining_plans, won_between

from .factories import DAY, make_lead

MSK = "Europe/Moscow"


def ts(*args, tz=MSK):
    return int(datetime(*args, tzinfo=ZoneInfo(tz)).timestamp())


def test_month_boundaries_follow_the_account_timezone():
    # 2025-09-30 22:30 UTC is already October in Moscow (UTC+3)
    moment = int(datetime(2025, 9, 30, 22, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    assert month_key(moment, MSK) == "2025-10" and month_key(moment, "UTC") == "2025-09"
    assert month_bounds(moment, MSK) == (ts(2025, 10, 1), ts(2025, 11, 1))
    assert month_bounds(moment, MSK, offset=3) == (ts(2026, 1, 1), ts(2026, 2, 1))
    assert month_bounds(moment, MSK, offset=-10) == (ts(2024, 12, 1), ts(2025, 1, 1))


def test_plan_progress_gives_remaining_and_required_daily_pace():
    now = ts(2025, 10, 21)  # 20 days gone, 11 left in October
    progress = plan_progress(Plan("2025-10", 7, amount=310_000, count=10), (200_000, 4), now, MSK)
    assert progress.remaining_amount == 110_000 and progress.remaining_count == 6
    assert progress.days_left == 11 and progress.required_daily_amount == pytest.approx(10_000)
    assert progress.actual_daily_amount == pytest.approx(10_000)
    assert progress.projected_amount == pytest.approx(310_000)
    assert progress.share_done == pytest.approx(200 / 310)


def test_plan_already_met_needs_no_more_pace():
    progress = plan_progress(Plan("2025-10", 7, amount=100), (150, 2), ts(2025, 10, 21), MSK)
    assert progress.remaining_amount == 0 and progress.required_daily_amount == 0


def test_fact_counts_only_won_deals_closed_in_the_month():
    start, end = ts(2025, 10, 1), ts(2025, 11, 1)
    leads = [make_lead(status_id=WON, price=100, closed_at=start + DAY, user=7),
             make_lead(status_id=WON, price=50, closed_at=start - 1, user=7),  # September
             make_lead(status_id=WON, price=30, closed_at=start + DAY, user=8),
             make_lead(price=1000, user=7)]
    assert won_between(leads, start, end, 7) == (100, 1)
    assert won_between(leads, start, end) == (130, 2)
    plans = [Plan("2025-10", 7, amount=500), Plan("2025-10", None, amount=9000), Plan("2025-09", 8, amount=1)]
    assert remaining_plans(plans, leads, start + 2 * DAY, MSK) == {7: 400}
