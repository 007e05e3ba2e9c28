"""Speed to lead in the browser: the waiting client's hint on the card and the panel section, in Russian and English."""
from __future__ import annotations

from service.services import first_contacts
from service.model import Lead
from service.services.recompute import recompute_account
from tests.browser.conftest import screenshot, text_of

MANAGER, SUPERVISOR = 1, 1001
WAITING, TELEGRAM = 9001, 9002


def add_first_contacts(deps, account):
    """Touches on the scenario's closed deals (wins answered faster), and two new deals nobody has answered."""
    now = int(deps.clock())
    deps.store.save_insight(account.id, "settings", {"working_hours": None, "first_contact_minutes": 15})
    fast, slow = [2, 4, 20, 90, 3], [3, 45, 300, 1500, None, 2000]
    touches, i = {}, 0
    for lead in deps.store.all_leads(account.id):
        if lead.is_open:
            continue
        delays = fast if lead.status_id == 142 else slow
        delay = delays[i % len(delays)]
        i += 1
        if delay is not None:
            touches[lead.id] = {f"call:{lead.responsible_user_id}": lead.created_at + delay * 60}
    first_contacts.store(deps).add_touches(account.id, touches)
    deps.store.save_leads(account.id, [
        Lead(WAITING, 10, 101, MANAGER, price=120_000, name="Окна в коттедж", created_at=now - 47 * 60,
             updated_at=now - 47 * 60, stage_entered_at=now - 47 * 60),
        Lead(TELEGRAM, 10, 101, 2, price=0, name="Заявка из Telegram", created_at=now - 25 * 60,
             updated_at=now - 25 * 60, stage_entered_at=now - 25 * 60)])
    first_contacts.store(deps).add_requests(account.id, {TELEGRAM: {"at": now - 26 * 60, "source": "chats"}})
    recompute_account(deps, account.id)


def open_card(page, harness, lead, lang, user=MANAGER):
    page.goto(f"{harness.url}/?lead={lead}&lang={lang}&user={user}")
    page.locator(".deal-pulse__hint, .deal-pulse__empty, .deal-pulse__error").first.wait_for(timeout=10_000)


def open_panel(page, harness, lang):
    """The supervisor panel: Stats → Deal Pulse: supervisor panel (issue 18 moved it off advanced_settings)."""
    page.goto(f"{harness.url}/?area=widget_page&item=stats&sub=deal_pulse_panel&lang={lang}&user={SUPERVISOR}&admin=1")
    page.locator('[data-section="speed"] .deal-pulse__speed-table, [data-section="speed"] .deal-pulse__empty')\
        .first.wait_for(timeout=10_000)


def open_settings(page, harness, lang):
    """Plans and settings: the widget's advanced_settings page."""
    page.goto(f"{harness.url}/?area=advanced_settings&lang={lang}&user={SUPERVISOR}&admin=1")
    page.locator(".deal-pulse__settings-form").wait_for(timeout=10_000)


def test_the_waiting_clients_hint_comes_first_on_the_card(page, harness, scenario, deps):
    add_first_contacts(deps, scenario)
    open_card(page, harness, WAITING, "ru")
    first = page.locator(".deal-pulse__hint").first
    assert first.get_attribute("data-code") == "first_contact_overdue"
    text = text_of(first)
    assert "Клиент ждёт первого ответа уже 47 минут" in text and "На кону 120 000 — сумма сделки" in text
    assert "47 минут · порог 15 минут" in text
    screenshot(page, "card-first-contact-ru", ".deal-pulse__hint >> nth=0")
    open_card(page, harness, WAITING, "en")
    text = text_of(page.locator(".deal-pulse__hint").first)
    assert "The client has been waiting 47 minutes for a first answer" in text
    assert "47 minutes · limit 15 minutes" in text
    screenshot(page, "card-first-contact-en", ".deal-pulse__hint >> nth=0")


def test_the_expected_stake_of_a_deal_without_a_price(page, harness, scenario, deps):
    add_first_contacts(deps, scenario)
    open_card(page, harness, TELEGRAM, "ru", user=2)
    text = text_of(page.locator(".deal-pulse__hint").first)
    assert "На кону около" in text and "средняя выигранная сделка" in text
    screenshot(page, "card-first-contact-stake-ru", ".deal-pulse__hint >> nth=0")


def test_the_panel_section_in_both_languages(page, harness, scenario, deps):
    add_first_contacts(deps, scenario)
    open_panel(page, harness, "ru")
    section = page.locator('[data-section="speed"]')
    lead = text_of(section.locator(".deal-pulse__lead"))
    assert "Ждут первого ответа: 2 заявки, дольше всех — 47 минут." in lead
    assert "до 1 дня" in text_of(section.locator('tr[data-bucket="1d"]'))  # around the clock: not a working day
    assert section.locator(".deal-pulse__speed-table").count() == 2  # managers, sources
    assert section.locator(".deal-pulse__delay-table tr[data-bucket]").count() == 5
    assert "до 5 минут" in text_of(section.locator('tr[data-bucket="5m"]'))
    screenshot(page, "panel-speed-ru", '[data-section="speed"]')
    open_panel(page, harness, "en")
    section = page.locator('[data-section="speed"]')
    assert "Waiting for a first answer: 2 requests; the longest for 47 minutes." in text_of(
        section.locator(".deal-pulse__lead"))
    assert "within 5 minutes" in text_of(section.locator('tr[data-bucket="5m"]'))
    screenshot(page, "panel-speed-en", '[data-section="speed"]')


def test_settings_carry_the_first_contact_limit_and_working_hours(page, harness, scenario, deps):
    open_settings(page, harness, "ru")
    form = page.locator(".deal-pulse__settings-form")
    assert form.locator('[name="first_contact_minutes"]').input_value() == "15"
    form.locator('[name="first_contact_minutes"]').fill("10")
    form.locator('input[name="work_day"][value="6"]').check()
    form.locator('[data-dp-action="save-settings"]').click()
    page.locator('[data-section="settings"] .deal-pulse__note').wait_for(timeout=10_000)
    saved = deps.store.read_insight(scenario.id, "settings")
    assert saved["first_contact_minutes"] == 10
    assert saved["working_hours"] == {"days": [1, 2, 3, 4, 5, 6], "start": "09:00", "end": "18:00"}
    screenshot(page, "settings-first-contact-ru", '[data-section="settings"]')
