"""Bedrock Converse answer streams, guarded: ConverseStream's events, and Amazon Nova's invoke
chunks, which carry the same events as JSON keys (`{"contentBlockDelta": {…}}`).

Each content block is a channel: its text (`delta.text`), or a tool call's input, JSON text in
fragments (`delta.toolUse.input`). A block ends with `contentBlockStop`: what it held goes out
just before, in a delta of its kind. Reasoning is signed by the vendor and relayed as it came.
"""

from __future__ import annotations

from typing import Any

from glassgate.proxy.answer_events import BlockReader, Edit, Emit, Framing, pushed

DELTA, STOP = "contentBlockDelta", "contentBlockStop"  # the only events that carry or end a channel
_BLOCK: tuple[str | int, ...] = ("output", "message", "content")  # where the assembled answer keeps blocks


class ConverseBlocks(BlockReader):
    """The channels of Converse stream events, read one parsed event at a time."""

    delta_kind = DELTA

    @staticmethod
    def text_delta(index: int, text: str) -> dict[str, Any]:
        return {"contentBlockIndex": index, "delta": {"text": text}}

    @staticmethod
    def call_delta(index: int, text: str) -> dict[str, Any]:
        return {"contentBlockIndex": index, "delta": {"toolUse": {"input": text}}}

    def event(self, kind: str, payload: dict[str, Any], raw: bytes, framing: Framing) -> Emit:
        index = payload.get("contentBlockIndex", 0)
        if not isinstance(index, int):
            return [(raw, raw)]
        if kind == STOP:
            return self.stop(index, raw)
        delta = payload.get("delta")
        tool = delta.get("toolUse") if isinstance(delta, dict) else None
        edits: list[Edit] = []
        if kind != DELTA or not isinstance(delta, dict):
            return [(raw, raw)]
        if isinstance(delta.get("text"), str):
            pushed(self.text(index, (*_BLOCK, index, "text")), delta, "text", edits)
        elif isinstance(tool, dict) and isinstance(tool.get("input"), str):
            pushed(self.call(index, (*_BLOCK, index, "toolUse", "input"), json_text=False), tool, "input", edits)
        else:
            return [(raw, raw)]
        return self.delta(index, edits, raw, payload, framing)
