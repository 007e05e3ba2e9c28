"""The Procfile's processes: each refuses a bad production configuration, and stops gracefully on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from rq.job import Job, JobStatus

from service.ops.processes import gunicorn_options
from service.config import Settings
from service.ops.redis_server import ROOT, free_port

PRODUCTION = {"DEAL_PULSE_ENV": "production", "AMOCRM_CLIENT_ID": "8d3c1f6e-0000-4000-8000-00000000abcd",
              "AMOCRM_CLIENT_SECRET": "s" * 64, "PUBLIC_URL": "https://dp.example", "SECRET_KEY": "k" * 48,
              "TOKEN_ENCRYPTION_KEYS": "bm90LWEta2V5", "REDIS_URL": "redis://127.0.0.1:1/0"}


def clean_env(**extra) -> dict:
    """Our environment without Deal Pulse settings, plus `extra`."""
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in ("PORT", "METRICS_TOKEN")}
    return {**base, **extra}


@pytest.mark.parametrize("process", ["web", "worker", "clock"])
def test_each_process_refuses_a_weak_production_configuration_naming_the_variable(process):
    done = subprocess.run([sys.executable, "-m", "service", process], env=clean_env(**PRODUCTION), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing to start in production" in done.stderr
    assert "METRICS_TOKEN" in done.stderr and "TOKEN_ENCRYPTION_KEYS" in done.stderr
    assert "bm90LWEta2V5" not in done.stderr


def test_gunicorn_gets_the_graceful_timeout_and_our_bind():
    options = gunicorn_options(Settings(port=5123, bind_host="127.0.0.1", shutdown_seconds=17, web_concurrency=3))
    assert options["bind"] == "127.0.0.1:5123" and options["graceful_timeout"] == 17 and options["workers"] == 3


def start(process: str, redis_url: str, **env) -> subprocess.Popen:
    """A Procfile process in its own process group, as honcho, Heroku and systemd run it."""
    return subprocess.Popen([sys.executable, "-m", "service", process], cwd=ROOT, start_new_session=True,
                            env=clean_env(REDIS_URL=redis_url, LOG_FORMAT="text", **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_group(process: subprocess.Popen, signum=signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def wait_for(condition, timeout: float = 30, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


def slow_job(seconds: float) -> str:
    """A job that is still running when the worker is told to stop."""
    time.sleep(seconds)
    return "finished"


def test_web_answers_and_stops_on_sigterm(redis_url):
    port = free_port()
    web = start("web", redis_url, PORT=str(port), BIND_HOST="127.0.0.1", WEB_CONCURRENCY="1")
    try:
        def up():
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        wait_for(up, message="the web process")
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).headers["X-Request-Id"]
    finally:
        stop_group(web)
        output, _ = web.communicate(timeout=30)
    assert web.returncode == 0, output


def test_sigterm_lets_the_running_job_finish_then_the_worker_exits(deps):
    job = deps.queues["sync"].enqueue("tests.integration.test_processes.slow_job", 1.5)
    worker = start("worker", deps.settings.redis_url, SHUTDOWN_SECONDS="20")
    try:
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.STARTED, message="the job to start")
        stop_group(worker)  # every process of the group gets it, the work horse too (Heroku, systemd, honcho)
        output, _ = worker.communicate(timeout=60)
    finally:
        stop_group(worker, signal.SIGKILL)
    assert worker.returncode == 0, output
    assert Job.fetch(job.id, connection=deps.redis, serializer=job.serializer).get_status() == JobStatus.FINISHED


def test_a_job_that_outlives_the_shutdown_delay_fails_and_can_be_replayed(deps):
    from service.ops import failed_jobs
    job = deps.queues["sync"].enqueue("tests.integration.test_processes.slow_job", 600)
    worker = start("worker", deps.settings.redis_url, SHUTDOWN_SECONDS="1")
    try:
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.STARTED, message="the job to start")
        stop_group(worker)
        output, _ = worker.communicate(timeout=60)
    finally:
        stop_group(worker, signal.SIGKILL)
    assert worker.returncode == 0, output
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FAILED, message="the job to be marked failed")
    assert [j.id for j in failed_jobs.failed(deps)] == [job.id]
    assert failed_jobs.replay(deps, [job.id]) == 1
