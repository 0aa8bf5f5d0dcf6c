import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import type { SpanSummary } from "../../api/types";
import { StatusBadge } from "../../components/badges";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatCost, formatCount, formatDuration, formatTimestamp } from "../../components/format";
import { fetchSpans } from "../traces/queries";
import { oldestFirst } from "./sessions";

const MAX_CALLS = 1000;

async function sessionSpans(sessionId: string, signal: AbortSignal): Promise<{ spans: SpanSummary[]; capped: boolean }> {
  const spans: SpanSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchSpans({ session_id: sessionId, limit: 200, ...(cursor ? { cursor } : {}) }, signal);
    spans.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && spans.length < MAX_CALLS);
  return { spans: oldestFirst(spans), capped: Boolean(cursor) };
}

export function SessionPage() {
  const { sessionId = "" } = useParams();
  const session = useQuery({
    queryKey: ["session", sessionId],
    queryFn: ({ signal }) => sessionSpans(sessionId, signal),
    staleTime: 10_000,
  });
  const spans = session.data?.spans ?? [];
  const total = spans.reduce((sum, span) => sum + (span.cost_usd ?? 0), 0);
  return (
    <div className="page">
      <div className="breadcrumbs">
        <Link to="/ui/sessions">← Sessions</Link>
      </div>
      <header className="page-header">
        <h1>
          Session <span className="mono">{sessionId}</span>
        </h1>
        {session.isSuccess && spans.length ? (
          <span className="muted">
            {spans.length} call{spans.length > 1 ? "s" : ""} · {formatTimestamp(spans[0]!.started_at)} ·{" "}
            {formatCost(total)}
          </span>
        ) : null}
        <Link className="btn" to={`/ui/traces?session_id=${encodeURIComponent(sessionId)}`}>
          Show as a list
        </Link>
      </header>
      {session.isPending ? (
        <Spinner />
      ) : session.isError ? (
        <ErrorBox error={session.error} />
      ) : spans.length === 0 ? (
        <EmptyState title="No calls in this session">
          <p>
            Check the id: calls join a session through the <code>x-glassgate-session-id</code> header.
          </p>
        </EmptyState>
      ) : (
        <div className="session-thread" data-testid="session-thread">
          {session.data.capped ? <div className="note">Showing the first {MAX_CALLS} calls.</div> : null}
          {spans.map((span, index) => (
            <Turn key={span.span_id} span={span} number={index + 1} />
          ))}
        </div>
      )}
    </div>
  );
}

function Turn({ span, number }: { span: SpanSummary; number: number }) {
  return (
    <article className="turn">
      <div className="turn-meta">
        <span className="muted">#{number}</span>
        <span>{formatTimestamp(span.started_at)}</span>
        <span className="mono">{span.response_model ?? span.model}</span>
        <StatusBadge status={span.status} />
        <span className="muted">
          {formatDuration(span.latency_ms)} · {formatCount(span.input_tokens)} → {formatCount(span.output_tokens)} tokens
        </span>
        <Link to={`/ui/traces/${span.span_id}`}>Open call →</Link>
      </div>
      {span.input_preview ? (
        <div className="message role-user">
          <div className="message-role">user</div>
          <div className="message-body text-part">{span.input_preview}</div>
        </div>
      ) : null}
      {span.output_preview || span.error ? (
        <div className={`message role-assistant ${span.error ? "errored" : ""}`}>
          <div className="message-role">{span.error ? "error" : "assistant"}</div>
          <div className="message-body text-part">{span.output_preview || span.error}</div>
        </div>
      ) : null}
    </article>
  );
}
