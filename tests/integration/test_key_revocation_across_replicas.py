"""Two Glassgate instances on one database: a key revoked through one (or with `glassgate keys revoke`)
stops working on the other.

Both are whole apps (`create_app`, started as the server's lifespan would), each with its own
caches and its own key change listener; they share only PostgreSQL, as replicas behind a
load balancer do. The bound documented in storage/key_cache.py: within a second while the
listeners are connected (the caches would otherwise trust the key for minutes).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
import yaml

from glassgate.app import Glassgate, create_app
from glassgate.config import load_settings
from glassgate.storage import aws_keys
from glassgate.storage.key_cache import LISTENING_TTL_S, NEGATIVE_TTL_S
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
CHAT = "/held/v1/chat/completions"
SECRET_KEY = "shared-by-the-replicas-0123456789"  # replicas on one database share it (storage/aws_keys.py)
CIPHER = aws_keys.cipher_for(SECRET_KEY)
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def vendor_url() -> Iterator[str]:
    server = ServerThread(FakeVendor().app()).start()
    yield server.url
    server.stop()


@pytest.fixture
async def replicas(database_url: str, vendor_url: str, tmp_path: Path) -> AsyncIterator[list[Glassgate]]:
    apps = []
    for name in ("a", "b"):
        config = {
            "data_dir": str(tmp_path / name),
            "database_url": database_url,
            "admin_token": ADMIN_TOKEN,
            "secret_key": SECRET_KEY,
            "upstreams": {"held": {"vendor": "openai", "url": vendor_url, "auth": {"type": "static", "key": "sk-x"}}},
            "embeddings": {"enabled": False},
            "evals": {"worker": False},
            "tracing": {"estimate_tokens": False},
        }
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        apps.append(create_app(load_settings(path)))
    for app in apps:
        await app.startup()
    try:
        for app in apps:
            await until(lambda app=app: app.key_events.listening_since is not None, within_s=10)  # type: ignore[misc]
        yield apps
    finally:
        for app in apps:
            await app.shutdown()


def client(app: Glassgate) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica.test", timeout=10)


async def until(condition: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def seconds_until(check: Callable[[], Awaitable[bool]], within_s: float) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within_s, f"still not true after {within_s} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_a_second(replicas: list[Glassgate]) -> None:
    a, b = replicas
    async with client(a) as on_a, client(b) as on_b:
        issued = (await on_a.post("/api/v1/keys", json={"project": "checkout"}, headers=ADMIN)).json()
        bearer = {"authorization": f"Bearer {issued['key']}"}
        # B learns the key (and caches it: for LISTENING_TTL_S, were no change announced).
        assert (await on_b.post(CHAT, json=BODY, headers=bearer)).status_code == 200
        assert (await on_a.post(CHAT, json=BODY, headers=bearer)).status_code == 200
        assert LISTENING_TTL_S >= 60

        assert (await on_a.delete(f"/api/v1/keys/{issued['key_id']}", headers=ADMIN)).status_code == 204

        async def refused_by_b() -> bool:
            return (await on_b.post(CHAT, json=BODY, headers=bearer)).status_code == 401

        assert await seconds_until(refused_by_b, within_s=5) < 1.0
        refused = await on_a.post(CHAT, json=BODY, headers=bearer)
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]


async def test_an_aws_key_pair_revoked_on_one_replica_is_refused_by_the_other(replicas: list[Glassgate]) -> None:
    a, b = replicas
    issued = await aws_keys.create_aws_key(a.api.state.pool, "team-b", CIPHER)
    found = await b.aws_keys.secret_for(issued.access_key_id)
    assert found is not None and found[0] == issued.secret_access_key

    async with client(a) as on_a:
        revoked = await on_a.delete(f"/api/v1/keys/{issued.access_key_id}", headers=ADMIN)
        assert revoked.status_code == 204
        again = await on_a.delete(f"/api/v1/keys/{issued.access_key_id}", headers=ADMIN)
        assert again.status_code == 404

    async def refused_by_b() -> bool:
        return await b.aws_keys.secret_for(issued.access_key_id) is None

    assert await seconds_until(refused_by_b, within_s=5) < 1.0


async def test_keys_revoked_with_the_cli_are_refused_by_running_replicas_in_the_vendors_shape(
    replicas: list[Glassgate], tmp_path: Path
) -> None:
    a, b = replicas
    pair = await aws_keys.create_aws_key(a.api.state.pool, "team-b", CIPHER)
    assert await b.aws_keys.secret_for(pair.access_key_id) is not None  # cached, as a served call would
    async with client(a) as on_a, client(b) as on_b:
        issued = (await on_a.post("/api/v1/keys", json={"project": "checkout"}, headers=ADMIN)).json()
        bearer = {"authorization": f"Bearer {issued['key']}"}
        for replica in (on_a, on_b):
            assert (await replica.post(CHAT, json=BODY, headers=bearer)).status_code == 200

        # The CLI is one more process on the database, with the replicas' own config.
        await revoke_with_cli(issued["key_id"], config=tmp_path / "a.yaml")

        async def refused_by_both() -> bool:
            statuses = [(await replica.post(CHAT, json=BODY, headers=bearer)).status_code for replica in (on_a, on_b)]
            return statuses == [401, 401]

        assert await seconds_until(refused_by_both, within_s=5) < 1.0
        refused = (await on_b.post(CHAT, json=BODY, headers=bearer)).json()
        assert refused["error"]["code"] == "invalid_api_key" and "revoked" in refused["error"]["message"]

    # The official SDK (on httpx2, its own fork of httpx) raises its usual exception.
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=b), base_url="http://replica.test")
    sdk = openai.AsyncOpenAI(api_key=issued["key"], base_url="http://replica.test/held/v1", http_client=http)
    async with sdk:
        with pytest.raises(openai.AuthenticationError) as caught:
            await sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"

    await revoke_with_cli(pair.access_key_id, config=tmp_path / "b.yaml")

    async def pair_refused_by_b() -> bool:
        return await b.aws_keys.secret_for(pair.access_key_id) is None

    assert await seconds_until(pair_refused_by_b, within_s=5) < 1.0


async def revoke_with_cli(key_id: str, *, config: Path) -> None:
    """`glassgate keys revoke`, run without blocking the loop the replicas (and their listeners) run on."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GLASSGATE_")}
    command = [sys.executable, "-m", "glassgate", "keys", "revoke", key_id, "--config", str(config)]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()


async def test_a_pair_issued_on_one_replica_works_at_once_where_it_was_just_unknown(
    replicas: list[Glassgate], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    monkeypatch.setattr(secrets, "choice", lambda alphabet: "N")  # the id is known beforehand
    planned = aws_keys.ACCESS_KEY_PREFIX + "N" * 16
    assert await b.aws_keys.secret_for(planned) is None  # and cached as unknown (for NEGATIVE_TTL_S)
    assert NEGATIVE_TTL_S >= 3
    issued = await aws_keys.create_aws_key(a.api.state.pool, "team-c", CIPHER)
    assert issued.access_key_id == planned

    async def known_to_b() -> bool:
        return await b.aws_keys.secret_for(planned) is not None

    assert await seconds_until(known_to_b, within_s=5) < 1.0
