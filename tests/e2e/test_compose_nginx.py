"""deploy/compose/nginx.conf, run by a real nginx in front of two stand-in replicas on loopback.

The file is used as shipped, with only what must differ here rewritten: the replicas'
addresses, the listening port, and where nginx keeps its pid, logs and temp files. Checked:
both replicas get calls over kept-alive connections, the request line and Host reach them
byte for byte (SigV4 signs both; Bedrock ARNs carry %3A and %2F), a streamed answer's first
chunk reaches the client before the replica writes the next, and /metrics stays inside.
"""

from __future__ import annotations

import asyncio
import http.client
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.vendor_server import ServerThread
from tests.harness import free_port

CONF = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "nginx.conf"
RAW_PATH = "/bedrock/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.claude//converse?x=%2F"


@dataclass
class Replica:
    """Stands in for a Glassgate replica: records what reaches it; /stream waits for the client between chunks."""

    name: str
    seen: list[tuple[str, str | None, int]] = field(default_factory=list)  # raw path, Host, client port
    next_chunk: threading.Event = field(default_factory=threading.Event)
    released: list[bool] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.seen.append((request.raw_path, request.headers.get("Host"), peer[1] if peer else 0))
        if request.path != "/stream":
            return web.json_response({"replica": self.name})
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: first\n\n")
        # The client sets the event only after reading the first chunk: a buffering proxy would
        # hold that chunk until the answer ends, and the event would never be set.
        released = await asyncio.get_running_loop().run_in_executor(None, self.next_chunk.wait, 10)
        self.released.append(released)
        await response.write(b"data: second\n\n")
        await response.write_eof()
        return response


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[str, list[Replica]]]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).is_file():
        pytest.fail("nginx is not installed (.ci/run and make bench install it from Debian)")
    replicas = [Replica("glassgate-1"), Replica("glassgate-2")]
    servers = [ServerThread(replica.app()).start() for replica in replicas]
    port = free_port()
    conf = CONF.read_text()
    for replica, server in zip(replicas, servers, strict=True):
        assert f"server {replica.name}:4000 " in conf
        conf = conf.replace(f"server {replica.name}:4000 ", f"server 127.0.0.1:{server.port} ")
    assert "    listen 4000;" in conf
    conf = conf.replace("    listen 4000;", f"    listen 127.0.0.1:{port};")
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    local = "".join(f"    {name}_temp_path {path};\n" for name, path in (("client_body", temp["body"]),))
    local += "".join(f"    {name}_temp_path {temp[name]};\n" for name in ("proxy", "fastcgi", "uwsgi", "scgi"))
    conf = conf.replace("http {\n", "http {\n" + local, 1)
    conf = f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log warn;\n" + conf
    (tmp_path / "nginx.conf").write_text(conf)
    log = tmp_path / "nginx.out"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield f"127.0.0.1:{port}", replicas
    finally:
        process.terminate()
        process.wait(10)
        for server in servers:
            server.stop()


def request(address: str, path: str, host: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(address, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_both_replicas_get_the_request_line_and_host_unchanged_over_kept_alive_connections(
    nginx: tuple[str, list[Replica]],
) -> None:
    address, replicas = nginx
    for _ in range(12):
        status, _body = request(address, RAW_PATH, "glassgate.example.com:4000")
        assert status == 200
    for replica in replicas:
        assert replica.seen, f"{replica.name} got no calls"
        assert {(path, host) for path, host, _ in replica.seen} == {(RAW_PATH, "glassgate.example.com:4000")}
        ports = {port for _, _, port in replica.seen}
        assert len(ports) < len(replica.seen), f"{replica.name}: a new upstream connection per call (no keep-alive)"


def test_a_stream_is_relayed_chunk_by_chunk(nginx: tuple[str, list[Replica]]) -> None:
    address, replicas = nginx
    connection = http.client.HTTPConnection(address, timeout=15)
    try:
        connection.request("POST", "/stream", body=b"{}", headers={"content-type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.readline() == b"data: first\n"
        for replica in replicas:
            replica.next_chunk.set()  # only now may the replica write the second chunk
        rest = response.read()
    finally:
        connection.close()
    assert rest == b"\ndata: second\n\n"
    assert [released for replica in replicas for released in replica.released] == [True]


def test_metrics_stay_behind_the_load_balancer(nginx: tuple[str, list[Replica]]) -> None:
    address, replicas = nginx
    status, _body = request(address, "/metrics", "glassgate.example.com")
    assert status == 404
    assert not any(replica.seen for replica in replicas)
