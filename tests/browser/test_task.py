"""One click in the card creates a follow-up task in amoCRM (the sandbox plays amoCRM's API for our server)."""
import threading

import pytest
from werkzeug.serving import make_server

from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.config import Settings
from service.model import Lead
from service.services.recompute import recompute_account
from service.ops.redis_server import free_port
from service.sandbox.app import create_sandbox_app, sandbox_state
from service.sandbox.generator import generate
from tests.browser.conftest import screenshot, text_of


@pytest.fixture
def sandbox():
    """A small sandbox amoCRM on loopback; our server calls it instead of the account's host."""
    world = generate("small", seed=7, leads=40, managers=2)
    world.settings["rate_limit"]["per_second"] = 1000
    app = create_sandbox_app(world, start_webhooks=False)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server.url, server.world, server.state = f"http://127.0.0.1:{port}", world, sandbox_state(app)
    yield server
    server.shutdown()


@pytest.fixture
def settings(redis_url, sandbox):
    """Our settings with every amoCRM call going to the sandbox (AMOCRM_API_BASE)."""
    return Settings(redis_url=redis_url, amocrm_api_base=sandbox.url, amocrm_rps=1000, amocrm_global_rps=1000)


@pytest.fixture
def quiet_deal(deps, harness, sandbox):
    """An open sandbox deal without tasks, mirrored in our store with its hints, and the account's token pair."""
    account = deps.store.get_account(16700680)
    with sandbox.state.tokens.lock:
        pair = sandbox.state.tokens.new_pair()
    TokenKeeper(deps.store, deps.settings, None, deps.clock).save(
        account.id, TokenPair(pair["access_token"], pair["refresh_token"], int(deps.clock()) + 3600))
    world = sandbox.world
    lead = next(x for x in world.leads.values() if x.status_id not in (142, 143) and not x.is_deleted)
    for task_id in list(world.tasks_by_lead.get(lead.id, ())):
        world.tasks.pop(task_id)
    world.tasks_by_lead[lead.id] = []
    now = int(deps.clock())
    deps.store.save_leads(account.id, [Lead(id=lead.id, pipeline_id=lead.pipeline_id, status_id=lead.status_id,
                                            responsible_user_id=lead.responsible_user_id, price=lead.price,
                                            name=lead.name, created_at=now - 86400, updated_at=now,
                                            stage_entered_at=now - 3600)])
    recompute_account(deps, account.id)  # with models: every rule, no_open_task included
    return lead


def test_one_click_creates_the_follow_up_task_in_amocrm(page, harness, sandbox, quiet_deal, deps):
    page.goto(f"{harness.url}/?lead={quiet_deal.id}&lang=ru&user={quiet_deal.responsible_user_id}")
    hint = page.locator('.deal-pulse__hint[data-code="no_open_task"]')
    hint.wait_for(timeout=10_000)
    hint.locator('[data-dp-action="task"]').click()
    notice = page.locator(".deal-pulse__notice")
    notice.wait_for(timeout=10_000)
    assert "на завтра поставлена ответственному" in text_of(notice)
    assert page.locator('.deal-pulse__hint[data-code="no_open_task"]').count() == 0  # the refreshed card
    created = [sandbox.world.tasks[i] for i in sandbox.world.tasks_by_lead[quiet_deal.id]]
    assert len(created) == 1
    task = created[0]
    assert task.responsible_user_id == quiet_deal.responsible_user_id and not task.is_completed
    assert task.text == "Связаться с клиентом и договориться о следующем шаге"
    assert task.complete_till > deps.clock()
    screenshot(page, "card-task-created")
