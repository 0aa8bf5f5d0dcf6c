import type { SpanStatus } from "../api/types";

export function StatusBadge({ status, httpStatus }: { status: SpanStatus | string; httpStatus?: number | null }) {
  return (
    <span className={`badge status-${status}`} title={httpStatus ? `HTTP ${httpStatus}` : undefined}>
      {status}
    </span>
  );
}

export function FlagBadges({ categories, max = 3 }: { categories: readonly string[]; max?: number }) {
  if (categories.length === 0) return <span className="muted">—</span>;
  const shown = categories.slice(0, max);
  return (
    <span className="flags" title={categories.join(", ")}>
      {shown.map((category) => (
        <span key={category} className="badge flag">
          {category}
        </span>
      ))}
      {categories.length > max ? <span className="muted">+{categories.length - max}</span> : null}
    </span>
  );
}
