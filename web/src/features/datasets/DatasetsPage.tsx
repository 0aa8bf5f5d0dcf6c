import "./datasets.css";

import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";

import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatCount, formatRelative, formatTimestamp, plural } from "../../components/format";
import { useCreateDataset, useDatasets } from "./queries";

/** Every dataset, most recently changed first, and a form to start one. */
export function DatasetsPage() {
  const datasets = useDatasets();
  const [creating, setCreating] = useState(false);
  return (
    <div className="page">
      <header className="page-header">
        <h1>Datasets</h1>
        <span className="muted">{datasets.data ? plural(datasets.data.length, "dataset") : ""}</span>
        <div className="actions">
          {creating ? null : (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New dataset
            </button>
          )}
        </div>
      </header>
      {creating ? <CreateDataset onCancel={() => setCreating(false)} /> : null}
      {datasets.isPending ? (
        <Spinner />
      ) : datasets.isError ? (
        <ErrorBox error={datasets.error} />
      ) : datasets.data.length === 0 ? (
        <EmptyState title="No datasets yet">
          <p>
            A dataset is a versioned list of inputs and expected outputs to test prompts and models against. Start one
            here and import a CSV or JSONL file, or select calls in <Link to="/ui/traces">Traces</Link> and choose{" "}
            <em>Add to dataset</em>.
          </p>
        </EmptyState>
      ) : (
        <table className="grid" data-testid="datasets">
          <colgroup>
            <col style={{ width: "24%" }} />
            <col />
            <col style={{ width: 90 }} />
            <col style={{ width: 120 }} />
            <col style={{ width: 130 }} />
          </colgroup>
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th className="num">Items</th>
              <th className="num">Latest version</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {datasets.data.map((dataset) => (
              <tr key={dataset.dataset_id}>
                <td className="ellipsis">
                  <Link to={`/ui/datasets/${dataset.dataset_id}`}>{dataset.name}</Link>
                </td>
                <td className="ellipsis muted" title={dataset.description}>
                  {dataset.description || "—"}
                </td>
                <td className="num">{formatCount(dataset.item_count)}</td>
                <td className="num">{dataset.latest_version ? `v${dataset.latest_version}` : "—"}</td>
                <td title={formatTimestamp(dataset.updated_at)}>{formatRelative(dataset.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function CreateDataset({ onCancel }: { onCancel: () => void }) {
  const create = useCreateDataset();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { name: name.trim(), description: description.trim() },
      { onSuccess: (dataset) => navigate(`/ui/datasets/${dataset.dataset_id}`) },
    );
  };
  return (
    <form className="create-form" onSubmit={submit} aria-label="New dataset">
      <label>
        Name
        <input aria-label="Dataset name" required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
      </label>
      <label className="grow">
        Description
        <input aria-label="Dataset description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
        {create.isPending ? "Creating…" : "Create dataset"}
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
      {create.isError ? <ErrorBox error={create.error} /> : null}
    </form>
  );
}
