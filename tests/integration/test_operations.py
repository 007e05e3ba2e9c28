"""Operations against a real Redis and real RQ workers: request and job ids in logs, /metrics, failed jobs."""
import io
import json
import logging

import pytest

from service import create_app, logs
from service.ops import failed_jobs
from service.services import intake
from service.config import Settings
from service.services.hook_urls import hook_secret
from service.store.keys import account_key
from tests.support.samples import webhook_bodies


@pytest.fixture
def log_stream():
    """Route every logger through our handler into a string; restore the root logger afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()

    def start(settings, process="web"):
        logs.configure(settings, process, stream=stream)
        return stream
    yield start
    root.handlers[:], root.level = saved[0], saved[1]


def test_every_request_gets_an_id_that_its_answer_carries(settings, log_stream):
    stream = log_stream(Settings(redis_url=settings.redis_url, log_level="DEBUG"))
    client = create_app(settings).test_client()
    answer = client.get("/healthz?code=should-not-show", headers={"X-Request-Id": "req-42"})
    fresh = client.get("/healthz")
    assert answer.headers["X-Request-Id"] == "req-42" and len(fresh.headers["X-Request-Id"]) == 32
    assert "should-not-show" not in stream.getvalue()


def test_the_access_line_names_method_path_status_and_request_id(settings, log_stream):
    stream = log_stream(Settings(redis_url=settings.redis_url))
    create_app(settings).test_client().post("/hooks/1/not-the-secret", data="x=1",
                                            headers={"X-Request-Id": "req-7",
                                                     "Content-Type": "application/x-www-form-urlencoded"})
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    access = [x for x in lines if x["logger"] == "service.access"][0]
    assert access["request_id"] == "req-7" and access["status"] == 403
    assert access["msg"] == "POST /hooks/1/[redacted] 403"
    assert "not-the-secret" not in stream.getvalue()


def test_a_job_log_line_carries_the_job_id(deps, run_worker, log_stream):
    deps.queues["webhooks"].enqueue("tests.integration.test_operations.job_that_logs", job_id="job-123")
    stream = log_stream(Settings(redis_url=deps.settings.redis_url), "worker")
    run_worker()
    mine = [json.loads(x) for x in stream.getvalue().splitlines() if "from inside a job" in x]
    assert mine and mine[0]["job_id"] == "job-123"


def job_that_logs():
    logging.getLogger("service.test").warning("from inside a job")


# --- /metrics
def metrics_app(deps, token="t" * 32):
    from dataclasses import replace
    deps.settings = replace(deps.settings, metrics_token=token)
    return create_app(deps=deps).test_client()


def post_webhook(client, account_id=16700680):
    return client.post(f"/hooks/{account_id}/{hook_secret(client.application.extensions['deps'].settings.secret_key, account_id)}",
                       data=webhook_bodies("status_lead_modern.txt")[0],
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_metrics_want_the_bearer_token(deps):
    client = metrics_app(deps)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).status_code == 200


def test_without_a_token_only_loopback_may_read_metrics(deps):
    client = metrics_app(deps, token="")
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 403


def test_metrics_show_queues_intake_and_accounts(deps, account, run_worker):
    client = metrics_app(deps)
    assert post_webhook(client).status_code == 204
    deps.queues["sync"].enqueue("tests.integration.test_operations.job_that_fails", 1)
    text = client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).get_data(as_text=True)
    assert 'deal_pulse_queue_depth{queue="webhooks"} 1' in text  # the drain job waits
    assert 'deal_pulse_queue_depth{queue="sync"} 1' in text
    assert 'deal_pulse_webhooks_received_total{account="16700680"} 1' in text
    assert 'deal_pulse_inbox_pending{account="16700680"} 1' in text
    assert 'deal_pulse_account_state{account="16700680",state="active"} 1' in text
    assert 'deal_pulse_sync_state{account="16700680",kind="none",state="never"} 1' in text
    last = [x for x in text.splitlines() if x.startswith("deal_pulse_last_webhook_timestamp_seconds{")]
    assert float(last[0].split()[-1]) > 1.7e9
    run_worker()
    text = client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).get_data(as_text=True)
    assert 'deal_pulse_jobs_failed{queue="sync"} 1' in text
    assert 'deal_pulse_webhook_events_applied_total{account="16700680"} 1' in text
    assert 'deal_pulse_inbox_pending{account="16700680"} 0' in text
    assert "# TYPE deal_pulse_queue_lag_seconds gauge" in text


def test_a_failed_card_recompute_is_a_counter_in_metrics(deps, account):
    """intake counts card_recompute_failed when a drain's card recompute fails; /metrics exports it per account."""
    client = metrics_app(deps)

    def counted():
        text = client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).get_data(as_text=True)
        assert "# TYPE deal_pulse_card_recompute_failed_total counter" in text
        return text
    assert 'deal_pulse_card_recompute_failed_total{account="16700680"} 0' in counted()
    deps.store.count(account.id, card_recompute_failed=1)
    deps.store.count(account.id, card_recompute_failed=1)
    assert 'deal_pulse_card_recompute_failed_total{account="16700680"} 2' in counted()


def test_the_inbox_age_rises_while_deliveries_wait_and_falls_to_zero_once_applied(deps, account, run_worker):
    """What the README's alert watches: the queue lag stays 0 when no drain is queued at all (a stranded inbox),
    the age of the oldest unapplied delivery does not."""
    client = metrics_app(deps)
    assert post_webhook(client).status_code == 204
    deps.queues["webhooks"].empty()  # the drain job got lost
    deps.redis.delete(account_key(account.id, "drain_pending"))

    def gauge(name):
        text = client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).get_data(as_text=True)
        return float(next(x for x in text.splitlines() if x.startswith(name + "{")).split()[-1])
    assert gauge("deal_pulse_queue_lag_seconds") == 0.0
    first = gauge("deal_pulse_inbox_oldest_age_seconds")
    assert 0 < first <= gauge("deal_pulse_inbox_oldest_age_seconds")
    intake.sweep_inboxes(deps)
    run_worker()
    assert gauge("deal_pulse_inbox_oldest_age_seconds") == 0.0


# --- failed jobs: inspect and replay
def job_that_fails(account_id, secret=None):
    raise RuntimeError(f"amoCRM said no to Bearer {secret or 'abc.def'}")


def test_failed_jobs_are_listed_with_their_error_and_no_secret(deps, run_worker):
    deps.queues["sync"].enqueue("tests.integration.test_operations.job_that_fails", 7,
                                secret="eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln", job_id="failing-1")
    run_worker()
    [job] = failed_jobs.failed(deps)
    assert (job.id, job.queue, job.func) == ("failing-1", "sync", "tests.integration.test_operations.job_that_fails")
    assert job.error.startswith("RuntimeError: amoCRM said no") and "eyJ" not in job.error
    assert "eyJhbGci" not in job.line() and job.args.startswith("7")


def test_replay_puts_failed_jobs_back_in_their_queue(deps, run_worker):
    deps.queues["sync"].enqueue("tests.integration.test_operations.job_that_fails", 7, job_id="failing-2")
    deps.queues["insights"].enqueue("tests.integration.test_operations.job_that_fails", 8, job_id="failing-3")
    run_worker()
    assert failed_jobs.replay(deps, ["failing-2"]) == 1
    assert deps.queues["sync"].get_job_ids() == ["failing-2"]
    assert [j.id for j in failed_jobs.failed(deps)] == ["failing-3"]
    assert failed_jobs.replay(deps, [], queue="insights") == 1
    assert failed_jobs.failed(deps) == []


def test_the_cli_lists_and_replays(deps, run_worker, capsys, monkeypatch):
    from service.__main__ import main
    deps.queues["sync"].enqueue("tests.integration.test_operations.job_that_fails", 7, job_id="failing-4")
    run_worker()
    monkeypatch.setenv("REDIS_URL", deps.settings.redis_url)
    assert main(["jobs", "failed"]) == 0
    assert "failing-4" in capsys.readouterr().out
    assert main(["jobs", "replay", "failing-4"]) == 0
    assert "1 job(s) put back" in capsys.readouterr().out


# --- the preview: the demo only (issue 16)
def test_the_preview_shows_a_deal_with_hints_and_mints_tokens_the_api_accepts(deps, account, run_worker):
    from dataclasses import replace
    deps.settings = replace(deps.settings, env="demo")
    client = create_app(deps=deps).test_client()
    assert post_webhook(client).status_code == 204
    run_worker()
    page = client.get("/preview/card")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "30052055" in html and "stuck_in_stage" in html  # the picker offers the deal with its hint
    token = client.get("/preview/token?account=16700680&user=1").get_json()["token"]
    answer = client.get("/api/v1/leads/30052055/hints", headers={"X-Auth-Token": token})
    assert answer.status_code == 200 and answer.get_json()["hints"]
    for path in ("/preview/panel", "/preview/attention", "/preview/settings",
                 "/preview/page?item=stats&sub=deal_pulse_panel"):
        assert client.get(path).status_code == 200, path
    from service.ops import widget_package
    for name in widget_package.scripts():  # script.js and every module it loads from beside it
        assert client.get(f"/preview/widget/{name}").status_code == 200, name
    assert client.get("/preview/widget/nothing.js").status_code == 404


def test_production_never_serves_the_preview(deps):
    from dataclasses import replace
    deps.settings = replace(deps.settings, env="production")
    client = create_app(deps=deps).test_client()
    assert client.get("/preview/card").status_code == 404
    assert client.get("/preview/token?account=16700680&user=1").status_code == 404
