"""Azure OpenAI: the OpenAI wire format behind deployment routes, with content-filter data.

Routes: `/openai/deployments/{deployment}/...?api-version=...` (classic),
`/openai/responses?api-version=...` and `/openai/v1/...` (GA v1, no api-version).
The request names a deployment; the response names the served model, which pricing needs.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, unquote

from glassgate.proxy.vendors.base import CallSummary, WireCall, dig
from glassgate.proxy.vendors.openai import openai_error_body, summarize_openai_call

_DEPLOYMENTS = "/openai/deployments/"


def deployment_of(path: str) -> str | None:
    """The deployment name in a classic route, or None for v1 and Responses routes."""
    if not path.startswith(_DEPLOYMENTS):
        return None
    name = path[len(_DEPLOYMENTS) :].split("/", 1)[0]
    return unquote(name) or None


def _content_filter_summary(response: object) -> dict[str, object]:
    """Which Azure filter categories fired, for a quick look without opening the body."""
    flagged: set[str] = set()
    prompt_results, choices = dig(response, "prompt_filter_results"), dig(response, "choices")
    groups = list(prompt_results) if isinstance(prompt_results, list) else []
    groups += [choice for choice in choices if isinstance(choice, dict)] if isinstance(choices, list) else []
    for group in groups:
        results = group.get("content_filter_results") if isinstance(group, dict) else None
        if isinstance(results, dict):
            for category, verdict in results.items():
                if isinstance(verdict, dict) and (verdict.get("filtered") or verdict.get("detected")):
                    flagged.add(category)
    return {"azure.content_filter.flagged": sorted(flagged)} if flagged else {}


class AzureAdapter:
    """Azure OpenAI resources (openai.azure.com, cognitiveservices.azure.com, Foundry)."""

    name = "azure"

    def summarize(self, call: WireCall) -> CallSummary:
        deployment = deployment_of(call.path)
        summary = summarize_openai_call(call, call.path, model_hint=deployment)
        attributes = dict(summary.attributes)
        if deployment:
            attributes["azure.deployment"] = deployment
        api_version = parse_qs(call.query).get("api-version")
        if api_version:
            attributes["azure.api_version"] = api_version[0]
        attributes.update(_content_filter_summary(summary.response_json))
        error_code = dig(summary.response_json, "error", "code")
        if error_code == "content_filter":
            attributes.update(
                _content_filter_summary(
                    {
                        "prompt_filter_results": [
                            {
                                "content_filter_results": dig(
                                    summary.response_json, "error", "innererror", "content_filter_result"
                                )
                            }
                        ]
                    }
                )
            )
        return replace(summary, attributes=attributes)

    def error_body(self, status: int, message: str, code: str) -> tuple[bytes, bytes]:
        return openai_error_body(status, message, code)
