/** Loading, error and empty states: every page says what is happening and what to do. */
import type { ReactNode } from "react";

import { ProblemError } from "../api/problem";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorBox({ error, action, signedIn = true }: { error: unknown; action?: ReactNode; signedIn?: boolean }) {
  const problem = error instanceof ProblemError ? error : null;
  const title = problem ? problem.title : "Something went wrong";
  const detail = problem ? problem.detail : error instanceof Error ? error.message : String(error);
  return (
    <div className="error-box" role="alert">
      <strong>
        {title}
        {problem && problem.status > 0 ? <span className="muted"> ({problem.status})</span> : null}
      </strong>
      {problem?.errors.length ? (
        <ul className="problem-errors">
          {problem.errors.map((entry, index) => (
            <li key={index}>
              {entry.line !== undefined ? <span className="mono">line {entry.line} </span> : null}
              {entry.field ? <span className="mono">{entry.field}: </span> : null}
              {entry.message}
            </li>
          ))}
        </ul>
      ) : detail ? (
        <p>{detail}</p>
      ) : null}
      {problem?.status === 401 && signedIn ? <p>Your session may have ended: sign in again.</p> : null}
      {action}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state">
      <h3>{title}</h3>
      {children}
    </div>
  );
}
