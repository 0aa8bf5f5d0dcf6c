import { type FormEvent, useState } from "react";

import type { ScoreConfig } from "../../api/types";
import { ErrorBox, Spinner } from "../../components/feedback";
import { formatTimestamp } from "../../components/format";
import { useArchiveScoreConfig, useCreateScoreConfig, useScoreConfigs } from "./queries";
import { type ConfigForm, configBody, EMPTY_CONFIG_FORM, KIND_LABELS, rangeText } from "./scoring";

const KIND_HINTS: Record<ScoreConfig["kind"], string> = {
  categorical: "Reviewers pick one label (keys 1–9).",
  numeric: "Reviewers type a number; bounds are optional.",
  boolean: "Reviewers answer yes (1) or no (2).",
  text: "Reviewers write free text.",
};

/** What annotations can say: create a score config of any kind, archive one no longer wanted. */
export function ScoreConfigsPanel() {
  const [archived, setArchived] = useState(false);
  const configs = useScoreConfigs(archived);
  return (
    <>
      <p className="muted">
        A score config is one question reviewers answer about a call. Archived configs keep their annotations but take
        no new ones.
      </p>
      <CreateConfig />
      <label className="inline-check">
        <input type="checkbox" checked={archived} onChange={(e) => setArchived(e.target.checked)} /> Show archived
      </label>
      {configs.isPending ? (
        <Spinner />
      ) : configs.isError ? (
        <ErrorBox error={configs.error} />
      ) : configs.data.length === 0 ? (
        <p className="muted">No score configs yet: create the first above.</p>
      ) : (
        <table className="grid" data-testid="score-configs">
          <colgroup>
            <col style={{ width: "18%" }} />
            <col style={{ width: 100 }} />
            <col style={{ width: "30%" }} />
            <col />
            <col style={{ width: 150 }} />
            <col style={{ width: 100 }} />
          </colgroup>
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Answers</th>
              <th>Description</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {configs.data.map((config) => (
              <tr key={config.config_id} className={config.archived_at ? "archived" : ""}>
                <td className="ellipsis">
                  <strong>{config.name}</strong>
                  {config.archived_at ? <span className="muted small"> archived</span> : null}
                </td>
                <td>{KIND_LABELS[config.kind]}</td>
                <td>
                  <Answers config={config} />
                </td>
                <td className="ellipsis" title={config.description}>
                  {config.description || <span className="muted">—</span>}
                </td>
                <td>{formatTimestamp(config.created_at).slice(0, 16)}</td>
                <td className="num">
                  <Archive config={config} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Answers({ config }: { config: ScoreConfig }) {
  switch (config.kind) {
    case "categorical":
      return (
        <span className="label-chips">
          {config.categories.map((category) => (
            <span key={category.label} className="chip" title={`value ${category.value}`}>
              {category.label}
            </span>
          ))}
        </span>
      );
    case "numeric":
      return <span>{rangeText(config) ? `a number ${rangeText(config)}` : "any number"}</span>;
    case "boolean":
      return <span>yes or no</span>;
    case "text":
      return <span>free text</span>;
  }
}

function Archive({ config }: { config: ScoreConfig }) {
  const archive = useArchiveScoreConfig();
  const archived = Boolean(config.archived_at);
  return (
    <>
      <button
        type="button"
        className="btn btn-small"
        disabled={archive.isPending}
        onClick={() => archive.mutate({ configId: config.config_id, archived: !archived })}
      >
        {archived ? "Restore" : "Archive"}
      </button>
      {archive.isError ? <ErrorBox error={archive.error} /> : null}
    </>
  );
}

function CreateConfig() {
  const create = useCreateScoreConfig();
  const [form, setForm] = useState<ConfigForm>(EMPTY_CONFIG_FORM);
  const [problem, setProblem] = useState("");
  const set = (changes: Partial<ConfigForm>) => setForm({ ...form, ...changes });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const built = configBody(form);
    if (!built.ok) {
      setProblem(built.error);
      return;
    }
    setProblem("");
    create.mutate(built.body, { onSuccess: () => setForm({ ...EMPTY_CONFIG_FORM, kind: form.kind }) });
  };
  return (
    <form className="config-form" onSubmit={submit} aria-label="New score config">
      <label>
        Name
        <input
          aria-label="Score name"
          value={form.name}
          onChange={(e) => set({ name: e.target.value })}
          placeholder="helpfulness"
        />
      </label>
      <label>
        Kind
        <select
          aria-label="Kind"
          value={form.kind}
          onChange={(e) => set({ kind: e.target.value as ConfigForm["kind"] })}
        >
          {(Object.keys(KIND_LABELS) as ConfigForm["kind"][]).map((kind) => (
            <option key={kind} value={kind}>
              {KIND_LABELS[kind]}
            </option>
          ))}
        </select>
      </label>
      {form.kind === "categorical" ? (
        <label>
          Labels
          <input
            aria-label="Labels"
            value={form.categories}
            onChange={(e) => set({ categories: e.target.value })}
            placeholder="bad, ok, good   (or bad=0, good=1)"
          />
        </label>
      ) : form.kind === "numeric" ? (
        <label>
          Range
          <span className="bounds">
            <input
              aria-label="Minimum"
              inputMode="decimal"
              placeholder="min"
              value={form.min}
              onChange={(e) => set({ min: e.target.value })}
            />
            <input
              aria-label="Maximum"
              inputMode="decimal"
              placeholder="max"
              value={form.max}
              onChange={(e) => set({ max: e.target.value })}
            />
          </span>
        </label>
      ) : (
        <span className="hint">{KIND_HINTS[form.kind]}</span>
      )}
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create score"}
      </button>
      <label className="wide">
        Description
        <input
          aria-label="Description"
          value={form.description}
          onChange={(e) => set({ description: e.target.value })}
          placeholder="What reviewers should judge (optional)"
        />
      </label>
      {form.kind === "categorical" || form.kind === "numeric" ? (
        <span className="hint wide">{KIND_HINTS[form.kind]}</span>
      ) : null}
      {problem ? (
        <div className="form-error wide" role="alert">
          {problem}
        </div>
      ) : null}
      {create.isError ? (
        <div className="wide">
          <ErrorBox error={create.error} />
        </div>
      ) : null}
    </form>
  );
}
