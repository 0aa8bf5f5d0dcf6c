/** Sessions (pure): how long one lasted, and one session's calls oldest first. */
import type { SessionSummary, SpanSummary } from "../../api/types";

/** From its first call's start to its last call's start, in milliseconds. */
export function sessionSpanMs(session: Pick<SessionSummary, "first_at" | "last_at">): number {
  return Math.max(0, new Date(session.last_at).getTime() - new Date(session.first_at).getTime());
}

/** A session's calls in the order they happened. */
export function oldestFirst(spans: readonly SpanSummary[]): SpanSummary[] {
  return [...spans].sort((a, b) =>
    a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.span_id < b.span_id ? -1 : 1,
  );
}
