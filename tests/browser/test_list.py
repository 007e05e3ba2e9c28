"""The leads list's panel: my deals that need attention, ranked, each a link to its card."""
from tests.browser.conftest import screenshot, text_of

MANAGER = 1  # scenario: Анна Смирнова is responsible for the open deals 54–66 and the fresh requests 69–81
MY_OPEN_DEALS = [54, 57, 60, 63, 66, 69, 72, 75, 78, 81]


def test_list_ranks_my_deals_that_need_attention_with_links_to_their_cards(page, harness, scenario):
    page.goto(f"{harness.url}/?area=llist&lang=ru&user={MANAGER}")
    page.locator(".deal-pulse__deal").first.wait_for(timeout=10_000)
    assert page.locator(".deal-pulse__caption").inner_text() == "Сделки, которым нужно внимание"
    deals = page.locator(".deal-pulse__deal")
    ids = deals.evaluate_all("items => items.map(i => Number(i.dataset.lead))")
    assert sorted(ids) == MY_OPEN_DEALS
    assert ids[:3] == [54, 57, 60]  # critical (57 days in the stage) before the fresh deals' warnings
    links = page.locator(".deal-pulse__deal-link").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert links == [f"/leads/detail/{i}" for i in ids]
    first = text_of(deals.first)
    assert "Сделка №54" in first and "дней" in first and "12 000" in first
    screenshot(page, "list-ru")


def test_list_in_english_and_empty_for_a_user_without_deals(page, harness, scenario):
    page.goto(f"{harness.url}/?area=llist&lang=en&user=1001&admin=1")
    empty = page.locator(".deal-pulse__empty")
    empty.wait_for(timeout=10_000)
    assert empty.inner_text() == "None of your deals needs attention right now."


def test_list_shows_an_error_when_the_api_is_down(page, harness, api_server):
    api_server.stop()
    page.goto(f"{harness.url}/?area=llist&lang=ru&user={MANAGER}")
    error = page.locator(".deal-pulse__error")
    error.wait_for(timeout=15_000)
    assert "Нет связи с сервером" in error.inner_text()
