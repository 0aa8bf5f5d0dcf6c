import { describe, expect, it } from "vitest";

import type { SpanSummary } from "../../api/types";
import { oldestFirst, sessionSpanMs } from "./sessions";

function span(id: string, second: number): SpanSummary {
  return { span_id: id, started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString() } as SpanSummary;
}

describe("sessions", () => {
  it("orders a session's calls oldest first", () => {
    expect(oldestFirst([span("b", 20), span("a", 10), span("c", 10)]).map((s) => s.span_id)).toEqual(["a", "c", "b"]);
  });

  it("measures a session from its first call to its last", () => {
    expect(sessionSpanMs({ first_at: "2026-01-01T00:00:00Z", last_at: "2026-01-01T00:01:30Z" })).toBe(90_000);
    expect(sessionSpanMs({ first_at: "2026-01-01T00:00:00Z", last_at: "2026-01-01T00:00:00Z" })).toBe(0);
  });
});
