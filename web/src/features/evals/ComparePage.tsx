import "../datasets/datasets.css";
import "./evals.css";

import { useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";

import type { Comparison, ComparedItem, RunResult, RunSummary } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatCost, formatDuration } from "../../components/format";
import { glimpse } from "../datasets/jsonText";
import {
  bestIndex,
  diffWords,
  evaluatorColumns,
  formatScore,
  outputText,
  scoreText,
  showsTtft,
  STATUS_LABELS,
  statusClass,
  ttftText,
} from "./evals";
import { useAgreement, useComparison } from "./queries";
import { RunProgress } from "./RunProgress";

/** Two to five runs side by side: totals at the top, then every item's outputs (differences marked) and scores. */
export function ComparePage() {
  const [params] = useSearchParams();
  const runIds = useMemo(() => params.getAll("run"), [params]);
  const comparison = useComparison(runIds);
  return (
    <div className="page">
      <div className="breadcrumbs">
        <Link to="/ui/evals?tab=experiments">← Experiments</Link>
      </div>
      <header className="page-header">
        <h1>Compare runs</h1>
      </header>
      {runIds.length < 2 ? (
        <EmptyState title="Pick two runs or more">
          <p>On an experiment's page, tick 2 to 5 runs and choose Compare.</p>
        </EmptyState>
      ) : comparison.isPending ? (
        <Spinner label="Lining up the runs…" />
      ) : comparison.isError ? (
        <ErrorBox error={comparison.error} />
      ) : (
        <CompareView comparison={comparison.data} />
      )}
    </div>
  );
}

function runName(run: RunSummary): string {
  return `${run.experiment_name} #${run.number}`;
}

function CompareView({ comparison }: { comparison: Comparison }) {
  const { runs, items } = comparison;
  const evaluators = evaluatorColumns(runs);
  const [onlyDiffering, setOnlyDiffering] = useState(false);
  const shown = onlyDiffering ? items.filter((item) => item.outputs_differ) : items;
  const withTtft = showsTtft(runs);
  const differing = items.filter((item) => item.outputs_differ).length;
  return (
    <>
      <Totals runs={runs} evaluators={evaluators} />
      <Agreements runs={runs} evaluators={evaluators} />
      <div className="toolbar-row">
        <h2>Items</h2>
        <span className="muted">
          {items.length} items{comparison.next_cursor ? " (the first page)" : ""} · {differing} with different outputs
        </span>
        <label className="inline-check">
          <input type="checkbox" checked={onlyDiffering} onChange={(e) => setOnlyDiffering(e.target.checked)} />
          Only items whose outputs differ
        </label>
      </div>
      {shown.length === 0 ? (
        <EmptyState title={items.length ? "Every output is the same" : "No results yet"}>
          <p>{items.length ? "Untick the box to see every item." : "Results appear as the runs go."}</p>
        </EmptyState>
      ) : (
        <div className="compare-items" data-testid="compare-items">
          {shown.map((item) => (
            <ItemRow key={item.item_id} item={item} runs={runs} evaluators={evaluators} withTtft={withTtft} />
          ))}
        </div>
      )}
    </>
  );
}

function Totals({ runs, evaluators }: { runs: RunSummary[]; evaluators: { id: string; name: string }[] }) {
  const means = evaluators.map((evaluator) =>
    runs.map((run) => run.scores.find((total) => total.evaluator_id === evaluator.id)?.mean ?? null),
  );
  const bestCost = bestIndex(runs.map((run) => run.cost_usd), false);
  const bestP50 = bestIndex(runs.map((run) => run.latency_p50_ms), false);
  const bestTtft = bestIndex(runs.map((run) => run.ttft_p50_ms), false);
  return (
    <table className="grid compare-totals" data-testid="compare-totals">
      <thead>
        <tr>
          <th>Run</th>
          <th>Target</th>
          <th>Progress</th>
          {evaluators.map((evaluator) => (
            <th key={evaluator.id} className="num">
              {evaluator.name}
            </th>
          ))}
          <th className="num">Cost</th>
          <th className="num">Latency p50 / p95</th>
          <th className="num" title="Time to first token, for runs whose target streamed its answers">
            TTFT p50 / p95
          </th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run, index) => (
          <tr key={run.run_id}>
            <td>
              <span className="run-swatch" data-run={index} />
              <Link to={`/ui/evals/experiments/${run.experiment_id}`}>{runName(run)}</Link>{" "}
              <span className={`badge ${statusClass(run.status)}`}>{STATUS_LABELS[run.status]}</span>
            </td>
            <td className="mono small">
              {run.target.upstream}:{run.target.model} <span className="muted">v{run.dataset_version}</span>
              {run.target.stream ? <span className="muted"> · stream</span> : null}
            </td>
            <td>
              <RunProgress run={run} />
            </td>
            {evaluators.map((evaluator, column) => {
              const total = run.scores.find((entry) => entry.evaluator_id === evaluator.id);
              const best = bestIndex(means[column] ?? [], true) === index;
              return (
                <td key={evaluator.id} className={`num ${best ? "best" : ""}`} title={total ? labelsText(total.labels) : ""}>
                  {total ? formatScore(total.mean) : "—"}
                  {total ? <span className="muted small"> ({total.count})</span> : null}
                  {total?.errors ? <span className="form-error small"> {total.errors} err</span> : null}
                </td>
              );
            })}
            <td className={`num ${bestCost === index ? "best" : ""}`}>{formatCost(run.cost_usd)}</td>
            <td className={`num ${bestP50 === index ? "best" : ""}`}>
              {formatDuration(run.latency_p50_ms)} / {formatDuration(run.latency_p95_ms)}
            </td>
            <td className={`num ${bestTtft === index ? "best" : ""}`} data-testid="compare-ttft">
              {ttftText(run)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function labelsText(labels: Record<string, number>): string {
  return Object.entries(labels)
    .map(([label, count]) => `${label}: ${count}`)
    .join(", ");
}

/** How each evaluator's scores agree with people's annotations on the same outputs, per run. */
function Agreements({ runs, evaluators }: { runs: RunSummary[]; evaluators: { id: string; name: string }[] }) {
  const [shown, setShown] = useState(false);
  if (evaluators.length === 0) return null;
  return (
    <details className="panel agreement" onToggle={(e) => setShown(e.currentTarget.open)}>
      <summary>Agreement with human annotations</summary>
      {shown ? (
        <table className="kv">
          <thead>
            <tr>
              <th>Evaluator</th>
              {runs.map((run) => (
                <th key={run.run_id}>{runName(run)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {evaluators.map((evaluator) => (
              <tr key={evaluator.id}>
                <td>{evaluator.name}</td>
                {runs.map((run) => (
                  <td key={run.run_id}>
                    <AgreementCell evaluatorId={evaluator.id} runId={run.run_id} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </details>
  );
}

function AgreementCell({ evaluatorId, runId }: { evaluatorId: string; runId: string }) {
  const agreement = useAgreement(evaluatorId, runId, true);
  if (agreement.isPending) return <span className="muted">…</span>;
  if (agreement.isError) return <span className="form-error">{agreement.error.message}</span>;
  const data = agreement.data;
  if (data.pairs === 0) return <span className="muted">no human annotations on these outputs</span>;
  const parts = [
    data.exact_agreement !== null ? `${Math.round(data.exact_agreement * 100)}% agree` : null,
    data.cohen_kappa !== null ? `κ ${data.cohen_kappa.toFixed(2)}` : null,
    data.pearson !== null ? `r ${data.pearson.toFixed(2)}` : null,
    data.mae !== null ? `MAE ${formatScore(data.mae)}` : null,
  ].filter(Boolean);
  return (
    <span>
      {parts.join(" · ") || "—"} <span className="muted small">({data.pairs} pairs)</span>
    </span>
  );
}

function ItemRow({
  item,
  runs,
  evaluators,
  withTtft,
}: {
  item: ComparedItem;
  runs: RunSummary[];
  evaluators: { id: string; name: string }[];
  withTtft: boolean;
}) {
  const base = outputText(item.results[0]?.output);
  return (
    <article className={`compare-item ${item.outputs_differ ? "differs" : ""}`} data-testid="compare-item">
      <div className="compare-input">
        <div className="small muted">Input</div>
        <div className="glimpse" title={outputText(item.input)}>
          {glimpse(item.input, 300)}
        </div>
        {item.expected_output !== null && item.expected_output !== undefined ? (
          <>
            <div className="small muted">Expected</div>
            <div className="glimpse">{glimpse(item.expected_output, 300)}</div>
          </>
        ) : null}
      </div>
      <div className="compare-outputs" style={{ gridTemplateColumns: `repeat(${runs.length}, minmax(0, 1fr))` }}>
        {runs.map((run, index) => (
          <Output
            key={run.run_id}
            run={run}
            index={index}
            result={item.results[index] ?? null}
            base={index === 0 ? null : base}
            evaluators={evaluators}
            withTtft={withTtft}
          />
        ))}
      </div>
    </article>
  );
}

function Output({
  run,
  index,
  result,
  base,
  evaluators,
  withTtft,
}: {
  run: RunSummary;
  index: number;
  result: RunResult | null;
  /** The first run's output, to mark what differs from it (null for the first run itself). */
  base: string | null;
  evaluators: { id: string; name: string }[];
  /** Show the time to first token ("—" for a run that was not streamed). */
  withTtft: boolean;
}) {
  const text = outputText(result?.output);
  const pieces = useMemo(() => (base === null ? [{ text, changed: false }] : diffWords(base, text)), [base, text]);
  return (
    <div className="compare-output" data-run={index}>
      <div className="small muted compare-output-head">
        <span className="run-swatch" data-run={index} />
        {runName(run)}
        {result?.output_span_id ? (
          <Link to={`/ui/traces/${result.output_span_id}`} className="small">
            trace
          </Link>
        ) : null}
      </div>
      {result === null ? (
        <div className="muted">not run</div>
      ) : result.error ? (
        <div className="note error">{result.error}</div>
      ) : (
        <pre className="output-text">
          {pieces.map((piece, at) =>
            piece.changed ? (
              <mark key={at} className="diff-mark">
                {piece.text}
              </mark>
            ) : (
              <span key={at}>{piece.text}</span>
            ),
          )}
        </pre>
      )}
      {result ? (
        <div className="output-facts small">
          {evaluators.map((evaluator) => {
            const score = result.scores.find((entry) => entry.evaluator_id === evaluator.id);
            return score ? (
              <span
                key={evaluator.id}
                className={`chip score-chip ${score.error ? "score-error" : score.score === 0 ? "score-low" : score.score === 1 ? "score-high" : ""}`}
                title={score.error ?? score.explanation}
              >
                {evaluator.name}: {scoreText(score)}
              </span>
            ) : null;
          })}
          <span className="muted">
            {formatDuration(result.latency_ms)}
            {withTtft ? ` · TTFT ${formatDuration(result.ttft_ms)}` : ""} · {formatCost(result.cost_usd)}
          </span>
        </div>
      ) : null}
    </div>
  );
}
