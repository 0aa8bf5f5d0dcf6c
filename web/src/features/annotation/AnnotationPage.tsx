import "./annotation.css";

import { useSearchParams } from "react-router";

import { QueuesPanel } from "./QueuesPanel";
import { ScoreConfigsPanel } from "./ScoreConfigsPanel";

const TABS = { queues: "Queues", configs: "Score configs" } as const;
type Tab = keyof typeof TABS;

/** Annotation: review queues, and the score configs reviewers fill in. */
export function AnnotationPage() {
  const [params, setParams] = useSearchParams();
  const requested = params.get("tab");
  const tab: Tab = requested && requested in TABS ? (requested as Tab) : "queues";
  return (
    <div className="page">
      <header className="page-header">
        <h1>Annotation</h1>
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
        {tab === "queues" ? <QueuesPanel /> : <ScoreConfigsPanel />}
      </section>
    </div>
  );
}
