import "../datasets/datasets.css";
import "./evals.css";

import { TabbedPage } from "../../components/TabbedPage";
import { EvaluatorsPanel } from "./EvaluatorsPanel";
import { ExperimentsPanel } from "./ExperimentsPanel";
import { RulesPanel } from "./RulesPanel";

const TABS = {
  experiments: { label: "Experiments", render: () => <ExperimentsPanel /> },
  evaluators: { label: "Evaluators", render: () => <EvaluatorsPanel /> },
  rules: { label: "Online rules", render: () => <RulesPanel /> },
};

/** Evaluation: experiments over datasets, the evaluators that score them, and rules that score live calls. */
export function EvalsPage() {
  return <TabbedPage title="Evaluation" tabs={TABS} />;
}
