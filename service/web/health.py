"""Liveness and readiness for load balancers and `make run`."""
import time

import redis
from flask import Blueprint, jsonify
from rq import Worker

from service.web import deps

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Redis answers and a worker has sent a heartbeat recently."""
    d = deps()
    try:
        d.store.ping()
        workers = Worker.all(connection=d.redis)
    except redis.RedisError as exc:
        return jsonify(status="unavailable", redis=f"unreachable: {type(exc).__name__}"), 503
    horizon = time.time() - d.settings.worker_seen_seconds
    alive = [w for w in workers if w.last_heartbeat and w.last_heartbeat.timestamp() >= horizon]
    ready = bool(alive)
    return jsonify(status="ok" if ready else "no_worker", redis="ok", workers=len(alive)), 200 if ready else 503
