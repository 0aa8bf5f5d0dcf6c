import { type FormEvent, useState } from "react";

import type { Evaluator, EvaluatorIn } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatRelative, formatTimestamp } from "../../components/format";
import { JsonEditor } from "../datasets/JsonEditor";
import { exampleParams, JUDGE_LABELS, JUDGE_TEMPLATE, judgeParams, readParams } from "./evals";
import { useCreateEvaluator, useDeleteEvaluator, useEvaluators, useEvaluatorTypes } from "./queries";

/** Evaluators by name, and a form to create one: a built-in with its params, or an LLM judge of your own. */
export function EvaluatorsPanel() {
  const evaluators = useEvaluators();
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div className="toolbar-row">
        <p className="muted">
          An evaluator scores an answer. Its scores are annotations under a score config of its name, so they show
          beside people's in the trace list.
        </p>
        {creating ? null : (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            New evaluator
          </button>
        )}
      </div>
      {creating ? <CreateEvaluator onDone={() => setCreating(false)} /> : null}
      {evaluators.isPending ? (
        <Spinner />
      ) : evaluators.isError ? (
        <ErrorBox error={evaluators.error} />
      ) : evaluators.data.length === 0 ? (
        creating ? null : (
          <EmptyState title="No evaluators yet">
            <p>Create one: a built-in check (exact match, regex, JSON, latency…) or an LLM judge with your prompt.</p>
          </EmptyState>
        )
      ) : (
        <table className="grid" data-testid="evaluators">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Scores</th>
              <th>Params</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {evaluators.data.map((evaluator) => (
              <EvaluatorRow key={evaluator.evaluator_id} evaluator={evaluator} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function EvaluatorRow({ evaluator }: { evaluator: Evaluator }) {
  const remove = useDeleteEvaluator();
  const params = JSON.stringify(evaluator.params);
  return (
    <tr>
      <td>
        <strong>{evaluator.name}</strong>
        {evaluator.description ? <div className="muted small">{evaluator.description}</div> : null}
      </td>
      <td>
        <span className="mono">{evaluator.evaluator_type}</span>{" "}
        <span className={`badge ${evaluator.kind === "llm" ? "status-running" : "status-cancelled"}`}>
          {evaluator.kind === "llm" ? "LLM judge" : "code"}
        </span>
        {evaluator.judge_model ? (
          <div className="muted small mono">
            {evaluator.judge_upstream ?? "default"}:{evaluator.judge_model}
          </div>
        ) : null}
      </td>
      <td>{evaluator.score_kind}</td>
      <td className="mono small ellipsis params-cell" title={params}>
        {params === "{}" ? <span className="muted">—</span> : params}
      </td>
      <td title={formatTimestamp(evaluator.created_at)}>{formatRelative(evaluator.created_at)}</td>
      <td className="num">
        <button
          type="button"
          className="btn btn-small"
          disabled={remove.isPending}
          title="Only an evaluator no rule or experiment uses can be deleted"
          onClick={() => {
            if (window.confirm(`Delete the evaluator ${evaluator.name}?`)) remove.mutate(evaluator.evaluator_id);
          }}
        >
          Delete
        </button>
        {remove.isError ? <ErrorBox error={remove.error} /> : null}
      </td>
    </tr>
  );
}

function CreateEvaluator({ onDone }: { onDone: () => void }) {
  const types = useEvaluatorTypes();
  const create = useCreateEvaluator();
  const [name, setName] = useState("");
  const [type, setType] = useState("exact_match");
  const [params, setParams] = useState(exampleParams("exact_match"));
  const [template, setTemplate] = useState(JUDGE_TEMPLATE);
  const [labels, setLabels] = useState(JUDGE_LABELS);
  const [judge, setJudge] = useState("");
  const [description, setDescription] = useState("");
  const [problem, setProblem] = useState("");
  const custom = type === "llm_judge";
  const pick = (next: string) => {
    setType(next);
    setParams(exampleParams(next));
    setProblem("");
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const built = custom ? judgeParams(template, labels) : readParams(params);
    if (!built.ok) {
      setProblem(built.error);
      return;
    }
    let judgeUpstream: string | null = null;
    let judgeModel: string | null = null;
    if (judge.trim()) {
      const at = judge.indexOf(":");
      if (at <= 0) {
        setProblem("Judge: write upstream:model, or leave it empty for the configured judge.");
        return;
      }
      judgeUpstream = judge.slice(0, at).trim();
      judgeModel = judge.slice(at + 1).trim();
    }
    setProblem("");
    create.mutate(
      {
        name: name.trim(),
        type,
        params: built.value as EvaluatorIn["params"],
        description: description.trim(),
        judge_upstream: judgeUpstream,
        judge_model: judgeModel,
      },
      { onSuccess: onDone },
    );
  };
  const choices = types.data ?? [type];
  return (
    <form className="panel eval-form" onSubmit={submit} aria-label="New evaluator">
      <div className="eval-form-row">
        <label>
          Name
          <input aria-label="Evaluator name" required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Evaluator
          <select aria-label="Evaluator type" value={type} onChange={(e) => pick(e.target.value)}>
            {choices.map((choice) => (
              <option key={choice} value={choice}>
                {choice === "llm_judge" ? "llm_judge (your own prompt)" : choice}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          Description
          <input aria-label="Evaluator description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      {custom ? (
        <>
          <label className="stacked">
            <span>
              Prompt template{" "}
              <span className="muted small">
                {"{{ input }}, {{ output }}, {{ expected }}, {{ context }}, {{ metadata.x }}"}
              </span>
            </span>
            <textarea
              aria-label="Judge template"
              className="mono"
              rows={7}
              value={template}
              onChange={(e) => setTemplate(e.target.value)}
            />
          </label>
          <JsonEditor label="Labels" hint="{label: score}; 1 is the desirable outcome" rows={2} value={labels} onChange={setLabels} />
        </>
      ) : (
        <JsonEditor label="Params" hint="the evaluator's own params, as JSON" value={params} onChange={setParams} />
      )}
      <div className="eval-form-row">
        <label>
          Judge model <span className="muted small">(LLM judges; empty: the configured judge)</span>
          <input
            aria-label="Judge model"
            placeholder="openai:gpt-4o-mini"
            value={judge}
            onChange={(e) => setJudge(e.target.value)}
          />
        </label>
        <div className="form-buttons">
          <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create evaluator"}
          </button>
          <button type="button" className="btn" onClick={onDone}>
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
