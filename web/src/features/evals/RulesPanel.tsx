import { type FormEvent, useState } from "react";

import type { EvalRule, Evaluator } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatRelative, formatTimestamp } from "../../components/format";
import { describeFilter, EMPTY_FILTER, type FilterForm, spanFilter } from "./evals";
import { useCreateRule, useEvaluators, useRules, useToggleRule } from "./queries";

/** Online rules: live calls matching a filter, sampled, scored by an evaluator after a delay. */
export function RulesPanel() {
  const rules = useRules();
  const evaluators = useEvaluators();
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div className="toolbar-row">
        <p className="muted">
          A rule scores live calls as they arrive: those matching its filter, a sample of them, some seconds after the
          call ended.
        </p>
        {creating ? null : (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            New rule
          </button>
        )}
      </div>
      {creating ? <CreateRule evaluators={evaluators.data ?? []} onDone={() => setCreating(false)} /> : null}
      {rules.isPending ? (
        <Spinner />
      ) : rules.isError ? (
        <ErrorBox error={rules.error} />
      ) : rules.data.length === 0 ? (
        creating ? null : (
          <EmptyState title="No online rules yet">
            <p>Create an evaluator first, then a rule that runs it on a share of live calls.</p>
          </EmptyState>
        )
      ) : (
        <table className="grid" data-testid="eval-rules">
          <thead>
            <tr>
              <th>Name</th>
              <th>Evaluator</th>
              <th>Calls</th>
              <th className="num">Sampled</th>
              <th className="num">Delay</th>
              <th>Scanned until</th>
              <th>Enabled</th>
            </tr>
          </thead>
          <tbody>
            {rules.data.map((rule) => (
              <RuleRow key={rule.rule_id} rule={rule} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function RuleRow({ rule }: { rule: EvalRule }) {
  const toggle = useToggleRule();
  return (
    <tr>
      <td>
        <strong>{rule.name}</strong>
      </td>
      <td>{rule.evaluator_name}</td>
      <td className="mono small">{describeFilter(rule.filter)}</td>
      <td className="num">{Math.round(rule.sampling_rate * 1000) / 10}%</td>
      <td className="num">{rule.delay_s ? `${rule.delay_s} s` : "—"}</td>
      <td title={formatTimestamp(rule.scanned_until)}>{formatRelative(rule.scanned_until)}</td>
      <td>
        <button
          type="button"
          className={`toggle ${rule.enabled ? "on" : ""}`}
          role="switch"
          aria-checked={rule.enabled}
          aria-label={`Rule ${rule.name} enabled`}
          disabled={toggle.isPending}
          onClick={() => toggle.mutate({ ruleId: rule.rule_id, enabled: !rule.enabled })}
        >
          <span className="toggle-dot" />
          {rule.enabled ? "On" : "Off"}
        </button>
        {toggle.isError ? <ErrorBox error={toggle.error} /> : null}
      </td>
    </tr>
  );
}

function CreateRule({ evaluators, onDone }: { evaluators: Evaluator[]; onDone: () => void }) {
  const create = useCreateRule();
  const [name, setName] = useState("");
  const [evaluatorId, setEvaluatorId] = useState("");
  const [filter, setFilter] = useState<FilterForm>(EMPTY_FILTER);
  const [rate, setRate] = useState("10");
  const [delay, setDelay] = useState("0");
  const [problem, setProblem] = useState("");
  const setField = (changes: Partial<FilterForm>) => setFilter({ ...filter, ...changes });
  const chosen = evaluatorId || evaluators[0]?.evaluator_id || "";
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const percent = Number(rate);
    const seconds = Number(delay || "0");
    if (!chosen) return setProblem("Create an evaluator first (Evaluators tab).");
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) return setProblem("Sampling: a percent, 0 to 100.");
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 86_400) return setProblem("Delay: 0 to 86,400 seconds.");
    setProblem("");
    create.mutate(
      {
        name: name.trim(),
        evaluator_id: chosen,
        filter: spanFilter(filter),
        sampling_rate: percent / 100,
        delay_s: seconds,
        enabled: true,
      },
      { onSuccess: onDone },
    );
  };
  return (
    <form className="panel eval-form" onSubmit={submit} aria-label="New rule">
      <div className="eval-form-row">
        <label>
          Name
          <input aria-label="Rule name" required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Evaluator
          <select aria-label="Evaluator" value={chosen} onChange={(e) => setEvaluatorId(e.target.value)}>
            {evaluators.length === 0 ? <option value="">no evaluators yet</option> : null}
            {evaluators.map((evaluator) => (
              <option key={evaluator.evaluator_id} value={evaluator.evaluator_id}>
                {evaluator.name} ({evaluator.evaluator_type})
              </option>
            ))}
          </select>
        </label>
        <label className="narrow">
          Sampling %
          <input aria-label="Sampling rate (%)" inputMode="decimal" value={rate} onChange={(e) => setRate(e.target.value)} />
        </label>
        <label className="narrow">
          Delay (s)
          <input aria-label="Delay (seconds)" inputMode="decimal" value={delay} onChange={(e) => setDelay(e.target.value)} />
        </label>
      </div>
      <fieldset className="eval-form-row">
        <legend className="small muted">Calls it scores (empty: every call)</legend>
        <label>
          Upstream
          <input aria-label="Filter upstream" value={filter.upstream} onChange={(e) => setField({ upstream: e.target.value })} />
        </label>
        <label>
          Model
          <input aria-label="Filter model" value={filter.model} onChange={(e) => setField({ model: e.target.value })} />
        </label>
        <label>
          Status
          <select aria-label="Filter status" value={filter.status} onChange={(e) => setField({ status: e.target.value })}>
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
            <option value="blocked">blocked</option>
            <option value="cancelled">cancelled</option>
          </select>
        </label>
        <label>
          Project
          <input aria-label="Filter project" value={filter.project} onChange={(e) => setField({ project: e.target.value })} />
        </label>
        <label>
          Tags
          <input
            aria-label="Filter tags"
            placeholder="support, eu"
            value={filter.tags}
            onChange={(e) => setField({ tags: e.target.value })}
          />
        </label>
        <label className="grow">
          Words
          <input aria-label="Filter words" value={filter.q} onChange={(e) => setField({ q: e.target.value })} />
        </label>
      </fieldset>
      <div className="form-buttons">
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
          {create.isPending ? "Creating…" : "Create rule"}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
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
