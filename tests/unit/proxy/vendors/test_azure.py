"""Unit tests for the Azure OpenAI adapter: deployment routes, api-version and content-filter data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glassgate.proxy.vendors import CallSummary, Usage, get_adapter
from glassgate.proxy.vendors.azure import AzureAdapter, deployment_of
from tests.unit.proxy.vendors.wire_samples import AZURE_CHAT_STREAM, chunk, json_call, sse, wire_call

ADAPTER = AzureAdapter()
CLASSIC = "/openai/deployments/my-gpt4o/chat/completions"
QUERY = "api-version=2024-10-21"
SAFE = {"filtered": False, "severity": "safe"}
FILTER_OK = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
PROMPT_FILTER = [
    {"prompt_index": 0, "content_filter_results": {**FILTER_OK, "jailbreak": {"filtered": False, "detected": False}}}
]
CONTENT_FILTER_ERROR = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {**FILTER_OK, "violence": {"filtered": True, "severity": "high"}},
        },
    }
}


def chat_response(choice_filters: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1735689600,
        "model": "gpt-4o-2024-11-20",
        "prompt_filter_results": PROMPT_FILTER,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": "Hello there!"},
                "content_filter_results": choice_filters,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    }


def summarize_json(response: Any, *, path: str = CLASSIC, status: int = 200, request: Any = None) -> CallSummary:
    return ADAPTER.summarize(json_call(path, response, request=request, status=status, query=QUERY))


@pytest.mark.parametrize(
    ("path", "deployment"),
    [
        ("/openai/deployments/my-gpt4o/chat/completions", "my-gpt4o"),
        ("/openai/deployments/my-gpt4o/embeddings", "my-gpt4o"),
        ("/openai/deployments/gpt%2D4o%20eu/completions", "gpt-4o eu"),
        ("/openai/deployments/only", "only"),
        ("/openai/deployments/", None),
        ("/openai/deployments//chat/completions", None),
        ("/openai/responses", None),
        ("/openai/v1/chat/completions", None),
        ("/v1/openai/deployments/x/chat/completions", None),
    ],
)
def test_deployment_of(path: str, deployment: str | None) -> None:
    assert deployment_of(path) == deployment


def test_adapter_is_registered() -> None:
    assert get_adapter("azure").name == "azure"


def test_classic_route_records_deployment_api_version_and_served_model() -> None:
    summary = summarize_json(chat_response({**FILTER_OK}), request={"model": "my-gpt4o", "messages": []})
    assert summary.operation == "chat"
    assert summary.model == "my-gpt4o"
    assert summary.response_model == "gpt-4o-2024-11-20"
    assert summary.attributes == {"azure.deployment": "my-gpt4o", "azure.api_version": "2024-10-21"}
    assert summary.usage == Usage(input_tokens=12, output_tokens=6)
    assert summary.finish_reason == "stop"


def test_deployment_is_the_model_when_the_body_has_none() -> None:
    summary = summarize_json(chat_response({}), request={"messages": []})
    assert summary.model == "my-gpt4o"


def test_body_model_wins_over_deployment() -> None:
    summary = summarize_json(chat_response({}), request={"model": "other", "messages": []})
    assert summary.model == "other"
    assert summary.attributes["azure.deployment"] == "my-gpt4o"


def test_v1_route_has_no_deployment_or_api_version() -> None:
    summary = ADAPTER.summarize(
        json_call("/openai/v1/chat/completions", chat_response({}), request={"model": "my-gpt4o"})
    )
    assert summary.operation == "chat"
    assert summary.model == "my-gpt4o"
    assert summary.attributes == {}


def test_responses_route_with_api_version() -> None:
    response = {"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-4.1-mini", "output": []}
    summary = summarize_json(response, path="/openai/responses", request={"model": "my-deployment", "input": "Hi"})
    assert summary.operation == "responses"
    assert summary.model == "my-deployment"
    assert summary.attributes == {"azure.api_version": "2024-10-21"}


def test_clean_filter_results_flag_nothing() -> None:
    summary = summarize_json(chat_response({**FILTER_OK, "profanity": {"filtered": False, "detected": False}}))
    assert "azure.content_filter.flagged" not in summary.attributes


def test_output_blocked_by_content_filter() -> None:
    filters = {
        **FILTER_OK,
        "violence": {"filtered": True, "severity": "medium"},
        "hate": {"filtered": True, "severity": "high"},
    }
    summary = summarize_json(chat_response(filters, finish="content_filter"))
    assert summary.finish_reason == "content_filter"
    assert summary.attributes["azure.content_filter.flagged"] == ["hate", "violence"]
    assert summary.error is None


def test_detected_but_not_filtered_is_flagged() -> None:
    response = chat_response(
        {"protected_material_code": {"filtered": False, "detected": True, "citation": {"URL": "u"}}}
    )
    response["prompt_filter_results"] = [
        {"prompt_index": 0, "content_filter_results": {"jailbreak": {"filtered": False, "detected": True}}}
    ]
    summary = summarize_json(response)
    assert summary.attributes["azure.content_filter.flagged"] == ["jailbreak", "protected_material_code"]


def test_category_with_error_object_is_not_flagged() -> None:
    response = chat_response({"custom_blocklists": {"error": {"code": "x"}}, "hate": "odd"})
    assert "azure.content_filter.flagged" not in summarize_json(response).attributes


def test_prompt_blocked_400() -> None:
    summary = summarize_json(CONTENT_FILTER_ERROR, status=400, request={"model": "my-gpt4o", "messages": []})
    assert summary.error is not None
    assert summary.error.startswith("The response was filtered due to the prompt")
    assert summary.error_type == "content_filter"
    assert summary.attributes["azure.content_filter.flagged"] == ["violence"]
    assert summary.attributes["azure.deployment"] == "my-gpt4o"


def test_other_400_has_no_filter_attributes() -> None:
    body = {"error": {"message": "Unsupported api-version", "type": "invalid_request_error", "code": "BadRequest"}}
    summary = summarize_json(body, status=400)
    assert summary.error == "Unsupported api-version"
    assert summary.error_type == "BadRequest"
    assert "azure.content_filter.flagged" not in summary.attributes


def test_stream_from_appendix_b() -> None:
    call = wire_call(CLASSIC, AZURE_CHAT_STREAM, request={"model": "my-gpt4o", "stream": True}, query=QUERY)
    summary = ADAPTER.summarize(call)
    assert summary.streamed is True
    assert summary.model == "my-gpt4o"
    assert summary.response_model == "my-gpt4o"
    assert summary.first_content_chunk == 2  # chunk 0 is the prompt-filter chunk, chunk 1 the empty role delta
    assert summary.finish_reason == "stop"
    response = summary.response_json
    assert response["id"] == "chatcmpl-abc123"  # the first chunk's empty id does not win
    assert response["created"] == 1735689600
    assert response["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    choice = response["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello there!"}
    assert choice["content_filter_results"] == FILTER_OK
    assert summary.attributes == {"azure.deployment": "my-gpt4o", "azure.api_version": "2024-10-21"}


def test_stream_output_filtered_midway() -> None:
    blocked = {**FILTER_OK, "sexual": {"filtered": True, "severity": "high"}}
    chunks = [
        sse({"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": PROMPT_FILTER}),
        chunk([{"index": 0, "delta": {"content": "Once"}, "content_filter_results": FILTER_OK}]),
        chunk([{"index": 0, "delta": {}, "content_filter_results": {}}]),  # an annotation-only chunk
        chunk([{"index": 0, "delta": {}, "finish_reason": "content_filter", "content_filter_results": blocked}]),
        b"data: [DONE]\n\n",
    ]
    summary = ADAPTER.summarize(wire_call(CLASSIC, chunks, query=QUERY))
    assert summary.finish_reason == "content_filter"
    assert summary.attributes["azure.content_filter.flagged"] == ["sexual"]
    assert summary.response_json["choices"][0]["message"]["content"] == "Once"
    assert summary.first_content_chunk == 1


def test_async_filter_annotation_without_delta() -> None:
    annotation = {
        "index": 0,
        "finish_reason": None,
        "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 5},
    }
    chunks = [
        chunk([{**annotation, "content_filter_results": {"violence": {"filtered": False, "severity": "low"}}}]),
        chunk([{"index": 0, "delta": {"content": "Hi"}}]),
    ]
    summary = ADAPTER.summarize(wire_call("/openai/v1/chat/completions", chunks))
    assert summary.first_content_chunk == 1
    assert summary.response_json["choices"][0]["content_filter_results"] == {
        "violence": {"filtered": False, "severity": "low"}
    }
    assert "azure.content_filter.flagged" not in summary.attributes


def test_stream_with_only_the_prompt_filter_chunk() -> None:
    first = sse(
        {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": PROMPT_FILTER}
    )
    summary = ADAPTER.summarize(wire_call(CLASSIC, [first]))
    assert summary.response_json == {"prompt_filter_results": PROMPT_FILTER, "object": "chat.completion", "choices": []}
    assert summary.response_model is None
    assert summary.first_content_chunk is None


def test_api_version_parsed_from_longer_query() -> None:
    call = json_call(CLASSIC, chat_response({}), query="foo=1&api-version=2025-04-01-preview&bar")
    assert ADAPTER.summarize(call).attributes["azure.api_version"] == "2025-04-01-preview"


def test_error_body_is_the_openai_shape() -> None:
    body, content_type = ADAPTER.error_body(401, "invalid key", "invalid_api_key")
    assert content_type == b"application/json"
    assert json.loads(body)["error"] == {
        "message": "invalid key",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_malformed_prompt_filter_results_never_raise() -> None:
    summary = summarize_json({"choices": [], "prompt_filter_results": 5})
    assert "azure.content_filter.flagged" not in summary.attributes
