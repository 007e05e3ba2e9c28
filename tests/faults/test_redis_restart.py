"""Redis dies mid-load and comes back from its AOF: no 2xx for an event it did not store, every stored event applied."""
import signal
from urllib.parse import urlencode

import pytest
from rq import SimpleWorker

from service import bootstrap, create_app
from service.config import Settings
from service.model import Account
from service.ops.redis_server import EmbeddedRedis
from service.services.hook_urls import hook_secret

ACCOUNT = Account(id=555, subdomain="faults")
EVENTS = 300


def body(i: int) -> str:
    return urlencode([("account[id]", "555"), ("leads[add][0][id]", str(i + 1)), ("leads[add][0][status_id]", "10"),
                      ("leads[add][0][pipeline_id]", "1"), ("leads[add][0][created_at]", "1000")])


@pytest.fixture
def server(tmp_path, monkeypatch):
    redis = EmbeddedRedis(data_dir=tmp_path).start()
    monkeypatch.setenv("REDIS_URL", redis.url)  # the worker's deps come from the environment
    bootstrap.worker_deps.cache_clear()
    yield redis
    redis.stop()
    bootstrap.worker_deps.cache_clear()


def test_redis_killed_and_restarted_loses_no_acknowledged_event(server):
    deps = bootstrap.build(Settings(redis_url=server.url))
    deps.store.save_account(ACCOUNT)
    client = create_app(deps=deps).test_client()
    url = f"/hooks/555/{hook_secret(deps.settings.secret_key, 555)}"
    acknowledged, refused = set(), set()
    for i in range(EVENTS):
        if i == 100:
            server.process.send_signal(signal.SIGKILL)  # no shutdown, no final fsync
            server.process.wait()
        if i == 200:
            server.start()  # same port, same folder: the AOF is replayed
        answer = client.post(url, data=body(i), content_type="application/x-www-form-urlencoded")
        assert answer.status_code in (204, 503), answer.data
        (acknowledged if answer.status_code == 204 else refused).add(i + 1)
    assert len(refused) == 100 and all(answer for answer in refused)  # the outage was answered 503, never 2xx

    deps.redis.connection_pool.disconnect()
    SimpleWorker(list(deps.queues.values()), connection=deps.redis,
                 serializer=deps.queues["webhooks"].serializer).work(burst=True)
    from service.services import intake
    intake.sweep_inboxes(deps)  # the drain queued before the crash may be the one that was lost
    SimpleWorker(list(deps.queues.values()), connection=deps.redis,
                 serializer=deps.queues["webhooks"].serializer).work(burst=True)
    assert set(deps.store.get_leads(ACCOUNT.id, range(1, EVENTS + 1))) == acknowledged
