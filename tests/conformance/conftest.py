"""One Glassgate process for the conformance suite, in front of fake vendors.

Upstreams:
    openai       passthrough to the fake OpenAI
    azure        passthrough to the fake Azure OpenAI
    openai-usage, azure-usage
                 the same, with `inject_stream_usage` (streams asked for usage, hidden from clients)
    openai-held  Glassgate holds a static vendor key; clients send Glassgate keys
    azure-sp     Glassgate holds an Entra service principal (fake Entra over HTTPS)
    anthropic    passthrough to the fake Anthropic Messages API
    bedrock      SigV4 clients verified with Glassgate-issued key pairs, re-signed with
                 Glassgate's own AWS keys (the fake Bedrock checks that signature)
    *-guarded    the same four vendors behind guardrails that block secrets and a house
                 rule and redact PII (every upstream flags PII, secrets and injection)
    *-answers    the same four vendors with guardrails on the answers: PII redacted,
                 secrets block (the fakes' `echo*` models answer with the user's text)
"""

from __future__ import annotations

import gc
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.bedrock_server import FakeBedrock
from tests.fakes.vendor_server import FakeEntra, FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, create_database, free_port, start_glassgate

HELD_UPSTREAM_KEY = "sk-upstream-held-by-glassgate"
CLIENT_VENDOR_KEY = "sk-client-own-key"
GLASSGATE = [sys.executable, "-m", "glassgate"]
BEDROCK_REGION = "us-east-1"
UPSTREAM_AWS_KEY = ("AKIAUPSTREAMFAKE0001", "upstream-secret-held-by-glassgate")
# Upstreams whose calls guardrails block (secrets, "project falcon") and redact (PII) in the suite.
GUARDED = ["openai-guarded", "azure-guarded", "anthropic-guarded", "bedrock-guarded"]
# Upstreams whose answers guardrails redact (PII) and block (secrets).
ANSWERS = ["openai-answers", "azure-answers", "anthropic-answers", "bedrock-answers"]


@dataclass
class Stack:
    glassgate: GlassgateProcess
    vendor: FakeVendor
    entra: FakeEntra
    glassgate_key: str
    config_path: Path
    vendor_host: str  # the Host header the fake vendor must see: its own address
    anthropic: FakeAnthropic
    bedrock: FakeBedrock
    aws_key: dict[str, str]  # a Glassgate-issued pair: access_key_id, secret_access_key, project


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str) -> Iterator[Stack]:
    vendor = FakeVendor()
    vendor_server = ServerThread(vendor.app()).start()
    anthropic = FakeAnthropic()
    anthropic_server = ServerThread(anthropic.app()).start()
    bedrock = FakeBedrock(*UPSTREAM_AWS_KEY, region=BEDROCK_REGION)
    bedrock_server = ServerThread(bedrock.app()).start()
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ssl_context)
    entra = FakeEntra()
    entra_server = ServerThread(entra.app(), ssl_context).start()
    entra.base = entra_server.url
    workdir = tmp_path_factory.mktemp("glassgate")
    ca_path = workdir / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_path))
    database_url = create_database(postgres_url, "conformance", template=template_database)
    bedrock_upstream = {
        "vendor": "bedrock",
        "region": BEDROCK_REGION,
        "url": bedrock_server.url,
        "auth": {"type": "aws", "access_key_id": UPSTREAM_AWS_KEY[0], "secret_access_key": "${UPSTREAM_AWS_SECRET}"},
    }
    config = {
        "data_dir": str(workdir / "data"),
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "proxy": {"max_body_bytes": 1024 * 1024, "drain_timeout_s": 5, "read_timeout_s": 2, "connect_timeout_s": 2},
        "tracing": {"flush_interval_ms": 10},
        "guardrails": [
            {"name": "watch", "detectors": ["pii", "secrets", "injection"], "action": "flag"},
            {"name": "no-secrets", "detectors": ["secrets"], "action": "block", "upstreams": GUARDED},
            {"name": "no-pii", "detectors": ["pii"], "action": "redact", "upstreams": GUARDED},
            {
                "name": "house-rules",
                "detectors": ["regex"],
                "patterns": ["(?i)project\\s+falcon"],
                "action": "block",
                "upstreams": GUARDED,
            },
            {
                "name": "answers-pii",
                "detectors": ["pii"],
                "phases": ["output"],
                "action": "redact",
                "upstreams": ANSWERS,
            },
            {
                "name": "answers-secrets",
                "detectors": ["secrets"],
                "phases": ["output"],
                "action": "block",
                "upstreams": ANSWERS,
            },
        ],
        "upstreams": {
            "openai": {"vendor": "openai", "url": vendor_server.url},
            "dead": {"vendor": "openai", "url": f"http://127.0.0.1:{free_port()}/v1"},
            "azure": {"vendor": "azure", "url": vendor_server.url},
            "openai-usage": {"vendor": "openai", "url": vendor_server.url, "inject_stream_usage": True},
            "azure-usage": {"vendor": "azure", "url": vendor_server.url, "inject_stream_usage": True},
            "anthropic": {"vendor": "anthropic", "url": anthropic_server.url},
            "openai-guarded": {"vendor": "openai", "url": vendor_server.url},
            "azure-guarded": {"vendor": "azure", "url": vendor_server.url},
            "anthropic-guarded": {"vendor": "anthropic", "url": anthropic_server.url},
            "bedrock-guarded": bedrock_upstream,
            "openai-answers": {"vendor": "openai", "url": vendor_server.url},
            "azure-answers": {"vendor": "azure", "url": vendor_server.url},
            "anthropic-answers": {"vendor": "anthropic", "url": anthropic_server.url},
            "bedrock-answers": bedrock_upstream,
            "bedrock": bedrock_upstream,
            "openai-held": {
                "vendor": "openai",
                "url": vendor_server.url,
                "auth": {"type": "static", "key": "${HELD_KEY}"},
            },
            "azure-sp": {
                "vendor": "azure",
                "url": vendor_server.url,
                "auth": {
                    "type": "azure_service_principal",
                    "tenant_id": "tenant-1",
                    "client_id": "client-1",
                    "client_secret": "${SP_SECRET}",
                    "authority_host": entra_server.url,
                },
            },
        },
    }
    env = {
        "HELD_KEY": HELD_UPSTREAM_KEY,
        "SP_SECRET": "sp-secret-value",
        "SSL_CERT_FILE": str(ca_path),
        "UPSTREAM_AWS_SECRET": UPSTREAM_AWS_KEY[1],
    }
    glassgate = start_glassgate(config, workdir, env)
    key = glassgate.cli_json("keys", "create", "--project", "team-a")["key"]
    aws_key = glassgate.cli_json("keys", "create", "--project", "team-b", "--aws")
    vendor_host = vendor_server.url.removeprefix("http://")
    yield Stack(
        glassgate,
        vendor,
        entra,
        key,
        workdir / "glassgate.yaml",
        vendor_host,
        anthropic=anthropic,
        bedrock=bedrock,
        aws_key=aws_key,
    )
    # uvicorn drains, then re-raises SIGTERM so the exit status says how the process ended.
    assert glassgate.stop() in (0, -15), glassgate.log()
    assert "Traceback" not in glassgate.log(), glassgate.log()
    vendor_server.stop()
    entra_server.stop()
    anthropic_server.stop()
    bedrock_server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """An unclosed SDK client's socket is no failure of the test the garbage collector happens
    to run in: the tests build clients as users do (from the environment), most never close
    them, and Glassgate runs in another process, so no product socket is concerned. The
    warning would otherwise fail whichever unrelated test is running when a cycle is collected."""
    conformance = Path(__file__).parent
    for item in items:
        if conformance in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))


@pytest.fixture(autouse=True, scope="module")
def collect_sdk_clients() -> Iterator[None]:
    """Collect the clients a module's tests left behind at its end, so none is collected (and
    warns) during a test of another directory, where the warning is still an error."""
    yield
    gc.collect()
