import { type FormEvent, useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";

import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import {
  formatCost,
  formatCount,
  formatDuration,
  formatRelative,
  formatTime,
  formatTimestamp,
  plural,
} from "../../components/format";
import { useSessions } from "./queries";
import { sessionSpanMs } from "./sessions";

/** Every session, most recently active first, from the server's session index walk. */
export function SessionsPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q")?.trim() ?? "";
  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);
  useEffect(() => {
    if (draft.trim() === q) return;
    const timer = window.setTimeout(() => setParams(draft.trim() ? { q: draft.trim() } : {}, { replace: true }), 400);
    return () => window.clearTimeout(timer);
  }, [draft, q, setParams]);
  const sessions = useSessions(q);
  const rows = sessions.data?.pages.flatMap((page) => page.data) ?? [];
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setParams(draft.trim() ? { q: draft.trim() } : {}, { replace: true });
  };
  return (
    <div className="page">
      <header className="page-header">
        <h1>Sessions</h1>
        <span className="muted">
          {sessions.isSuccess ? `${plural(rows.length, "session")}${sessions.hasNextPage ? "+" : ""}` : ""}
        </span>
        <form className="inline-form search-sessions" onSubmit={submit} role="search">
          <input
            data-search
            type="search"
            placeholder="Session id starts with…  ( / )"
            aria-label="Search session ids"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
        </form>
      </header>
      {sessions.isPending ? (
        <Spinner />
      ) : sessions.isError && !sessions.data ? (
        <ErrorBox error={sessions.error} />
      ) : rows.length === 0 ? (
        q ? (
          <EmptyState title="No session id starts with that">
            <p>Session ids are matched from their start, letter for letter.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No sessions yet">
            <p>
              Calls join a session when they carry the <code>x-glassgate-session-id</code> header, for example with the
              OpenAI SDK:
            </p>
            <pre className="code">{`export OPENAI_CUSTOM_HEADERS="x-glassgate-session-id: chat-42"`}</pre>
            <p>
              or per request:{" "}
              <code>
                client.chat.completions.create(..., extra_headers={"{"}"x-glassgate-session-id": "chat-42"{"}"})
              </code>
              .
            </p>
          </EmptyState>
        )
      ) : (
        <>
          <table className="grid" data-testid="sessions">
            <colgroup>
              <col style={{ width: "20%" }} />
              <col style={{ width: 70 }} />
              <col style={{ width: 110 }} />
              <col style={{ width: 130 }} />
              <col style={{ width: 90 }} />
              <col />
              <col />
              <col style={{ width: 70 }} />
              <col style={{ width: 110 }} />
              <col style={{ width: 90 }} />
            </colgroup>
            <thead>
              <tr>
                <th>Session</th>
                <th className="num">Calls</th>
                <th>Last call</th>
                <th>Started</th>
                <th className="num">Span</th>
                <th>Users</th>
                <th>Models</th>
                <th className="num">Errors</th>
                <th className="num" title="input → output tokens">
                  Tokens
                </th>
                <th className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((session) => (
                <tr key={session.session_id}>
                  <td className="mono ellipsis">
                    <Link to={`/ui/sessions/${encodeURIComponent(session.session_id)}`}>{session.session_id}</Link>
                  </td>
                  <td className="num">{formatCount(session.calls)}</td>
                  <td title={formatTimestamp(session.last_at)}>{formatRelative(session.last_at)}</td>
                  <td title={formatTimestamp(session.first_at)}>{formatTime(session.first_at)}</td>
                  <td className="num">{formatDuration(sessionSpanMs(session))}</td>
                  <td className="ellipsis" title={session.users.join(", ")}>
                    {session.users.join(", ") || <span className="muted">—</span>}
                  </td>
                  <td className="ellipsis mono" title={session.models.join(", ")}>
                    {session.models.join(", ")}
                  </td>
                  <td className="num">{session.errors || ""}</td>
                  <td className="num">
                    {formatCount(session.input_tokens)} → {formatCount(session.output_tokens)}
                  </td>
                  <td
                    className="num"
                    title={session.unpriced_calls ? `${session.unpriced_calls} unpriced calls not counted` : undefined}
                  >
                    {formatCost(session.cost_usd)}
                    {session.unpriced_calls ? <span className="muted"> +?</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="list-footer">
            {sessions.hasNextPage ? (
              <button
                type="button"
                className="btn"
                disabled={sessions.isFetchingNextPage}
                onClick={() => void sessions.fetchNextPage()}
              >
                {sessions.isFetchingNextPage ? "Loading…" : "Load more"}
              </button>
            ) : (
              <span className="muted">That is every {q ? "matching " : ""}session.</span>
            )}
            {sessions.isFetchNextPageError ? <ErrorBox error={sessions.error} /> : null}
          </div>
        </>
      )}
    </div>
  );
}
