/** Sessions from spans (pure): the recent ones, and one session's calls oldest first. */
import type { SpanSummary } from "../../api/types";

export interface SessionSummary {
  sessionId: string;
  calls: number;
  firstAt: string;
  lastAt: string;
  users: string[];
  models: string[];
  errors: number;
  costUsd: number;
}

/** Group spans (newest first, as listed) by session; the most recently active session first. */
export function summarizeSessions(spans: readonly SpanSummary[]): SessionSummary[] {
  const sessions = new Map<string, SessionSummary>();
  for (const span of spans) {
    if (!span.session_id) continue;
    const known = sessions.get(span.session_id);
    const session = known ?? {
      sessionId: span.session_id,
      calls: 0,
      firstAt: span.started_at,
      lastAt: span.started_at,
      users: [],
      models: [],
      errors: 0,
      costUsd: 0,
    };
    session.calls += 1;
    if (span.started_at < session.firstAt) session.firstAt = span.started_at;
    if (span.started_at > session.lastAt) session.lastAt = span.started_at;
    if (span.user_id && !session.users.includes(span.user_id)) session.users.push(span.user_id);
    const model = span.response_model ?? span.model;
    if (model && !session.models.includes(model)) session.models.push(model);
    if (span.status !== "ok") session.errors += 1;
    session.costUsd += span.cost_usd ?? 0;
    sessions.set(span.session_id, session);
  }
  return [...sessions.values()].sort((a, b) => (a.lastAt < b.lastAt ? 1 : a.lastAt > b.lastAt ? -1 : 0));
}

/** A session's calls in the order they happened. */
export function oldestFirst(spans: readonly SpanSummary[]): SpanSummary[] {
  return [...spans].sort((a, b) =>
    a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.span_id < b.span_id ? -1 : 1,
  );
}
