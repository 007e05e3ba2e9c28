"""When Redis is down nothing is acknowledged: amoCRM must retry."""
from service import bootstrap, create_app
from service.config import Settings
from service.ops.redis_server import free_port
from service.services.hook_urls import hook_secret
from tests.support.samples import webhook_bodies


def test_hook_answers_503_when_redis_is_down():
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(deps=bootstrap.build(settings)).test_client()
    answer = client.post(f"/hooks/16700680/{hook_secret(settings.secret_key, 16700680)}",
                         data=webhook_bodies("status_lead_modern.txt")[0],
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 503
    assert answer.json == {"error": "unavailable", "message": "storage is unavailable; retry later"}


def test_readyz_is_503_without_redis_and_healthz_stays_up():
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(deps=bootstrap.build(settings)).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_needs_a_live_worker(client, deps):
    from rq import Worker

    assert client.get("/readyz").json["status"] == "no_worker"
    worker = Worker(list(deps.queues.values()), connection=deps.redis)
    worker.register_birth()
    worker.heartbeat()
    try:
        assert client.get("/readyz").json == {"status": "ok", "redis": "ok", "workers": 1}
    finally:
        worker.register_death()
