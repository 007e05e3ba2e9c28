"""Command line: `python -m service run | web | worker | clock | jobs failed|replay | dlq | hook-url | accounts |
migrate-to-cluster | migrate-encoding | hints-doc`."""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from service import bootstrap
from service.ops import demo, failed_jobs, processes, widget_package
from service.services import intake, hook_urls
from service.config import ConfigError, Settings, child_environment
from service.insights import hint_catalogue
from service.model import Account
from service.ops.redis_server import ROOT, EmbeddedRedis, free_port
from service.ops.supervisor import Supervisor, keep_alive


def main(argv=None) -> int:
    """Parse arguments and run one command; a configuration that may not start is named, not traced."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args) or 0
    except ConfigError as exc:
        print(f"deal-pulse: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description="Deal Pulse service")
    sub = parser.add_subparsers(required=True)
    run = sub.add_parser("run", help="everything: Redis (embedded when REDIS_URL is unset), web, workers, clock; "
                                    "without AMOCRM_CLIENT_ID the demo on a sandbox amoCRM account")
    run.set_defaults(command=run_all)
    url = sub.add_parser("hook-url", help="print the webhook URL of an account")
    url.add_argument("account_id", type=int)
    url.set_defaults(command=print_hook_url)
    widget = sub.add_parser("widget", help="build widget.zip for upload in amoCRM")
    widget.add_argument("--output", default=str(ROOT / "widget.zip"))
    widget.add_argument("--allow-http", action="store_true",
                        help="allow a plain-http PUBLIC_URL (a package for local previews only)")
    widget.set_defaults(command=build_widget)
    doc = sub.add_parser("hints-doc", help="write docs/hints.md: every hint × severity × language, from the code")
    doc.add_argument("--output", default=str(ROOT / "docs" / "hints.md"))
    doc.set_defaults(command=write_hints_doc)
    web = sub.add_parser("web", help="the web process (gunicorn): Procfile `web`")
    web.set_defaults(command=run_web)
    worker = sub.add_parser("worker", help="an RQ worker on webhooks > insights > install > sync: Procfile `worker`")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.set_defaults(command=run_worker)
    clock = sub.add_parser("clock", help="queue periodic jobs (one process per deployment is enough)")
    clock.set_defaults(command=run_clock)
    keep = sub.add_parser("keep", help="run web | worker | clock and restart it whenever it dies (`make run`)")
    keep.add_argument("process", choices=("web", "worker", "clock"))
    keep.set_defaults(command=lambda args: keep_alive([args.process]))
    jobs = sub.add_parser("jobs", help="failed background jobs").add_subparsers(required=True)
    failed = jobs.add_parser("failed", help="list failed jobs with their last error")
    failed.add_argument("--queue", choices=bootstrap.QUEUE_NAMES)
    failed.set_defaults(command=list_failed_jobs)
    again = jobs.add_parser("replay", help="put failed jobs back in their queues")
    again.add_argument("job_ids", nargs="*", help="job ids (default: every failed job)")
    again.add_argument("--queue", choices=bootstrap.QUEUE_NAMES)
    again.set_defaults(command=replay_failed_jobs)
    dlq = sub.add_parser("dlq", help="webhooks that could not be applied").add_subparsers(required=True)
    for name, func, text in (("list", list_dead_letters, "show dead letters"),
                             ("replay", replay_dead_letters, "put dead letters back into the inbox")):
        cmd = dlq.add_parser(name, help=text)
        cmd.add_argument("--account", type=int, help="one account (default: all)")
        cmd.set_defaults(command=func)
    move = sub.add_parser("migrate-to-cluster", help="copy accounts from one Redis to REDIS_CLUSTER_URL "
                                                         "(unset: to the tagged key names on REDIS_URL), verified")
    which = move.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", type=int, help="one account")
    which.add_argument("--all", action="store_true", help="every account of the source")
    move.add_argument("--from", dest="source", help="the single Redis to copy from (default: REDIS_URL)")
    move.add_argument("--catch-up", action="store_true",
                      help="after the switch: append what the source inbox received since the copy")
    move.add_argument("--replace", action="store_true", help="overwrite an account already on the cluster")
    move.set_defaults(command=migrate_to_cluster)
    compact = sub.add_parser("migrate-encoding", help="rewrite mirrors stored before the compact encodings "
                                                      "(issue 22) into them; run with the workers stopped")
    which = compact.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", type=int, help="one account")
    which.add_argument("--all", action="store_true", help="every installed account")
    compact.set_defaults(command=migrate_encoding)
    accounts = sub.add_parser("accounts", help="manage installed accounts").add_subparsers(required=True)
    add = accounts.add_parser("add", help="register an account by hand (local use)")
    add.add_argument("--id", type=int, required=True)
    add.add_argument("--subdomain", required=True)
    add.add_argument("--base-url", default="", help="default https://<subdomain>.amocrm.ru")
    add.set_defaults(command=add_account)
    return parser


def migrate_to_cluster(args) -> int:
    """Copy (or catch up) accounts onto the cluster; exit 1 when any key does not match its source."""
    import redis

    from service.ops import migrate

    settings = _settings()  # without REDIS_CLUSTER_URL: the tagged names on REDIS_URL itself (an in-place upgrade)
    deps = bootstrap.build(settings)
    source = redis.Redis.from_url(args.source or settings.redis_url)
    failed = 0
    for account_id in ([args.account] if args.account else migrate.source_accounts(source)):
        if args.catch_up:
            print(f"account {account_id}: {migrate.catch_up(source, deps, account_id)} inbox entries caught up")
            continue
        copied = migrate.copy_account(source, deps, account_id, replace=args.replace)
        failed += bool(copied.mismatched)
        print(f"account {account_id}: {copied.keys} keys copied, {copied.verified} verified"
              + (f"; MISMATCHED: {', '.join(copied.mismatched)}" if copied.mismatched else ""))
    return 1 if failed else 0


def migrate_encoding(args) -> None:
    """Convert each account's old-format mirror hashes into the compact encodings, printing what was done."""
    from service.ops import migrate_encoding as compact

    deps = bootstrap.build(_settings())
    for account_id in ([args.account] if args.account else deps.store.account_ids()):
        done = compact.convert_account(deps.store, account_id)
        counts = ", ".join(f"{name} {n}" for name, n in done.records.items()) or "nothing in the old format"
        print(f"account {account_id}: {counts}; old keys deleted: {', '.join(done.deleted) or 'none'}")


def print_hook_url(args) -> None:
    """Print the full webhook URL for an account."""
    print(hook_urls.hook_url(bootstrap.build(_settings()), args.account_id))


def build_widget(args) -> None:
    """Package the widget with our public URL baked in."""
    settings = Settings.from_env()
    try:  # the bare default (http://127.0.0.1) is never baked in by accident
        widget_package.check_target(settings.public_url, settings.support_url, settings.support_email,
                                    allow_http=args.allow_http)
    except widget_package.PackageError as exc:
        raise SystemExit(f"widget.zip not built: {exc}") from None
    path = widget_package.build_zip(Path(args.output), settings.public_url, settings.support_url,
                                    settings.support_email)
    print(f"{path} (version {widget_package.version()}, API {settings.public_url})")


def write_hints_doc(args) -> None:
    """Regenerate the catalogue of hint texts."""
    Path(args.output).write_text(hint_catalogue.markdown(), encoding="utf-8")
    print(args.output)


def run_web(args) -> None:
    """The web process."""
    settings = Settings.from_env()
    processes.start("web", settings)
    processes.run_web(settings)


def run_worker(args) -> None:
    """A worker process."""
    settings = Settings.from_env()
    processes.start("worker", settings)
    processes.run_worker(settings, burst=args.burst)


def run_clock(args) -> None:
    """Queue periodic jobs until stopped."""
    settings = Settings.from_env()
    processes.start("clock", settings)
    processes.run_clock(settings)


def list_failed_jobs(args) -> None:
    """Print each failed job: queue, id, when, call, last error line."""
    jobs = failed_jobs.failed(bootstrap.build(_settings()), args.queue)
    for job in jobs:
        print(job.line())
    print(f"{len(jobs)} failed job(s)")


def replay_failed_jobs(args) -> None:
    """Requeue failed jobs."""
    count = failed_jobs.replay(bootstrap.build(_settings()), args.job_ids, args.queue)
    print(f"{count} job(s) put back in their queues")


def _accounts(deps, only) -> list[int]:
    return [only] if only else deps.store.account_ids()


def list_dead_letters(args) -> None:
    """Print each dead letter: account, time received, error."""
    deps = bootstrap.build(_settings())
    for account_id in _accounts(deps, args.account):
        for letter in deps.store.dead_letters(account_id):
            print(f"account {account_id}  received {letter.get('received_at', '?')}  {letter['error']}")


def replay_dead_letters(args) -> None:
    """Move dead letters back into their inboxes and queue the drains."""
    deps = bootstrap.build(_settings())
    total = sum(intake.replay_dead_letters(deps, a) for a in _accounts(deps, args.account))
    print(f"{total} dead letter(s) replayed")


def add_account(args) -> None:
    """Register an account so that its webhooks and widget tokens are accepted."""
    deps = bootstrap.build(_settings())
    hook_urls.register_account(deps, Account(args.id, args.subdomain, args.base_url))
    print(f"account {args.id} ({args.subdomain}) registered; webhook URL:\n{hook_urls.hook_url(deps, args.id)}")


def run_all(args) -> int:
    """Redis (embedded when REDIS_URL is unset), the demo's sandbox when no amoCRM integration is configured, then
    the Procfile's processes; one Ctrl-C stops everything in order and leaves no process behind."""
    started = time.time()
    settings = _free_port(Settings.from_env())
    supervisor = Supervisor(stop_timeout=settings.shutdown_seconds + 10)
    embedded = None
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)  # also when started in the background, where SIGINT is ignored
    try:
        if not settings.redis_url:
            embedded = EmbeddedRedis().start(popen=partial(supervisor.spawn, "redis"))
        settings = replace(settings, redis_url=settings.redis_url or embedded.url)
        RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
        RUN_FILE.write_text(settings.redis_url)
        return _run_demo(settings, supervisor, started) if settings.is_demo else _run_procfile(settings, supervisor)
    except KeyboardInterrupt:
        return 0
    except (demo.DemoError, demo.requests.RequestException) as exc:
        print(f"\nThe demo stopped: {exc}\nLast lines of {LOG_FILE}:\n{_tail(LOG_FILE)}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nStopping…", flush=True)
        supervisor.stop_all()
        RUN_FILE.unlink(missing_ok=True)
        if embedded:
            embedded.stop()
        print("Deal Pulse stopped.", flush=True)


def _run_procfile(settings: Settings, supervisor: Supervisor, extra_env: dict | None = None, log=None,
                  workers: int = 1) -> subprocess.Popen:
    """Start the Procfile's processes under honcho (web, `workers` workers, clock)."""
    # honcho gives each process its own PORT (web gets -p): the public URL must not follow it.
    env = child_environment(REDIS_URL=settings.redis_url, BIND_HOST="127.0.0.1", PORT=str(settings.port),
                            PUBLIC_URL=settings.base_url, **(extra_env or {}))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python` is ours
    print(f"Deal Pulse: {settings.base_url}  (Redis {settings.redis_url})", flush=True)
    honcho = supervisor.spawn("honcho", [sys.executable, "-m", "honcho", "start", "-f", str(_kept_procfile()),
                                         "-p", str(settings.port), "-c", f"worker={workers}"], env=env, cwd=ROOT, stdout=log, stderr=log)
    if log is not None:
        return honcho
    return honcho.wait()


def _kept_procfile() -> Path:
    """The Procfile with each process under `keep` (honcho stops everything when one process exits)."""
    kept = ROOT / "var" / "run" / "Procfile.run"
    kept.parent.mkdir(parents=True, exist_ok=True)
    lines = [line.replace("python -m service ", "python -m service keep ", 1)
             for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    kept.write_text("\n".join(lines) + "\n")
    return kept


def _run_demo(settings: Settings, supervisor: Supervisor, started: float) -> int:
    """The sandbox account installed through OAuth, synced with a progress bar, then alive with webhooks."""
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOG_FILE.write_bytes(b"")
    print(f"Demo mode: no AMOCRM_CLIENT_ID set, so Deal Pulse runs against a generated {settings.demo_size} "
          f"sandbox account. Logs: {LOG_FILE.relative_to(ROOT)}", flush=True)
    url = f"http://127.0.0.1:{free_port()}"
    sandbox = demo.start_sandbox(settings.demo_size, int(url.rsplit(":", 1)[1]), LOG_FILE,
                                 popen=partial(supervisor.spawn, "sandbox"))
    rps = str(settings.demo_rps)
    settings = replace(settings, amocrm_api_base=url, amocrm_rps=settings.demo_rps)
    with open(LOG_FILE, "ab") as log:  # web and workers start while the sandbox generates its account
        honcho = _run_procfile(settings, supervisor, log=log, workers=2, extra_env={
            "AMOCRM_API_BASE": url, "AMOCRM_RPS": rps, "AMOCRM_GLOBAL_RPS": rps,
            "DEAL_PULSE_ENV": "demo"})  # the only mode that serves /preview (issue 16)
    account_id = demo.sandbox_account(sandbox, LOG_FILE)
    demo.configure_sandbox(url, settings)
    demo.wait_ready(settings.base_url, supervisor.alive)
    demo.install(url)
    first_hint = demo.follow_sync(settings, account_id, sys.stdout, supervisor.alive)
    print(f"Plans for this month: {demo.set_plans(settings, account_id)} set (edit them in the panel)", flush=True)
    demo.start_simulator(url, settings.demo_events_per_second)
    print(demo.addresses(settings, url, settings.demo_events_per_second), flush=True)
    print(f"(first hint {first_hint - started:.0f} s after start)", flush=True)
    return honcho.wait()


def _free_port(settings: Settings) -> Settings:
    """Keep PORT when it is free; otherwise take a free one and say so."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", settings.port))
            return settings
        except OSError:
            pass
    port = free_port()
    print(f"Port {settings.port} is in use: using {port} (set PORT to choose).", flush=True)
    return replace(settings, port=port)


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


RUN_FILE = ROOT / "var" / "run" / "redis.url"
LOG_FILE = ROOT / "var" / "log" / "run.log"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _settings() -> Settings:
    """Settings for one-off commands: reuse the Redis of a running `make run` when REDIS_URL is unset."""
    settings = Settings.from_env()
    if not settings.redis_url and RUN_FILE.exists():
        return Settings(**{**settings.__dict__, "redis_url": RUN_FILE.read_text().strip()})
    return settings


if __name__ == "__main__":
    sys.exit(main())
