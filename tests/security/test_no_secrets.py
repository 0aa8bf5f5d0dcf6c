"""No secret anywhere Glassgate writes or answers: a grep over everything, after traffic with every secret.

One Glassgate (debug logging, OTLP export with messages, its own PostgreSQL) carries calls made
with every kind of credential it handles: vendor keys in Authorization, api-key and x-api-key;
a Glassgate key; an AWS key pair's SigV4 signature and a Bedrock API key; the admin token; a
user's password and session cookie; and, in its config, an Azure service principal's secret,
a static upstream key, AWS credentials, the secret key and an OTLP exporter token. Then the
database is stopped and more calls spill to disk. Searched, for each secret and its base64
(haystacks.forms): every column of every table, the server's log, the spill directory, the
OTLP exports, /metrics, and the API's answers (spans, traces, sessions, upstreams, keys...).

The search proves it can find something: a canary planted where it belongs (the user's prompt
in the stored body, the spill, the export and the API; an upstream's name in /metrics; an
upstream's URL in the log) must be found in each place, or the test fails.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from glassgate.api.app import create_api
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.bedrock_server import FakeBedrock
from tests.fakes.vendor_server import FakeEntra, FakeVendor, ServerThread
from tests.harness import GlassgateProcess, free_port
from tests.integration.test_database_outage import StoppablePostgres
from tests.security.conftest import GLASSGATE
from tests.security.haystacks import dump_database, find, forms, read_tree

REGION = "us-east-1"
CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0"
RUN = secrets.token_hex(4)
CANARY_PROMPT = f"canary-prompt-{RUN}-please-remember"
CANARY_UPSTREAM = f"canary-upstream-{RUN}"  # an upstream name: a label in /metrics
CANARY_LOG = f"canary-log-{RUN}"
SECRETS = {
    "openai key (Authorization)": f"sk-proj-{secrets.token_urlsafe(24)}",
    "azure key (api-key)": secrets.token_hex(16),
    "anthropic key (x-api-key)": f"sk-ant-api03-{secrets.token_urlsafe(24)}",
    "bedrock api key (Bearer)": f"ABSK{secrets.token_urlsafe(30)}",
    "a wrong Glassgate key": f"gg-{secrets.token_urlsafe(32)}",
    "admin token": f"admin-{secrets.token_urlsafe(24)}",
    "user password": f"pw-{secrets.token_urlsafe(16)}",
    "azure service principal secret": f"sp~{secrets.token_urlsafe(24)}",
    "static upstream key": f"sk-static-{secrets.token_urlsafe(24)}",
    "upstream aws secret": secrets.token_urlsafe(30),
    "secret_key": secrets.token_urlsafe(32),
    "otlp exporter token": f"otlp-{secrets.token_urlsafe(24)}",
}
UPSTREAM_AWS_KEY_ID = "AKIAUPSTREAMSECURITY"
_FOREIGN_SETTINGS = ("GLASSGATE_", "OTEL_", "AWS_", "AZURE_", "OPENAI_", "ANTHROPIC_")


@dataclass
class Scene:
    haystacks: dict[str, bytes]  # place → everything in it
    secrets: dict[str, str]  # name → value, including those issued during the run
    used: dict[str, bool]  # name → evidence that the secret reached Glassgate (or went through it)


class RawCollector:
    """An OTLP/HTTP collector that keeps the exports' bytes."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.authorizations: set[str] = set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/traces", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.authorizations.add(request.headers.get("authorization", ""))
        return web.Response(status=200, body=b"", content_type="application/x-protobuf")


def start(config_path: Path, workdir: Path, env: dict[str, str]) -> GlassgateProcess:
    """`glassgate serve` at log level debug (tests.harness starts it at warning)."""
    port = free_port()
    log_path = workdir / "glassgate.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [*GLASSGATE, "serve", "--config", str(config_path), "--port", str(port), "--log-level", "debug"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    glassgate = GlassgateProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, glassgate.log()[-3000:]
        try:
            if httpx.get(f"{glassgate.url}/readyz", timeout=1).status_code == 200:
                return glassgate
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    glassgate.stop()
    raise AssertionError(f"glassgate did not become ready:\n{glassgate.log()[-3000:]}")


def chat(prompt: str, model: str = "gpt-4o-mini", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}


def drive(url: str, glassgate_key: str, aws_pair: dict[str, str], round_: str) -> list[str]:
    """One round of calls with every client-side secret; the span ids."""
    prompt = f"{CANARY_PROMPT} ({round_})"
    session = {"x-glassgate-session-id": f"secrets-{round_}", "x-glassgate-metadata-team": "security"}
    openai_key = {"authorization": f"Bearer {SECRETS['openai key (Authorization)']}"}
    deployment = "openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
    anthropic_body = {"model": "claude-3-5-haiku-latest", "max_tokens": 64, "messages": chat(prompt)["messages"]}
    calls = [
        (f"/{CANARY_UPSTREAM}/v1/chat/completions", chat(prompt), openai_key),
        ("/openai/v1/chat/completions", chat(prompt, stream=True), openai_key),
        ("/openai/v1/chat/completions", chat(prompt, "error-400"), openai_key),
        (f"/azure/{deployment}", chat(prompt), {"api-key": SECRETS["azure key (api-key)"]}),
        (
            "/anthropic/v1/messages",
            anthropic_body,
            {"x-api-key": SECRETS["anthropic key (x-api-key)"], "anthropic-version": "2023-06-01"},
        ),
        ("/held/v1/chat/completions", chat(prompt), {"authorization": f"Bearer {glassgate_key}"}),
        ("/held/v1/chat/completions", chat(prompt), {"authorization": f"Bearer {SECRETS['a wrong Glassgate key']}"}),
        (f"/azure-sp/{deployment}", chat(prompt), {"api-key": glassgate_key}),
        (
            f"/bedrock/model/{CLAUDE.replace(':', '%3A')}/converse",
            {"messages": [{"role": "user", "content": [{"text": prompt}]}]},
            {"authorization": f"Bearer {SECRETS['bedrock api key (Bearer)']}"},
        ),
    ]
    span_ids = []
    for path, body, headers in calls:
        response = httpx.post(url + path, json=body, headers={**headers, **session}, timeout=30)
        assert response.status_code < 500, f"{path}: {response.text}"
        span_ids.append(response.headers["x-glassgate-span-id"])
    # SigV4 with the Glassgate-issued pair: the client's secret signs; it never travels.
    converse = f"{url}/bedrock/model/{CLAUDE.replace(':', '%3A')}/converse"
    body_bytes = json.dumps({"messages": [{"role": "user", "content": [{"text": prompt}]}]}).encode()
    signed = AWSRequest(method="POST", url=converse, data=body_bytes, headers={"content-type": "application/json"})
    credentials = Credentials(aws_pair["access_key_id"], aws_pair["secret_access_key"])
    SigV4Auth(credentials, "bedrock", REGION).add_auth(signed)
    response = httpx.post(converse, content=body_bytes, headers={**dict(signed.headers), **session}, timeout=30)
    assert response.status_code == 200, response.text
    span_ids.append(response.headers["x-glassgate-span-id"])
    return span_ids


def otlp_export(url: str, glassgate_key: str) -> None:
    span = {
        "traceId": secrets.token_hex(16),
        "spanId": secrets.token_hex(8),
        "name": "chat gpt-4o-mini",
        "kind": 3,
        "startTimeUnixNano": str(time.time_ns() - 1_000_000),
        "endTimeUnixNano": str(time.time_ns()),
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
            {"key": "gen_ai.prompt.0.content", "value": {"stringValue": f"{CANARY_PROMPT} (otlp)"}},
        ],
    }
    body = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}
    response = httpx.post(
        f"{url}/v1/traces",
        json=body,
        headers={"authorization": f"Bearer {glassgate_key}", "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text


def api_answers(url: str, span_ids: list[str]) -> bytes:
    """Every parameterless GET of the API, and each span's detail, trace and conversation."""
    admin = {"authorization": f"Bearer {SECRETS['admin token']}"}
    spec = create_api("spec-only").openapi()
    paths = [path for path, item in spec["paths"].items() if "get" in item and "{" not in path]
    answers = []
    with httpx.Client(base_url=url, headers=admin, timeout=30) as api:
        for path in paths:
            answers.append(api.get(path).content)
        for span_id in span_ids:
            detail = api.get(f"/api/v1/spans/{span_id}")
            answers.append(detail.content)
            if detail.status_code == 200:
                answers.append(api.get(f"/api/v1/traces/{detail.json()['trace_id']}").content)
                answers.append(api.get(f"/api/v1/spans/{span_id}/conversation").content)
    return b"\n".join(answers)


def wait_for_spans(url: str, span_ids: list[str], timeout_s: float = 60) -> None:
    admin = {"authorization": f"Bearer {SECRETS['admin token']}"}
    deadline = time.monotonic() + timeout_s
    for span_id in span_ids:
        while httpx.get(f"{url}/api/v1/spans/{span_id}", headers=admin).status_code != 200:
            assert time.monotonic() < deadline, f"span {span_id} was not stored"
            time.sleep(0.1)


def issue(config_path: Path, env: dict[str, str], *flags: str) -> dict[str, str]:
    issued = subprocess.run(
        [*GLASSGATE, "keys", "create", "--project", "secrets", "--json", *flags, "--config", str(config_path)],
        capture_output=True,
        check=True,
        env=env,
    )
    parsed: dict[str, str] = json.loads(issued.stdout)
    return parsed


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """Drive the traffic, then gather every place a secret could be, by name."""
    workdir = tmp_path_factory.mktemp("secrets")
    postgres = StoppablePostgres(workdir / "pg")
    from glassgate.storage import db

    db.migrate(postgres.url)
    authority = trustme.CA()
    ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(ssl_context)
    ca_path = workdir / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_path))
    vendor, anthropic, entra, collector = FakeVendor(), FakeAnthropic(), FakeEntra(), RawCollector()
    bedrock = FakeBedrock(UPSTREAM_AWS_KEY_ID, SECRETS["upstream aws secret"], region=REGION)
    servers = [
        ServerThread(vendor.app()).start(),
        ServerThread(anthropic.app()).start(),
        ServerThread(bedrock.app()).start(),
        ServerThread(entra.app(), ssl_context).start(),
        ServerThread(collector.app()).start(),
    ]
    vendor_url, anthropic_url, bedrock_url, entra_url, collector_url = (server.url for server in servers)
    entra.base = entra_url
    config = {
        "data_dir": str(workdir / "data"),
        "database_url": postgres.url,
        "admin_token": "${ADMIN_TOKEN}",
        "secret_key": "${SECRET_KEY}",
        "tracing": {"flush_interval_ms": 10, "write_timeout_s": 1},
        "embeddings": {"enabled": False},
        "evals": {"worker": False},
        "upstreams": {
            "openai": {"vendor": "openai", "url": vendor_url},
            CANARY_UPSTREAM: {"vendor": "openai", "url": vendor_url},
            "azure": {"vendor": "azure", "url": vendor_url},
            "anthropic": {"vendor": "anthropic", "url": anthropic_url},
            "held": {"vendor": "openai", "url": vendor_url, "auth": {"type": "static", "key": "${STATIC_KEY}"}},
            "azure-sp": {
                "vendor": "azure",
                "url": vendor_url,
                "auth": {
                    "type": "azure_service_principal",
                    "tenant_id": "tenant-1",
                    "client_id": "client-1",
                    "client_secret": "${SP_SECRET}",
                    "authority_host": entra_url,
                },
            },
            "bedrock": {
                "vendor": "bedrock",
                "region": REGION,
                "url": bedrock_url,
                "auth": {"type": "aws", "access_key_id": UPSTREAM_AWS_KEY_ID, "secret_access_key": "${AWS_SECRET}"},
            },
            # Never called: its URL is printed at start, the log's canary.
            "logged": {"vendor": "openai", "url": f"{vendor_url}/{CANARY_LOG}"},
        },
    }
    config_path = workdir / "glassgate.yaml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(_FOREIGN_SETTINGS)},
        "ADMIN_TOKEN": SECRETS["admin token"],
        "SECRET_KEY": SECRETS["secret_key"],
        "STATIC_KEY": SECRETS["static upstream key"],
        "SP_SECRET": SECRETS["azure service principal secret"],
        "AWS_SECRET": SECRETS["upstream aws secret"],
        "SSL_CERT_FILE": str(ca_path),
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector_url,
        "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{SECRETS['otlp exporter token']}",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "GLASSGATE_OTLP_CAPTURE_MESSAGES": "true",
    }
    glassgate_key = issue(config_path, env)["key"]
    aws_pair = issue(config_path, env, "--aws")
    secrets_now = {**SECRETS, "glassgate key": glassgate_key, "aws pair secret": aws_pair["secret_access_key"]}
    glassgate = start(config_path, workdir, env)
    try:
        span_ids = drive(glassgate.url, glassgate_key, aws_pair, "database up")
        otlp_export(glassgate.url, glassgate_key)
        admin = {"authorization": f"Bearer {SECRETS['admin token']}"}
        user = {"email": "reviewer@example.com", "password": SECRETS["user password"], "role": "member"}
        assert httpx.post(f"{glassgate.url}/api/v1/users", json=user, headers=admin).status_code == 201
        login = httpx.post(
            f"{glassgate.url}/api/v1/auth/login",
            json={"email": user["email"], "password": user["password"]},
            headers={"x-glassgate-csrf": "1"},
        )
        assert login.status_code == 200, login.text
        secrets_now["session cookie"] = login.cookies["glassgate_session"]
        assert httpx.get(f"{glassgate.url}/api/v1/spans", cookies=login.cookies).status_code == 200
        wait_for_spans(glassgate.url, span_ids)

        postgres.stop()
        spilled_ids = drive(glassgate.url, glassgate_key, aws_pair, "database down")
        spill = workdir / "data" / "spill"
        deadline = time.monotonic() + 30
        while CANARY_PROMPT.encode() + b" (database down)" not in read_tree(spill):
            assert time.monotonic() < deadline, "nothing was spilled while the database was down"
            time.sleep(0.1)
        spilled = read_tree(spill)
        postgres.start()
        wait_for_spans(glassgate.url, spilled_ids)

        answers = api_answers(glassgate.url, span_ids + spilled_ids)
        metrics = httpx.get(f"{glassgate.url}/metrics").content
        deadline = time.monotonic() + 15
        while not any(CANARY_PROMPT.encode() in body for body in collector.bodies):
            assert time.monotonic() < deadline, "no export carried the prompt"
            time.sleep(0.1)
    finally:
        glassgate.stop()
        for server in servers:
            server.stop()
    database, tables = asyncio.run(dump_database(postgres.url))
    assert {"public.spans", "public.api_keys", "public.users"} <= set(tables), tables
    postgres.stop()
    postgres.server.cleanup()
    received = [*vendor.received, *anthropic.received, *bedrock.received]
    sent_headers = "\n".join(f"{name}: {value}" for record in received for name, value in record.headers)
    used = {name: value in sent_headers for name, value in secrets_now.items()}
    used["azure service principal secret"] = any(
        request.get("client_secret") == SECRETS["azure service principal secret"] for request in entra.token_requests
    )
    used["otlp exporter token"] = f"Bearer {SECRETS['otlp exporter token']}" in collector.authorizations
    for held in ("admin token", "user password", "session cookie", "glassgate key", "a wrong Glassgate key"):
        used[held] = True  # the API and the data plane answered them above (asserted there)
    for signed in ("upstream aws secret", "aws pair secret", "secret_key"):
        used[signed] = True  # the SigV4 call answered 200: verified with the pair, re-signed upstream
    yield Scene(
        haystacks={
            "database": database,
            "log": glassgate.log_path.read_bytes(),
            "spill": spilled,
            "otlp exports": b"\n".join(collector.bodies),
            "metrics": metrics,
            "api answers": answers,
        },
        secrets=secrets_now,
        used=used,
    )


CANARIES = {
    "database": CANARY_PROMPT,
    "log": CANARY_LOG,
    "spill": CANARY_PROMPT,
    "otlp exports": CANARY_PROMPT,
    "metrics": CANARY_UPSTREAM,
    "api answers": CANARY_PROMPT,
}


@pytest.mark.parametrize("place", sorted(CANARIES))
def test_the_search_finds_what_belongs_there(scene: Scene, place: str) -> None:
    assert find(scene.haystacks[place], {"canary": CANARIES[place]}), f"the canary is not in {place}: the grep is blind"


@pytest.mark.parametrize("place", sorted(CANARIES))
def test_no_secret_in(scene: Scene, place: str) -> None:
    leaks = find(scene.haystacks[place], scene.secrets)
    assert not leaks, "\n".join(f"{leak.secret_name} as {leak.form!r}: ...{leak.context!r}..." for leak in leaks)


def test_every_secret_was_in_play(scene: Scene) -> None:
    """A grep for secrets that never reached Glassgate would prove nothing."""
    assert set(scene.used) == set(scene.secrets)
    assert [name for name, used in scene.used.items() if not used] == []


def test_the_search_sees_base64_inside_other_base64() -> None:
    secret = "sk-proj-abc123DEF456ghi789"
    for prefix in (b"", b"u", b"us", b"user:"):
        blob = b"Basic " + base64.b64encode(prefix + secret.encode() + b":tail")
        assert find(blob, {"secret": secret}), prefix
        assert find(base64.urlsafe_b64encode(prefix + secret.encode()), {"secret": secret}), prefix
    assert not find(base64.b64encode(b"something else entirely, of some length"), {"secret": secret})
    assert len(forms(secret)) >= 4  # itself, and its base64 at each of three alignments
