"""The panel's filters (period, pipeline, manager) and the per-manager report, in a real browser."""
from tests.browser.conftest import screenshot, text_of
from tests.browser.test_panel import open_panel

ANNA = 1


def report_users(page):
    return page.locator(".deal-pulse__report tr[data-user]").evaluate_all("rows => rows.map(r => +r.dataset.user)")


def choose(page, name, value, fragment):
    """Pick a filter and wait until the figures on screen answer a query with `fragment`."""
    page.select_option(f'[data-dp-filter="{name}"]', value)
    page.locator(f'#deal-pulse-panel[data-dp-loaded*="{fragment}"]').wait_for(timeout=10_000)


def test_report_lists_every_manager_with_deals_tasks_and_calls(page, harness, scenario):
    open_panel(page, harness)
    report = page.locator('[data-section="report"]')
    assert set(report_users(page)) >= {1, 2, 3}
    head = text_of(report.locator("tr").first)
    assert "Новые" in head and "В работе" in head and "Звонки" in head
    anna = text_of(report.locator(f'tr[data-user="{ANNA}"]'))
    assert anna.startswith("Анна Смирнова")
    screenshot(page, "panel-report-ru", '[data-section="report"]')


def test_choosing_a_manager_filters_the_panel_and_the_report(page, harness, scenario):
    open_panel(page, harness)
    choose(page, "user_id", str(ANNA), f"user_id={ANNA}")
    assert report_users(page) == [ANNA]
    assert page.locator('[data-dp-filter="user_id"]').input_value() == str(ANNA)
    assert page.locator(".deal-pulse__workload-row").count() == 1
    plans = page.locator(".deal-pulse__plan-row").evaluate_all("rows => rows.map(r => +r.dataset.user)")
    assert plans == [ANNA]  # the plans follow the manager chosen, as the workload and the report do
    # requests have no pipeline or manager yet: the section says its figures are the account's, whatever is chosen
    incoming = text_of(page.locator('[data-section="incoming"]'))
    assert "фильтры воронки, менеджера и группы на них не действуют" in incoming
    screenshot(page, "panel-filter-manager")


def test_period_presets_and_custom_days_reach_the_api(page, harness, scenario):
    open_panel(page, harness)
    choose(page, "period", "last_month", "from=")
    assert page.locator('[data-dp-filter="period"]').input_value() == "last_month"
    assert "Прошлый месяц" in text_of(page.locator('[data-dp-filter="period"] option:checked'))
    screenshot(page, "panel-filter-last-month")
    choose(page, "period", "custom", "from=")
    page.locator('[data-dp-filter="from"]').wait_for()
    page.fill('[data-dp-filter="from"]', "2026-01-05")
    page.locator('[data-dp-filter="from"]').dispatch_event("change")
    noon = 1767603600  # 2026-01-05 12:00 in the account's timezone (Moscow): inside the picked day
    page.locator(f'#deal-pulse-panel[data-dp-loaded*="from={noon}"]').wait_for(timeout=10_000)
    assert page.locator('[data-dp-filter="from"]').input_value() == "2026-01-05"
    screenshot(page, "panel-filter-custom")


def test_pipeline_choice_lists_the_accounts_pipelines(page, harness, scenario):
    open_panel(page, harness, lang="en")
    options = page.locator('[data-dp-filter="pipeline_id"] option').all_inner_texts()
    assert options and page.locator('[data-dp-filter="pipeline_id"]').input_value()
    choose(page, "pipeline_id", page.locator('[data-dp-filter="pipeline_id"]').input_value(), "pipeline_id=")
    assert "Report by manager" in text_of(page.locator('[data-section="report"] h2'))
    screenshot(page, "panel-filter-pipeline-en")


def test_a_manager_name_opens_their_deals_that_need_attention(page, harness, scenario):
    open_panel(page, harness)
    page.locator(f'.deal-pulse__report a[data-user="{ANNA}"]').click()
    box = page.locator(".deal-pulse__manager-deals")
    box.locator(".deal-pulse__attention, .deal-pulse__empty").first.wait_for(timeout=10_000)
    assert "Анна Смирнова" in text_of(box.locator("h3"))
    assert box.locator(".deal-pulse__deal").count() >= 1
    screenshot(page, "panel-manager-deals", '[data-section="report"]')


RU_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
             "ноября", "декабря")


def test_a_period_before_the_history_says_where_history_starts_instead_of_zeros(page, harness, scenario, deps):
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    now = int(deps.clock())
    deps.store.save_sync(scenario.id, "history", {"since": now - 60 * 86400})  # synced with 60 days of history
    start = datetime.fromtimestamp(now - 59 * 86400, ZoneInfo(scenario.timezone)).date()  # the first whole day
    named = f"{start.day} {RU_MONTHS[start.month - 1]} {start.year}"
    open_panel(page, harness)
    assert page.locator(".deal-pulse__history").count() == 0  # the last 30 days are whole
    choose(page, "period", "last_90", "from=")
    notice = text_of(page.locator(".deal-pulse__history"))
    assert notice == f"История сделок в Deal Pulse начинается с {named} года: цифры за период — с этого дня."
    assert page.locator(".deal-pulse__funnel, [data-section=\"funnel\"] svg").count() >= 1  # figures still shown
    choose(page, "period", "custom", "from=")
    page.fill('[data-dp-filter="to"]', date.fromordinal(start.toordinal() - 5).isoformat())  # from: 90 days ago
    page.locator('[data-dp-filter="to"]').dispatch_event("change")
    page.locator(".deal-pulse__history").filter(has_text="За этот период цифр нет").wait_for(timeout=10_000)
    for name in ("funnel", "time", "incoming", "report"):
        assert text_of(page.locator(f'[data-section="{name}"] .deal-pulse__section-body')) == \
            f"Неизвестно: история начинается с {named} года."
    screenshot(page, "panel-before-history")
