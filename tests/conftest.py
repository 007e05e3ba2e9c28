"""Test session: a real Redis server (embedded unless REDIS_URL is set) and real RQ workers."""
from __future__ import annotations

import os

import pytest
import redis as redis_lib

from service import bootstrap, create_app
from service.config import Settings
from service.model import Account
from service.ops.redis_server import EmbeddedRedis

ACCOUNT = Account(id=16700680, subdomain="unirock", base_url="https://unirock.amocrm.ru")
OTHER_ACCOUNT = Account(id=777, subdomain="other", base_url="https://other.amocrm.ru")


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL when given (a disposable server: tests flush it), else an embedded redis-server."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    with EmbeddedRedis() as server:
        os.environ["REDIS_URL"] = server.url  # RQ workers build their deps from the environment
        bootstrap.worker_deps.cache_clear()
        yield server.url
        os.environ.pop("REDIS_URL", None)


@pytest.fixture
def settings(redis_url) -> Settings:
    """Development settings pointed at the test Redis."""
    return Settings(redis_url=redis_url)


@pytest.fixture
def deps(settings):
    """Fresh dependencies over an empty Redis."""
    built = bootstrap.build(settings)
    built.redis.flushdb()
    yield built
    built.redis.close()


@pytest.fixture
def app(deps):
    return create_app(deps=deps)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def account(deps) -> Account:
    """The installed account the shared modern samples come from."""
    deps.store.save_account(ACCOUNT)
    return ACCOUNT


@pytest.fixture
def run_worker(deps):
    """Run a real RQ worker in burst mode over every queue until they are empty."""
    from rq import SimpleWorker

    def run() -> None:
        worker = SimpleWorker(list(deps.queues.values()), connection=deps.redis,
                              serializer=deps.queues["webhooks"].serializer)
        worker.work(burst=True, with_scheduler=False)

    return run


@pytest.fixture
def redis_client(deps) -> redis_lib.Redis:
    return deps.redis
