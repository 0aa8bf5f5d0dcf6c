import { describe, expect, it } from "vitest";

import type { FindingSeries, SeriesPoint, TimeSeries } from "../../api/types";
import { byGroup, byMeasure, findingsByCategory, grid, MAX_GROUPS, totals } from "./series";

const HOUR = 3600;
const since = "2026-11-27T00:00:00Z";
const until = "2026-11-27T04:00:00Z";
const at = (hour: number) => new Date(Date.UTC(2026, 10, 27, hour)).toISOString();

function point(hour: number, requests: number, p95: number | null = null): SeriesPoint {
  const percentiles = { avg: p95, p50: p95, p95, p99: p95 };
  return {
    start: at(hour),
    requests,
    errors: 0,
    cancelled: 0,
    blocked: 0,
    input_tokens: 10 * requests,
    output_tokens: 5 * requests,
    cached_tokens: 0,
    cost_usd: 0.01 * requests,
    unpriced_calls: 0,
    latency_ms: percentiles,
    ttft_ms: percentiles,
  };
}

function series(groups: Record<string, SeriesPoint[]>): TimeSeries {
  return {
    interval_seconds: HOUR,
    since,
    until,
    series: Object.entries(groups).map(([group, points]) => ({
      group,
      points,
      total: { ...point(0, points.reduce((sum, p) => sum + p.requests, 0), 100), start: since },
    })),
  };
}

describe("grid", () => {
  it("covers the range on interval boundaries", () => {
    const x = grid("2026-11-27T00:30:00Z", until, HOUR);
    expect(x.map((t) => new Date(t * 1000).getUTCHours())).toEqual([0, 1, 2, 3]);
  });
});

describe("byGroup", () => {
  it("fills counts with 0 and aligns groups", () => {
    const columns = byGroup(series({ a: [point(1, 3)], b: [point(2, 4)] }), (p) => p.requests, 0);
    expect(columns.x).toHaveLength(4);
    expect(columns.lines.map((line) => [line.label, line.values])).toEqual([
      ["b", [0, 0, 4, 0]],
      ["a", [0, 3, 0, 0]],
    ]);
  });

  it("leaves gaps for measurements and caps the number of groups", () => {
    const many = Object.fromEntries(Array.from({ length: MAX_GROUPS + 2 }, (_, i) => [`m${i}`, [point(0, i + 1, 50)]]));
    const counts = byGroup(series(many), (p) => p.requests, 0);
    expect(counts.lines).toHaveLength(MAX_GROUPS + 1);
    expect(counts.lines.at(-1)?.label).toBe("other (2)");
    expect(counts.lines.at(-1)?.values[0]).toBe(3);
    const latency = byGroup(series(many), (p) => p.latency_ms.p95, null);
    expect(latency.lines).toHaveLength(MAX_GROUPS);
    expect(latency.lines[0]?.values).toEqual([50, null, null, null]);
  });
});

describe("byMeasure and totals", () => {
  it("draws several measures of one series", () => {
    const columns = byMeasure(series({ "": [point(0, 1, 120)] }), { p50: (p) => p.latency_ms.p50, p95: (p) => p.latency_ms.p95 }, null);
    expect(columns.lines.map((line) => line.values[0])).toEqual([120, 120]);
  });

  it("sums the totals", () => {
    const result = totals(series({ "": [point(0, 10)] }));
    expect(result.requests).toBe(10);
    expect(result.tokens).toBe(150);
    expect(result.errorRate).toBe(0);
    expect(totals({ interval_seconds: HOUR, since, until, series: [] }).errorRate).toBeNull();
  });
});

describe("findingsByCategory", () => {
  it("adds actions up per category, busiest first", () => {
    const findings: FindingSeries = {
      interval_seconds: HOUR,
      since,
      until,
      points: [
        { start: at(0), category: "EMAIL", action: "flag", findings: 1, calls: 1 },
        { start: at(0), category: "EMAIL", action: "redact", findings: 2, calls: 1 },
        { start: at(1), category: "PHONE", action: "flag", findings: 1, calls: 1 },
      ],
    };
    const columns = findingsByCategory(findings);
    expect(columns.lines.map((line) => [line.label, line.values])).toEqual([
      ["EMAIL", [3, 0, 0, 0]],
      ["PHONE", [0, 1, 0, 0]],
    ]);
  });
});
