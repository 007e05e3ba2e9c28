"""The Procfile's long-running processes. Each validates the settings and sets up logging before anything else."""
from __future__ import annotations

import gc
import logging
import signal
import time

import redis
from redis.exceptions import RedisClusterException

from gunicorn import glogging
from rq.serializers import JSONSerializer
from rq.exceptions import StopRequested
from rq.worker import HerokuWorker, WorkerStatus

from service import bootstrap, logs
from service.ops import clock
from service.services import queueing
from service.config import Settings

log = logging.getLogger(__name__)


def run_web(settings: Settings) -> None:
    """gunicorn serving create_app(); SIGTERM lets requests in flight finish within SHUTDOWN_SECONDS."""
    from gunicorn.app.base import BaseApplication

    class Web(BaseApplication):
        def load_config(self):
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self):
            return web_app(settings)

    Web().run()


def web_app(settings: Settings):
    """The app as each web worker serves it."""
    from service import create_app

    app = create_app(settings)
    # What exists now lives as long as the worker: kept out of the collector's sight, collections walk only what
    # requests make, and the pauses they add to requests stay short.
    gc.freeze()
    return app


def gunicorn_options(settings: Settings) -> dict:
    """gunicorn's settings: ours come from config.py, its logs go through our JSON handler."""
    return {"bind": f"{settings.web_bind_host}:{settings.port}", "workers": settings.web_concurrency,
            "threads": settings.web_threads, "graceful_timeout": settings.shutdown_seconds, "timeout": 30,
            "accesslog": None, "errorlog": "-", "proc_name": "deal-pulse-web", "logger_class": WebLogger,
            "control_socket_disable": True,  # one shared ~/.gunicorn socket would collide between deployments
            "logconfig_dict": logging_dict(settings, "web"), **EDGE_LIMITS}


# Issue 16: what one client may hold. The threaded worker parks idle and not-yet-sending connections in its poller,
# but a client that trickles a request holds a thread until it is complete: in production a buffering proxy (the
# platform's router, nginx) must sit in front and hand over whole requests (README, security model).
EDGE_LIMITS = {
    "worker_class": "service.web.edge.JsonErrorWorker",  # gthread, answering its own 414/431/400 as JSON
    "keepalive": 2,  # seconds an idle keep-alive connection is kept (in the poller, not a thread)
    "limit_request_line": 4094,  # bytes of `METHOD /path?query HTTP/1.1`: our longest URL is far below
    "limit_request_fields": 50,  # header fields (amoCRM sends about ten, browsers about twenty)
    "limit_request_field_size": 8190,  # bytes of one header field
    "worker_connections": 200,  # open connections per worker (gthread): more wait in the listen backlog
}


class WebLogger(glogging.Logger):
    """gunicorn's logger without access lines: ours replace them (service.logs), and gunicorn would otherwise build
    each one (every header of request and answer) on every request for its muted `gunicorn.access` to drop."""

    access_log_enabled = False


def logging_dict(settings: Settings, process_name: str) -> dict:
    """dictConfig for gunicorn: every logger through one redacting handler (our access lines replace its own)."""
    level = settings.log_level.upper()
    return {"version": 1, "disable_existing_loggers": False,
            "root": {"level": level, "handlers": ["main"]},
            "loggers": {"gunicorn.error": {"level": level, "handlers": [], "propagate": True},
                        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False}},
            "handlers": {"main": {"()": "service.logs.handler", "process_name": process_name,
                                  "log_format": settings.log_format}}}


class Worker(HerokuWorker):
    """RQ's forking worker with our jobs preloaded. On SIGTERM (any Procfile host, systemd, `make run`) the main
    process stops taking jobs and the running job gets SHUTDOWN_SECONDS to finish; past that it is interrupted and
    its retries (or `python -m service jobs replay`) run it again. Syncs resume from their checkpoint."""

    imminent_shutdown_delay = 20

    def execute_job(self, job, queue):
        """Drains (and small accounts' recomputes) in this process, everything else in a forked work horse. A drain
        is short and comes many times a second: a fork costs more than the drain itself (issue 22). A drain that
        dies with this process loses nothing: its lease runs out and the sweeper queues it again."""
        if not _in_process(job):
            return super().execute_job(job, queue)
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)


IN_PROCESS = set(map(queueing.function, ("drain_ready", "drain_inbox", "sweep_inboxes")))
# A small account's recompute takes a few milliseconds, its fork more (at many tenants the fresh panel asks for one
# per account every few seconds); a large one's builds hundreds of megabytes, given back only when a horse exits.
IN_PROCESS_WHEN_SMALL = set(map(queueing.function, ("recompute_fresh", "recompute_account")))
SMALL_ACCOUNT_LEADS = 2000


def _in_process(job) -> bool:
    """Whether the worker runs this job itself rather than in a forked horse."""
    if job.func_name in IN_PROCESS:
        return True
    if job.func_name not in IN_PROCESS_WHEN_SMALL or not job.args:
        return False
    try:
        return bootstrap.worker_deps().store.lead_count_estimate(job.args[0]) <= SMALL_ACCOUNT_LEADS
    except (redis.RedisError, RedisClusterException):  # the horse will meet the same trouble, in its own process
        return False


REDIS_WAIT_MAX = 30.0  # seconds between tries while Redis is away


def run_worker(settings: Settings, burst: bool = False) -> bool:
    """Work the queues by priority (webhooks > insights > install > sync), with RQ's scheduler for delayed jobs. RQ
    gives up on some Redis errors (one at start, a timeout, one in its bookkeeping): then wait for Redis, start again."""
    import service.jobs  # noqa: F401  (preloaded: work horses fork warm)

    deps = bootstrap.build(settings)
    _warm()
    gc.freeze()  # what is loaded now lives as long as the worker: a forked horse's collections never touch (copy) it
    Worker.imminent_shutdown_delay = max(1, settings.shutdown_seconds)
    wait = 0.0
    while True:
        try:
            worker = Worker(list(deps.queues.values()), connection=deps.redis, serializer=JSONSerializer)
            worked = worker.work(burst=burst, with_scheduler=not burst, logging_level=settings.log_level.upper())
            if burst or worker._shutdown_requested_date or _redis_answers(deps):
                return worked  # asked to stop (or RQ quit for a reason of its own): exit as before
        except redis.RedisError as exc:  # its start or its teardown needed Redis
            log.warning("worker: Redis unavailable (%s)", type(exc).__name__)
        except StopRequested:
            return False
        try:
            wait = _wait_for_redis(deps, wait)
        except StopRequested:  # SIGTERM while waiting (the last worker's handler raises it when idle)
            return False


def _warm() -> None:
    """Connect the jobs' clients here, once: in-process drains reuse them, and forked horses inherit a cluster's
    slot map (their connections are reopened in the child: redis-py checks the pid) instead of fetching it anew."""
    try:
        bootstrap.worker_deps().store.ping()
    except (redis.RedisError, RedisClusterException):  # not up yet: jobs connect on first use, as before
        pass


def _redis_answers(deps) -> bool:
    """True when Redis answers a PING now."""
    try:
        return deps.store.ping()
    except redis.RedisError:
        return False


def _wait_for_redis(deps, wait: float) -> float:
    """Sleep with a growing pause until Redis answers; returns 0 for the next outage."""
    while True:
        wait = min(max(2 * wait, 1.0), REDIS_WAIT_MAX)
        log.warning("worker: waiting %.0f s for Redis, then starting again", wait)
        time.sleep(wait)
        if _redis_answers(deps):
            log.info("worker: Redis is back")
            return 0.0


def run_clock(settings: Settings) -> None:
    """Queue periodic jobs until SIGINT or SIGTERM."""
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    clock.run(bootstrap.build(settings), stop=lambda: bool(stopping))
    log.info("clock stopped")


def start(process_name: str, settings: Settings) -> None:
    """Log setup shared by every process."""
    logs.configure(settings, process_name)
