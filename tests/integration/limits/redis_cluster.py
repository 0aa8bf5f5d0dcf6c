"""A private Redis Cluster for the limit tests: three primaries on free loopback ports, no replicas.

Each node is Debian's `redis-server --cluster-enabled yes` in its own folder (its `nodes.conf` there,
so a stopped node started again rejoins with its slots, as a restarted ElastiCache node does, with
its keys gone: nothing is persisted). `redis-cli --cluster create` (Debian's redis-tools) joins
them and spreads the 16,384 slots over the three. A missing binary fails the tests, never skips
them: `make test` installs both (scripts/install-test-tools.sh).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.harness import free_port

_NODE_TIMEOUT_MS = 2000


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        package = "redis-server" if name == "redis-server" else "redis-tools"
        raise RuntimeError(f"{name} is not installed (Debian package {package}; scripts/install-test-tools.sh)")
    return path


class RedisClusterNodes:
    """Start, join, stop and look into the nodes. `url` is the one node a client is given, as an
    ElastiCache configuration endpoint is: the client discovers the others from it."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self._server = _binary("redis-server")
        self._cli = _binary("redis-cli")
        self._directory = directory
        # The cluster bus gets its own free port (cluster-port), not the default port + 10000.
        self.ports = [free_port() for _ in range(size)]
        self._bus_ports = [free_port() for _ in range(size)]
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self.url = f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        for index in range(len(self.ports)):
            self.start_node(index)
        addresses = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [self._cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_until_ok()

    def start_node(self, index: int) -> None:
        port = self.ports[index]
        folder = self._directory / str(port)
        folder.mkdir(exist_ok=True)
        options = [
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
            *("--cluster-port", str(self._bus_ports[index]), "--cluster-node-timeout", str(_NODE_TIMEOUT_MS)),
        ]
        with (folder / "redis.log").open("ab") as log:
            self._processes[index] = subprocess.Popen(
                [self._server, *options, "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                with self.client(index) as client:
                    client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def running(self, index: int) -> bool:
        process = self._processes.get(index)
        return process is not None and process.poll() is None

    def stop_node(self, index: int) -> None:
        process = self._processes.pop(index, None)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(10)

    def stop(self) -> None:
        for index in list(self._processes):
            self.stop_node(index)

    def wait_until_ok(self, timeout_s: float = 30.0) -> None:
        """Until every node says the cluster is up and agrees on who serves which slot."""
        deadline = time.monotonic() + timeout_s
        while True:
            states = []
            for index in range(len(self.ports)):
                try:
                    with self.client(index) as client:
                        info = client.execute_command("CLUSTER", "INFO")
                        slots = client.execute_command("CLUSTER", "SLOTS")
                    text = info.decode() if isinstance(info, bytes) else str(info)
                    states.append(("cluster_state:ok" in text, _slot_owners(slots)))
                except redis.ConnectionError:
                    states.append((False, ()))
            if all(ok for ok, _ in states) and len({owners for _, owners in states}) == 1:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Redis cluster did not come up: {states}")
            time.sleep(0.05)

    def client(self, index: int) -> redis.Redis:
        """A plain client of one node (no redirects followed): to look at what that node holds."""
        return redis.Redis(host="127.0.0.1", port=self.ports[index], socket_timeout=5, decode_responses=True)

    def flush(self) -> None:
        for index in range(len(self.ports)):
            with self.client(index) as client:
                client.flushall()

    def keys(self) -> dict[int, list[str]]:
        """Every node's keys, by node index."""
        found = {}
        for index in range(len(self.ports)):
            with self.client(index) as client:
                found[index] = sorted(client.scan_iter(count=1000))
        return found

    def values(self) -> dict[str, int]:
        """Every counter in the cluster and its value (those of a slot being moved in, too)."""
        values = {}
        for index in range(len(self.ports)):
            with self.client(index) as client:
                for key in client.scan_iter(count=1000):
                    # ASKING on the same connection: a node reads a key of a slot it is importing.
                    pipeline = client.pipeline(transaction=False)
                    pipeline.execute_command("ASKING")
                    pipeline.get(key)
                    values[key] = int(pipeline.execute()[1] or 0)
        return values

    def node_id(self, index: int) -> str:
        with self.client(index) as client:
            return str(client.execute_command("CLUSTER", "MYID"))

    def slot_of(self, key: str) -> int:
        with self.client(0) as client:
            return int(client.execute_command("CLUSTER", "KEYSLOT", key))

    def owner_of(self, slot: int) -> int:
        """The index of the node that serves `slot`."""
        with self.client(0) as client:
            for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return self.ports.index(int(primary[1]))
        raise LookupError(f"slot {slot} is not served")

    def move_empty_slot(self, slot: int, to: int) -> None:
        """Give an empty slot to another node (what a resharding does), behind any client's back."""
        target = self.node_id(to)
        for index in range(len(self.ports)):
            with self.client(index) as client:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target)
        with self.client(to) as client:
            client.execute_command("CLUSTER", "BUMPEPOCH")
        self.wait_until_ok()


def _slot_owners(slots: object) -> tuple[tuple[int, int, int], ...]:
    if not isinstance(slots, list):
        return ()
    return tuple(sorted((int(start), int(end), int(primary[1])) for start, end, primary, *_ in slots))
