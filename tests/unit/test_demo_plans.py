"""`make run` gives the demo account plans for the current month, from what its managers have been winning."""
from datetime import datetime
from zoneinfo import ZoneInfo

from service.ops.demo import demo_plans
from service.model import LOST, WON, Lead

TZ = "Europe/Moscow"
NOW = int(datetime(2026, 12, 7, 12, tzinfo=ZoneInfo(TZ)).timestamp())


def won(lead_id, user, price, y, m, d, status=WON):
    closed = int(datetime(y, m, d, 12, tzinfo=ZoneInfo(TZ)).timestamp())
    return Lead(lead_id, 1, status, user, price=price, created_at=closed - 86400, closed_at=closed)


def test_plans_stretch_the_last_three_months_average_and_sum_to_the_accounts():
    leads = [won(1, 7, 100_000, 2026, 9, 10), won(2, 7, 50_000, 2026, 11, 30), won(3, 8, 30_000, 2026, 10, 1),
             won(4, 8, 999_999, 2026, 8, 31),  # before the three months
             won(5, 8, 999_999, 2026, 12, 1),  # this month: not part of the base
             won(6, 9, 500_000, 2026, 10, 5, status=LOST)]
    plans = demo_plans(leads, NOW, TZ)
    by_user = {p["user_id"]: p["amount"] for p in plans}
    assert by_user[7] == 60_000  # 150 000 / 3 × 1.15 = 57 500 → 60 000
    assert by_user[8] == 20_000  # 30 000 / 3 × 1.15 = 11 500 → 20 000
    assert 9 not in by_user and by_user[None] == 80_000
    assert {p["month"] for p in plans} == {"2026-12"}


def test_an_account_without_wins_gets_no_plans():
    assert demo_plans([], NOW, TZ) == []
