"""The service as the Procfile runs it, for benches: gunicorn (2 × 4 gthread) and RQ workers, up when /healthz is."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def wait_up(port: int, timeout: float = 30) -> None:
    """Return once the web process answers /healthz on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("web did not start")


def start_stack(env: dict, port: int, workers: int, *gunicorn_args: str) -> list[subprocess.Popen]:
    """gunicorn on `port` and `workers` RQ workers with `env`, quiet; returned once they can take work."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT,
             "env": {**env, "PYTHONPATH": str(ROOT)}}
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                            "--threads", "4", "--worker-class", "gthread", *gunicorn_args,
                            "service:create_app()"], **quiet)
    rq = [subprocess.Popen([sys.executable, "-m", "service", "worker"], **quiet) for _ in range(workers)]
    wait_up(port)
    time.sleep(2)  # RQ workers import the service before they listen
    return [web, *rq]
