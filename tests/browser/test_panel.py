"""The supervisor panel (Stats → Deal Pulse: supervisor panel, a left-menu page) and the admins' page of plans and
settings (advanced_settings) on the insight scenario account: the figures the insight tests assert."""
import json
import re

from service.model import DateField
from tests.browser.conftest import foreign_css, screenshot, text_of

SUPERVISOR = 1001
NEGOTIATION, DECISION = 102, 103


def open_panel(page, harness, lang="ru", user=SUPERVISOR, admin=True):
    """The left-menu page in amoCRM's Stats section: every panel section filled (or an error)."""
    page.goto(f"{harness.url}/?area=widget_page&item=stats&sub=deal_pulse_panel&lang={lang}&user={user}"
              f"&admin={int(admin)}")
    page.wait_for_function("document.querySelector('#deal-pulse-panel') && "
                           "!document.querySelector('#deal-pulse-panel [data-section] .deal-pulse__loading')",
                           timeout=10_000)


def open_settings(page, harness, lang="ru", user=SUPERVISOR, admin=True):
    """The advanced_settings page: plans, thresholds and supervisors."""
    page.goto(f"{harness.url}/?area=advanced_settings&lang={lang}&user={user}&admin={int(admin)}")
    page.locator('[data-section="settings"] .deal-pulse__settings-form, .deal-pulse__error').first.wait_for(
        timeout=10_000)


def test_panel_shows_losses_incoming_and_where_deals_hang(page, harness, scenario):
    open_panel(page, harness)
    places = text_of(page.locator(".deal-pulse__places"))
    assert "«Переговоры»: 19 сделок на сумму 94 000" in places
    assert "«Принимают решение»: медиана 45 дней" in places
    loss = page.locator(f'.deal-pulse__funnel-row[data-status="{NEGOTIATION}"] .deal-pulse__loss-figure')
    assert (loss.get_attribute("data-count"), loss.get_attribute("data-amount")) == ("19", "94000")
    assert text_of(loss) == "−19 · 94 000"
    assert page.locator(".deal-pulse__funnel-row--worst").get_attribute("data-status") == str(NEGOTIATION)
    incoming = page.locator('[data-section="incoming"] .deal-pulse__lead')
    assert text_of(incoming) == "286 заявок → 45 сделок (16%)"
    sources = page.locator(".deal-pulse__source-row").evaluate_all("rows => rows.map(r => r.dataset.source)")
    assert sources == ["forms", "mail", "chats"]
    assert "200 → 35" in text_of(page.locator('.deal-pulse__source-row[data-source="forms"]'))
    hang = page.locator(".deal-pulse__time-row--hang")
    assert hang.get_attribute("data-status") == str(DECISION)
    assert "Принимают решение" in hang.locator("title").first.text_content()
    assert "здесь висят сделки" in text_of(hang)
    assert page.locator(".deal-pulse__workload-row").count() == 3  # the idle admin is no manager
    assert "0 из 100 000" in text_of(page.locator('.deal-pulse__plan-row[data-user="1"]'))
    assert page.locator(".deal-pulse__fan").count() == 1
    accuracy = text_of(page.locator("[data-accuracy]"))  # plain words: how far off, which way, how often inside
    assert "WAPE" not in accuracy and "прогноз ошибался в среднем на" in accuracy and " из " in accuracy
    assert re.fullmatch(r"Потери за период \(\d+ (день|дня|дней)\): \d+ (сделка|сделки|сделок) на сумму [\d ]+\.",
                        text_of(page.locator('[data-section="funnel"] .deal-pulse__lead')))
    workload = page.locator(".deal-pulse__workload-row").evaluate_all("rows => rows.map(r => r.textContent)")
    # «192 задачи», never «192 задач»
    assert all(re.search(r"\d (сделка|сделки|сделок) · \d+ (задача|задачи|задач)$", row) for row in workload), workload
    times = text_of(page.locator('[data-section="time"]'))
    assert "обычно " in times and "8 из 10 — " in times and "P80" not in times and "вых." not in times
    assert page.locator('[data-section="usefulness"] tr[data-rule="stuck_in_stage"]').count() == 1
    assert page.locator('.deal-pulse__sync [data-state]').count() == 1
    assert foreign_css(page) == []
    screenshot(page, "panel-ru")


def test_panel_in_english(page, harness, scenario):
    open_panel(page, harness, lang="en")
    assert text_of(page.locator('[data-section="incoming"] .deal-pulse__lead')) == "286 requests → 45 deals (16%)"
    assert "“Переговоры”: 19 deals worth 94,000" in text_of(page.locator(".deal-pulse__places"))
    assert text_of(page.locator(f'.deal-pulse__funnel-row[data-status="{NEGOTIATION}"] .deal-pulse__loss-figure')) \
        == "−19 · 94,000"
    screenshot(page, "panel-en")


def test_plan_edit_round_trip(page, harness, scenario, deps):
    open_settings(page, harness)
    editor = page.locator('[data-section="plan-editor"]')
    amount = editor.locator('input[data-kind="amount"][data-user="3"]')
    assert amount.input_value() == ""
    assert editor.locator('input[data-kind="amount"][data-user="1"]').input_value() == "100000"
    amount.fill("150000")
    editor.locator('input[data-kind="count"][data-user="3"]').fill("6")
    editor.locator('[data-dp-action="save-plans"]').click()
    page.wait_for_function("document.querySelector('[data-section=\"plan-editor\"] .deal-pulse__status')"
                           ".textContent === 'Сохранено'", timeout=5_000)
    stored = {p["user_id"]: p for p in deps.store.read_plans(scenario.id)}
    assert (stored[3]["amount"], stored[3]["count"]) == (150000, 6) and stored[1]["amount"] == 100000
    screenshot(page, "panel-plan-saved", '[data-section="plan-editor"]')
    open_settings(page, harness)
    assert page.locator('[data-section="plan-editor"] input[data-kind="amount"][data-user="3"]').input_value() \
        == "150000"


CLOSE_FIELD, CALL_FIELD = 957903, 957905  # the account's lead date fields, as the sync stores them


def test_settings_round_trip(page, harness, scenario, deps):
    deps.store.save_records(scenario.id, "date_fields", {
        CLOSE_FIELD: DateField(CLOSE_FIELD, "Планируемая дата закрытия", "date"),
        CALL_FIELD: DateField(CALL_FIELD, "Созвон с клиентом", "date_time")})
    open_settings(page, harness)
    form = page.locator(".deal-pulse__settings-form")
    close_field = form.locator('select[name="close_date_field"]')
    assert close_field.locator("option").all_inner_texts() == [
        "не выбрано", "Планируемая дата закрытия", "Созвон с клиентом (дата и время)"]
    assert close_field.input_value() == ""  # none chosen yet
    close_field.select_option(label="Планируемая дата закрытия")
    form.locator('[name="no_activity_days"]').fill("5")
    form.locator(f'input[data-stage="{DECISION}"][data-kind="warn_days"]').fill("30")
    form.locator('input[name="supervisor"][value="2"]').check()
    form.locator('[data-dp-action="save-settings"]').click()
    page.wait_for_function("document.querySelector('[data-section=\"settings\"] .deal-pulse__status')"
                           ".textContent === 'Сохранено'", timeout=5_000)
    assert form.locator("input[type=checkbox][disabled]").count() == 1  # the admin is a supervisor anyway
    saved = deps.store.read_insight(scenario.id, "settings")
    assert saved["no_activity_days"] == 5 and saved["supervisor_ids"] == [2]
    assert saved["stage_overrides"] == {str(DECISION): {"warn_days": 30, "crit_days": None}}
    assert saved["close_date_field_id"] == CLOSE_FIELD
    screenshot(page, "panel-settings", '[data-section="settings"]')
    open_settings(page, harness, lang="en")  # the choice comes back selected, by name, in either language
    close_field = page.locator('.deal-pulse__settings-form select[name="close_date_field"]')
    assert close_field.input_value() == str(CLOSE_FIELD)
    assert close_field.locator("option").all_inner_texts()[0] == "not chosen"
    assert close_field.locator("option:checked").inner_text() == "Планируемая дата закрытия"


def test_a_close_date_field_missing_from_the_synced_ones_stays_chosen_until_changed(page, harness, scenario, deps):
    deps.store.save_records(scenario.id, "date_fields", {CALL_FIELD: DateField(CALL_FIELD, "Созвон", "date_time")})
    deps.store.save_insight(scenario.id, "settings", {"close_date_field_id": CLOSE_FIELD})  # typed in by id
    open_settings(page, harness)
    close_field = page.locator('.deal-pulse__settings-form select[name="close_date_field"]')
    assert close_field.input_value() == str(CLOSE_FIELD)
    assert close_field.locator("option:checked").inner_text() == f"поле {CLOSE_FIELD} (нет среди полей сделок)"
    page.locator('[data-dp-action="save-settings"]').click()  # saving other settings keeps it
    page.wait_for_function("document.querySelector('[data-section=\"settings\"] .deal-pulse__status')"
                           ".textContent === 'Сохранено'", timeout=5_000)
    assert deps.store.read_insight(scenario.id, "settings")["close_date_field_id"] == CLOSE_FIELD


def test_panel_is_for_supervisors_only(page, harness, scenario):
    open_panel(page, harness, user=1, admin=False)
    assert "только руководителям" in page.locator(".deal-pulse__error").inner_text()


def test_panel_shows_an_error_when_the_api_is_down(page, harness, api_server):
    api_server.stop()
    open_panel(page, harness)
    assert "Нет связи с сервером" in page.locator(".deal-pulse__error").inner_text()
    screenshot(page, "panel-error")


def test_sync_progress_bar_follows_a_running_sync(page, harness, scenario, deps):
    now = int(deps.clock())
    deps.store.save_sync(scenario.id, "progress", {
        "kind": "full", "state": "running", "started_at": now - 60, "run_started_at": now - 60, "run_pages": 8,
        "updated_at": now, "requests": 9, "steps": {"leads": {"pages_done": 8, "pages_total": 20, "entities": 2000}}})
    open_panel(page, harness)
    sync = page.locator(".deal-pulse__sync")
    assert sync.locator("[data-state]").get_attribute("data-percent") == "40"
    assert text_of(sync).startswith("Синхронизация: 40% · записей 2 000")
    width = sync.locator(".deal-pulse__progress-fill").get_attribute("width")
    assert float(width) == 120.0  # 40% of the 300-unit track
    screenshot(page, "panel-sync", ".deal-pulse__header")


def test_a_chosen_supervisor_tunes_thresholds_but_sees_supervisors_read_only(page, harness, scenario, deps):
    deps.store.save_insight(scenario.id, "settings", {"supervisor_ids": [2]})
    open_settings(page, harness, user=2, admin=False)
    form = page.locator(".deal-pulse__settings-form")
    assert form.locator('input[name="supervisor"]:enabled').count() == 0  # only an account admin chooses them
    assert form.locator('input[name="supervisor"][value="2"]').is_checked()
    assert "выбирает администратор" in text_of(page.locator('[data-section="settings"] .deal-pulse__legend'))
    form.locator('[name="no_activity_days"]').fill("4")
    form.locator('[data-dp-action="save-settings"]').click()
    page.wait_for_function("document.querySelector('[data-section=\"settings\"] .deal-pulse__status')"
                           ".textContent === 'Сохранено'", timeout=5_000)
    saved = deps.store.read_insight(scenario.id, "settings")
    assert saved["no_activity_days"] == 4 and saved["supervisor_ids"] == [2]


def test_a_supervisor_sees_the_panel_through_their_amocrm_stage_rights(page, harness, scenario, deps):
    from dataclasses import replace

    [pipeline] = [p for p in deps.store.get_pipelines(scenario.id) if any(s.id == NEGOTIATION for s in p.stages)]
    boris = deps.store.get_users(scenario.id)[2]
    deps.store.save_users(scenario.id, [replace(boris, leads_view="A",  # all deals but the stage hidden
                                                stage_views=((pipeline.id, NEGOTIATION, "D"),))])
    deps.store.save_insight(scenario.id, "settings", {"supervisor_ids": [2]})
    open_panel(page, harness, user=2, admin=False)
    assert page.locator(f'.deal-pulse__funnel-row[data-status="{NEGOTIATION}"]').count() == 0  # hidden from him
    assert page.locator(f'.deal-pulse__funnel-row[data-status="{DECISION}"]').count() == 1
    places = text_of(page.locator(".deal-pulse__places-slot"))
    assert "«Переговоры»" not in places
    assert "переход «Первичный контакт» → «Принимают решение»" not in places  # that was the step into Переговоры
    assert text_of(page.locator('[data-section="forecast"] .deal-pulse__section-body')).startswith(
        "Прогноз складывается из всех сделок аккаунта")
    assert "ваши права в amoCRM скрывают" in text_of(page.locator('[data-section="plans"]'))
    screenshot(page, "panel-restricted-supervisor")


def test_a_chosen_supervisor_with_own_deals_rights_sees_only_their_own_figures(page, harness, scenario, deps):
    """Boris is chosen in the settings but amoCRM shows him his own deals only (M): the panel counts his deals."""
    deps.store.save_insight(scenario.id, "settings", {"supervisor_ids": [2]})
    his = [lead for lead in deps.store.all_leads(scenario.id)
           if lead.is_open and lead.status_id == DECISION and lead.responsible_user_id == 2]
    everyone = [lead for lead in deps.store.all_leads(scenario.id) if lead.is_open and lead.status_id == DECISION]
    assert 0 < len(his) < len(everyone)  # by hand from the mirror: his share of «Принимают решение»
    open_panel(page, harness, user=2, admin=False)
    row = text_of(page.locator(f'.deal-pulse__funnel-row[data-status="{DECISION}"]'))
    assert f"{len(his)} · {sum(lead.price for lead in his):,}".replace(",", " ") in row
    assert page.locator('select[data-dp-filter="user_id"] option').count() == 2  # everyone = him, and him
    assert text_of(page.locator('[data-section="incoming"] .deal-pulse__section-body')).startswith(
        "Входящие заявки ещё не закреплены за менеджерами")
    assert text_of(page.locator('[data-section="forecast"] .deal-pulse__section-body')).startswith(
        "Прогноз складывается из всех сделок аккаунта")
    open_panel(page, harness, lang="en", user=2, admin=False)
    assert text_of(page.locator('[data-section="incoming"] .deal-pulse__section-body')).startswith(
        "Incoming leads belong to no manager yet")


def test_stage_limits_are_grouped_under_their_pipelines(page, harness, scenario):
    """Stages of several pipelines carry the pipeline's name above them (three «Неразобранное» said nothing)."""
    def two_pipelines(route):
        if route.request.method != "GET":
            return route.continue_()
        answer = route.fetch()
        body = answer.json()
        first = body["stages"][0]
        body["stages"].append({**first, "pipeline_id": 999, "pipeline_name": "Тендеры", "status_id": 99901})
        return route.fulfill(response=answer, json=body)

    page.route("**/api/v1/settings*", two_pipelines)
    open_settings(page, harness)
    rows = page.locator(".deal-pulse__settings-form .deal-pulse__pipeline-row")
    assert rows.count() == 2 and text_of(rows.nth(1)) == "Воронка «Тендеры»"
    assert page.locator('.deal-pulse__pipeline-row[data-pipeline="999"] + tr[data-stage="99901"]').count() == 1
