"""GET /api/v1/spans/{span_id}/conversation: a call as one vendor-neutral conversation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import spans as span_store
from glassgate.tracing.conversation import conversation_of

router = APIRouter(prefix="/api/v1/spans", tags=["spans"])


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImagePart(BaseModel):
    type: Literal["image"]
    media_type: str | None = Field(description="image/png, …; null when the body did not say.")
    detail: str = Field(description="A placeholder saying what the image was (size, source); never its bytes.")
    url: str | None = Field(description="The image's http(s) URL when it was given as one (never a data: URL).")


class FilePart(BaseModel):
    type: Literal["file"]
    kind: Literal["audio", "video", "document", "file"]
    media_type: str | None
    detail: str = Field(description="A placeholder saying what the file was; never its bytes.")


class ToolCallPart(BaseModel):
    type: Literal["tool_call"]
    id: str | None = Field(description="The vendor's call id, which the matching tool_result names.")
    name: str
    arguments: Any = Field(description="A JSON value (OpenAI's JSON string parsed); text when it is not JSON.")


class ToolResultPart(BaseModel):
    type: Literal["tool_result"]
    tool_call_id: str | None
    content: str = Field(description="The result as text (JSON results pretty-printed, media as placeholders).")
    is_error: bool


class ReasoningPart(BaseModel):
    type: Literal["reasoning"]
    text: str
    redacted: bool = Field(description="The vendor sent the reasoning encrypted: `text` is then empty.")


class RefusalPart(BaseModel):
    type: Literal["refusal"]
    text: str


ConversationPart = Annotated[
    TextPart | ImagePart | FilePart | ToolCallPart | ToolResultPart | ReasoningPart | RefusalPart,
    Field(discriminator="type"),
]


class ConversationMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool"] = Field(
        description="OpenAI's developer role shows as system; tool results travel in `tool` messages."
    )
    parts: list[ConversationPart]


class ConversationAnswer(ConversationMessage):
    choice: int = Field(description="Which of the answers (n > 1) this is; 0 for a single answer.")
    finish_reason: str | None = Field(description="As the vendor said it (stop, end_turn, tool_calls, …).")


class ConversationTool(BaseModel):
    name: str = Field(description="The function's name; a built-in tool's type (web_search, …).")
    description: str | None
    parameters: dict[str, Any] | None = Field(description="The JSON schema of the arguments, when given.")


class Conversation(BaseModel):
    span_id: str
    vendor: str | None
    operation: str | None
    format: str = Field(description="The reader used: openai.chat, anthropic.messages, bedrock.converse, … or generic.")
    messages: list[ConversationMessage] = Field(description="The input, in order.")
    output: list[ConversationAnswer] = Field(description="The answer: one message per choice; empty for embeddings.")
    tools: list[ConversationTool]
    parameters: dict[str, Any] = Field(
        description="Request settings under neutral names (model, temperature, max_tokens, top_p, top_k, stop, "
        "seed, n, stream, tool_choice, …) plus vendor-specific ones under their own."
    )
    warnings: list[str] = Field(description="What could not be read, or was left out, and why.")


@router.get(
    "/{span_id}/conversation",
    response_model=Conversation,
    summary="One span's call as a vendor-neutral conversation",
)
async def get_conversation(request: Request, span_id: str) -> dict[str, Any]:
    row = await span_store.get_span(pool_of(request), span_id)
    if row is None:
        raise Problem(404, "Span not found", f"no span with id {span_id!r}")
    view = conversation_of(
        row["vendor"], row["operation"], row["request_body"], row["response_body"], model=row["model"]
    )
    return {"span_id": span_id, **view}
