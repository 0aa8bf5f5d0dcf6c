/** A trace's spans as an indented tree with timeline bars (pure). */
import type { SpanSummary } from "../../api/types";

export interface TreeRow {
  span: SpanSummary;
  depth: number;
  /** Start and length relative to the trace, in ms. */
  offsetMs: number;
  durationMs: number;
}

export interface TraceTree {
  rows: TreeRow[];
  totalMs: number;
}

export function buildTree(spans: readonly SpanSummary[]): TraceTree {
  if (spans.length === 0) return { rows: [], totalMs: 0 };
  const ids = new Set(spans.map((span) => span.span_id));
  const children = new Map<string | null, SpanSummary[]>();
  for (const span of spans) {
    // A parent outside this trace's stored spans (an app span not sent) makes a root.
    const parent = span.parent_span_id && ids.has(span.parent_span_id) ? span.parent_span_id : null;
    const siblings = children.get(parent) ?? [];
    siblings.push(span);
    children.set(parent, siblings);
  }
  const startOf = (span: SpanSummary) => new Date(span.started_at).getTime();
  for (const siblings of children.values()) siblings.sort((a, b) => startOf(a) - startOf(b));
  const traceStart = Math.min(...spans.map(startOf));
  const traceEnd = Math.max(...spans.map((span) => startOf(span) + (span.latency_ms ?? 0)));
  const rows: TreeRow[] = [];
  const visited = new Set<string>();
  const walk = (parent: string | null, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      if (visited.has(span.span_id)) continue; // a cycle in bad data must not loop forever
      visited.add(span.span_id);
      rows.push({ span, depth, offsetMs: startOf(span) - traceStart, durationMs: span.latency_ms ?? 0 });
      walk(span.span_id, depth + 1);
    }
  };
  walk(null, 0);
  return { rows, totalMs: Math.max(traceEnd - traceStart, 1) };
}
