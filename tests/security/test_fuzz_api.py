"""The management API fuzzed from its own OpenAPI spec (schemathesis), authenticated as the admin.

Every operation gets schema-valid and schema-breaking requests against a live Glassgate:
no answer may be a 5xx, and every answer must be one the spec documents, with the documented
content type, body schema and headers (api/problem_docs.py completes the spec's errors). Half
of the generated path parameters are replaced with ids that exist (a span, a dataset, a queue,
an evaluator...), so the fuzzer gets past the 404s into the routes' own logic.

Bounded and deterministic: MAX_EXAMPLES per operation, Hypothesis derandomised (the same cases
every run), no example database. About a minute and a half on two busy cores.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from glassgate.api.app import create_api
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, create_database, openai_config, start_glassgate

MAX_EXAMPLES = 25
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,  # a method the spec does not list: 405, with Allow
    allow_header_conformance,  # …naming exactly the methods the spec lists for the path
]
schema = schemathesis.openapi.from_dict(create_api("spec-only").openapi())
schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # dataset imports: a JSON Lines file as text
KNOWN: dict[str, str] = {}  # path parameter → an id that exists; filled by the `target` fixture


@schema.hook
def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(strategy, st.booleans()).map(lambda drawn: _known(drawn[0]) if drawn[1] else drawn[0])


def _known(parameters: Any) -> Any:
    if not isinstance(parameters, dict):  # a negative case (wrapped with its mutation): left as drawn
        return parameters
    return {name: KNOWN.get(name, value) for name, value in parameters.items()}


@pytest.fixture(scope="module")
def target(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str
) -> Iterator[GlassgateProcess]:
    """A Glassgate of this module's own (the fuzzer changes things), with one of everything in it."""
    upstream = ServerThread(FakeVendor().app()).start()
    workdir = tmp_path_factory.mktemp("fuzz")
    database_url = create_database(postgres_url, "fuzz", template=template_database)
    config = openai_config(
        Path(workdir / "data"), database_url, upstream.url, embeddings={"enabled": False}, evals={"worker": False}
    )
    glassgate = start_glassgate(config, workdir)
    try:
        KNOWN.update(seed(glassgate.url))
        yield glassgate
    finally:
        glassgate.stop()
        upstream.stop()
        KNOWN.clear()


def seed(url: str) -> dict[str, str]:
    with httpx.Client(base_url=url + "/api/v1", headers=ADMIN, timeout=30) as api:

        def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = api.post(path, json=body)
            assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
            created: dict[str, Any] = response.json()
            return created

        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
        headers = {"authorization": "Bearer sk-client", "x-glassgate-session-id": "fuzz-session"}
        called = httpx.post(f"{url}/openai/v1/chat/completions", json=chat, headers=headers, timeout=30)
        span_id = called.headers["x-glassgate-span-id"]
        deadline = time.monotonic() + 15
        while (span := api.get(f"/spans/{span_id}")).status_code != 200:
            assert time.monotonic() < deadline, "the seeded span was not stored"
            time.sleep(0.05)
        config = create("/score-configs", {"name": "helpful", "kind": "boolean"})
        annotation = create(f"/spans/{span_id}/annotations", {"config_id": config["config_id"], "value": True})
        queue = create("/annotation-queues", {"name": "review", "config_ids": [config["config_id"]]})
        create(f"/annotation-queues/{queue['queue_id']}/items", {"span_ids": [span_id]})
        dataset = create("/datasets", {"name": "golden"})
        added = create(f"/datasets/{dataset['dataset_id']}/items", {"items": [{"input": {"q": "Hi"}}]})
        evaluator = create("/evaluators", {"name": "exact", "type": "exact_match"})
        rule = create("/eval-rules", {"name": "all", "evaluator_id": evaluator["evaluator_id"], "sampling_rate": 0.5})
        experiment = create(
            "/experiments",
            {
                "name": "baseline",
                "dataset_id": dataset["dataset_id"],
                "target": {"upstream": "openai", "model": "gpt-4o-mini"},
                "evaluator_ids": [evaluator["evaluator_id"]],
                "start": False,
            },
        )
        run = create(f"/experiments/{experiment['experiment_id']}/runs", {})
        user = create("/users", {"email": "fuzz@example.com", "password": "a long password", "role": "member"})
        key = create("/keys", {"project": "fuzz"})
    return {
        "span_id": span_id,
        "trace_id": span.json()["trace_id"],
        "config_id": config["config_id"],
        "annotation_id": annotation["annotation_id"],
        "queue_id": queue["queue_id"],
        "dataset_id": dataset["dataset_id"],
        "item_id": added["items"][0]["item_id"],
        "evaluator_id": evaluator["evaluator_id"],
        "rule_id": rule["rule_id"],
        "experiment_id": experiment["experiment_id"],
        "run_id": run["run_id"],
        "user_id": user["user_id"],
        "key_id": key["key_id"],
    }


def test_every_operation_is_fuzzed() -> None:
    assert len(list(schema.get_all_operations())) >= 75


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented_and_never_fails(case: schemathesis.Case[Any], target: GlassgateProcess) -> None:
    response = case.call(base_url=target.url, headers=ADMIN, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=ADMIN)
