import type { ReactNode } from "react";

import { EmptyState } from "../../components/feedback";

/** Annotation and Datasets: pages that arrive with their APIs in the next round. */
export function ComingSoon({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="page">
      <header className="page-header">
        <h1>{title}</h1>
      </header>
      <EmptyState title={`${title} is coming`}>{children}</EmptyState>
    </div>
  );
}

export function NotFound() {
  return (
    <div className="page">
      <EmptyState title="Page not found">
        <p>
          Nothing lives at this address. Go to <a href="/ui/traces">Traces</a>.
        </p>
      </EmptyState>
    </div>
  );
}
