import { describe, expect, it } from "vitest";

import type { SpanSummary } from "../../api/types";
import { oldestFirst, summarizeSessions } from "./sessions";

function span(id: string, session: string | null, second: number, extra: Partial<SpanSummary> = {}): SpanSummary {
  return {
    span_id: id,
    session_id: session,
    started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
    status: "ok",
    model: "m",
    response_model: null,
    user_id: null,
    cost_usd: 0.5,
    ...extra,
  } as SpanSummary;
}

describe("sessions", () => {
  it("groups by session, latest activity first, skipping calls without one", () => {
    const summaries = summarizeSessions([
      span("d", "s2", 40),
      span("c", "s1", 30, { status: "error", user_id: "u1" }),
      span("b", null, 20),
      span("a", "s1", 10),
    ]);
    expect(summaries.map((s) => [s.sessionId, s.calls, s.errors])).toEqual([
      ["s2", 1, 0],
      ["s1", 2, 1],
    ]);
    expect(summaries[1]?.users).toEqual(["u1"]);
    expect(summaries[1]?.costUsd).toBe(1);
  });

  it("orders a session's calls oldest first", () => {
    expect(oldestFirst([span("b", "s", 20), span("a", "s", 10)]).map((s) => s.span_id)).toEqual(["a", "b"]);
  });
});
