import "../similar/similar.css";

import { useMemo, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";

import type { EmbeddingStatus } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatCount, plural } from "../../components/format";
import { useEmbeddingMap, useEmbeddingStatus } from "../similar/queries";
import { embedderNote, explainEmbeddingProblem } from "../similar/similar";
import { clusterColor, RANGE_LABELS, RANGES, type Range, readRange, sinceOf } from "./map";
import { Scatter } from "./Scatter";

const LIMIT = 2000;
const CLUSTERS = 8;

/** Prompts laid out in 2-D by their embeddings (PCA), colored by k-means cluster. */
export function MapPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const range = readRange(params.get("range"));
  const since = useMemo(() => sinceOf(range), [range]);
  const status = useEmbeddingStatus();
  const enabled = status.data?.enabled === true;
  const map = useEmbeddingMap(enabled ? since : undefined, LIMIT, CLUSTERS);
  const [focus, setFocus] = useState<number | null>(null);
  const setRange = (value: string) => {
    const next = new URLSearchParams(params);
    next.set("range", value);
    setParams(next, { replace: true });
    setFocus(null);
  };
  return (
    <div className="page">
      <header className="page-header">
        <h1>Prompt map</h1>
        <span className="muted">{map.data && enabled ? plural(map.data.points.length, "prompt") : ""}</span>
        <div className="controls">
          <select aria-label="Time range" value={range} onChange={(e) => setRange(e.target.value)}>
            {(Object.keys(RANGES) as Range[]).map((name) => (
              <option key={name} value={name}>
                {RANGE_LABELS[name]}
              </option>
            ))}
          </select>
        </div>
      </header>
      {status.data ? <StatusLine status={status.data} /> : status.isError ? <ErrorBox error={status.error} /> : null}
      {status.isPending ? (
        <Spinner />
      ) : !enabled ? (
        status.data ? (
          <div className="note warning">
            <strong>Embeddings are off.</strong> Set <code>embeddings.enabled: true</code> in Glassgate's configuration
            and restart; calls made after that are embedded in the background and appear here.
          </div>
        ) : null
      ) : map.isPending ? (
        <Spinner label="Laying out prompts…" />
      ) : map.isError ? (
        explainEmbeddingProblem(map.error) ? (
          <div className="note warning">{explainEmbeddingProblem(map.error)?.text}</div>
        ) : (
          <ErrorBox error={map.error} />
        )
      ) : map.data.points.length === 0 ? (
        <EmptyState title="No embedded prompts in this range">
          <p>Pick a longer range, or send calls through Glassgate: each is embedded a few seconds after it is made.</p>
        </EmptyState>
      ) : (
        <div className="map-layout">
          <Scatter
            points={map.data.points}
            focus={focus}
            onOpen={(point) => navigate(`/ui/traces/${point.span_id}`)}
          />
          <aside className="panel">
            <h2 className="small">Clusters</h2>
            <ul className="legend" data-testid="map-legend">
              {map.data.clusters.map((cluster) => (
                <li key={cluster.id}>
                  <button
                    type="button"
                    aria-pressed={focus === cluster.id}
                    className={focus !== null && focus !== cluster.id ? "dimmed" : undefined}
                    onClick={() => setFocus(focus === cluster.id ? null : cluster.id)}
                    title="Bring this cluster forward"
                  >
                    <span className="swatch" style={{ background: clusterColor(cluster.id) }} />
                    <span className="ellipsis">{cluster.label || `cluster ${cluster.id + 1}`}</span>
                    <span className="muted small">{formatCount(cluster.size)}</span>
                  </button>
                </li>
              ))}
            </ul>
            <p className="muted small">
              Nearby points have similar prompts. The newest {formatCount(LIMIT)} embedded calls in the range are shown;
              click a point to open its trace.
            </p>
          </aside>
        </div>
      )}
    </div>
  );
}

function StatusLine({ status }: { status: EmbeddingStatus }) {
  if (!status.enabled) return null;
  const note = embedderNote(status.embedder);
  return (
    <div className="status-line" data-testid="embedding-status">
      <span>
        Embedder <span className="mono">{status.embedder}</span>
        {note ? <span className="badge status-cancelled"> {note}</span> : null}
      </span>
      <span>
        <strong>{formatCount(status.embedded)}</strong> embedded
      </span>
      <span>
        <strong>{formatCount(status.pending)}</strong> pending
        {status.pending_since ? (
          <span className="muted small"> (calls of the last {hoursSince(status.pending_since)} h not yet embedded)</span>
        ) : null}
      </span>
    </div>
  );
}

function hoursSince(iso: string): number {
  return Math.max(1, Math.round((Date.now() - new Date(iso).getTime()) / 3600e3));
}
