"""Issue 8: the upstream answers 5xx, goes silent or resets, among healthy calls under load.

The scenario lives in bench/faults/upstream_faults.py (`python -m bench.faults --scenario upstream`);
here it runs for a few seconds and is held to the same checks. A second test drives each fault
with the official OpenAI SDK, which must raise its usual exception for each.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from bench.faults.scenario import Options
from bench.faults.traffic import HEALTHY
from bench.faults.upstream_faults import EXPECT, FAULTY, READ_TIMEOUT_S, run_upstream_faults
from bench.procs import free_port

from tests.harness import GlassgateProcess, create_database, openai_config, start_glassgate

_REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_every_upstream_fault_ends_as_it_should_with_one_span_per_call() -> None:
    report = run_upstream_faults(Options(warmup_s=2.0, fault_s=5.0, recovery_s=2.0))
    checks = report.checks

    sent = {kind.name for kind in (*HEALTHY, *FAULTY)}
    assert set(checks.by_kind) == sent, "every kind of fault was sent"
    assert report.faulted >= len(FAULTY) * 3
    assert checks.failed == 0, checks.examples
    assert (checks.spans_lost, checks.spans_duplicated, checks.spans_wrong) == (0, 0, 0), checks.examples
    for name, kind in checks.by_kind.items():
        assert kind.client_as_expected == kind.spans_as_expected == kind.calls, name
    # Glassgate's pool resends a request only when a reused connection died before any answer.
    assert checks.redelivered == 0
    assert set(checks.by_kind["reset-before-headers"].deliveries) <= {1, 2}
    assert all(set(kind.deliveries) == {1} for name, kind in checks.by_kind.items() if name != "reset-before-headers")
    recovery = report.healthy_latency["recovery"]
    assert all(latency.failures == 0 and latency.calls > 0 for latency in recovery.values()), "healthy again after"
    assert report.fds["end"] <= report.fds["baseline"] + 20, report.fds
    assert report.rss_mb["growth"] is not None and report.rss_mb["growth"] <= 30.0, report.rss_mb
    assert report.log_problems == []


@pytest.fixture(scope="module")
def faulty_glassgate(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str
) -> Iterator[GlassgateProcess]:
    """One Glassgate for every fault, in front of bench/faults/faulty_upstream.py."""
    database_url = create_database(postgres_url, "faults_upstream_sdk", template=template_database)
    tmp_path = tmp_path_factory.mktemp("faulty")
    port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "bench.faults.faulty_upstream", "--port", str(port)],
        cwd=_REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    glassgate = None
    try:
        config = openai_config(
            tmp_path / "data", database_url, f"http://127.0.0.1:{port}", proxy={"read_timeout_s": READ_TIMEOUT_S}
        )
        glassgate = start_glassgate(config, tmp_path / "gg")
        yield glassgate
    finally:
        if glassgate is not None:
            glassgate.stop()
        upstream.terminate()
        upstream.wait(10)


@pytest.mark.parametrize(
    ("fault", "stream", "raised"),
    [
        ("status-500", False, openai.InternalServerError),
        ("status-503", True, openai.InternalServerError),
        ("reset-before-headers", False, openai.InternalServerError),  # Glassgate's 502
        ("silent", False, openai.InternalServerError),  # Glassgate's 504
        ("reset-mid-body", False, openai.APIConnectionError),
        ("reset-mid-stream", True, openai.APIConnectionError),
        ("silent-mid-stream", True, openai.APIConnectionError),
    ],
)
def test_the_sdk_raises_its_usual_exception_for_each_fault(
    faulty_glassgate: GlassgateProcess, fault: str, stream: bool, raised: type[Exception]
) -> None:
    client = openai.OpenAI(
        base_url=f"{faulty_glassgate.url}/openai/v1",
        api_key="sk-test",
        max_retries=0,
        default_headers={"x-bench-fault": fault},
    )
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
    with pytest.raises(raised) as caught:
        if stream:
            for _ in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True):
                pass
        else:
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    expect = EXPECT[fault]
    if isinstance(caught.value, openai.APIStatusError):
        assert caught.value.status_code == expect.status
        assert isinstance(caught.value.body, dict) and caught.value.body.get("message"), "the vendor's error shape"
        span_id = caught.value.response.headers["x-glassgate-span-id"]
        span = faulty_glassgate.span(span_id)
        assert (span["status"], span["http_status"]) == ("error", expect.status)
        if expect.error_type is not None:
            assert span["attributes"]["error.type"] == expect.error_type
