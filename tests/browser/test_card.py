"""A webhook arrives; the manager opens the deal card in a real browser and reads the hint."""
import requests

from service.services import hook_secret
from tests.browser.conftest import screenshot
from tests.support.samples import webhook_bodies

LEAD_ID = 30052055


def post_status_webhook(api_server, settings):
    url = f"{api_server.url}/hooks/16700680/{hook_secret(settings.secret_key, 16700680)}"
    answer = requests.post(url, data=webhook_bodies("status_lead_modern.txt")[0],
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert answer.status_code == 200, answer.text


def test_card_shows_the_stuck_hint_in_russian(page, harness, api_server, settings, rq_worker_process):
    post_status_webhook(api_server, settings)
    rq_worker_process()
    page.goto(f"{harness.url}/?lead={LEAD_ID}&lang=ru")
    hint = page.locator(".deal-pulse__hint--critical")
    hint.wait_for(timeout=10_000)
    text = hint.inner_text()
    assert "на этапе" in text and "дн" in text
    assert page.locator(".deal-pulse__caption").inner_text() == "Пульс сделки"
    screenshot(page, "card-ru")


def test_card_speaks_english_when_amocrm_does(page, harness, api_server, settings, rq_worker_process):
    post_status_webhook(api_server, settings)
    rq_worker_process()
    page.goto(f"{harness.url}/?lead={LEAD_ID}&lang=en")
    page.locator(".deal-pulse__hint").wait_for(timeout=10_000)
    assert "stage" in page.locator(".deal-pulse__hint").inner_text()
    screenshot(page, "card-en")


def test_card_without_data_says_so(page, harness):
    page.goto(f"{harness.url}/?lead=1&lang=en")
    empty = page.locator(".deal-pulse__empty")
    empty.wait_for(timeout=10_000)
    assert "No data for this deal yet" in empty.inner_text()


def test_card_shows_an_error_when_the_api_is_down(page, harness, api_server):
    api_server.stop()
    page.goto(f"{harness.url}/?lead={LEAD_ID}&lang=ru")
    error = page.locator(".deal-pulse__error")
    error.wait_for(timeout=15_000)
    assert "Не удалось загрузить" in error.inner_text()
    screenshot(page, "card-error")
