"""A Redis Cluster on loopback from the embedded redis-server binary: tests and benches (never `make run`)."""
from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from service.ops.redis_server import COMPACT_HASHES, DATA_DIR, redis_binary

BUS_OFFSET = 10000  # Redis Cluster's bus listens on port + 10000


def _free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port right now."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def cluster_ports(count: int, low: int = 20000, high: int = 29999) -> list[int]:
    """`count` ports whose cluster-bus ports are free too (below the usual ephemeral range)."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(low, high)
        if port not in chosen and _free(port) and _free(port + BUS_OFFSET):
            chosen.append(port)
    return chosen


class EmbeddedCluster:
    """`primaries` primaries with `replicas` replicas each, created with redis-cli; stopped and removed on exit."""

    def __init__(self, primaries: int = 3, replicas: int = 1, node_timeout_ms: int = 1000,
                 data_dir: Path = DATA_DIR / "cluster", appendonly: bool = False):
        self.ports = cluster_ports(primaries * (1 + replicas))
        self.replicas, self.node_timeout_ms, self.appendonly = replicas, node_timeout_ms, appendonly
        self.dir = data_dir / str(self.ports[0])
        self.processes: dict[int, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        """A REDIS_CLUSTER_URL: one node is enough, the client learns the rest."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self, timeout: float = 30.0) -> "EmbeddedCluster":
        """Start every node, join them into one cluster and wait until all slots are served."""
        for port in self.ports:
            self.start_node(port)
        for port in self.ports:
            _wait_ping(port, timeout)
        cli = Path(redis_binary()).with_name("redis-cli")
        cli = str(cli) if cli.exists() else (shutil.which("redis-cli") or "")
        if not cli:
            raise RuntimeError("no redis-cli next to redis-server: cannot create a cluster")
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                        "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
        self.wait_healthy(timeout)
        return self

    def start_node(self, port: int) -> None:
        """Start (or restart) one node with its own directory and nodes.conf."""
        node_dir = self.dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout_ms), "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--logfile", "redis.log", *COMPACT_HASHES]
        self.processes[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until every live node says cluster_state:ok and every primary has its replicas online."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._node_ok(p) for p in self.live_ports()) and self._replicas_online():
                return
            time.sleep(0.1)
        raise RuntimeError(f"cluster on {self.ports} did not become healthy in {timeout} s")

    def wait_promoted(self, key: str, dead: int, timeout: float = 30.0) -> int:
        """Until a live primary other than `dead` serves `key`'s slot and the cluster is ok again; its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                port = self.primary_of(key)
                if port != dead and all(self._node_ok(p) for p in self.live_ports()):
                    return port
            except (redis.RedisError, LookupError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no replica took over {key!r} from port {dead} in {timeout} s")

    def live_ports(self) -> list[int]:
        """Ports of the nodes whose process still runs."""
        return [p for p, proc in self.processes.items() if proc.poll() is None]

    def primaries(self) -> list[int]:
        """Ports of the live nodes that are primaries now."""
        return [p for p in self.live_ports() if _client(p).info("replication")["role"] == "master"]

    def primary_of(self, key: str) -> int:
        """The port of the live primary serving `key`'s slot."""
        slot = _client(self.live_ports()[0]).cluster("keyslot", key)
        for start, end, primary, *_ in _client(self.live_ports()[0]).execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                return int(primary[1])
        raise LookupError(key)

    def replica_of(self, port: int):
        """The port of the primary a live replica follows, or None for a primary."""
        info = _client(port).info("replication")
        return int(info["master_port"]) if info["role"] == "slave" else None

    def kill(self, port: int) -> None:
        """SIGKILL one node: a crash, nothing flushed."""
        self.processes[port].kill()
        self.processes[port].wait()

    def _node_ok(self, port: int) -> bool:
        try:
            return _client(port).execute_command("CLUSTER INFO").get("cluster_state") == "ok"
        except redis.RedisError:
            return False

    def _replicas_online(self) -> bool:
        try:
            return all(int(_client(p).info("replication").get("connected_slaves", 0)) >= min(self.replicas, 1)
                       for p in self.primaries())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """Stop every node and remove its files."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "EmbeddedCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=1)


def _wait_ping(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _client(port).ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"cluster node on port {port} did not start")
