import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";

import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatCost, formatRelative, formatTimestamp } from "../../components/format";
import { fetchSpans } from "../traces/queries";
import { summarizeSessions } from "./sessions";

const RECENT_CALLS = 200;

export function SessionsPage() {
  const navigate = useNavigate();
  const [id, setId] = useState("");
  const recent = useQuery({
    queryKey: ["spans", "recent-sessions"],
    queryFn: ({ signal }) => fetchSpans({ limit: RECENT_CALLS }, signal),
    staleTime: 10_000,
  });
  const sessions = useMemo(() => summarizeSessions(recent.data?.data ?? []), [recent.data]);
  const open = (event: FormEvent) => {
    event.preventDefault();
    if (id.trim()) navigate(`/ui/sessions/${encodeURIComponent(id.trim())}`);
  };
  return (
    <div className="page">
      <header className="page-header">
        <h1>Sessions</h1>
        <form className="inline-form" onSubmit={open}>
          <input placeholder="Session id" aria-label="Session id" value={id} onChange={(e) => setId(e.target.value)} />
          <button type="submit" className="btn">
            Open
          </button>
        </form>
      </header>
      <p className="muted">Sessions seen in the latest {RECENT_CALLS} calls, most recently active first.</p>
      {recent.isPending ? (
        <Spinner />
      ) : recent.isError ? (
        <ErrorBox error={recent.error} />
      ) : sessions.length === 0 ? (
        <EmptyState title="No sessions yet">
          <p>
            Calls join a session when they carry the <code>x-glassgate-session-id</code> header, for example with the
            OpenAI SDK:
          </p>
          <pre className="code">{`export OPENAI_CUSTOM_HEADERS="x-glassgate-session-id: chat-42"`}</pre>
          <p>or per request: <code>client.chat.completions.create(..., extra_headers={"{"}"x-glassgate-session-id": "chat-42"{"}"})</code>.</p>
        </EmptyState>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Session</th>
              <th className="num">Calls</th>
              <th>Last call</th>
              <th>Started</th>
              <th>Users</th>
              <th>Models</th>
              <th className="num">Errors</th>
              <th className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => (
              <tr key={session.sessionId}>
                <td className="mono">
                  <Link to={`/ui/sessions/${encodeURIComponent(session.sessionId)}`}>{session.sessionId}</Link>
                </td>
                <td className="num">{session.calls}</td>
                <td title={formatTimestamp(session.lastAt)}>{formatRelative(session.lastAt)}</td>
                <td>{formatTimestamp(session.firstAt)}</td>
                <td className="ellipsis">{session.users.join(", ") || "—"}</td>
                <td className="ellipsis mono">{session.models.join(", ")}</td>
                <td className="num">{session.errors || ""}</td>
                <td className="num">{formatCost(session.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
