"""AWS Bedrock Runtime (wire-formats.md §3): Converse, and InvokeModel per model family.

The family comes the way the trace adapter finds it: the model id, then the request's marker
keys, then the answer's shape. Llama and Mistral take one prompt string in their chat
template; the turns are read back out of the template when it is one of theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from glassgate.proxy.vendors.bedrock_invoke import detect_family
from glassgate.tracing.conversation import anthropic, converse, openai
from glassgate.tracing.conversation.parts import Builder, Part, as_text, pretty, role_of, text, tool_call, tool_result

_AI21 = re.compile(r"(?:^|[./])ai21\.")  # Jamba and Jurassic: not among the trace adapter's families
_LLAMA3_TURN = re.compile(
    r"<\|start_header_id\|>(?P<role>\w+)<\|end_header_id\|>\n*(?P<text>.*?)(?=<\|eot_id\|>|<\|start_header_id\|>|$)",
    re.DOTALL,
)
_INST = re.compile(r"\[INST\](?P<user>.*?)\[/INST\](?P<answer>.*?)(?=\[INST\]|$)", re.DOTALL)
_SYS = re.compile(r"<<SYS>>(?P<system>.*?)<</SYS>>", re.DOTALL)
_SPECIAL = re.compile(r"</?s>|<\|begin_of_text\|>|<\|eot_id\|>|<\|end_of_text\|>")
_PROMPT_PARAMETERS = (
    ("max_gen_len", "max_tokens"),
    ("max_tokens", "max_tokens"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("top_k", "top_k"),
    ("stop", "stop"),
)
_TITAN_PARAMETERS = (
    ("maxTokenCount", "max_tokens"),
    ("temperature", "temperature"),
    ("topP", "top_p"),
    ("stopSequences", "stop"),
)
_COHERE_PARAMETERS = (
    ("max_tokens", "max_tokens"),
    ("temperature", "temperature"),
    ("p", "top_p"),
    ("k", "top_k"),
    ("stop_sequences", "stop"),
    ("seed", "seed"),
    ("frequency_penalty", "frequency_penalty"),
    ("presence_penalty", "presence_penalty"),
)


def prompt_turns(prompt: str) -> list[tuple[str, str]]:
    """(role, text) turns of a Llama 3, Llama 2 or Mistral chat template; else the prompt as one user turn."""
    if "<|start_header_id|>" in prompt:
        turns = [(match["role"], match["text"].strip()) for match in _LLAMA3_TURN.finditer(prompt)]
    elif "[INST]" in prompt:
        turns = []
        for match in _INST.finditer(_SPECIAL.sub("", prompt)):
            user = match["user"]
            system = _SYS.search(user)
            if system:
                turns.append(("system", system["system"].strip()))
                user = _SYS.sub("", user)
            turns += [("user", user.strip()), ("assistant", match["answer"].strip())]
    else:
        return [("user", prompt)]
    # The template ends by opening the answer's turn: that empty turn is the answer to come.
    found = [(role_of(role) or "user", body) for role, body in turns if body]
    return found or [("user", prompt)]


def _prompt_request(b: Builder, body: dict[str, Any], key: str) -> None:
    prompt = body.get(key)
    if not isinstance(prompt, str):
        b.warn(f"the request has no {key} string")
        return
    for role, turn in prompt_turns(prompt):
        b.message(role, [text(turn)])


# --- Cohere Command R (and the older command-text) ----------------------------------------------


def _cohere_calls(calls: object) -> list[Part]:
    return [
        tool_call(None, call.get("name"), call.get("parameters"))
        for call in (calls if isinstance(calls, list) else [])
        if isinstance(call, dict)
    ]


def _cohere_results(results: object) -> list[Part]:
    parts = []
    for result in results if isinstance(results, list) else []:
        call = result.get("call") if isinstance(result, dict) else None
        name = call.get("name") if isinstance(call, dict) else None
        outputs = result.get("outputs") if isinstance(result, dict) else None
        parts.append(tool_result(name, pretty(outputs) if outputs is not None else ""))
    return parts


def _cohere_request(b: Builder, body: dict[str, Any]) -> None:
    b.copy_parameters(body, _COHERE_PARAMETERS)
    if isinstance(body.get("preamble"), str):
        b.message("system", [text(body["preamble"])])
    history = body.get("chat_history")
    for turn in history if isinstance(history, list) else []:
        if not isinstance(turn, dict):
            continue
        role = role_of(turn.get("role")) or "user"
        parts = [text(turn["message"])] if isinstance(turn.get("message"), str) else []
        b.message(role, [*parts, *_cohere_calls(turn.get("tool_calls"))])
        b.message("tool", _cohere_results(turn.get("tool_results")))
    if body.get("documents"):
        b.message("user", [text("Documents:\n" + pretty(body["documents"]))])
    b.message("tool", _cohere_results(body.get("tool_results")))
    if isinstance(body.get("message"), str) and body["message"]:
        b.message("user", [text(body["message"])])
    elif isinstance(body.get("prompt"), str):
        b.message("user", [text(body["prompt"])])
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict):
            b.tool(tool.get("name"), tool.get("description"), tool.get("parameter_definitions"))


def _cohere_response(b: Builder, body: dict[str, Any]) -> None:
    generations = body.get("generations")
    if isinstance(generations, list):
        for index, generation in enumerate(generations):
            if isinstance(generation, dict):
                b.answer(
                    [text(as_text(generation.get("text")))], choice=index, finish_reason=generation.get("finish_reason")
                )
        return
    parts = [text(body["text"])] if isinstance(body.get("text"), str) and body["text"] else []
    b.answer([*parts, *_cohere_calls(body.get("tool_calls"))], finish_reason=body.get("finish_reason"))


# --- the other families -------------------------------------------------------------------------


def _embedding_request(b: Builder, body: dict[str, Any]) -> None:
    texts = body.get("texts")
    pieces = [body["inputText"]] if isinstance(body.get("inputText"), str) else []
    pieces += [item for item in texts if isinstance(item, str)] if isinstance(texts, list) else []
    for key in ("inputImage", "images"):
        if body.get(key):
            b.warn("image inputs to the embedding model are not shown")
    b.copy_parameters(body, (("dimensions", "dimensions"), ("input_type", "input_type")))
    b.message("user", [text(piece) for piece in pieces])


def _titan_response(b: Builder, body: dict[str, Any]) -> None:
    results = body.get("results")
    for index, result in enumerate(results if isinstance(results, list) else []):
        if isinstance(result, dict):
            b.answer(
                [text(as_text(result.get("outputText")))], choice=index, finish_reason=result.get("completionReason")
            )


def _outputs_response(b: Builder, body: dict[str, Any]) -> None:
    """Mistral's prompt form `outputs[]`, or an OpenAI-style `choices[]`."""
    if "choices" in body or "error" in body:
        openai.chat_response(b, body)
        return
    outputs = body.get("outputs")
    for index, output in enumerate(outputs if isinstance(outputs, list) else []):
        if isinstance(output, dict):
            b.answer([text(as_text(output.get("text")))], choice=index, finish_reason=output.get("stop_reason"))


def _ai21_response(b: Builder, body: dict[str, Any]) -> None:
    if "choices" in body:
        openai.chat_response(b, body)
        return
    completions = body.get("completions")  # Jurassic-2
    for index, completion in enumerate(completions if isinstance(completions, list) else []):
        data = completion.get("data") if isinstance(completion, dict) else None
        finish = completion.get("finishReason") if isinstance(completion, dict) else None
        reason = finish.get("reason") if isinstance(finish, dict) else None
        b.answer(
            [text(as_text(data.get("text") if isinstance(data, dict) else None))], choice=index, finish_reason=reason
        )


def _chat_or_prompt(b: Builder, body: dict[str, Any]) -> None:
    if "messages" in body:
        openai.chat_request(b, body)
    else:
        b.copy_parameters(body, _PROMPT_PARAMETERS)
        _prompt_request(b, body, "prompt")


def _titan_request(b: Builder, body: dict[str, Any]) -> None:
    config = body.get("textGenerationConfig")
    if isinstance(config, dict):
        b.copy_parameters(config, _TITAN_PARAMETERS)
    _prompt_request(b, body, "inputText")


def _llama_request(b: Builder, body: dict[str, Any]) -> None:
    b.copy_parameters(body, _PROMPT_PARAMETERS)
    _prompt_request(b, body, "prompt")


def _llama_response(b: Builder, body: dict[str, Any]) -> None:
    b.answer([text(as_text(body.get("generation")))], finish_reason=body.get("stop_reason"))


def _no_answer(b: Builder, body: dict[str, Any]) -> None:
    """Embeddings: the vectors are no conversation."""


Reader = Callable[[Builder, dict[str, Any]], None]
_FAMILIES: dict[str, tuple[Reader, Reader]] = {
    "anthropic": (anthropic.messages_request, anthropic.messages_response),
    "nova": (converse.request, converse.response),
    "titan": (_titan_request, _titan_response),
    "llama": (_llama_request, _llama_response),
    "mistral": (_chat_or_prompt, _outputs_response),
    "openai": (openai.chat_request, openai.chat_response),
    "ai21": (_chat_or_prompt, _ai21_response),
    "cohere": (_cohere_request, _cohere_response),
    "embedding": (_embedding_request, _no_answer),
}


def _invoke(b: Builder, model: str | None, request: dict[str, Any] | None, response: dict[str, Any] | None) -> str:
    samples = [response] if response else []
    family = "ai21" if model and _AI21.search(model) else detect_family(model, request, samples)
    if family == "nova" and isinstance(request, dict) and "messages" not in request:
        family = "unknown"  # Nova Canvas and Reel: image and video generation tasks
    readers = _FAMILIES.get(family)
    if readers is None:
        return ""
    if request is not None:
        readers[0](b, request)
    if response is not None and not _failed(b, response):
        readers[1](b, response)
    return f"bedrock.invoke.{family}"


def _failed(b: Builder, body: dict[str, Any]) -> bool:
    """Bedrock's HTTP errors are `{"message"}` (sometimes `Message`), with nothing else."""
    if body and set(body) <= {"message", "Message", "__type"}:
        b.warn(f"the call failed: {as_text(body.get('message') or body.get('Message'))}")
        return True
    return False


def _guardrail_texts(items: object) -> list[Part]:
    """ApplyGuardrail's `[{"text": {"text": …}}]` (request) or `[{"text": …}]` (answer)."""
    parts = []
    for item in items if isinstance(items, list) else []:
        value = item.get("text") if isinstance(item, dict) else None
        value = value.get("text") if isinstance(value, dict) else value
        if isinstance(value, str):
            parts.append(text(value))
    return parts


def _apply_guardrail(b: Builder, request: dict[str, Any] | None, response: dict[str, Any] | None) -> None:
    if request is not None:
        b.message(
            "assistant" if request.get("source") == "OUTPUT" else "user", _guardrail_texts(request.get("content"))
        )
    if response is not None and not _failed(b, response):
        b.answer(_guardrail_texts(response.get("outputs")), finish_reason=response.get("action"))


def read(
    b: Builder, operation: str, model: str | None, request: dict[str, Any] | None, response: dict[str, Any] | None
) -> str:
    """Fill `b` for one Bedrock call; the format read, or "" when none fits."""
    if operation in ("converse", "converse_stream"):
        if request is not None:
            converse.request(b, request)
        if response is not None and not _failed(b, response):
            converse.response(b, response)
        return "bedrock.converse"
    if operation in ("invoke", "invoke_stream"):
        return _invoke(b, model, request, response)
    if operation == "count_tokens" and isinstance(request, dict):
        given = request.get("input")
        if isinstance(given, dict) and isinstance(given.get("converse"), dict):
            converse.request(b, given["converse"])
            return "bedrock.count_tokens"
    if operation == "apply_guardrail":
        _apply_guardrail(b, request, response)
        return "bedrock.apply_guardrail"
    return ""
