"""CLI: python -m service.sandbox serve|generate (binds 127.0.0.1 unless told otherwise)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import accountfile
from .generator import SIZES, generate


def parse(argv: list[str]) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(prog="python -m service.sandbox", description="Offline amoCRM account")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve an account over HTTP")
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--size", choices=sorted(SIZES), default="small")
    source.add_argument("--account", help="account file (JSON) to serve")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--now", type=int, help="unix time the generated history ends at")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--simulate", type=float, default=0.0, metavar="RATE", help="live events per second")
    serve.add_argument("--token", help="also accept this access token (skips the OAuth dance)")
    gen = sub.add_parser("generate", help="print a generated account file to stdout")
    gen.add_argument("--size", choices=sorted(SIZES), default="small")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--now", type=int)
    return parser.parse_args(argv)


def load_world(args: argparse.Namespace):
    """The account to serve: a file or a generated one."""
    if args.account:
        return accountfile.load_path(args.account)
    started = time.perf_counter()
    world = generate(args.size, seed=args.seed, now=args.now)
    print(f"generated {args.size} account in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return world


def serve(args: argparse.Namespace) -> None:
    """Run the sandbox app with werkzeug's threaded server."""
    from werkzeug.serving import make_server

    from .app import create_sandbox_app, sandbox_state
    from .simulator import Simulator
    world = load_world(args)
    app = create_sandbox_app(world)
    state = sandbox_state(app)
    server = make_server(args.host, args.port, app, threaded=True)
    world.settings["base_url"] = world.settings.get("base_url") or f"http://{args.host}:{server.server_port}"
    if args.token:
        state.tokens.add_access_token(args.token)
    if args.simulate > 0:
        state.simulator = Simulator(world, args.simulate, seed=args.seed).start()
    conf = world.settings["oauth"]
    print(json.dumps({"url": f"http://{args.host}:{server.server_port}", "client_id": conf["client_id"],
                      "redirect_uri": conf["redirect_uri"], "account_id": world.account["id"]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if state.simulator:
            state.simulator.stop()
        state.sender.stop()


def widen_pipe(stream, size: int = 1 << 20) -> None:
    """A 1 MB buffer for the stream when it is a pipe (Linux only)."""
    # Through the default 64 KB the writer and a reader such as sha256sum took turns instead of running side by
    # side: the large file piped to sha256sum took 21-22 s wall, 13-18 s with 1 MB (BENCHMARKS.md).
    try:
        import fcntl
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, size)
    except (ImportError, AttributeError, ValueError, OSError):
        pass  # not a pipe, not Linux, or above the system's limit: the default buffer serves


def write_generated(args: argparse.Namespace, exit_when_done: bool) -> None:
    """Print the account file. From the command line the process then ends at once: freeing the millions of
    records one by one at interpreter exit (and the cyclic GC's first walk over them once re-enabled) only costs
    time, a second or two on large."""
    with accountfile.gc_paused():
        world = generate(args.size, seed=args.seed, now=args.now)
        sys.stdout.flush()
        widen_pipe(sys.stdout)
        accountfile.write(world, sys.stdout.buffer)
        sys.stdout.buffer.write(b"\n")
        if exit_when_done:
            sys.stdout.buffer.flush()
            os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command == "generate":
        write_generated(args, exit_when_done=argv is None)
        return
    serve(args)


if __name__ == "__main__":
    main()
