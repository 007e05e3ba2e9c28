"""The clock and the workers ride out a Redis outage: they wait and reconnect instead of exiting (the clock exited
on every outage, a worker started while Redis was away exited at once)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from service import bootstrap
from service.config import Settings
from service.ops.redis_server import ROOT, EmbeddedRedis
from tests.integration.test_processes import clean_env, stop_group, wait_for


@pytest.fixture
def server(tmp_path):
    redis = EmbeddedRedis(data_dir=tmp_path / "redis").start()
    yield redis
    redis.stop()


def start(process: str, redis_url: str, log_path) -> subprocess.Popen:
    """A Procfile process in its own group, its output in a file we can read while it runs."""
    return subprocess.Popen([sys.executable, "-m", "service", process], cwd=ROOT, start_new_session=True,
                            env=clean_env(REDIS_URL=redis_url, LOG_FORMAT="text"),
                            stdout=open(log_path, "w"), stderr=subprocess.STDOUT)


def kill(server) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()


def logged(path, text: str, process) -> bool:
    """True once the process wrote `text`; fails at once if the process exited."""
    assert process.poll() is None, "the process exited:\n" + path.read_text()
    return text in path.read_text()


def stop(process) -> None:
    stop_group(process)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stop_group(process, signal.SIGKILL)


def test_the_clock_waits_for_redis_and_ticks_again(server, tmp_path):
    deps, log = bootstrap.build(Settings(redis_url=server.url)), tmp_path / "clock.log"
    clock = start("clock", server.url, log)
    try:
        wait_for(lambda: deps.redis.keys("dp:clock:*"), message="the clock's first tick")
        kill(server)
        wait_for(lambda: logged(log, "the clock tries again", clock), message="the clock waiting")
        wait_for(lambda: log.read_text().count("the clock tries again") >= 2, message="a second try")
        server.start()
        deps.redis.connection_pool.disconnect()
        deps.redis.flushall()  # the slots restored from the AOF are gone: the next tick sets them again
        wait_for(lambda: logged(log, "Redis is back", clock), timeout=60, message="the clock back")
        wait_for(lambda: deps.redis.keys("dp:clock:*"), message="a tick after Redis came back")
        assert clock.poll() is None
    finally:
        stop(clock)


def test_a_worker_started_while_redis_is_away_waits_then_works(server, tmp_path):
    url, log = server.url, tmp_path / "worker.log"
    kill(server)
    worker = start("worker", url, log)
    try:
        wait_for(lambda: logged(log, "waiting", worker), timeout=60, message="the worker waiting for Redis")
        server.start()
        wait_for(lambda: logged(log, "Redis is back", worker), timeout=60, message="the worker back")
        deps = bootstrap.build(Settings(redis_url=url))
        job = deps.queues["webhooks"].enqueue("service.jobs.sweep_inboxes")
        wait_for(lambda: job.get_status(refresh=True) == "finished", timeout=60, message="the job done")
        assert worker.poll() is None
    finally:
        stop(worker)


def test_make_run_keeps_a_process_that_dies_alive_and_stops_it_on_sigterm(server, tmp_path):
    """`make run` runs each Procfile process under `python -m service keep`: one that dies (SIGKILL, a crash) is
    started again instead of honcho stopping everything; SIGTERM stops it for good."""
    log = tmp_path / "keep.log"
    keeper = subprocess.Popen([sys.executable, "-m", "service", "keep", "clock"], cwd=ROOT, start_new_session=True,
                              env=clean_env(REDIS_URL=server.url, LOG_FORMAT="text"),
                              stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: logged(log, "clock started", keeper), timeout=60, message="the clock started")
        [clock] = children(keeper.pid)
        os.kill(clock, signal.SIGKILL)
        wait_for(lambda: logged(log, "starting it again", keeper), message="the keeper noticing")
        wait_for(lambda: log.read_text().count("clock started") == 2, timeout=60, message="the clock again")
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(timeout=60) == 0
        assert "clock stopped" in log.read_text()
    finally:
        stop(keeper)


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(x) for x in found]
