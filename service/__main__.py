"""Command line: `python -m service run | hook-url ID | accounts add --id N --subdomain S`."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from service import bootstrap, clock, intake, services, widget_package
from service.config import Settings, child_environment
from service.model import Account
from service.redis_server import ROOT, EmbeddedRedis


def main(argv=None) -> int:
    """Parse arguments and run one command."""
    args = _parser().parse_args(argv)
    return args.command(args) or 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description="Deal Pulse service")
    sub = parser.add_subparsers(required=True)
    run = sub.add_parser("run", help="run web and worker (embedded Redis when REDIS_URL is unset)")
    run.set_defaults(command=run_all)
    url = sub.add_parser("hook-url", help="print the webhook URL of an account")
    url.add_argument("account_id", type=int)
    url.set_defaults(command=print_hook_url)
    widget = sub.add_parser("widget", help="build widget.zip for upload in amoCRM")
    widget.add_argument("--output", default=str(ROOT / "widget.zip"))
    widget.set_defaults(command=build_widget)
    clock = sub.add_parser("clock", help="queue periodic jobs (one process per deployment is enough)")
    clock.set_defaults(command=run_clock)
    dlq = sub.add_parser("dlq", help="webhooks that could not be applied").add_subparsers(required=True)
    for name, func, text in (("list", list_dead_letters, "show dead letters"),
                             ("replay", replay_dead_letters, "put dead letters back into the inbox")):
        cmd = dlq.add_parser(name, help=text)
        cmd.add_argument("--account", type=int, help="one account (default: all)")
        cmd.set_defaults(command=func)
    accounts = sub.add_parser("accounts", help="manage installed accounts").add_subparsers(required=True)
    add = accounts.add_parser("add", help="register an account by hand (local use)")
    add.add_argument("--id", type=int, required=True)
    add.add_argument("--subdomain", required=True)
    add.add_argument("--base-url", default="", help="default https://<subdomain>.amocrm.ru")
    add.set_defaults(command=add_account)
    return parser


def print_hook_url(args) -> None:
    """Print the full webhook URL for an account."""
    print(services.hook_url(bootstrap.build(_settings()), args.account_id))


def build_widget(args) -> None:
    """Package the widget with our public URL baked in."""
    settings = Settings.from_env()
    path = widget_package.build_zip(Path(args.output), settings.base_url)
    print(f"{path} (version {widget_package.version()}, API {settings.base_url})")


def run_clock(args) -> None:
    """Queue periodic jobs until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s clock %(message)s")
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        clock.run(bootstrap.build(_settings()))
    except KeyboardInterrupt:
        pass


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
    services.register_account(deps, Account(args.id, args.subdomain, args.base_url))
    print(f"account {args.id} ({args.subdomain}) registered; webhook URL:\n{services.hook_url(deps, args.id)}")


def run_all(args) -> int:
    """Start Redis when needed, then the Procfile's processes; one Ctrl-C stops everything."""
    settings = Settings.from_env()
    embedded = None if settings.redis_url else EmbeddedRedis().start()
    redis_url = settings.redis_url or embedded.url
    RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
    RUN_FILE.write_text(redis_url)
    env = child_environment(REDIS_URL=redis_url, BIND_HOST="127.0.0.1", PORT=str(settings.port))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # gunicorn, rq
    print(f"Deal Pulse: http://127.0.0.1:{settings.port}  (Redis {redis_url}{' embedded' if embedded else ''})",
          flush=True)
    honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-f", str(ROOT / "Procfile")],
                              env=env, cwd=ROOT)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)  # also when started in the background, where SIGINT is ignored
    try:
        return honcho.wait()
    except KeyboardInterrupt:
        honcho.terminate()  # honcho stops web and worker gracefully, then exits
        honcho.wait()
        print("Deal Pulse stopped.", flush=True)
        return 0
    finally:
        RUN_FILE.unlink(missing_ok=True)
        if embedded:
            embedded.stop()


RUN_FILE = ROOT / "var" / "run" / "redis.url"


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
