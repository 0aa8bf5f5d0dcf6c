import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";

import type { ExperimentIn } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatRelative, formatTimestamp } from "../../components/format";
import { useDatasets, useVersions } from "../datasets/queries";
import { readTarget, STATUS_LABELS, statusClass } from "./evals";
import { useCreateExperiment, useEvaluators, useExperiments } from "./queries";

/** Experiments, newest first, and a form to define one over a pinned dataset version. */
export function ExperimentsPanel() {
  const experiments = useExperiments();
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div className="toolbar-row">
        <p className="muted">
          An experiment runs each item of a pinned dataset version through a model, then scores the answers with your
          evaluators. Run it again after a change, and compare the runs.
        </p>
        {creating ? null : (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            New experiment
          </button>
        )}
      </div>
      {creating ? <CreateExperiment onCancel={() => setCreating(false)} /> : null}
      {experiments.isPending ? (
        <Spinner />
      ) : experiments.isError ? (
        <ErrorBox error={experiments.error} />
      ) : experiments.data.length === 0 ? (
        creating ? null : (
          <EmptyState title="No experiments yet">
            <p>
              You need a dataset (see <Link to="/ui/datasets">Datasets</Link>) and, to score answers, an evaluator.
            </p>
          </EmptyState>
        )
      ) : (
        <table className="grid" data-testid="experiments">
          <thead>
            <tr>
              <th>Name</th>
              <th>Dataset</th>
              <th>Target</th>
              <th className="num">Evaluators</th>
              <th className="num">Runs</th>
              <th>Latest run</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {experiments.data.map((experiment) => (
              <tr key={experiment.experiment_id}>
                <td>
                  <Link to={`/ui/evals/experiments/${experiment.experiment_id}`}>{experiment.name}</Link>
                </td>
                <td>
                  {experiment.dataset_name ?? <span className="muted">deleted</span>}{" "}
                  <span className="muted">v{experiment.dataset_version}</span>
                </td>
                <td className="mono small">
                  {experiment.target.upstream}:{experiment.target.model}
                  {experiment.target.stream ? <span className="muted"> · stream</span> : null}
                </td>
                <td className="num">{experiment.evaluator_ids.length}</td>
                <td className="num">{experiment.run_count}</td>
                <td>
                  <span className={`badge ${statusClass(experiment.status)}`}>{STATUS_LABELS[experiment.status]}</span>
                </td>
                <td title={formatTimestamp(experiment.created_at)}>{formatRelative(experiment.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** The server's default; only Azure targets read it. */
const AZURE_API_VERSION = "2024-10-21";

function CreateExperiment({ onCancel }: { onCancel: () => void }) {
  const datasets = useDatasets();
  const evaluators = useEvaluators();
  const create = useCreateExperiment();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [datasetId, setDatasetId] = useState("");
  const [version, setVersion] = useState("");
  const [target, setTarget] = useState("");
  const [template, setTemplate] = useState("");
  const [stream, setStream] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const [concurrency, setConcurrency] = useState("8");
  const [ceiling, setCeiling] = useState("");
  const [start, setStart] = useState(true);
  const [problem, setProblem] = useState("");
  const dataset = datasetId || datasets.data?.[0]?.dataset_id || "";
  const versions = useVersions(dataset);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = readTarget(target);
    if (!dataset) return setProblem("Pick a dataset (create one under Datasets first).");
    if (!parsed.ok) return setProblem(parsed.error);
    const inFlight = Number(concurrency);
    if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 1000) return setProblem("Concurrency: 1 to 1,000.");
    const limit = ceiling.trim() ? Number(ceiling) : null;
    if (limit !== null && !(limit > 0)) return setProblem("Cost ceiling: a positive number of dollars, or empty.");
    setProblem("");
    const body: ExperimentIn = {
      name: name.trim(),
      description: "",
      dataset_id: dataset,
      dataset_version: version ? Number(version) : null,
      target: {
        ...parsed.value,
        api_version: AZURE_API_VERSION,
        stream,
        ...(template.trim() ? { prompt_template: template } : {}),
      },
      evaluator_ids: chosen,
      concurrency: inFlight,
      max_retries: 3,
      cost_ceiling_usd: limit,
      start,
    };
    create.mutate(body, { onSuccess: (experiment) => navigate(`/ui/evals/experiments/${experiment.experiment_id}`) });
  };
  return (
    <form className="panel eval-form" onSubmit={submit} aria-label="New experiment">
      <div className="eval-form-row">
        <label>
          Name
          <input aria-label="Experiment name" required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Dataset
          <select
            aria-label="Dataset"
            value={dataset}
            onChange={(e) => {
              setDatasetId(e.target.value);
              setVersion("");
            }}
          >
            {datasets.data?.length ? null : <option value="">no datasets yet</option>}
            {datasets.data?.map((option) => (
              <option key={option.dataset_id} value={option.dataset_id}>
                {option.name} ({option.item_count} items)
              </option>
            ))}
          </select>
        </label>
        <label className="narrow">
          Version
          <select aria-label="Dataset version" value={version} onChange={(e) => setVersion(e.target.value)}>
            <option value="">latest</option>
            {versions.data?.map((option) => (
              <option key={option.version} value={option.version}>
                v{option.version}
              </option>
            ))}
          </select>
        </label>
        <label>
          Target
          <input
            aria-label="Target (upstream:model)"
            placeholder="openai:gpt-4o-mini"
            title="bedrock:anthropic.claude-3-haiku-20240307-v1:0 calls Bedrock's Converse API"
            value={target}
            onChange={(e) => {
              setTarget(e.target.value);
              setProblem("");
            }}
          />
        </label>
      </div>
      <label className="stacked">
        <span>
          Prompt template <span className="muted small">optional; {"{{ input }}"}, {"{{ question }}"} (an input field), {"{{ metadata.x }}"}. Empty: the item's input is the prompt.</span>
        </span>
        <textarea
          aria-label="Prompt template"
          className="mono"
          rows={3}
          value={template}
          onChange={(e) => setTemplate(e.target.value)}
        />
      </label>
      <fieldset className="evaluator-picks">
        <legend className="small muted">Evaluators</legend>
        {evaluators.data?.length ? (
          evaluators.data.map((evaluator) => (
            <label key={evaluator.evaluator_id} className="inline-check">
              <input
                type="checkbox"
                checked={chosen.includes(evaluator.evaluator_id)}
                onChange={(e) =>
                  setChosen(
                    e.target.checked
                      ? [...chosen, evaluator.evaluator_id]
                      : chosen.filter((id) => id !== evaluator.evaluator_id),
                  )
                }
              />
              {evaluator.name}
            </label>
          ))
        ) : (
          <span className="muted small">None yet: answers are kept but not scored (create evaluators in their tab).</span>
        )}
      </fieldset>
      <div className="eval-form-row">
        <label className="narrow">
          Concurrency
          <input aria-label="Concurrency" inputMode="numeric" value={concurrency} onChange={(e) => setConcurrency(e.target.value)} />
        </label>
        <label className="narrow">
          Cost ceiling ($)
          <input aria-label="Cost ceiling (USD)" inputMode="decimal" placeholder="none" value={ceiling} onChange={(e) => setCeiling(e.target.value)} />
        </label>
        <label className="inline-check" title="Ask for streamed answers and record each one's time to first token">
          <input type="checkbox" aria-label="Stream answers" checked={stream} onChange={(e) => setStream(e.target.checked)} />
          Stream (time the first token)
        </label>
        <label className="inline-check">
          <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} />
          Start the first run now
        </label>
        <div className="form-buttons">
          <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create experiment"}
          </button>
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
      {problem ? (
        <div className="form-error" role="alert">
          {problem}
        </div>
      ) : null}
      {create.isError ? <ErrorBox error={create.error} /> : null}
    </form>
  );
}
