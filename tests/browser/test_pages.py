"""Where the widget appears, as the built manifest.json places it: Stats pages in the left menu, the admins' page,
the card. The stand-in page reads the manifest, so a misplaced block or a missing location fails here."""
import copy
import json

from service.ops import widget_package
from tests.browser.conftest import foreign_css, screenshot, text_of

MANAGER = 1  # scenario: Анна Смирнова is responsible for the open deals 54–66 and the fresh requests 69–81
MY_OPEN_DEALS = [54, 57, 60, 63, 66, 69, 72, 75, 78, 81]
SUPERVISOR = 1001


def open_attention(page, harness, lang="ru", user=MANAGER, admin=False):
    page.goto(f"{harness.url}/?area=widget_page&item=stats&sub=deal_pulse_attention&lang={lang}&user={user}"
              f"&admin={int(admin)}")
    page.locator(".deal-pulse__deal, .deal-pulse__empty, .deal-pulse__error").first.wait_for(timeout=10_000)


def test_the_left_menu_holds_both_pages_inside_amocrms_stats_section(page, harness, scenario):
    open_attention(page, harness)
    menu = page.locator("#left_menu")
    assert text_of(menu.locator(".left-menu__section")) == "Аналитика"
    assert menu.locator(".left-menu__item").all_inner_texts() == [
        "Пульс сделки: сделки, которым нужно внимание", "Пульс сделки: панель руководителя"]
    menu.locator('[data-menu="stats/deal_pulse_panel"]').click()
    page.locator(".deal-pulse__error, .deal-pulse__places").first.wait_for(timeout=10_000)
    assert "только руководителям" in page.locator(".deal-pulse__error").inner_text()  # a manager is no supervisor
    assert page.locator("[data-section]").count() == 0  # said once, not in every section
    assert "«Аналитика» → «Пульс сделки: сделки, которым нужно внимание»" in text_of(page.locator("#deal-pulse-panel"))
    screenshot(page, "page-panel-manager-ru")


def test_every_user_sees_their_deals_that_need_attention_ranked_with_links(page, harness, scenario):
    open_attention(page, harness)
    assert page.locator(".left-menu__item--active").inner_text() == "Пульс сделки: сделки, которым нужно внимание"
    assert page.locator(".deal-pulse__h1").inner_text() == "Сделки, которым нужно внимание"
    deals = page.locator(".deal-pulse__deal")
    ids = deals.evaluate_all("items => items.map(i => Number(i.dataset.lead))")
    assert sorted(ids) == MY_OPEN_DEALS
    assert ids[:3] == [54, 57, 60]  # critical (57 days in the stage) before the fresh deals' warnings
    links = page.locator(".deal-pulse__deal-link").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert links == [f"/leads/detail/{i}" for i in ids]
    first = text_of(deals.first)
    assert "Сделка №54" in first and "дней" in first and "12 000" in first
    assert page.locator('[data-dp-action="scope"]').count() == 0  # a manager sees only their own
    assert foreign_css(page) == []
    screenshot(page, "page-attention-ru")


def test_a_supervisor_may_also_see_every_deal_their_rights_show(page, harness, scenario):
    open_attention(page, harness, lang="en", user=SUPERVISOR, admin=True)
    assert page.locator(".deal-pulse__empty").inner_text() == "None of your deals needs attention right now."
    page.locator('[data-dp-scope="visible"]').click()
    page.locator(".deal-pulse__deal").first.wait_for(timeout=10_000)
    ids = page.locator(".deal-pulse__deal").evaluate_all("items => items.map(i => Number(i.dataset.lead))")
    assert set(MY_OPEN_DEALS) <= set(ids)
    assert "Анна Смирнова" in text_of(page.locator('.deal-pulse__deal[data-lead="54"]'))  # whose deal it is
    assert "deal-pulse__button--primary" in page.locator('[data-dp-scope="visible"]').get_attribute("class")
    screenshot(page, "page-attention-supervisor-en")


def test_the_supervisor_panel_page(page, harness, scenario):
    page.goto(f"{harness.url}/?area=widget_page&item=stats&sub=deal_pulse_panel&lang=ru&user={SUPERVISOR}&admin=1")
    page.locator(".deal-pulse__places").wait_for(timeout=10_000)
    assert page.locator(".left-menu__item--active").inner_text() == "Пульс сделки: панель руководителя"
    assert page.locator('[data-section="plan-editor"], [data-section="settings"]').count() == 0  # admins' page
    screenshot(page, "page-panel-ru")


def test_the_admins_page_holds_plans_and_settings_only(page, harness, scenario):
    page.goto(f"{harness.url}/?area=advanced_settings&lang=ru&user={SUPERVISOR}&admin=1")
    page.locator(".deal-pulse__settings-form").wait_for(timeout=10_000)
    assert page.locator("#page_title").inner_text() == "Пульс сделки: планы и настройки"
    sections = page.locator("[data-section]").evaluate_all("s => s.map(x => x.dataset.section)")
    assert sections == ["plan-editor", "settings"]
    screenshot(page, "page-settings-ru")


def broken(change) -> dict:
    manifest = copy.deepcopy(widget_package.manifest())
    change(manifest)
    return json.loads(json.dumps(manifest))


def test_advanced_nested_inside_widget_leaves_the_admins_page_without_a_title(page, harness, scenario):
    def nest(m):
        m["widget"]["advanced"] = m.pop("advanced")
    harness.app.manifest = broken(nest)
    page.goto(f"{harness.url}/?area=advanced_settings&lang=ru&user={SUPERVISOR}&admin=1")
    assert "no root-level \"advanced\"" in page.locator(".harness-missing").inner_text()
    assert page.locator(".deal-pulse__settings-form").count() == 0


def test_without_widget_page_or_left_menu_there_is_no_page(page, harness, scenario):
    harness.app.manifest = broken(lambda m: m["locations"].remove("widget_page"))
    open_url = f"{harness.url}/?area=widget_page&item=stats&sub=deal_pulse_attention&user={MANAGER}"
    page.goto(open_url)
    assert "no location for \"widget_page\"" in page.locator(".harness-missing").inner_text()
    assert page.locator("#left_menu .left-menu__item").count() == 0
    harness.app.manifest = broken(lambda m: m.pop("left_menu"))
    page.goto(open_url)
    assert "left_menu has no item stats/deal_pulse_attention" in page.locator(".harness-missing").inner_text()
    assert page.locator(".deal-pulse__deal").count() == 0


def test_a_card_location_without_the_panel_suffix_draws_no_block(page, harness, scenario):
    def no_panel(m):
        m["locations"] = ["lcard-0" if x == "lcard-1" else x for x in m["locations"]]
    harness.app.manifest = broken(no_panel)
    page.goto(f"{harness.url}/?lead=54&lang=ru&user={MANAGER}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#widgets_block .deal-pulse").count() == 0


def test_the_list_page_shows_an_error_when_the_api_is_down(page, harness, api_server):
    api_server.stop()
    open_attention(page, harness)
    error = page.locator(".deal-pulse__error")
    assert "Нет связи с сервером" in error.inner_text()
