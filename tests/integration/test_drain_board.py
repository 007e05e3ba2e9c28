"""One drain job serves many accounts (issue 22): deliveries to many accounts queue one job, a failing account stops
none of the others, a job out of time hands over, and the worker runs drains in its own process."""
from urllib.parse import urlencode

import pytest
from rq.job import Job

from service.model import Account
from service.ops import processes
from service.services import draining, intake
from service.services.hook_urls import hook_secret
from service.store.drains import DrainBoard

FORM = "application/x-www-form-urlencoded"
ACCOUNTS = [Account(id=500 + i, subdomain=f"t{500 + i}") for i in range(5)]


def deliver(client, settings, account, lead_id):
    pairs = [("account[id]", str(account.id)), ("leads[status][0][id]", str(lead_id)),
             ("leads[status][0][status_id]", "101"), ("leads[status][0][old_status_id]", "100"),
             ("leads[status][0][pipeline_id]", "10"), ("leads[status][0][updated_at]", "1500")]
    answer = client.post(f"/hooks/{account.id}/{hook_secret(settings.secret_key, account.id)}",
                         data=urlencode(pairs), content_type=FORM)
    assert answer.status_code == 204


@pytest.fixture
def accounts(deps):
    for account in ACCOUNTS:
        deps.store.save_account(account)
    return ACCOUNTS


def cards(deps, accounts):
    return {a.id: bool(deps.store.read_card(a.id, 1)) for a in accounts}


def test_deliveries_to_many_accounts_queue_one_job_that_applies_them_all(client, settings, deps, accounts,
                                                                         run_worker):
    for account in accounts:
        deliver(client, settings, account, 1)
        deliver(client, settings, account, 2)
    assert deps.queues["webhooks"].count == 1
    assert DrainBoard(deps.redis).waiting() == len(accounts)
    run_worker()
    assert cards(deps, accounts) == {a.id: True for a in accounts}
    assert [deps.store.inbox_length(a.id) for a in accounts] == [0] * len(accounts)
    assert DrainBoard(deps.redis).waiting() == 0


def test_a_failing_account_stops_none_of_the_others(client, settings, deps, accounts, monkeypatch):
    for account in accounts:
        deliver(client, settings, account, 1)
    real, broken = intake.drain_inbox, accounts[2].id

    def drain(deps_, account_id):
        if account_id == broken:
            deps_.store.clear_drain_pending(account_id)  # as far as a drain gets before its failure
            raise RuntimeError("a bug")
        return real(deps_, account_id)

    monkeypatch.setattr(intake, "drain_inbox", drain)
    with pytest.raises(RuntimeError):  # the job fails where RQ shows failures, after draining the rest
        draining.drain_ready(deps)
    assert cards(deps, accounts) == {a.id: a.id != broken for a in accounts}
    monkeypatch.undo()
    assert intake.sweep_inboxes(deps) == [broken]  # its inbox is kept, and the sweeper brings it back
    draining.drain_ready(deps)
    assert cards(deps, accounts) == {a.id: True for a in accounts}


def test_a_job_out_of_time_queues_the_next(client, settings, deps, accounts):
    for account in accounts:
        deliver(client, settings, account, 1)
    deps.queues["webhooks"].empty()  # the job the deliveries queued is the one running now
    assert draining.drain_ready(deps, budget=0) == {}
    assert deps.queues["webhooks"].count == 1 and DrainBoard(deps.redis).waiting() == len(accounts)
    assert draining.drain_ready(deps)["accounts"] == len(accounts)
    assert cards(deps, accounts) == {a.id: True for a in accounts}


def test_the_worker_runs_drains_and_small_recomputes_itself_and_forks_the_rest(deps, accounts, monkeypatch):
    monkeypatch.setattr("service.bootstrap.worker_deps", lambda: deps)

    def job(func, *args):
        return Job.create(f"service.jobs.{func}", args=args, connection=deps.redis)
    assert processes._in_process(job("drain_ready")) and processes._in_process(job("sweep_inboxes"))
    assert processes._in_process(job("recompute_fresh", accounts[0].id))  # an empty mirror
    monkeypatch.setattr(processes, "SMALL_ACCOUNT_LEADS", -1)
    assert not processes._in_process(job("recompute_fresh", accounts[0].id))
    assert not processes._in_process(job("full_sync", accounts[0].id))
