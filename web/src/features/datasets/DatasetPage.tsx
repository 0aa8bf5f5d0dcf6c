import "./datasets.css";

import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";

import type { Dataset, DatasetVersion } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatTimestamp, plural } from "../../components/format";
import { ImportPanel } from "./ImportPanel";
import { ItemsTable } from "./ItemsTable";
import { exportUrl, useDataset, useDeleteDataset, useVersions } from "./queries";

const TABS = { items: "Items", history: "Version history" } as const;
type Tab = keyof typeof TABS;

/** One dataset: the items of a version (the latest unless picked), its history, files in and out. */
export function DatasetPage() {
  const { datasetId = "" } = useParams();
  const dataset = useDataset(datasetId);
  return (
    <div className="page">
      <div className="breadcrumbs">
        <Link to="/ui/datasets">← Datasets</Link>
      </div>
      {dataset.isPending ? (
        <Spinner />
      ) : dataset.isError ? (
        <ErrorBox error={dataset.error} />
      ) : (
        <DatasetView dataset={dataset.data} />
      )}
    </div>
  );
}

function DatasetView({ dataset }: { dataset: Dataset }) {
  const [params, setParams] = useSearchParams();
  const versions = useVersions(dataset.dataset_id);
  const [importing, setImporting] = useState(false);
  const asked = Number(params.get("version"));
  const pinned = params.has("version") && Number.isInteger(asked) && asked >= 0 && asked <= dataset.latest_version;
  const version = pinned ? asked : dataset.latest_version;
  const requested = params.get("tab");
  const tab: Tab = requested && requested in TABS ? (requested as Tab) : "items";
  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) next.delete(key);
      else next.set(key, value);
    }
    setParams(next, { replace: true });
  };
  const shown = versions.data?.find((entry) => entry.version === version);
  return (
    <>
      <header className="page-header">
        <h1>{dataset.name}</h1>
        <span className="muted">
          {dataset.latest_version ? `v${dataset.latest_version} · ${plural(dataset.item_count, "item")}` : "empty"}
        </span>
        <div className="actions">
          <DeleteDataset dataset={dataset} />
        </div>
      </header>
      {dataset.description ? <p className="muted">{dataset.description}</p> : null}
      <div className="dataset-toolbar">
        <label className="muted">
          Version{" "}
          <select
            aria-label="Version"
            value={version}
            disabled={!versions.data?.length}
            onChange={(e) =>
              update({ version: Number(e.target.value) === dataset.latest_version ? null : e.target.value })
            }
          >
            {versions.data?.length ? (
              versions.data.map((entry) => (
                <option key={entry.version} value={entry.version}>
                  {versionLabel(entry, dataset.latest_version)}
                </option>
              ))
            ) : (
              <option value={dataset.latest_version}>v{dataset.latest_version}</option>
            )}
          </select>
        </label>
        {shown ? <span className="muted small">{plural(shown.item_count, "item")}</span> : null}
        <span className="spacer" />
        <button
          type="button"
          className={`btn ${importing ? "btn-pressed" : ""}`}
          onClick={() => setImporting(!importing)}
        >
          Import CSV / JSONL
        </button>
        {dataset.latest_version ? (
          <>
            <a className="btn" href={exportUrl(dataset.dataset_id, "csv", version)} download>
              Export CSV
            </a>
            <a className="btn" href={exportUrl(dataset.dataset_id, "jsonl", version)} download>
              Export JSONL
            </a>
          </>
        ) : null}
      </div>
      {importing ? <ImportPanel dataset={dataset} onImported={() => update({ version: null, tab: null })} /> : null}
      <div className="tabs" role="tablist">
        {(Object.keys(TABS) as Tab[]).map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            className={tab === name ? "active" : ""}
            onClick={() => update({ tab: name === "items" ? null : name })}
          >
            {TABS[name]}
            {name === "history" && versions.data ? ` (${versions.data.length})` : ""}
          </button>
        ))}
      </div>
      {tab === "items" ? (
        dataset.latest_version === 0 ? (
          <EmptyState title="No items yet">
            <p>
              Import a CSV or JSONL file above, or select calls in <Link to="/ui/traces">Traces</Link> and choose{" "}
              <em>Add to dataset</em>.
            </p>
          </EmptyState>
        ) : (
          <ItemsTable dataset={dataset} version={version} editable={version === dataset.latest_version} />
        )
      ) : versions.isPending ? (
        <Spinner />
      ) : versions.isError ? (
        <ErrorBox error={versions.error} />
      ) : (
        <History
          versions={versions.data}
          current={version}
          onPick={(picked) => update({ version: picked === dataset.latest_version ? null : String(picked), tab: null })}
        />
      )}
    </>
  );
}

function versionLabel(entry: DatasetVersion, latest: number): string {
  const note = entry.note.length > 50 ? `${entry.note.slice(0, 49)}…` : entry.note;
  return `v${entry.version}${entry.version === latest ? " (latest)" : ""} · ${formatTimestamp(entry.created_at).slice(0, 16)}${note ? ` · ${note}` : ""}`;
}

function History({
  versions,
  current,
  onPick,
}: {
  versions: DatasetVersion[];
  current: number;
  onPick: (version: number) => void;
}) {
  return (
    <table className="grid versions" data-testid="versions">
      <colgroup>
        <col style={{ width: 90 }} />
        <col />
        <col style={{ width: "22%" }} />
        <col style={{ width: 80 }} />
        <col style={{ width: 170 }} />
      </colgroup>
      <thead>
        <tr>
          <th>Version</th>
          <th>Note</th>
          <th>Author</th>
          <th className="num">Items</th>
          <th>Made</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((entry) => (
          <tr key={entry.version} className={entry.version === current ? "current" : ""}>
            <td>
              <button type="button" className="link-button" onClick={() => onPick(entry.version)}>
                v{entry.version}
              </button>
            </td>
            <td className="ellipsis" title={entry.note}>
              {entry.note || <span className="muted">—</span>}
            </td>
            <td className="ellipsis">{entry.author}</td>
            <td className="num">{entry.item_count}</td>
            <td>{formatTimestamp(entry.created_at).slice(0, 19)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DeleteDataset({ dataset }: { dataset: Dataset }) {
  const remove = useDeleteDataset();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  if (remove.isError) return <ErrorBox error={remove.error} />;
  if (!confirming) {
    return (
      <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
        Delete dataset
      </button>
    );
  }
  return (
    <span className="confirm">
      Every version goes.{" "}
      <button
        type="button"
        className="btn btn-small btn-danger"
        disabled={remove.isPending}
        onClick={() => remove.mutate(dataset.dataset_id, { onSuccess: () => navigate("/ui/datasets") })}
      >
        Delete {dataset.name}
      </button>{" "}
      <button type="button" className="btn btn-small" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </span>
  );
}
