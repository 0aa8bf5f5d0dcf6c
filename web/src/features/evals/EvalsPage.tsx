import "../datasets/datasets.css";
import "./evals.css";

import { useSearchParams } from "react-router";

import { EvaluatorsPanel } from "./EvaluatorsPanel";
import { ExperimentsPanel } from "./ExperimentsPanel";
import { RulesPanel } from "./RulesPanel";

const TABS = { experiments: "Experiments", evaluators: "Evaluators", rules: "Online rules" } as const;
type Tab = keyof typeof TABS;

/** Evaluation: experiments over datasets, the evaluators that score them, and rules that score live calls. */
export function EvalsPage() {
  const [params, setParams] = useSearchParams();
  const requested = params.get("tab");
  const tab: Tab = requested && requested in TABS ? (requested as Tab) : "experiments";
  return (
    <div className="page">
      <header className="page-header">
        <h1>Evaluation</h1>
      </header>
      <div className="tabs" role="tablist">
        {(Object.keys(TABS) as Tab[]).map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            className={tab === name ? "active" : ""}
            onClick={() => setParams({ tab: name }, { replace: true })}
          >
            {TABS[name]}
          </button>
        ))}
      </div>
      <section className="tab-panel" role="tabpanel">
        {tab === "experiments" ? <ExperimentsPanel /> : tab === "evaluators" ? <EvaluatorsPanel /> : <RulesPanel />}
      </section>
    </div>
  );
}
