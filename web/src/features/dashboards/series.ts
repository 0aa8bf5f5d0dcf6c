/**
 * The stats API's series as chart columns (pure). uPlot wants one shared x array (seconds) and
 * one y array per line; intervals without traffic are omitted by the API, so counts are filled
 * with 0 and measurements (latency) left as gaps.
 */
import type { FindingSeries, SeriesPoint, TimeSeries } from "../../api/types";

export const PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b"];
export const MAX_GROUPS = 8;

export interface Line {
  label: string;
  values: (number | null)[];
}

export interface Columns {
  x: number[];
  lines: Line[];
}

/** Interval starts (epoch seconds) from `since` to `until`, aligned on the interval. */
export function grid(since: string, until: string, stepSeconds: number, extra: readonly string[] = []): number[] {
  const from = Math.floor(new Date(since).getTime() / 1000 / stepSeconds) * stepSeconds;
  const to = new Date(until).getTime() / 1000;
  const points = new Set<number>();
  for (let t = from; t < to && points.size < 5000; t += stepSeconds) points.add(t);
  for (const start of extra) points.add(new Date(start).getTime() / 1000);
  return [...points].sort((a, b) => a - b);
}

type Pick = (point: SeriesPoint) => number | null;

/** One line per group (the busiest MAX_GROUPS, the rest summed as "other" when counts). */
export function byGroup(series: TimeSeries, pick: Pick, fill: number | null): Columns {
  const starts = series.series.flatMap((group) => group.points.map((point) => point.start));
  const x = grid(series.since, series.until, series.interval_seconds, starts);
  const index = new Map(x.map((t, i) => [t, i]));
  const ranked = [...series.series].sort((a, b) => b.total.requests - a.total.requests);
  const shown = ranked.slice(0, MAX_GROUPS);
  const rest = ranked.slice(MAX_GROUPS);
  const column = (points: readonly SeriesPoint[], sum: boolean): (number | null)[] => {
    const values: (number | null)[] = x.map(() => fill);
    for (const point of points) {
      const at = index.get(new Date(point.start).getTime() / 1000);
      const value = pick(point);
      if (at === undefined || value === null) continue;
      values[at] = sum ? (values[at] ?? 0) + value : value;
    }
    return values;
  };
  const lines = shown.map((group) => ({ label: group.group || "(none)", values: column(group.points, false) }));
  if (rest.length && fill !== null) {
    lines.push({ label: `other (${rest.length})`, values: column(rest.flatMap((group) => group.points), true) });
  }
  return { x, lines };
}

/** Several measures of one (ungrouped) series: e.g. p50, p95 and p99. */
export function byMeasure(series: TimeSeries, measures: Record<string, Pick>, fill: number | null): Columns {
  const points = series.series[0]?.points ?? [];
  const x = grid(series.since, series.until, series.interval_seconds, points.map((point) => point.start));
  const index = new Map(x.map((t, i) => [t, i]));
  const lines = Object.entries(measures).map(([label, pick]) => {
    const values: (number | null)[] = x.map(() => fill);
    for (const point of points) {
      const at = index.get(new Date(point.start).getTime() / 1000);
      if (at !== undefined) values[at] = pick(point);
    }
    return { label, values };
  });
  return { x, lines };
}

/** Findings per category over time (all actions added up). */
export function findingsByCategory(series: FindingSeries): Columns {
  const x = grid(series.since, series.until, series.interval_seconds, series.points.map((point) => point.start));
  const index = new Map(x.map((t, i) => [t, i]));
  const totals = new Map<string, number>();
  for (const point of series.points) totals.set(point.category, (totals.get(point.category) ?? 0) + point.findings);
  const categories = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([category]) => category);
  const lines = categories.map((category) => {
    const values: (number | null)[] = x.map(() => 0);
    for (const point of series.points) {
      if (point.category !== category) continue;
      const at = index.get(new Date(point.start).getTime() / 1000);
      if (at !== undefined) values[at] = (values[at] ?? 0) + point.findings;
    }
    return { label: category, values };
  });
  return { x, lines };
}

export interface Totals {
  requests: number;
  errors: number;
  errorRate: number | null;
  p95LatencyMs: number | null;
  p95TtftMs: number | null;
  tokens: number;
  costUsd: number;
  unpricedCalls: number;
}

export function totals(series: TimeSeries): Totals {
  const total = series.series[0]?.total;
  if (!total) {
    return { requests: 0, errors: 0, errorRate: null, p95LatencyMs: null, p95TtftMs: null, tokens: 0, costUsd: 0, unpricedCalls: 0 };
  }
  const errors = total.errors + total.blocked + total.cancelled;
  return {
    requests: total.requests,
    errors,
    errorRate: total.requests ? errors / total.requests : null,
    p95LatencyMs: total.latency_ms.p95,
    p95TtftMs: total.ttft_ms.p95,
    tokens: total.input_tokens + total.output_tokens,
    costUsd: total.cost_usd,
    unpricedCalls: total.unpriced_calls,
  };
}
