import { EmptyState } from "../../components/feedback";

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
