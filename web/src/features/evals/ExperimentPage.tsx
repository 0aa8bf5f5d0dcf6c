import "../datasets/datasets.css";
import "./evals.css";

import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import type { EvalRun, Experiment } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatCost, formatDuration, formatRelative, formatTimestamp } from "../../components/format";
import { STATUS_LABELS, statusClass } from "./evals";
import { useCancelRun, useEvaluators, useExperiment, useRuns, useStartRun } from "./queries";
import { RunProgress } from "./RunProgress";

const MAX_COMPARED = 5;

/** An experiment: what it runs, its runs with their progress, and runs picked to compare. */
export function ExperimentPage() {
  const { experimentId = "" } = useParams();
  const experiment = useExperiment(experimentId);
  return (
    <div className="page">
      <div className="breadcrumbs">
        <Link to="/ui/evals?tab=experiments">← Experiments</Link>
      </div>
      {experiment.isPending ? (
        <Spinner />
      ) : experiment.isError ? (
        <ErrorBox error={experiment.error} />
      ) : (
        <ExperimentView experiment={experiment.data} />
      )}
    </div>
  );
}

function ExperimentView({ experiment }: { experiment: Experiment }) {
  const runs = useRuns(experiment.experiment_id);
  const evaluators = useEvaluators();
  const start = useStartRun(experiment.experiment_id);
  const navigate = useNavigate();
  const [picked, setPicked] = useState<string[]>([]);
  const names = new Map(evaluators.data?.map((evaluator) => [evaluator.evaluator_id, evaluator.name]));
  const running = runs.data?.some((run) => run.status === "running") ?? false;
  const compare = (ids: string[]) =>
    navigate(`/ui/evals/compare?${ids.map((id) => `run=${encodeURIComponent(id)}`).join("&")}`);
  const template = experiment.target.prompt_template;
  // The runs are polled while one goes; the experiment's own status is its latest run's.
  const status = runs.data?.[0]?.status ?? experiment.status;
  return (
    <>
      <header className="page-header">
        <h1>{experiment.name}</h1>
        <span className={`badge ${statusClass(status)}`}>{STATUS_LABELS[status]}</span>
        <div className="actions">
          <button
            type="button"
            className="btn"
            disabled={picked.length < 2}
            title="Tick 2 to 5 runs below"
            onClick={() => compare(picked)}
          >
            Compare {picked.length >= 2 ? `${picked.length} runs` : "runs"}
          </button>
          <button
            type="button"
            className="btn btn-primary"
            disabled={start.isPending || running}
            title={running ? "A run is in progress" : "Run every item again"}
            onClick={() => start.mutate()}
          >
            {start.isPending ? "Starting…" : "Start a run"}
          </button>
        </div>
      </header>
      {start.isError ? <ErrorBox error={start.error} /> : null}
      <dl className="facts">
        <div className="fact">
          <dt>Dataset</dt>
          <dd>
            {experiment.dataset_name ? (
              <Link to={`/ui/datasets/${experiment.dataset_id}?version=${experiment.dataset_version}`}>
                {experiment.dataset_name}
              </Link>
            ) : (
              <span className="muted">deleted</span>
            )}{" "}
            <span className="muted">v{experiment.dataset_version} (pinned)</span>
          </dd>
        </div>
        <div className="fact">
          <dt>Target</dt>
          <dd className="mono">
            {experiment.target.upstream}:{experiment.target.model}
          </dd>
        </div>
        <div className="fact">
          <dt>Evaluators</dt>
          <dd>
            {experiment.evaluator_ids.length
              ? experiment.evaluator_ids.map((id) => names.get(id) ?? id).join(", ")
              : "none (answers only)"}
          </dd>
        </div>
        <div className="fact">
          <dt>Concurrency</dt>
          <dd>
            {experiment.concurrency} · {experiment.max_retries} retries
          </dd>
        </div>
        <div className="fact">
          <dt>Cost ceiling</dt>
          <dd>{experiment.cost_ceiling_usd === null ? "none" : formatCost(experiment.cost_ceiling_usd)}</dd>
        </div>
        <div className="fact">
          <dt>Created</dt>
          <dd>
            {formatTimestamp(experiment.created_at)} <span className="muted">by {experiment.created_by}</span>
          </dd>
        </div>
      </dl>
      {template ? (
        <details className="panel">
          <summary>Prompt template</summary>
          <pre className="code">
            {typeof template === "string"
              ? template
              : template.map((message) => `${message.role}: ${message.content}`).join("\n\n")}
          </pre>
        </details>
      ) : null}
      <h2>Runs</h2>
      {runs.isPending ? (
        <Spinner />
      ) : runs.isError ? (
        <ErrorBox error={runs.error} />
      ) : runs.data.length === 0 ? (
        <EmptyState title="Not run yet">
          <p>Start a run: each item of the pinned version is sent to the target, then scored.</p>
        </EmptyState>
      ) : (
        <table className="grid runs-table" data-testid="runs">
          <thead>
            <tr>
              <th className="pick" aria-label="Compare" />
              <th>Run</th>
              <th>Status</th>
              <th>Progress</th>
              <th className="num">Cost</th>
              <th className="num">Latency p50 / p95</th>
              <th>Started</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runs.data.map((run) => (
              <RunRow
                key={run.run_id}
                run={run}
                previous={runs.data.find((other) => other.number === run.number - 1)}
                picked={picked.includes(run.run_id)}
                onPick={(on) =>
                  setPicked(
                    on ? [...picked, run.run_id].slice(-MAX_COMPARED) : picked.filter((id) => id !== run.run_id),
                  )
                }
                onCompare={compare}
              />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function RunRow({
  run,
  previous,
  picked,
  onPick,
  onCompare,
}: {
  run: EvalRun;
  previous: EvalRun | undefined;
  picked: boolean;
  onPick: (on: boolean) => void;
  onCompare: (ids: string[]) => void;
}) {
  const cancel = useCancelRun(run.experiment_id);
  return (
    <tr data-testid="run-row">
      <td className="pick">
        <input type="checkbox" aria-label={`Compare run ${run.number}`} checked={picked} onChange={(e) => onPick(e.target.checked)} />
      </td>
      <td>#{run.number}</td>
      <td>
        <span className={`badge ${statusClass(run.status)}`}>{STATUS_LABELS[run.status]}</span>
      </td>
      <td>
        <RunProgress run={run} />
      </td>
      <td className="num">{formatCost(run.cost_usd)}</td>
      <td className="num">
        {formatDuration(run.latency_p50_ms)} / {formatDuration(run.latency_p95_ms)}
      </td>
      <td title={formatTimestamp(run.started_at)}>{formatRelative(run.started_at)}</td>
      <td className="num">
        {run.status === "running" ? (
          <button type="button" className="btn btn-small" disabled={cancel.isPending} onClick={() => cancel.mutate(run.run_id)}>
            Cancel
          </button>
        ) : previous ? (
          <button type="button" className="btn btn-small" onClick={() => onCompare([previous.run_id, run.run_id])}>
            Compare with #{previous.number}
          </button>
        ) : null}
        {cancel.isError ? <ErrorBox error={cancel.error} /> : null}
      </td>
    </tr>
  );
}
