import { describe, expect, it } from "vitest";

import type { SpanSummary } from "../../api/types";
import { dedupe, mergeNewest } from "./live";

function span(id: string, second: number): SpanSummary {
  return { span_id: id, started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString() } as SpanSummary;
}

describe("mergeNewest", () => {
  const shown = [span("c", 30), span("b", 20), span("a", 10)];

  it("prepends only the calls not shown yet", () => {
    const merge = mergeNewest(shown, [span("e", 50), span("d", 40), span("c", 30)], 50);
    expect(merge.rows.map((s) => s.span_id)).toEqual(["e", "d", "c", "b", "a"]);
    expect(merge.added).toEqual(["e", "d"]);
    expect(merge.gap).toBe(false);
  });

  it("reports a gap when a full page has nothing in common with what is shown", () => {
    const merge = mergeNewest(shown, [span("g", 70), span("f", 60)], 2);
    expect(merge.gap).toBe(true);
  });

  it("changes nothing when nothing is new", () => {
    const merge = mergeNewest(shown, [span("c", 30)], 50);
    expect(merge.added).toEqual([]);
    expect(merge.rows).toEqual(shown);
  });

  it("dedupes by span id", () => {
    expect(dedupe([span("a", 1), span("a", 1), span("b", 2)]).length).toBe(2);
  });
});
