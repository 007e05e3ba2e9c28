"""Test session: a real Redis server (embedded unless REDIS_URL is set) and real RQ workers."""
from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redis as redis_lib

from service import bootstrap, create_app
from service.config import Settings
from service.model import Account
from service.ops.redis_server import EmbeddedRedis

ACCOUNT = Account(id=16700680, subdomain="unirock", base_url="https://unirock.amocrm.ru")
OTHER_ACCOUNT = Account(id=777, subdomain="other", base_url="https://other.amocrm.ru")


def worker_db(url: str, worker: str) -> str:
    """The given Redis URL with its db moved by the xdist worker's number (gw0 keeps it): workers flush their own."""
    number = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    if not number:
        return url
    parts = urlsplit(url)
    if parts.scheme == "unix":  # unix:///path?db=N (urlunsplit would drop the empty host's //)
        query = dict(parse_qsl(parts.query))
        query["db"] = str(int(query.get("db", 0)) + number)
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/') or 0) + number}"))


def pytest_collection_modifyitems(items):
    """Tests marked `long` first, the rest in their order: `make test`'s workers take whole files in collection order,
    and the minute-long chaos file started last would finish alone after the others."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL when given (a disposable server: tests flush it), else an embedded redis-server."""
    given = os.environ.get("REDIS_URL")
    if given:
        url = worker_db(given, os.environ.get("PYTEST_XDIST_WORKER", ""))
        os.environ["REDIS_URL"] = url  # RQ workers build their deps from the environment
        bootstrap.worker_deps.cache_clear()
        yield url
        os.environ["REDIS_URL"] = given
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
