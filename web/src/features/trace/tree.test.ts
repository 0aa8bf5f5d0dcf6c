import { describe, expect, it } from "vitest";

import type { SpanSummary } from "../../api/types";
import { buildTree } from "./tree";

function span(id: string, parent: string | null, startMs: number, latency: number): SpanSummary {
  return {
    span_id: id,
    parent_span_id: parent,
    started_at: new Date(Date.UTC(2026, 0, 1) + startMs).toISOString(),
    latency_ms: latency,
    kind: "agent",
    attributes: {},
  } as unknown as SpanSummary;
}

describe("buildTree", () => {
  it("nests children under parents in start order, with offsets", () => {
    const tree = buildTree([span("llm2", "agent", 300, 100), span("agent", null, 0, 500), span("llm1", "agent", 10, 200)]);
    expect(tree.rows.map((row) => [row.span.span_id, row.depth, row.offsetMs])).toEqual([
      ["agent", 0, 0],
      ["llm1", 1, 10],
      ["llm2", 1, 300],
    ]);
    expect(tree.totalMs).toBe(500);
  });

  it("treats spans whose parent is missing as roots and survives cycles", () => {
    const tree = buildTree([span("a", "missing", 0, 10), span("b", "c", 5, 1), span("c", "b", 6, 1)]);
    expect(tree.rows.map((row) => row.span.span_id)).toEqual(["a"]);
    expect(buildTree([]).rows).toEqual([]);
  });
});
