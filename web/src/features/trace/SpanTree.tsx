import { Link } from "react-router";

import type { SpanSummary } from "../../api/types";
import { formatDuration } from "../../components/format";
import { spanName } from "../traces/names";
import { buildTree } from "./tree";

/** The trace's spans as a tree, with each span's place on the trace's timeline. */
export function SpanTree({ spans, current }: { spans: SpanSummary[]; current: string }) {
  const tree = buildTree(spans);
  return (
    <div className="span-tree" data-testid="span-tree">
      {tree.rows.map((row) => {
        const left = (row.offsetMs / tree.totalMs) * 100;
        const width = Math.max((row.durationMs / tree.totalMs) * 100, 0.5);
        return (
          <Link
            key={row.span.span_id}
            to={`/ui/traces/${row.span.span_id}`}
            className={`tree-row ${row.span.span_id === current ? "current" : ""}`}
          >
            <span className="tree-name" style={{ paddingLeft: row.depth * 16 }}>
              <span className={`dot status-${row.span.status}`} aria-hidden="true" />
              <span className="kind">{row.span.kind}</span> {spanName(row.span)}
            </span>
            <span className="tree-time">{formatDuration(row.span.latency_ms)}</span>
            <span className="tree-track">
              <span className={`tree-bar kind-${row.span.kind}`} style={{ left: `${left}%`, width: `${width}%` }} />
            </span>
          </Link>
        );
      })}
    </div>
  );
}
