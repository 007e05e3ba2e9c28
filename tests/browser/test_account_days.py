"""Every date the widget shows or sends is a day of the account's timezone, whatever the browser's timezone is: a
supervisor whose browser runs in Honolulu (UTC−10) reads a Moscow (UTC+3) account, another in New York reads a
Kamchatka (UTC+12) one."""
import calendar
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from service.insights.plans import month_bounds, month_key
from service.insights.panel_query import periods
from tests.browser.test_panel import open_panel, open_settings
from tests.support.scenario_store import load_scenario

PAIRS = [("Europe/Moscow", "Pacific/Honolulu"), ("Asia/Kamchatka", "America/New_York")]


@pytest.fixture(params=PAIRS, ids=["moscow-in-honolulu", "kamchatka-in-new-york"])
def zones(request, browser, deps, harness_account):
    """(account timezone, a page whose browser runs in another timezone), the scenario loaded in the former."""
    account_tz, browser_tz = request.param
    account = replace(harness_account, timezone=account_tz)
    load_scenario(deps, account)
    context = browser.new_context(viewport={"width": 1000, "height": 700}, timezone_id=browser_tz)
    page = context.new_page()
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == browser_tz
    yield account, page
    context.close()


def local_day(ts, tz):
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).date().isoformat()


def test_forecast_months_are_the_accounts_months(zones, harness, deps):
    account, page = zones
    open_panel(page, harness, lang="en")
    months = deps.store.read_insight(account.id, "forecast")["months"][:3]
    expected = [f"{calendar.month_name[d.month]} {d.year}"
                for d in (datetime.fromtimestamp(m["start"], ZoneInfo(account.timezone)) for m in months)]
    shown = page.locator('[data-section="forecast"] table tr td:first-child').all_inner_texts()
    assert shown == expected  # a month starts at the account's midnight: the browser's day before


def test_custom_days_show_and_send_the_accounts_days(zones, harness, deps):
    account, page = zones
    open_panel(page, harness)
    now = int(deps.clock())
    [last_month] = [p for p in periods(now, account.timezone) if p["code"] == "last_month"]
    page.select_option('[data-dp-filter="period"]', "last_month")
    page.locator(f'#deal-pulse-panel[data-dp-loaded*="from={last_month["from"]}"]').wait_for(timeout=10_000)
    page.select_option('[data-dp-filter="period"]', "custom")
    page.locator('[data-dp-filter="from"]').wait_for(timeout=10_000)
    assert page.locator('[data-dp-filter="from"]').input_value() == local_day(last_month["from"], account.timezone)
    assert page.locator('[data-dp-filter="to"]').input_value() == local_day(last_month["to"] - 1, account.timezone)
    page.fill('[data-dp-filter="from"]', "2026-01-05")
    page.locator('[data-dp-filter="from"]').dispatch_event("change")
    noon = int(datetime(2026, 1, 5, 12, tzinfo=ZoneInfo(account.timezone)).timestamp())
    page.locator(f'#deal-pulse-panel[data-dp-loaded*="from={noon}"]').wait_for(timeout=10_000)
    assert page.locator('[data-dp-filter="from"]').input_value() == "2026-01-05"


def test_the_plan_editor_opens_on_the_accounts_month(zones, harness, deps):
    account, page = zones
    now = int(deps.clock())
    month = month_key(now, account.timezone)
    start, _ = month_bounds(now, account.timezone)
    # The browser's clock at 01:00 on the 1st of the account's month: still the month before in the browser's zone
    page.clock.set_fixed_time(datetime.fromtimestamp(start + 3600, ZoneInfo("UTC")))
    assert page.evaluate("new Date().getMonth() + 1") != date.fromisoformat(month + "-01").month
    open_settings(page, harness)
    page.locator('[data-section="plan-editor"] [data-dp-plan-month]').wait_for(timeout=10_000)
    assert page.locator("[data-dp-plan-month]").input_value() == month
