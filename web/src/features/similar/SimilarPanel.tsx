import "./similar.css";

import { Link } from "react-router";

import type { SimilarSpan } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatTime, formatTimestamp } from "../../components/format";
import { useSimilar } from "./queries";
import { embedderNote, explainEmbeddingProblem, similarityPercent, similarityShare } from "./similar";

/** The calls whose prompts are nearest this one's, each linking to its trace. */
export function SimilarPanel({ spanId, onClose }: { spanId: string; onClose: () => void }) {
  const similar = useSimilar(spanId, true);
  const explained = similar.isError ? explainEmbeddingProblem(similar.error) : null;
  const note = embedderNote(similar.data?.embedder);
  return (
    <section className="panel similar-panel" data-testid="similar-panel" aria-label="Similar prompts">
      <div className="panel-head">
        <h2>
          Similar prompts
          {similar.data ? (
            <span className="muted small">
              {" "}
              by <span className="mono">{similar.data.embedder}</span>
              {note ? ` · ${note}` : ""}
            </span>
          ) : null}
        </h2>
        <button type="button" className="link-button muted" aria-label="Close similar prompts" onClick={onClose}>
          ✕
        </button>
      </div>
      {similar.isPending ? (
        <Spinner label="Finding similar prompts…" />
      ) : explained ? (
        <div className="note warning" role="alert">
          <strong>{explained.title}.</strong> {explained.text}
        </div>
      ) : similar.isError ? (
        <ErrorBox error={similar.error} />
      ) : similar.data.data.length === 0 ? (
        <EmptyState title="No similar prompts yet">
          <p>Other calls are compared once they are embedded, a few seconds after they are made.</p>
        </EmptyState>
      ) : (
        <ol className="similar-list">
          {similar.data.data.map((row) => (
            <SimilarRow key={row.span_id} row={row} />
          ))}
        </ol>
      )}
    </section>
  );
}

function SimilarRow({ row }: { row: SimilarSpan }) {
  return (
    <li data-testid="similar-row">
      <Link to={`/ui/traces/${row.span_id}`} className="similar-link">
        <span className="similarity" title={`cosine similarity ${row.similarity.toFixed(3)}`}>
          <span className="similarity-bar" aria-hidden="true">
            <span style={{ width: `${similarityShare(row.similarity) * 100}%` }} />
          </span>
          <span className="similarity-value">{similarityPercent(row.similarity)}</span>
        </span>
        <span className="mono small similar-model">{row.model ?? "—"}</span>
        <span className="muted small similar-time" title={formatTimestamp(row.started_at)}>
          {formatTime(row.started_at)}
        </span>
        <span className="similar-preview ellipsis">{row.input_preview ?? <span className="muted">no preview</span>}</span>
      </Link>
    </li>
  );
}
